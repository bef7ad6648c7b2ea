"""Stock levels per store (low and negative marked) and the adjustment form: restock, count, write-off,
correction."""

from collections.abc import Sequence
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from cloud import sellers, stock
from cloud.api.deps import CloudDep, NowDep
from cloud.runtime import Cloud
from cloud.web.forms import FieldError, domain_error, text, validation_errors
from cloud.web.rendering import chrome, render
from cloud.web.routing import CsrfForm, WebSeller, page_router, redirect
from models.cloud_api import AdjustmentKind, StockAdjustmentCreate
from models.errors import DomainError
from plumbing.i18n import N_

router = page_router()


def _stock_page(
    request: Request,
    cloud: Cloud,
    seller_id: str,
    store_id: str | None,
    *,
    values: dict[str, str] | None = None,
    errors: Sequence[FieldError] = (),
    status_code: int = 200,
) -> HTMLResponse:
    with cloud.db.read() as conn:
        page = chrome(conn, seller_id)
        stores = sellers.list_stores(conn, seller_id)
        # The store asked for (another seller's: the 404 page), else the first one.
        store = sellers.get_store(conn, seller_id, store_id) if store_id else (stores[0] if stores else None)
        levels = (
            stock.list_levels(conn, seller_id, store.store_id, cloud.settings.low_stock_threshold)
            if store
            else []
        )
    return render(
        request,
        "stock.html",
        status_code=status_code,
        page=page,
        errors=errors,
        stores=stores,
        store=store,
        levels=levels,
        kinds=[k.value for k in AdjustmentKind],
        values=values or {"variant_id": request.query_params.get("variant", ""), "kind": "restock"},
        threshold=cloud.settings.low_stock_threshold,
    )


@router.get("/stock")
def stock_page(request: Request, cloud: CloudDep, seller_id: WebSeller) -> HTMLResponse:
    return _stock_page(request, cloud, seller_id, request.query_params.get("store") or None)


@router.post("/stock/{store_id}/adjustments")
def adjust_stock(
    request: Request, store_id: str, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    with cloud.db.read() as conn:
        sellers.get_store(conn, seller_id, store_id)  # another seller's store: the 404 page
    values = {k: text(form, k) for k in ("variant_id", "kind", "quantity", "reason")}
    try:
        quantity = int(values["quantity"])
    except ValueError:
        error = FieldError("quantity", N_("err.notANumber"))
        return _stock_page(
            request, cloud, seller_id, store_id, values=values, errors=[error], status_code=422
        )
    try:
        body = StockAdjustmentCreate.model_validate(
            {
                "variant_id": values["variant_id"],
                "kind": values["kind"],
                "quantity": quantity,
                "reason": values["reason"],
            }
        )
        with cloud.db.transaction() as conn:
            stock.adjust(conn, seller_id, store_id, body, now, cloud.settings.low_stock_threshold)
    except ValidationError as exc:
        errors = validation_errors(exc)
    except DomainError as exc:  # an unknown variant included: the form's choice, shown on the form
        errors = [domain_error(exc)]
    else:
        return redirect("/stock?" + urlencode({"store": store_id, "msg": "stockAdjusted"}))
    return _stock_page(request, cloud, seller_id, store_id, values=values, errors=errors, status_code=422)
