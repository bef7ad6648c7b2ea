"""Carts nobody sold are deleted after a day untouched (a shopper who walked away, a phone's cart left or
handed off), with their lines and hand-off codes; sold carts stay, as do carts still in use."""

import sqlite3

import pytest

from edge.node import Node
from models.sales import PaymentMethod
from node_client import NodeClient, NotFound


def count(edge, table: str) -> int:
    with sqlite3.connect(edge.database_path) as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_carts_left_for_a_day_go_and_the_rest_stay(edge) -> None:
    with NodeClient(edge.base_url) as node:
        left = node.create_cart([("latte-1", 1)])
        phones = node.create_cart([("latte-1", 2)])
        node.hand_off_cart(phones.cart_id)
        kiosks = node.claim_handoff(node.hand_off_cart(node.create_cart([("latte-1", 1)]).cart_id).code)
        sold = node.create_cart([("bubble-tea-1", 1)])
        node.checkout(sold.cart_id, PaymentMethod.CASH)
        edge.clock.advance(hours=23)
        busy = node.create_cart([("latte-1", 1)])  # made an hour before the cut-off passes the others
        edge.clock.advance(hours=2)
        before = count(edge, "carts")
        pruner = Node.open(edge.settings, edge.clock)
        try:
            assert (
                pruner.prune_carts() == 4
            )  # left, phones', the one handed off for kiosks, the kiosk's claimed
        finally:
            pruner.close()
        assert count(edge, "carts") == before - 4
        assert node.get_cart(sold.cart_id).status == "checkedOut"
        assert node.get_cart(busy.cart_id).status == "open"
        for gone in (left, phones, kiosks):
            with pytest.raises(NotFound):
                node.get_cart(gone.cart_id)
        assert count(edge, "cart_handoffs") == 0  # their codes went with them
        assert count(edge, "cart_items") == 2  # the sold cart's line and the busy one's
