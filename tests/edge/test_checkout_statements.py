"""The checkout's hot path (edge.carts, edge.checkout, edge.prepared): how many statements a cart and its
checkout run does not grow with the data around them, and the order a checkout returns (built from the
rows it wrote, not read back) is the order read back."""

import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from edge import carts, checkout, outbox
from edge.catalog import load_snapshot
from edge.demo_catalog import demo_catalog
from edge.node import Node
from edge.orders import get_order
from edge.prepared import driver_connection
from edge.settings import EdgeSettings
from models.einvoice import EInvoice
from models.node_api import CheckoutRequest
from models.sales import PaymentMethod
from tests.conftest import FakeClock

TWO_LINES = [("bubble-tea-1", 1), ("pineapple-cake-1", 1)]


@pytest.fixture
def node(tmp_path: Path, clock: FakeClock) -> Iterator[Node]:
    opened = Node.open(EdgeSettings(data_dir=tmp_path / "node"), clock)
    with opened.db.write() as conn:
        load_snapshot(conn, demo_catalog(now=clock()), clock())
    yield opened
    opened.close()


def _statements(node: Node, work: Callable[[Any], Any]) -> tuple[list[str], Any]:
    """The SQL statements ``work`` ran in one write transaction (sqlite3's trace callback sees every one,
    whether SQLAlchemy or the driver ran it)."""
    seen: list[str] = []
    with node.db.write() as conn:
        raw: sqlite3.Connection = driver_connection(conn)
        raw.set_trace_callback(seen.append)
        try:
            result = work(conn)
        finally:
            raw.set_trace_callback(None)
    return seen, result


def _sale(node: Node, at: datetime, key: str) -> tuple[list[str], list[str]]:
    cart_sql, cart_id = _statements(node, lambda conn: carts.create_cart(conn, at, TWO_LINES))
    request = CheckoutRequest(payment_method=PaymentMethod.CASH, idempotency_key=key)
    checkout_sql, _ = _statements(
        node, lambda conn: checkout.checkout(conn, cart_id, request, device_id=node.device_id, at=at)
    )
    return cart_sql, checkout_sql


def test_statements_per_cart_and_checkout_do_not_grow_with_history(node: Node, clock: FakeClock) -> None:
    first_cart, first_checkout = _sale(node, clock(), "key-first")
    for n in range(15):  # orders, stock deltas, outbox rows, till entries, receipts, idempotency keys pile up
        _sale(node, clock(), f"key-more-{n}")
    later_cart, later_checkout = _sale(node, clock(), "key-later")
    assert len(later_cart) == len(first_cart)
    assert len(later_checkout) == len(first_checkout)
    # A cart with two lines: its row, each line's price, the lines (one executemany, traced per row).
    assert len(first_cart) <= 6
    # The checkout of two lines (executemany traced per row): 39 before, with SQLAlchemy Core one statement
    # per step and the order read back.
    assert len(first_checkout) <= 30


def test_a_cart_made_with_lines_refuses_and_merges_as_adding_them_one_by_one(
    node: Node, clock: FakeClock
) -> None:
    at = clock()
    _, merged = _statements(
        node,
        lambda conn: carts.get_cart(conn, carts.create_cart(conn, at, [*TWO_LINES, ("bubble-tea-1", 1)]), at),
    )

    def one_by_one(conn: Any) -> Any:
        cart_id = carts.create_cart(conn, at)
        for variant_id, quantity in [*TWO_LINES, ("bubble-tea-1", 1)]:
            carts.add_item(conn, cart_id, variant_id, quantity, at)
        return carts.get_cart(conn, cart_id, at)

    _, added = _statements(node, one_by_one)
    strip = {"cart_id", "items", "created_at", "updated_at"}
    assert merged.model_dump(exclude=strip) == added.model_dump(exclude=strip)
    assert [(i.variant_id, i.quantity, i.line_total, i.stock) for i in merged.items] == [
        (i.variant_id, i.quantity, i.line_total, i.stock) for i in added.items
    ]
    assert [i.variant_id for i in merged.items] == ["bubble-tea-1", "pineapple-cake-1"]
    assert merged.items[0].quantity == 2


@pytest.mark.parametrize(
    "einvoice", [None, EInvoice.model_validate({"kind": "carrier", "value": "/ABC1234"})]
)
@pytest.mark.parametrize("coupon", [None, "SAVE10"])
def test_the_order_a_checkout_returns_is_the_order_read_back(
    node: Node, clock: FakeClock, einvoice: EInvoice | None, coupon: str | None
) -> None:
    at = clock()
    request = CheckoutRequest(
        payment_method=PaymentMethod.CARD, idempotency_key="key-0001", einvoice=einvoice, coupon_code=coupon
    )
    with node.db.write() as conn:
        cart_id = carts.create_cart(conn, at, TWO_LINES)
        made = checkout.checkout(conn, cart_id, request, device_id=node.device_id, at=at)
    with node.db.read() as conn:
        assert made.order == get_order(conn, made.order.order_id)
        assert made.order.model_dump_json() == get_order(conn, made.order.order_id).model_dump_json()
        # The outbox holds the order, then one stock delta per line, numbered on from what was there.
        assert outbox.pending_count(conn) >= 3
