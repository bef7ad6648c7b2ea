"""Order routes: the sales this node made, recent first, status changes made at the store (a return of
the whole order) and partial returns (some units of some lines).

Staff only (``StaffDep``): the sales of the day are the shop's business, not a shopper's, and a change is
recorded with who made it. Undoing a sale (cancel, refund, return, a partial return) needs a manager.
"""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from edge import order_status, orders, returns
from edge.api.deps import CursorQuery, LimitQuery, ManagerDep, NodeDep, OrderIdPath, StaffDep, require_role
from models.cloud_api import OrderTransitionRequest
from models.node_api import Page, ReturnRequest
from models.order_states import OrderStatus
from models.returns import OrderReturn, OrderWithReturns
from models.staff import StaffRef, StaffRole, role_for_transition

router = APIRouter(prefix="/orders", tags=["orders"])


@router.get("")
def list_orders(
    node: NodeDep,
    _member: StaffDep,
    cursor: CursorQuery = None,
    limit: LimitQuery = 20,
    status: Annotated[OrderStatus | None, Query()] = None,
) -> Page[OrderWithReturns]:
    with node.db.read() as conn:
        return orders.list_orders(conn, cursor=cursor, limit=limit, status=status)


@router.get("/{orderId}")
def get_order(order_id: OrderIdPath, node: NodeDep, _member: StaffDep) -> OrderWithReturns:
    """The order as it stands: its lines, payments, units brought back per line (``returnedQuantities``),
    what was refunded (``refundedAmount``) and its partial returns."""
    with node.db.read() as conn:
        return orders.get_order_view(conn, order_id)


MANAGER_ONLY = {
    s.value: StaffRole.MANAGER.value for s in OrderStatus if role_for_transition(s) is StaffRole.MANAGER
}


@router.post(
    "/{orderId}/transitions",
    responses={403: {"description": "forbidden: cancelled, refunded and returned need a manager"}},
    # The role depends on the body, which a security scope cannot say: named here for clients and tests.
    openapi_extra={"x-staff-role-by-field": {"toStatus": MANAGER_ONLY}},
)
def transition_order(
    order_id: OrderIdPath, body: OrderTransitionRequest, node: NodeDep, member: StaffDep
) -> OrderWithReturns:
    """Move a sale on at the store: ``returned`` (goods and money back; the goods go back in stock) or
    ``refunded`` (money back only); these and ``cancelled`` need a **manager**, other changes any staff
    member. 409 ``illegalTransition`` when the state machine does not allow it. The change is recorded with
    who made it (the staff member's id and name) and goes to the cloud through the outbox; if the cloud
    changed the order meanwhile, both sides settle on the same status by the sync rule (see
    docs/sync-protocol.md)."""
    require_role(member, role_for_transition(body.to_status))
    with node.db.write() as conn:
        order_status.transition_here(
            conn,
            device_id=node.device_id,
            order_id=order_id,
            target=body.to_status,
            note=body.note,
            now=node.now(),
            staff=StaffRef(staff_id=member.staff_id, name=member.name),
        )
        order = orders.get_order_view(conn, order_id)
    node.cloud.nudge()  # committed: the change goes up now
    return order


@router.post(
    "/{orderId}/returns",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "A retry with the same idempotencyKey: the return made the first time"},
        403: {"description": "forbidden: a partial return needs a manager"},
    },
)
def return_items(
    order_id: OrderIdPath, body: ReturnRequest, node: NodeDep, member: ManagerDep, response: Response
) -> OrderReturn:
    """Take back some units of some lines of a completed sale (a **manager**): they go back in stock, and
    the answer's ``refund`` is what the shopper paid for them (line discounts and the coupon's share taken
    off), to be handed back the way they paid (``refundMethod``). The order stays ``completed``; the return
    that brings back its last units moves it to ``returned``. 409 ``illegalTransition`` when the order is
    not completed, 404 ``orderItemNotFound`` for a line it does not have, 409 ``returnTooLarge`` for more
    units than are left. Goes to the cloud through the outbox."""
    with node.db.write() as conn:
        result = returns.return_items(
            conn,
            device_id=node.device_id,
            order_id=order_id,
            request=body,
            staff=StaffRef(staff_id=member.staff_id, name=member.name),
            now=node.now(),
        )
    if result.created:
        node.cloud.nudge()  # committed: the return goes up now
    else:
        response.status_code = status.HTTP_200_OK
    return result.order_return
