"""Receipt tokens over real HTTP: made once per sale at checkout, and a phone's receipt by order and token."""

import re
import sqlite3

from models.node_api import format_receipt_token, normalize_receipt_token
from tests.edge.helpers import as_sold, checkout, new_cart


def tokens(edge) -> dict[str, str]:
    with sqlite3.connect(edge.database_path) as raw:
        return dict(raw.execute("SELECT order_id, token FROM receipt_tokens").fetchall())


def refusal(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_a_sale_gets_one_token_and_its_receipt_reads_with_it(edge):
    cid = new_cart(edge.client, ("bubble-tea-1", 2))["cartId"]
    sold = checkout(edge.client, cid, idempotencyKey="receipt-key-1")
    assert sold.status_code == 201
    order = sold.json()
    again = checkout(edge.client, cid, idempotencyKey="receipt-key-1")  # a replay: no second token
    assert again.status_code == 200
    held = tokens(edge)
    assert list(held) == [order["orderId"]]
    assert re.fullmatch(r"[0-9ABCDEFGHJKMNPQRSTVWXYZ]{8}", held[order["orderId"]])
    access = edge.client.get(f"/carts/{cid}/receipt")
    assert access.status_code == 200
    assert access.json() == {"orderId": order["orderId"], "receiptToken": held[order["orderId"]]}
    token = access.json()["receiptToken"]
    for given in (token, token.lower(), format_receipt_token(token), format_receipt_token(token).lower()):
        response = edge.client.get(f"/receipts/{order['orderId']}", params={"token": given})
        assert response.status_code == 200, (given, response.text)
        assert as_sold(response.json()) == order  # the order as it stands, no staff login
    checkout(edge.client, new_cart(edge.client, ("latte-1", 1))["cartId"])
    assert len(tokens(edge)) == 2


def test_a_wrong_token_and_an_unknown_order_get_the_same_404(edge):
    order = checkout(edge.client, new_cart(edge.client, ("latte-1", 1))["cartId"]).json()
    token = tokens(edge)[order["orderId"]]
    wrong = ("0" if token[0] != "0" else "1") + token[1:]
    for order_id, given in (
        (order["orderId"], wrong),
        (order["orderId"], "not-a-token"),
        ("01J0000000000000000000000Z", token),
    ):
        response = edge.client.get(f"/receipts/{order_id}", params={"token": given})
        assert refusal(response) == (404, "receiptNotFound")
        assert response.json()["error"]["message"] == "no receipt for that order and token"


def test_only_a_checked_out_cart_has_a_receipt(edge):
    cart = new_cart(edge.client, ("latte-1", 1))
    assert refusal(edge.client.get(f"/carts/{cart['cartId']}/receipt")) == (409, "cartNotCheckedOut")
    code = edge.client.post(f"/carts/{cart['cartId']}/handoff").json()["code"]
    assert edge.client.post(f"/handoffs/{code}/claim").status_code == 201
    assert refusal(edge.client.get(f"/carts/{cart['cartId']}/receipt")) == (409, "cartNotCheckedOut")
    missing = edge.client.get("/carts/01J0000000000000000000000Z/receipt")
    assert refusal(missing) == (404, "cartNotFound")


def test_wrong_tokens_are_throttled_across_the_node(edge):
    order = checkout(edge.client, new_cart(edge.client, ("latte-1", 1))["cartId"]).json()
    token = tokens(edge)[order["orderId"]]
    wrong = ("0" if token[0] != "0" else "1") + token[1:]
    for _ in range(10):
        response = edge.client.get(f"/receipts/{order['orderId']}", params={"token": wrong})
        assert refusal(response) == (404, "receiptNotFound")
    refused = edge.client.get(f"/receipts/{order['orderId']}", params={"token": token})
    assert refusal(refused) == (429, "tooManyAttempts")
    assert int(refused.headers["Retry-After"]) >= 1
    # hand-off claims are counted apart: a shopper at the kiosk is not held up by a receipt guesser
    assert refusal(edge.client.post("/handoffs/000000/claim")) == (404, "handoffNotFound")
    edge.clock.advance(seconds=61)
    assert edge.client.get(f"/receipts/{order['orderId']}", params={"token": token}).status_code == 200


def test_tokens_are_read_as_crockford_base32():
    assert format_receipt_token("7K3MQ9ZD") == "7K3M-Q9ZD"
    assert normalize_receipt_token("7k3m-q9zd") == "7K3MQ9ZD"
    assert normalize_receipt_token("7K3MQ9ZO") == "7K3MQ9Z0"  # O read as 0, I and L as 1
    for bad in ("", "7K3MQ9Z", "7K3MQ9ZDX", "7K3MQ9ZU", "7K3M_Q9ZD"):
        assert normalize_receipt_token(bad) is None, bad
