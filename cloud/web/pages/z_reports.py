"""A store's Z-reports (日結, a tab of the shop area): each till's closed periods as its node sent them, the
latest first, with their figures; a drawer counted short or over is marked. Read only: a Z-report is made at
the store's till by a manager and never changed."""

from fastapi import Request
from fastapi.responses import HTMLResponse

from cloud import sellers, z_reports
from cloud.api.deps import CloudDep
from cloud.web.rendering import chrome, render
from cloud.web.routing import WebSeller, page_router
from models.cloud_api import ZReportList
from models.sales import PaymentMethod

router = page_router()
PAGE_SIZE = 30


@router.get("/z-reports")
def z_reports_page(request: Request, cloud: CloudDep, seller_id: WebSeller) -> HTMLResponse:
    store_id = request.query_params.get("store") or None
    with cloud.db.read() as conn:
        page = chrome(conn, seller_id)
        stores = sellers.list_stores(conn, seller_id)
        # The store asked for (another seller's: the 404 page), else the first one.
        store = sellers.get_store(conn, seller_id, store_id) if store_id else (stores[0] if stores else None)
        reports = (
            z_reports.list_z_reports(
                conn,
                seller_id,
                store.store_id,
                cursor=request.query_params.get("cursor") or None,
                limit=PAGE_SIZE,
            )
            if store
            else ZReportList(items=[], next_cursor=None)
        )
    return render(
        request,
        "z_reports.html",
        page=page,
        stores=stores,
        store=store,
        reports=reports,
        methods=list(PaymentMethod),
        tab="zreports",
    )
