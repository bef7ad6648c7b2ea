"""Order status after the sale, at the store: transitions made here (a return at the counter) and ones made
in the cloud (a seller's refund), merged by the rule the cloud uses too (``sync_protocol.rules``).

Each merge writes its stock effects with ids both sides derive alike (a whole return counting back only
the units partial returns had not), queues them and the store's own transitions for the cloud, and moves
the order to the end of its effective path, all in the caller's write transaction.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select, update
from sqlalchemy.dialects.sqlite import insert

from edge import node_state, outbox, stock, till
from edge.orders import returns_of
from edge.tables import order_items, order_transitions, orders, payments
from models.errors import NotFound
from models.order_states import Actor, OrderStatus, check_transition
from models.sales import PaymentStatus
from models.staff import StaffRef
from sync_protocol.envelope import OrderTransition
from sync_protocol.hlc import HLC
from sync_protocol.rules import (
    MergeOutcome,
    MergeResult,
    StatusState,
    creation_transition,
    merge_order_status,
    refunds_payment,
    transition_effects,
)


def _order_row(conn: Connection, order_id: str) -> Row[Any]:
    row = conn.execute(select(orders).where(orders.c.order_id == order_id)).first()
    if row is None:
        raise NotFound(f"order {order_id} not found", code="orderNotFound")
    return row


def order_state(conn: Connection, order_id: str) -> StatusState:
    """Every transition this node has seen for the order, the sale (its creation) included."""
    row = _order_row(conn, order_id)
    seen = [
        creation_transition(order_id, OrderStatus.COMPLETED, row.created_at, row.device_id or row.store_id)
    ]
    for t in conn.execute(select(order_transitions).where(order_transitions.c.order_id == order_id)):
        seen.append(
            OrderTransition(
                order_id=order_id,
                from_status=OrderStatus(t.from_status),
                to_status=OrderStatus(t.to_status),
                actor=Actor(t.actor),
                hlc=t.hlc,
                device_id=t.device_id,
                note=t.note,
                staff=StaffRef(staff_id=t.staff_id, name=t.staff_name) if t.staff_id else None,
            )
        )
    return StatusState(order_id, frozenset(seen))


def transition_here(
    conn: Connection,
    *,
    device_id: str,
    order_id: str,
    target: OrderStatus,
    note: str | None,
    now: datetime,
    staff: StaffRef | None = None,
) -> MergeOutcome:
    """A status change made at this store by ``staff`` at the counter: checked against the state machine
    for the store, stamped by this node's clock, merged, and queued for the cloud. One that gives the
    money back (a refund, a return) is entered in the till's journal: the cash or card refund was made at
    this till, whatever the cloud's changes make of the order later."""
    row = _order_row(conn, order_id)
    source = OrderStatus(row.status)
    if check_transition(source, target, Actor.STORE).refunds_payment:
        till.record_refund(conn, order_id, now)
    change = OrderTransition(
        order_id=order_id,
        from_status=source,
        to_status=target,
        actor=Actor.STORE,
        hlc=node_state.stamp(conn, device_id, now).encode(),
        device_id=device_id,
        note=note,
        staff=staff,
    )
    outcome = merge(conn, change, now)
    outbox.enqueue(conn, change, now)
    return outcome


def merge(
    conn: Connection, change: OrderTransition, now: datetime, *, device_id: str | None = None
) -> MergeOutcome:
    """Merge one transition into the order (made here, or sent down by the cloud: pass this node's
    ``device_id`` so its clock observes the remote stamp)."""
    row = _order_row(conn, change.order_id)
    if device_id is not None:
        node_state.stamp(conn, device_id, now, observed=HLC.parse(change.hlc))
    state = order_state(conn, change.order_id)
    if change.from_status is None:  # here the sale is the order's creation: nothing else creates it
        return MergeOutcome(MergeResult.DUPLICATE, state, state.status, state.status)
    outcome = merge_order_status(state, change)
    if outcome.result in (MergeResult.DUPLICATE, MergeResult.ILLEGAL):
        return outcome
    conn.execute(
        insert(order_transitions)
        .values(
            order_id=change.order_id,
            hlc=change.hlc,
            to_status=change.to_status.value,
            from_status=change.from_status.value,
            actor=change.actor.value,
            device_id=change.device_id,
            note=change.note,
            received_at=now,
            staff_id=change.staff.staff_id if change.staff else None,
            staff_name=change.staff.name if change.staff else None,
        )
        .on_conflict_do_nothing()
    )
    if outcome.status_after is not None and outcome.status_after != outcome.status_before:
        conn.execute(
            update(orders)
            .where(orders.c.order_id == change.order_id)
            .values(status=outcome.status_after.value, updated_at=now)
        )
    if refunds_payment(outcome):
        conn.execute(
            update(payments)
            .where(payments.c.order_id == change.order_id)
            .values(status=PaymentStatus.REFUNDED.value)
        )
    items = conn.execute(select(order_items).where(order_items.c.order_id == change.order_id)).all()
    returns = returns_of(conn, [change.order_id])[change.order_id]
    for delta in transition_effects(outcome, items, store_id=row.store_id, at=now, returns=returns):
        stock.record(conn, delta, send=True)
    return outcome
