"""Small helpers for driving a node over HTTP and reading its SQLite file directly."""

import sqlite3
from pathlib import Path

import httpx

from edge import staff
from edge.node import Node
from edge.settings import EdgeSettings
from models.staff import StaffRole


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


def add_staff(settings: EdgeSettings, name: str, role: StaffRole, pin: str) -> None:
    """A node-local account, made the way ``edgestore edge staff add`` makes one (through a second connection
    to the node's file); nothing when an account of that name exists already."""
    node = Node.open(settings)
    try:
        with node.db.write() as conn:
            if staff.active_row(conn, name) is None:
                staff.add_local(conn, name, role, pin, node.now())
    finally:
        node.close()


def staff_login(client: httpx.Client, name: str, pin: str) -> dict[str, str]:
    """Log in at the node; the header that carries the token."""
    response = client.post("/staff/login", json={"name": name, "pin": pin})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def as_staff(
    client: httpx.Client, settings: EdgeSettings, role: StaffRole = StaffRole.MANAGER
) -> dict[str, str]:
    """Headers of a logged-in staff member of ``role`` (a manager by default: order transitions, returns and
    refunds need one), for requests to the node's staff routes."""
    name = {StaffRole.MANAGER: "店長 Manager", StaffRole.CASHIER: "收銀 Cashier"}[role]
    add_staff(settings, name, role, "2468")
    return staff_login(client, name, "2468")


def as_sold(order: dict) -> dict:
    """An order as the node's staff routes show it, less what only an order standing after its sale has
    (``returnedQuantities``, ``refundedAmount``, ``returns``), checked to say nothing came back: the sale as
    checkout answered it and as it goes to the cloud."""
    sale = dict(order)
    assert sale.pop("returnedQuantities") == {i["itemId"]: 0 for i in order["items"]}
    assert (sale.pop("refundedAmount"), sale.pop("returns")) == (0, [])
    return sale
