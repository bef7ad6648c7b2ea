"""Reading orders back: one order with its items and payments, and the recent-first list."""

from typing import Any

from sqlalchemy import Connection, select

from edge.tables import order_items, orders, payments
from models.errors import NotFound
from models.node_api import Page
from models.paging import decode_cursor, encode_cursor
from models.sales import Order, OrderItem, Payment


def get_order(conn: Connection, order_id: str) -> Order:
    orders_found = _assemble(conn, [order_id])
    if not orders_found:
        raise NotFound(f"order {order_id} not found", code="orderNotFound")
    return orders_found[0]


def list_orders(
    conn: Connection, *, cursor: str | None, limit: int, status: str | None = None
) -> Page[Order]:
    stmt = select(orders.c.order_id).order_by(orders.c.order_id.desc()).limit(limit + 1)
    before = decode_cursor(cursor)
    if before is not None:
        stmt = stmt.where(orders.c.order_id < before)
    if status is not None:
        stmt = stmt.where(orders.c.status == status)
    ids = list(conn.execute(stmt).scalars())
    page, more = ids[:limit], len(ids) > limit
    return Page(items=_assemble(conn, page), next_cursor=encode_cursor(page[-1]) if more and page else None)


def _assemble(conn: Connection, order_ids: list[str]) -> list[Order]:
    if not order_ids:
        return []
    items: dict[str, list[dict[str, Any]]] = {order_id: [] for order_id in order_ids}
    pays: dict[str, list[dict[str, Any]]] = {order_id: [] for order_id in order_ids}
    for row in conn.execute(
        select(order_items).where(order_items.c.order_id.in_(order_ids)).order_by(order_items.c.item_id)
    ):
        items[row.order_id].append(dict(row._mapping))
    for row in conn.execute(
        select(payments).where(payments.c.order_id.in_(order_ids)).order_by(payments.c.payment_id)
    ):
        pays[row.order_id].append(dict(row._mapping))
    rows = {row.order_id: row for row in conn.execute(select(orders).where(orders.c.order_id.in_(order_ids)))}
    return [
        Order(
            **dict(rows[order_id]._mapping),
            items=[OrderItem(**i) for i in items[order_id]],
            payments=[Payment(**p) for p in pays[order_id]],
        )
        for order_id in order_ids
        if order_id in rows
    ]
