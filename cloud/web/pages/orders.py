"""The orders list (filters by store, status and dates; totals over the filter) with the order's next step,
and the order's own page: items (with the units partial returns brought back), payments, what was refunded,
the partial returns the stores took (who, when, how much, why), its history (who moved it and when) and
every status change the seller may make, each behind a confirmation. Refunds and returns are made on the
order's page only: they undo a sale, so they are not a button on every completed order of the list."""

from datetime import date

from fastapi import Request, Response
from fastapi.responses import HTMLResponse

from cloud import i18n, orders, sellers
from cloud.api.deps import CloudDep, NowDep
from cloud.runtime import Cloud
from cloud.web import security
from cloud.web.forms import text
from cloud.web.rendering import chrome, here, language, render, render_error
from cloud.web.routing import PAGE_SIZE, CsrfForm, WebSeller, is_htmx, page_router, redirect, with_params
from models.cloud_api import FIRST_YEAR, LAST_YEAR, OrderOut
from models.errors import Conflict
from models.order_states import OrderStatus, find_transition
from plumbing.i18n import N_

router = page_router()

AFTER_SALE = frozenset({OrderStatus.REFUNDED, OrderStatus.RETURNED})


def list_actions(order: OrderOut) -> list[OrderStatus]:
    """The buttons an order's card in the list shows: its next steps, not the after-sale ones."""
    return [s for s in order.allowed_transitions if s not in AFTER_SALE]


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
        list_actions=list_actions,
        order_error="",
        error_order="",
    )


def _order_page(
    request: Request,
    cloud: Cloud,
    seller_id: str,
    order_id: str,
    *,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    with cloud.db.read() as conn:
        page = chrome(conn, seller_id)
        order = orders.get_order(conn, seller_id, order_id)
        store = sellers.get_store(conn, seller_id, order.store_id)
    asked = request.query_params.get("confirm", "")
    confirm = next((s for s in order.allowed_transitions if s.value == asked), None)
    rule = find_transition(order.status, confirm) if confirm else None
    return render(
        request,
        "order_detail.html",
        status_code=status_code,
        page=page,
        order=order,
        store=store,
        confirm=confirm,
        restocks=bool(rule and rule.restocks),
        refunds=bool(rule and rule.refunds_payment),
        order_error=error,
        line_names={
            i.item_id: i.name if i.variant_name == i.name else f"{i.name} {i.variant_name}"
            for i in order.items
        },
    )


@router.get("/orders/{order_id}")
def order_page(request: Request, order_id: str, cloud: CloudDep, seller_id: WebSeller) -> HTMLResponse:
    """The order's page; ``?confirm=<status>`` asks to confirm that change before it is made."""
    return _order_page(request, cloud, seller_id, order_id)


@router.post("/orders/{order_id}/transition")
def transition_order(
    request: Request, order_id: str, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    """A status change, from a button of the list or the confirmation on the order's page. With htmx the
    answer is the order's card, redrawn; without, back where the form came from (an error is shown there:
    on the order's page, or as an error page from the list)."""
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
        if error and back == f"/orders/{order_id}":
            return _order_page(request, cloud, seller_id, order_id, error=error, status_code=409)
        if error:
            return render_error(request, 409, N_("err.code.illegalTransition"), error)
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
        list_actions=list_actions,
        order_error=error,
        error_order=order_id,
    )
