"""Partial returns at the node (POST /orders/{orderId}/returns): a manager takes back some units of some
lines; the refund is what the shopper paid for them; the goods go back in stock once, however often the
request is retried; the return waits in the outbox for the cloud; the last units move the order to
``returned``; every refusal writes nothing."""

import json
import sqlite3

import pytest

from models.staff import StaffRole
from sync_protocol.rules import return_delta_id
from tests.edge.conftest import EdgeServer
from tests.edge.helpers import as_staff, checkout, new_cart, stock_of, table_counts
from tests.edge.invariants import check_node_database

CAKE, TEA = ("pineapple-cake", "pineapple-cake-1"), ("bubble-tea", "bubble-tea-1")


@pytest.fixture
def manager(edge: EdgeServer) -> dict[str, str]:
    return as_staff(edge.client, edge.settings)


def sold(edge: EdgeServer) -> dict:
    """Two boxes of pineapple cake (300, 10% off: 270 each) and three bubble teas (55), with WELCOME100:
    705 of goods, 605 paid. The coupon's shares by largest remainder: 77 on the cakes, 23 on the teas, so
    the cakes cost 463 and the teas 142."""
    cart = new_cart(edge.client, (CAKE[1], 2), (TEA[1], 3))
    order = checkout(edge.client, cart["cartId"], couponCode="WELCOME100").json()
    assert (order["total"], order["couponDiscount"]) == (605, 100)
    return order


def line(order: dict, variant_id: str) -> str:
    return next(i["itemId"] for i in order["items"] if i["variantId"] == variant_id)


def take_back(edge: EdgeServer, headers: dict, order: dict, *units: tuple[str, int], **body):
    items = [{"itemId": line(order, v), "quantity": q} for v, q in units]
    return edge.client.post(
        f"/orders/{order['orderId']}/returns", json={"items": items} | body, headers=headers
    )


def outbox(edge: EdgeServer, stream: str) -> list[dict]:
    with sqlite3.connect(edge.database_path) as conn:
        rows = conn.execute("SELECT payload FROM outbox WHERE stream = ? ORDER BY stream_seq", (stream,))
        return [json.loads(payload) for (payload,) in rows]


def test_a_manager_takes_back_some_units_the_refund_is_what_they_cost_and_the_goods_go_back(edge, manager):
    order = sold(edge)
    before = stock_of(edge.client, *CAKE)
    r = take_back(edge, manager, order, (CAKE[1], 1), note="盒子壓壞")
    assert r.status_code == 201, r.text
    done = r.json()
    assert done["refund"] == 463 // 2 == 231
    assert done["refundMethod"] == "cash"
    assert done["staff"]["name"] == "店長 Manager"
    assert done["items"] == [{"itemId": line(order, CAKE[1]), "quantity": 1, "returnedBefore": 0}]
    assert stock_of(edge.client, *CAKE) == before + 1

    now = edge.client.get(f"/orders/{order['orderId']}", headers=manager).json()
    assert now["status"] == "completed"  # partly returned is still a completed sale
    assert now["returnedQuantities"] == {line(order, CAKE[1]): 1, line(order, TEA[1]): 0}
    assert now["refundedAmount"] == 231
    assert [r["returnId"] for r in now["returns"]] == [done["returnId"]]
    assert now["payments"][0]["status"] == "captured"
    listed = edge.client.get("/orders", headers=manager).json()["items"][0]
    assert listed["returnedQuantities"] == now["returnedQuantities"]

    # Queued for the cloud with its stock delta, whose id comes from the return.
    assert outbox(edge, "orderReturns") == [done]
    [delta] = [d for d in outbox(edge, "stockDeltas") if d["reason"] == "refund"]
    assert delta["deltaId"] == return_delta_id(done["returnId"], line(order, CAKE[1]))
    assert (delta["variantId"], delta["quantity"]) == (CAKE[1], 1)
    check_node_database(edge.database_path)

    # The rest of the cakes and the teas: the last units move the order to returned, by the transition.
    r = take_back(edge, manager, order, (CAKE[1], 1), (TEA[1], 3))
    assert r.status_code == 201, r.text
    assert r.json()["refund"] == (463 - 231) + 142
    assert [i["returnedBefore"] for i in r.json()["items"]] == sorted(
        [1, 0], key=lambda b: line(order, CAKE[1] if b else TEA[1])
    )
    now = edge.client.get(f"/orders/{order['orderId']}", headers=manager).json()
    assert now["status"] == "returned"
    assert now["refundedAmount"] == order["total"] == 605
    assert sum(r["refund"] for r in now["returns"]) == 605
    assert stock_of(edge.client, *CAKE) == before + 2  # each unit back once
    [change] = outbox(edge, "orderStatus")
    assert (change["fromStatus"], change["toStatus"]) == ("completed", "returned")
    assert change["staff"]["name"] == "店長 Manager"
    check_node_database(edge.database_path)


