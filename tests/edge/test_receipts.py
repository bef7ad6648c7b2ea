"""Receipt tokens over real HTTP: made once per sale at checkout, and a phone's receipt by order and token."""

import re
import sqlite3

from models.node_api import ReceiptPublic, format_receipt_token, normalize_receipt_token
from models.returns import OrderWithReturns
from tests.edge.helpers import checkout, new_cart


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
        receipt = response.json()  # the sale as its receipt shows it, no staff login
        standing = OrderWithReturns.model_validate(order | {"returnedQuantities": {}, "refundedAmount": 0})
        assert receipt == ReceiptPublic.of(standing).model_dump(mode="json", by_alias=True)
        assert set(receipt) == {
            "orderId",
            "status",
            "createdAt",
            "items",
            "subtotal",
            "discountTotal",
            "couponCode",
            "couponDiscount",
            "total",
            "payments",
            "refundedAmount",
        }  # nothing of the e-invoice, the staff or the device
        assert set(receipt["items"][0]) == {"name", "variantName", "quantity", "unitFinalPrice", "lineTotal"}
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


def test_wrong_tokens_lock_that_orders_receipt_not_the_others(edge):
    order = checkout(edge.client, new_cart(edge.client, ("latte-1", 1))["cartId"]).json()
    other = checkout(edge.client, new_cart(edge.client, ("latte-1", 1))["cartId"]).json()
    token = tokens(edge)[order["orderId"]]
    wrong = ("0" if token[0] != "0" else "1") + token[1:]
    for _ in range(10):
        response = edge.client.get(f"/receipts/{order['orderId']}", params={"token": wrong})
        assert refusal(response) == (404, "receiptNotFound")
    refused = edge.client.get(f"/receipts/{order['orderId']}", params={"token": token})
    assert refusal(refused) == (429, "tooManyAttempts")
    assert int(refused.headers["Retry-After"]) >= 1
    # another shopper's receipt is not held up by a guesser of this one
    other_token = tokens(edge)[other["orderId"]]
    assert edge.client.get(f"/receipts/{other['orderId']}", params={"token": other_token}).status_code == 200
    # hand-off claims are counted apart: a shopper at the kiosk is not held up by a receipt guesser
    assert refusal(edge.client.post("/handoffs/000000/claim")) == (404, "handoffNotFound")
    edge.clock.advance(seconds=61)
    assert refusal(edge.client.get(f"/receipts/{order['orderId']}", params={"token": token})) == (
        429,
        "tooManyAttempts",
    )  # an order's lock lasts the hour
    edge.clock.advance(hours=1)
    assert edge.client.get(f"/receipts/{order['orderId']}", params={"token": token}).status_code == 200


def test_a_flood_of_wrong_tokens_meets_the_node_wide_backstop(edge):
    from edge.throttle import RECEIPT_BACKSTOP

    order = checkout(edge.client, new_cart(edge.client, ("latte-1", 1))["cartId"]).json()
    token = tokens(edge)[order["orderId"]]
    for n in range(RECEIPT_BACKSTOP):  # made-up orders, each failed once
        edge.client.get(f"/receipts/01J{n:023d}", params={"token": "0000-0000"})
    refused = edge.client.get(f"/receipts/{order['orderId']}", params={"token": token})
    assert refusal(refused) == (429, "tooManyAttempts")
    edge.clock.advance(seconds=61)
    assert edge.client.get(f"/receipts/{order['orderId']}", params={"token": token}).status_code == 200


def test_tokens_are_read_as_crockford_base32():
    assert format_receipt_token("7K3MQ9ZD") == "7K3M-Q9ZD"
    assert normalize_receipt_token("7k3m-q9zd") == "7K3MQ9ZD"
    assert normalize_receipt_token("7K3MQ9ZO") == "7K3MQ9Z0"  # O read as 0, I and L as 1
    for bad in ("", "7K3MQ9Z", "7K3MQ9ZDX", "7K3MQ9ZU", "7K3M_Q9ZD"):
        assert normalize_receipt_token(bad) is None, bad
