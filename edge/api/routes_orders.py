"""Order routes: the sales this node made, recent first."""

from typing import Annotated

from fastapi import APIRouter, Query

from edge import orders
from edge.api.deps import CursorQuery, LimitQuery, NodeDep, OrderIdPath
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
