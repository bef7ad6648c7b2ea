"""Partial returns at the counter: some units of some lines of a sale this node made come back, and the
shopper gets back what they paid for them (``models.returns``).

All in the caller's write transaction: the return and its lines, the positive stock deltas (ids derived
from the return, so a retry cannot restock twice), the return queued for the cloud (``orderReturns``), and,
when it brings back the order's last units, the order moved to ``returned`` by the ordinary transition,
merged like any other (``edge.order_status``).
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select

from edge import order_status, orders, outbox, stock, till
from edge.tables import order_return_items, order_returns, return_keys
from models.errors import Conflict, IllegalTransition
from models.ids import new_id
from models.node_api import ReturnRequest
from models.order_states import OrderStatus
from models.returns import OrderReturn, everything_back, plan_return
from models.staff import StaffRef
from sync_protocol.rules import return_effects


@dataclass(frozen=True)
class ReturnResult:
    order_return: OrderReturn
    created: bool  # False when an idempotent retry returned the return made before


def return_items(
    conn: Connection,
    *,
    device_id: str,
    order_id: str,
    request: ReturnRequest,
    staff: StaffRef,
    now: datetime,
) -> ReturnResult:
    """Take back ``request``'s units of the order, made by ``staff``. Refuses an order that is not
    ``completed`` (409 ``illegalTransition``: a refunded or returned order has nothing left to return), a
    line it does not have (404 ``orderItemNotFound``) and more units than are left (409 ``returnTooLarge``)."""
    if request.idempotency_key is not None:
        earlier = _earlier_return(conn, order_id, request)
        if earlier is not None:
            return ReturnResult(earlier, created=False)
    order = orders.get_order(conn, order_id)
    if order.status is not OrderStatus.COMPLETED:
        raise IllegalTransition(
            f"an order in {order.status} takes no returns: only a completed sale does",
            source=order.status,
        )
    made = orders.returns_of(conn, [order_id])[order_id]
    items, refund = plan_return(order, made, request.wanted())
    order_return = OrderReturn(
        return_id=new_id(),
        order_id=order_id,
        store_id=order.store_id,
        device_id=device_id,
        items=sorted(items, key=lambda item: item.item_id),  # as they read back: one form on both sides
        refund=refund,
        refund_method=order.payments[0].method,  # the money goes back the way it came
        staff=staff,
        note=request.note,
        created_at=now,
    )
    row, lines = order_return.to_rows()
    conn.execute(insert(order_returns).values(row))
    conn.execute(insert(order_return_items), lines)
    till.record_return(conn, order_return.return_id, order_id, now)  # the refund left this drawer
    if request.idempotency_key is not None:
        conn.execute(
            insert(return_keys).values(
                idempotency_key=request.idempotency_key,
                order_id=order_id,
                return_id=order_return.return_id,
                created_at=now,
            )
        )
    path = order_status.order_state(conn, order_id).path
    for delta in return_effects(order_return, order.items, path, store_id=order.store_id, at=now):
        stock.record(conn, delta, send=True)
    outbox.enqueue(conn, order_return, now)
    if everything_back(order, [*made, order_return]):
        # The last units: the order is returned, by the transition the cloud and the dashboards know.
        order_status.transition_here(
            conn,
            device_id=device_id,
            order_id=order_id,
            target=OrderStatus.RETURNED,
            note=request.note,
            now=now,
            staff=staff,
        )
    return ReturnResult(order_return, created=True)


def _earlier_return(conn: Connection, order_id: str, request: ReturnRequest) -> OrderReturn | None:
    """The return an earlier request with this key made, for a retry of it; None when the key is new. A key
    used for another order, or for other units, is refused: that is not a retry."""
    assert request.idempotency_key is not None
    previous = conn.execute(
        select(return_keys).where(return_keys.c.idempotency_key == request.idempotency_key)
    ).first()
    if previous is None:
        return None
    earlier = next(
        (
            r
            for r in orders.returns_of(conn, [previous.order_id])[previous.order_id]
            if r.return_id == previous.return_id
        ),
        None,
    )
    asked = request.wanted()
    if (
        previous.order_id != order_id
        or earlier is None
        or {i.item_id: i.quantity for i in earlier.items} != asked
    ):
        raise Conflict(
            "this idempotency key was used for another return",
            code="idempotencyKeyReused",
            order_id=previous.order_id,
        )
    return earlier
