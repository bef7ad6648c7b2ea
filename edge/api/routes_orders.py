"""Order routes: the sales this node made, recent first, and status changes made at the store (a return)."""

from typing import Annotated

from fastapi import APIRouter, Query

from edge import order_status, orders
from edge.api.deps import CursorQuery, LimitQuery, NodeDep, OrderIdPath
from models.cloud_api import OrderTransitionRequest
from models.node_api import Page
from models.order_states import OrderStatus
from models.sales import Order

router = APIRouter(prefix="/orders", tags=["orders"])


@router.get("")
def list_orders(
    node: NodeDep,
    cursor: CursorQuery = None,
    limit: LimitQuery = 20,
    status: Annotated[OrderStatus | None, Query()] = None,
) -> Page[Order]:
    with node.db.read() as conn:
        return orders.list_orders(conn, cursor=cursor, limit=limit, status=status)


@router.get("/{orderId}")
def get_order(order_id: OrderIdPath, node: NodeDep) -> Order:
    with node.db.read() as conn:
        return orders.get_order(conn, order_id)


@router.post("/{orderId}/transitions")
def transition_order(order_id: OrderIdPath, body: OrderTransitionRequest, node: NodeDep) -> Order:
    """Move a sale on at the store: ``returned`` (goods and money back; the goods go back in stock) or
    ``refunded`` (money back only). 409 ``illegalTransition`` when the state machine does not allow it. The
    change goes to the cloud through the outbox; if the cloud changed the order meanwhile, both sides settle
    on the same status by the sync rule (see docs/sync-protocol.md)."""
    with node.db.write() as conn:
        order_status.transition_here(
            conn,
            device_id=node.device_id,
            order_id=order_id,
            target=body.to_status,
            note=body.note,
            now=node.now(),
        )
        order = orders.get_order(conn, order_id)
    node.cloud.nudge()  # committed: the change goes up now
    return order
