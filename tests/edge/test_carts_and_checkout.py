"""Carts and checkout over real HTTP: totals, stock, outbox, idempotency, coupons and refusals."""

import json
import sqlite3

import pytest

from tests.edge.helpers import as_sold, as_staff, checkout, new_cart, stock_of, table_counts


def test_cart_lifecycle_add_merge_update_remove(edge):
    cart = new_cart(edge.client)
    assert cart["items"] == []
    assert cart["status"] == "open"
    assert cart["total"] == 0
    cid = cart["cartId"]
    cart = edge.client.post(f"/carts/{cid}/items", json={"variantId": "bubble-tea-1", "quantity": 2}).json()
    cart = edge.client.post(f"/carts/{cid}/items", json={"variantId": "bubble-tea-1"}).json()
    assert len(cart["items"]) == 1
    assert cart["items"][0]["quantity"] == 3
    cart = edge.client.post(
        f"/carts/{cid}/items", json={"variantId": "pineapple-cake-1", "quantity": 1}
    ).json()
    assert cart["itemCount"] == 4
    assert cart["subtotal"] == 3 * 55 + 300
    assert cart["discountTotal"] == 30
    assert cart["total"] == 3 * 55 + 270
    line = next(i for i in cart["items"] if i["variantId"] == "bubble-tea-1")
    response = edge.client.patch(f"/carts/{cid}/items/{line['itemId']}", json={"quantity": 1})
    assert response.status_code == 200
    assert response.json()["total"] == 55 + 270
    response = edge.client.delete(f"/carts/{cid}/items/{line['itemId']}")
    assert response.status_code == 200
    assert [i["variantId"] for i in response.json()["items"]] == ["pineapple-cake-1"]
    assert edge.client.get(f"/carts/{cid}").json() == response.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"variantId": "bubble-tea-1", "quantity": 0}, "quantity"),
        ({"variantId": "bubble-tea-1", "quantity": 1000}, "quantity"),
        ({"variantId": "bubble-tea-1", "quantity": "two"}, "quantity"),
        ({"variantId": "", "quantity": 1}, "variantId"),
        ({"quantity": 1}, "variantId"),
        ({"variantId": "bubble-tea-1", "colour": "red"}, "colour"),
    ],
)
def test_invalid_cart_items_are_422_with_the_field(edge, body, field):
    cid = new_cart(edge.client)["cartId"]
    response = edge.client.post(f"/carts/{cid}/items", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validationError"
    assert response.json()["error"]["field"] == field


def test_malformed_json_is_422(edge):
    cid = new_cart(edge.client)["cartId"]
    response = edge.client.post(
        f"/carts/{cid}/items", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validationError"


def test_unknown_ids_are_404_and_malformed_ids_422(edge):
    staff = as_staff(edge.client, edge.settings)
    cid = new_cart(edge.client)["cartId"]
    missing_cart = "01J0000000000000000000000Z"
    response = edge.client.post(f"/carts/{cid}/items", json={"variantId": "no-such-variant"})
    assert (response.status_code, response.json()["error"]["code"]) == (404, "variantNotFound")
    response = edge.client.get(f"/carts/{missing_cart}")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "cartNotFound")
    response = edge.client.patch(f"/carts/{cid}/items/{missing_cart}", json={"quantity": 2})
    assert (response.status_code, response.json()["error"]["code"]) == (404, "cartItemNotFound")
    response = edge.client.delete(f"/carts/{cid}/items/{missing_cart}")
    assert response.status_code == 404
    response = edge.client.get("/carts/not-a-cart-id")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "cartId"
    response = edge.client.get("/orders/123", headers=staff)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "orderId"
    response = edge.client.get(f"/orders/{missing_cart}", headers=staff)
    assert (response.status_code, response.json()["error"]["code"]) == (404, "orderNotFound")


def test_checkout_writes_a_completed_order_stock_deltas_and_outbox(edge):
    staff = as_staff(edge.client, edge.settings)
    before = edge.client.get("/sync/status", headers=staff).json()["pendingTotal"]
    cart = new_cart(edge.client, ("pineapple-cake-1", 2), ("oolong-tea-1", 3))
    response = checkout(edge.client, cart["cartId"], paymentMethod="card")
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "completed"
    assert order["channel"] == "inStore"
    assert (order["subtotal"], order["discountTotal"], order["couponDiscount"], order["total"]) == (
        705,
        60,
        0,
        645,
    )
    assert order["payments"][0]["method"] == "card"
    assert order["payments"][0]["amount"] == 645
    item = next(i for i in order["items"] if i["variantId"] == "pineapple-cake-1")
    assert (
        item["name"],
        item["variantName"],
        item["unitPrice"],
        item["unitDiscount"],
        item["unitFinalPrice"],
    ) == (
        "鳳梨酥",
        "6入",
        300,
        30,
        270,
    )
    assert item["discountId"] == "souvenir-week"
    assert order["deviceId"] == edge.client.get("/health").json()["deviceId"]
    assert stock_of(edge.client, "pineapple-cake", "pineapple-cake-1") == 18
    assert stock_of(edge.client, "oolong-tea", "oolong-tea-1") == 57
    assert edge.client.get(f"/carts/{cart['cartId']}").json()["status"] == "checkedOut"
    assert as_sold(edge.client.get(f"/orders/{order['orderId']}", headers=staff).json()) == order
    status = edge.client.get("/sync/status", headers=staff).json()
    assert status["pendingTotal"] == before + 3  # the order and two stock deltas
    streams = {s["stream"]: s["pending"] for s in status["streams"]}
    assert streams["orders"] == 1
    with sqlite3.connect(edge.database_path) as conn:
        payload = json.loads(
            conn.execute(
                "SELECT payload FROM outbox WHERE stream='orders' AND aggregate_id=?", (order["orderId"],)
            ).fetchone()[0]
        )
        deltas = conn.execute(
            "SELECT variant_id, quantity, reason FROM stock_deltas WHERE ref_id=? ORDER BY variant_id",
            (order["orderId"],),
        ).fetchall()
    assert payload == order  # the cloud gets exactly the order as sold, in camelCase
    assert deltas == [("oolong-tea-1", -3, "sale"), ("pineapple-cake-1", -2, "sale")]


def test_insufficient_stock_is_409_naming_the_variant_and_writes_nothing(edge):
    cart = new_cart(edge.client, ("bubble-tea-1", 1), ("zenfone-11-1", 2))
    before = table_counts(edge.database_path)
    response = checkout(edge.client, cart["cartId"])
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "insufficientStock"
    assert (error["variantId"], error["requested"], error["available"]) == ("zenfone-11-1", 2, 1)
    assert "zenfone-11-1" in error["message"]
    assert table_counts(edge.database_path) == before
    assert edge.client.get(f"/carts/{cart['cartId']}").json()["status"] == "open"
    assert stock_of(edge.client, "bubble-tea", "bubble-tea-1") == 40


def test_retry_with_the_same_idempotency_key_returns_the_same_order(edge):
    staff = as_staff(edge.client, edge.settings)
    cart = new_cart(edge.client, ("latte-1", 1))
    first = checkout(edge.client, cart["cartId"], idempotencyKey="kiosk-1-sale-0001")
    second = checkout(edge.client, cart["cartId"], idempotencyKey="kiosk-1-sale-0001")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    assert len(edge.client.get("/orders", headers=staff).json()["items"]) == 1
    assert stock_of(edge.client, "latte", "latte-1") == 29
    other = new_cart(edge.client, ("latte-1", 1))
    reused = checkout(edge.client, other["cartId"], idempotencyKey="kiosk-1-sale-0001")
    assert (reused.status_code, reused.json()["error"]["code"]) == (409, "idempotencyKeyReused")


def test_checking_out_twice_or_an_empty_cart_is_409(edge):
    cart = new_cart(edge.client, ("latte-1", 1))
    assert checkout(edge.client, cart["cartId"]).status_code == 201
    again = checkout(edge.client, cart["cartId"])
    assert (again.status_code, again.json()["error"]["code"]) == (409, "cartClosed")
    adding = edge.client.post(f"/carts/{cart['cartId']}/items", json={"variantId": "latte-1"})
    assert (adding.status_code, adding.json()["error"]["code"]) == (409, "cartClosed")
    empty = new_cart(edge.client)
    response = checkout(edge.client, empty["cartId"])
    assert (response.status_code, response.json()["error"]["code"]) == (409, "cartEmpty")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"paymentMethod": "bitcoin"}, "paymentMethod"),
        ({}, "paymentMethod"),
        ({"paymentMethod": "cash", "idempotencyKey": "short"}, "idempotencyKey"),
        ({"paymentMethod": "cash", "idempotencyKey": "has spaces in it"}, "idempotencyKey"),
    ],
)
def test_invalid_checkout_bodies_are_422(edge, body, field):
    cart = new_cart(edge.client, ("latte-1", 1))
    response = edge.client.post(f"/carts/{cart['cartId']}/checkout", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


def test_coupons_apply_after_discounts_and_single_use_coupons_are_used_once(edge):
    cart = new_cart(edge.client, ("pineapple-cake-1", 2))  # 2 x 270 = 540 after the 10% discount
    order = checkout(edge.client, cart["cartId"], couponCode="welcome100").json()
    assert (order["couponCode"], order["couponDiscount"], order["total"]) == ("WELCOME100", 100, 440)
    assert order["payments"][0]["amount"] == 440

    small = new_cart(edge.client, ("latte-1", 1))
    response = checkout(edge.client, small["cartId"], couponCode="WELCOME100")
    assert response.status_code == 409
    assert response.json()["error"] | {"message": ""} == {
        "code": "couponNotApplicable",
        "message": "",
        "reason": "minimumSpend",
    }

    first = checkout(edge.client, new_cart(edge.client, ("nougat-1", 1))["cartId"], couponCode="ONCE50")
    assert first.status_code == 201
    assert first.json()["total"] == 130
    second = checkout(edge.client, new_cart(edge.client, ("nougat-1", 1))["cartId"], couponCode="ONCE50")
    assert second.status_code == 409
    assert second.json()["error"]["reason"] == "usedUp"
    unknown = checkout(edge.client, new_cart(edge.client, ("nougat-1", 1))["cartId"], couponCode="NOPE123")
    assert unknown.status_code == 409
    assert unknown.json()["error"]["reason"] == "unknown"


def test_a_quote_prices_the_cart_with_its_coupon_as_checkout_will(edge):
    cart = new_cart(edge.client, ("pineapple-cake-1", 2))
    quote = edge.client.get(f"/carts/{cart['cartId']}/quote", params={"couponCode": "welcome100"})
    assert quote.status_code == 200, quote.text
    assert quote.json() | {"cartId": ""} == {
        "cartId": "",
        "subtotal": 600,
        "discountTotal": 60,
        "couponCode": "WELCOME100",
        "couponDiscount": 100,
        "total": 440,
    }
    assert edge.client.get(f"/carts/{cart['cartId']}/quote").json()["total"] == 540  # no coupon
    refused = edge.client.get(f"/carts/{cart['cartId']}/quote", params={"couponCode": "NOPE123"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "couponNotApplicable"
    # the total a card was charged goes with the sale: another total is refused, nothing is sold
    moved = checkout(edge.client, cart["cartId"], couponCode="WELCOME100", expectedTotal=439)
    assert moved.status_code == 409
    assert moved.json()["error"] | {"message": ""} == {"code": "totalChanged", "message": "", "total": 440}
    assert edge.client.get(f"/carts/{cart['cartId']}").json()["status"] == "open"
    sold = checkout(edge.client, cart["cartId"], couponCode="WELCOME100", expectedTotal=440)
    assert sold.status_code == 201
    assert sold.json()["total"] == 440
    closed = edge.client.get(f"/carts/{cart['cartId']}/quote")
    assert closed.status_code == 409
    assert closed.json()["error"]["code"] == "cartClosed"


def test_orders_list_recent_first_with_cursor_paging(edge):
    staff = as_staff(edge.client, edge.settings)
    made = []
    for _ in range(5):
        made.append(
            checkout(edge.client, new_cart(edge.client, ("tissues-1", 1))["cartId"]).json()["orderId"]
        )
    first = edge.client.get("/orders", params={"limit": 2}, headers=staff).json()
    assert [o["orderId"] for o in first["items"]] == made[::-1][:2]
    seen = [o["orderId"] for o in first["items"]]
    cursor = first["nextCursor"]
    while cursor:
        page = edge.client.get("/orders", params={"limit": 2, "cursor": cursor}, headers=staff).json()
        seen += [o["orderId"] for o in page["items"]]
        cursor = page["nextCursor"]
    assert seen == made[::-1]
    assert edge.client.get("/orders", params={"status": "refunded"}, headers=staff).json()["items"] == []
    assert edge.client.get("/orders", params={"status": "nonsense"}, headers=staff).status_code == 422


def test_an_order_keeps_what_it_was_sold_at_when_the_catalog_changes(edge):
    staff = as_staff(edge.client, edge.settings)
    from edge.demo_catalog import demo_catalog

    order = checkout(edge.client, new_cart(edge.client, ("latte-1", 2))["cartId"]).json()
    newer = demo_catalog(version=2, now=edge.clock())
    latte = next(p for p in newer.products if p.product_id == "latte")
    latte.name = "招牌拿鐵"
    latte.variants[0].price = 80
    newer.stock = []
    edge.load(newer)
    assert edge.client.get("/catalog/products/latte").json()["variants"][0]["price"] == 80
    again = edge.client.get(f"/orders/{order['orderId']}", headers=staff).json()
    assert as_sold(again) == order
    assert again["items"][0]["name"] == "拿鐵"
    assert again["items"][0]["unitPrice"] == 65
    assert stock_of(edge.client, "latte", "latte-1") == 28  # no stock in the snapshot: levels untouched


def test_unlisted_products_disappear_and_cannot_be_sold(edge):
    from edge.demo_catalog import demo_catalog

    cart = new_cart(edge.client, ("umbrella-1", 1))
    newer = demo_catalog(version=2, now=edge.clock())
    newer.products = [p for p in newer.products if p.product_id != "umbrella"]
    newer.stock = [s for s in newer.stock if not s.variant_id.startswith("umbrella")]
    edge.load(newer)
    assert edge.client.get("/catalog/products/umbrella").status_code == 404
    response = checkout(edge.client, cart["cartId"])
    assert (response.status_code, response.json()["error"]["code"]) == (409, "variantUnavailable")


def _priced(edge, **prices: int) -> None:
    """Load a newer catalog in which the named products' first variant costs the given price."""
    from edge.demo_catalog import demo_catalog

    newer = demo_catalog(version=2, now=edge.clock())
    for product in newer.products:
        if product.product_id in prices:
            product.variants[0].price = prices[product.product_id]
    newer.stock = []
    edge.load(newer)


def test_a_cart_may_come_to_nt100m_and_no_more_checked_before_anything_is_written(edge):
    _priced(edge, latte=50_000_000)
    cart = new_cart(edge.client, ("latte-1", 2))  # exactly NT$100,000,000: the most one sale may be
    assert (cart["subtotal"], cart["items"][0]["lineTotal"]) == (100_000_000, 100_000_000)
    cid, item_id = cart["cartId"], cart["items"][0]["itemId"]
    before = table_counts(edge.database_path)
    refusals = [
        edge.client.post(f"/carts/{cid}/items", json={"variantId": "latte-1"}),  # the line past it
        edge.client.patch(f"/carts/{cid}/items/{item_id}", json={"quantity": 3}),
        edge.client.post(f"/carts/{cid}/items", json={"variantId": "umbrella-1"}),  # the cart past it
        edge.client.post("/carts", json={"items": [{"variantId": "latte-1", "quantity": 3}]}),
    ]
    for response in refusals:
        assert response.status_code == 409, response.text
        error = response.json()["error"]
        assert error["code"] == "amountTooLarge"
        assert error["limit"] == 100_000_000
        assert error["amount"] > 100_000_000
    assert table_counts(edge.database_path) == before  # no line, quantity or cart written
    assert edge.client.get(f"/carts/{cid}").json() == cart
    order = checkout(edge.client, cid)
    assert (order.status_code, order.json()["total"]) == (201, 100_000_000)


def test_a_cart_a_price_rise_took_over_nt100m_is_refused_at_checkout_until_lowered(edge):
    cart = new_cart(edge.client, ("latte-1", 2), ("bubble-tea-1", 1))
    cid = cart["cartId"]
    _priced(edge, latte=60_000_000)  # the cloud raised the price while the cart was open
    before = table_counts(edge.database_path)
    for response in (edge.client.get(f"/carts/{cid}"), checkout(edge.client, cid)):
        assert response.status_code == 409, response.text
        assert response.json()["error"]["code"] == "amountTooLarge"
        assert response.json()["error"]["amount"] == 120_000_055
    assert table_counts(edge.database_path) == before  # no order, payment, stock delta or outbox message
    latte = next(i for i in cart["items"] if i["variantId"] == "latte-1")
    lowered = edge.client.patch(f"/carts/{cid}/items/{latte['itemId']}", json={"quantity": 1})
    assert (lowered.status_code, lowered.json()["total"]) == (200, 60_000_055)
    assert checkout(edge.client, cid).status_code == 201
