"""Small helpers for driving a node over HTTP and reading its SQLite file directly."""

import sqlite3
from pathlib import Path

import httpx


def new_cart(client: httpx.Client, *items: tuple[str, int]) -> dict:
    body = {"items": [{"variantId": v, "quantity": q} for v, q in items]}
    response = client.post("/carts", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def checkout(client: httpx.Client, cart_id: str, **body) -> httpx.Response:
    return client.post(f"/carts/{cart_id}/checkout", json={"paymentMethod": "cash"} | body)


def stock_of(client: httpx.Client, product_id: str, variant_id: str) -> int:
    product = client.get(f"/catalog/products/{product_id}").json()
    return next(v["stock"] for v in product["variants"] if v["variantId"] == variant_id)


def table_counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