def test_a_retry_with_the_same_key_gets_the_same_return_and_restocks_once(edge, manager):
    order = sold(edge)
    before = stock_of(edge.client, *TEA)
    first = take_back(edge, manager, order, (TEA[1], 2), idempotencyKey="return-0001")
    assert first.status_code == 201, first.text
    counts = table_counts(edge.database_path)
    again = take_back(edge, manager, order, (TEA[1], 2), idempotencyKey="return-0001")
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert table_counts(edge.database_path) == counts
    assert stock_of(edge.client, *TEA) == before + 2
    assert len(outbox(edge, "orderReturns")) == 1
    # The same key for other units or another order is not a retry.
    other_units = take_back(edge, manager, order, (TEA[1], 1), idempotencyKey="return-0001")
    assert (other_units.status_code, other_units.json()["error"]["code"]) == (409, "idempotencyKeyReused")
    other_order = take_back(edge, manager, sold(edge), (TEA[1], 2), idempotencyKey="return-0001")
    assert (other_order.status_code, other_order.json()["error"]["code"]) == (409, "idempotencyKeyReused")


def test_each_refusal_has_its_code_and_writes_nothing(edge, manager):
    order = sold(edge)
    assert take_back(edge, manager, order, (CAKE[1], 1)).status_code == 201
    cashier = as_staff(edge.client, edge.settings, StaffRole.CASHIER)
    counts = table_counts(edge.database_path)
    url = f"/orders/{order['orderId']}/returns"
    cake = line(order, CAKE[1])

    def refused(status: int, code: str, body: dict, headers: dict = manager, path: str = url) -> dict:
        r = edge.client.post(path, json=body, headers=headers)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
        return r.json()["error"]

    too_many = refused(409, "returnTooLarge", {"items": [{"itemId": cake, "quantity": 2}]})
    assert (too_many["itemId"], too_many["requested"], too_many["returnable"]) == (cake, 2, 1)
    unknown = "01JZZZZZZZZZZZZZZZZZZZZZZZ"
    assert (
        refused(404, "orderItemNotFound", {"items": [{"itemId": unknown, "quantity": 1}]})["itemId"]
        == unknown
    )
    refused(
        404,
        "orderNotFound",
        {"items": [{"itemId": cake, "quantity": 1}]},
        path="/orders/01J0000000000000000000000Z/returns",
    )
    refused(
        422, "validationError", {"items": [{"itemId": cake, "quantity": 1}, {"itemId": cake, "quantity": 1}]}
    )
    refused(422, "validationError", {"items": [{"itemId": cake, "quantity": 0}]})
    refused(422, "validationError", {"items": []})
    refused(422, "validationError", {"items": [{"itemId": cake, "quantity": 1}], "note": "壞了\u0000"})
    refused(401, "unauthenticated", {"items": [{"itemId": cake, "quantity": 1}]}, headers={})
    assert (
        refused(403, "forbidden", {"items": [{"itemId": cake, "quantity": 1}]}, headers=cashier)["role"]
        == "manager"
    )
    assert table_counts(edge.database_path) == counts

    # A sale refunded as a whole has nothing left to return.
    r = edge.client.post(
        f"/orders/{order['orderId']}/transitions", json={"toStatus": "refunded"}, headers=manager
    )
    assert r.status_code == 200, r.text
    assert r.json()["refundedAmount"] == 605  # the refund gave back what the return had not
    counts = table_counts(edge.database_path)
    refused(409, "illegalTransition", {"items": [{"itemId": line(order, TEA[1]), "quantity": 1}]})
    assert table_counts(edge.database_path) == counts


def test_a_whole_return_after_a_partial_one_puts_back_only_the_rest(edge, manager):
    order = sold(edge)
    cakes, teas = stock_of(edge.client, *CAKE), stock_of(edge.client, *TEA)
    assert take_back(edge, manager, order, (CAKE[1], 1), (TEA[1], 1)).status_code == 201
    r = edge.client.post(
        f"/orders/{order['orderId']}/transitions", json={"toStatus": "returned"}, headers=manager
    )
    assert r.status_code == 200, r.text
    assert (stock_of(edge.client, *CAKE), stock_of(edge.client, *TEA)) == (cakes + 2, teas + 3)
    assert r.json()["refundedAmount"] == 605
    assert r.json()["returnedQuantities"] == {line(order, CAKE[1]): 1, line(order, TEA[1]): 1}
    check_node_database(edge.database_path)
