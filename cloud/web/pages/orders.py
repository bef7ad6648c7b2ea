"""The orders list (filters by store, status and dates; totals over the filter) and its status buttons."""

from datetime import date

from fastapi import Request, Response
from fastapi.responses import HTMLResponse

from cloud import orders, sellers
from cloud.api.deps import CloudDep, NowDep
from cloud.web import i18n, security
from cloud.web.forms import text
from cloud.web.rendering import chrome, here, language, render, render_error
from cloud.web.routing import PAGE_SIZE, CsrfForm, WebSeller, is_htmx, page_router, redirect, with_params
from models.cloud_api import FIRST_YEAR, LAST_YEAR
from models.errors import Conflict
from models.order_states import OrderStatus

router = page_router()


def _date(value: str | None) -> date | None:
    """A day filter from the page's query; one the API would refuse (unreadable, or outside the years the
    API takes: 0001-01-01 overflows when moved to UTC) is no filter, like a blank one."""
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return day if day is None or FIRST_YEAR <= day.year <= LAST_YEAR else None


@router.get("/orders")
def orders_page(request: Request, cloud: CloudDep, seller_id: WebSeller) -> HTMLResponse:
    params = request.query_params
    status_param = params.get("status", "")
    status = OrderStatus(status_param) if status_param in {s.value for s in OrderStatus} else None
    date_from, date_to = _date(params.get("from")), _date(params.get("to"))
    if date_from and date_to and date_to < date_from:
        date_from, date_to = date_to, date_from
    with cloud.db.read() as conn:
        page = chrome(conn, seller_id)
        stores = sellers.list_stores(conn, seller_id)
        store_id = params.get("store", "")
        store_id = store_id if store_id in {s.store_id for s in stores} else ""
        result = orders.list_orders(
            conn,
            seller_id,
            store_id=store_id or None,
            status=status,
            date_from=date_from,
            date_to=date_to,
            cursor=params.get("cursor") or None,
            limit=PAGE_SIZE,
        )
    return render(
        request,
        "orders.html",
        page=page,
        result=result,
        stores=stores,
        store_names={s.store_id: s.name for s in stores},
        store_id=store_id,
        status=status.value if status else "",
        statuses=[s.value for s in OrderStatus],
        date_from=date_from.isoformat() if date_from else "",
        date_to=date_to.isoformat() if date_to else "",
        next_url=with_params(here(request), cursor=result.next_cursor) if result.next_cursor else "",
        order_error="",
        error_order="",
    )


@router.post("/orders/{order_id}/transition")
def transition_order(
    request: Request, order_id: str, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    """A status button. With htmx the answer is the order's card, redrawn; without, back to the list."""
    back = security.safe_next(text(form, "next"), "/orders")
    target = text(form, "to_status")
    tr = i18n.translator(language(request))
    error = ""
    try:
        with cloud.db.transaction() as conn:
            orders.transition(
                conn,
                seller_id,
                order_id,
                OrderStatus(target),
                now,
                note=text(form, "note")[:500] or None,
                low_threshold=cloud.settings.low_stock_threshold,
            )
    except ValueError:
        error = tr("err.badRequest")
    except Conflict as exc:
        error = tr("err.code." + exc.code) if tr.has("err.code." + exc.code) else exc.message
    if not is_htmx(request):
        if error:
            return render_error(request, 409, "err.code.illegalTransition", error)
        return redirect(with_params(back, msg="orderUpdated"))
    with cloud.db.read() as conn:
        stores = sellers.list_stores(conn, seller_id)
        order = orders.get_order(conn, seller_id, order_id)
    return render(
        request,
        "_order.html",
        order=order,
        store_names={s.store_id: s.name for s in stores},
        here=back,
        order_error=error,
        error_order=order_id,
    )
