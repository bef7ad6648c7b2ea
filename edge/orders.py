"""Reading orders back: one order with its items and payments (the sale, as it goes to the cloud), the
order as it stands with its partial returns (what staff read), and the recent-first list."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from edge.tables import order_items, order_return_items, order_returns, orders, payments
from models.errors import NotFound
from models.node_api import Page
from models.paging import decode_cursor, encode_cursor
from models.returns import OrderReturn, OrderWithReturns
from models.sales import Order, OrderItem, Payment


def get_order(conn: Connection, order_id: str) -> Order:
    """The sale as it was made (what the outbox sends)."""
    orders_found = _assemble(conn, [order_id])
    if not orders_found:
        raise NotFound(f"order {order_id} not found", code="orderNotFound")
    return orders_found[0]


def get_order_view(conn: Connection, order_id: str) -> OrderWithReturns:
    """The order as it stands: the sale, with what its partial returns brought back and refunded."""
    order = get_order(conn, order_id)
    return OrderWithReturns.of(order, returns_of(conn, [order_id])[order_id])


def list_orders(
    conn: Connection, *, cursor: str | None, limit: int, status: str | None = None
) -> Page[OrderWithReturns]:
    stmt = select(orders.c.order_id).order_by(orders.c.order_id.desc()).limit(limit + 1)
    before = decode_cursor(cursor)
    if before is not None:
        stmt = stmt.where(orders.c.order_id < before)
    if status is not None:
        stmt = stmt.where(orders.c.status == status)
    ids = list(conn.execute(stmt).scalars())
    page, more = ids[:limit], len(ids) > limit
    returns = returns_of(conn, page)
    return Page(
        items=[OrderWithReturns.of(order, returns[order.order_id]) for order in _assemble(conn, page)],
        next_cursor=encode_cursor(page[-1]) if more and page else None,
    )


def returns_of(conn: Connection, order_ids: Sequence[str]) -> dict[str, list[OrderReturn]]:
    """The partial returns of each order, oldest first (return ids are ULIDs made in order)."""
    found: dict[str, list[OrderReturn]] = {order_id: [] for order_id in order_ids}
    if not order_ids:
        return found
    rows = conn.execute(
        select(order_returns)
        .where(order_returns.c.order_id.in_(order_ids))
        .order_by(order_returns.c.return_id)
    ).all()
    lines: dict[str, list[dict[str, Any]]] = {row.return_id: [] for row in rows}
    if rows:
        for line in conn.execute(
            select(order_return_items)
            .where(order_return_items.c.return_id.in_(list(lines)))
            .order_by(order_return_items.c.item_id)
        ):
            lines[line.return_id].append(dict(line._mapping))
    for row in rows:
        found[row.order_id].append(OrderReturn.from_rows(dict(row._mapping), lines[row.return_id]))
    return found


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
