"""Many kiosks racing for the last units: exactly the stock is sold, never more."""

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

from tests.edge.helpers import checkout, new_cart, stock_of

RACERS = 24


def test_racing_checkouts_sell_exactly_the_stock(edge):
    # zenfone-11-1 has 1 unit; iphone-15-2 has 2; umbrella-1 has 8.
    targets = [("zenfone-11-1", 1), ("iphone-15-2", 2), ("umbrella-1", 8)]
    carts = [
        (variant, new_cart(edge.client, (variant, 1))["cartId"])
        for variant, _ in targets
        for _ in range(RACERS)
    ]
    start = threading.Barrier(len(carts))

    def race(job: tuple[str, str]) -> tuple[str, int, str | None]:
        variant, cart_id = job
        with edge.new_client() as client:
            start.wait()
            response = checkout(client, cart_id)
            code = response.json().get("error", {}).get("code") if response.status_code != 201 else None
            return variant, response.status_code, code

    with ThreadPoolExecutor(max_workers=len(carts)) as pool:
        results = list(pool.map(race, carts))

    for variant, stock in targets:
        statuses = [(s, c) for v, s, c in results if v == variant]
        assert statuses.count((201, None)) == stock, statuses
        assert statuses.count((409, "insufficientStock")) == RACERS - stock
    assert stock_of(edge.client, "zenfone-11", "zenfone-11-1") == 0
    assert stock_of(edge.client, "iphone-15", "iphone-15-2") == 0
    assert stock_of(edge.client, "umbrella", "umbrella-1") == 0
    with sqlite3.connect(edge.database_path) as conn:
        assert conn.execute("SELECT min(quantity) FROM stock_levels").fetchone()[0] >= 0
        sold = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
    assert sold == sum(stock for _, stock in targets)


def test_racing_multi_unit_carts_never_oversell(edge):
    # 40 units of bubble-tea-1; carts of 3 units each: 13 can be served, 1 unit stays.
    carts = [new_cart(edge.client, ("bubble-tea-1", 3), ("oolong-tea-1", 1))["cartId"] for _ in range(20)]
    start = threading.Barrier(len(carts))

    def race(cart_id: str) -> int:
        with edge.new_client() as client:
            start.wait()
            return checkout(client, cart_id).status_code

    with ThreadPoolExecutor(max_workers=len(carts)) as pool:
        statuses = list(pool.map(race, carts))
    assert statuses.count(201) == 13
    assert statuses.count(409) == 7
    assert stock_of(edge.client, "bubble-tea", "bubble-tea-1") == 1
    assert stock_of(edge.client, "oolong-tea", "oolong-tea-1") == 60 - 13
