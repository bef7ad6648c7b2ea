"""Retries where they are safe and nowhere else: faults injected around a real node, a real busy database,
a port nothing listens on."""

import json

import pytest

from models.sales import PaymentMethod
from node_client import NodeClient, NodeUnreachable, RetryPolicy
from plumbing import free_port
from tests.node_client.conftest import MANAGER, PIN, QUICK, HeldLock


def test_reads_come_through_failed_connections(injected, edge):
    client, injector = injected(edge.base_url, "refuse", "refuse", retries=2)
    assert client.health().database_ok
    assert injector.attempts("GET", "/health") == 3
    client, injector = injected(edge.base_url, "lose", retries=1)
    assert client.get_product("latte").product_id == "latte"
    assert injector.attempts("GET", "/catalog/products/latte") == 2


def test_a_read_gives_up_after_its_retries(injected, edge):
    client, injector = injected(edge.base_url, "refuse", "refuse", "refuse", retries=2)
    with pytest.raises(NodeUnreachable) as caught:
        client.health()
    assert caught.value.attempts == 3
    assert "after 3 attempt(s): injected: connection refused" in str(caught.value)
    assert injector.attempts("GET", "/health") == 3
    assert client.health().database_ok  # the next call starts afresh


def test_a_node_nobody_listens_for_is_unreachable():
    address = f"http://127.0.0.1:{free_port()}"
    with NodeClient(address, retries=2, **QUICK) as client:
        with pytest.raises(NodeUnreachable) as caught:
            client.health()
        assert caught.value.attempts == 3
        assert caught.value.base_url == address + "/api/v1"
        with pytest.raises(NodeUnreachable) as caught:
            client.add_item("01J0000000000000000000000Z", "latte-1")
        assert caught.value.attempts == 1  # a cart change is sent once


def test_a_lost_checkout_answer_is_retried_with_the_same_key_and_sells_once(injected, edge, node):
    cart = node.create_cart([("latte-1", 2)])
    client, injector = injected(edge.base_url, "lose")
    order = client.checkout(cart.cart_id, PaymentMethod.CASH)  # the node sold; the answer was lost; again

    sent = [r for r in injector.seen if r.url.path.endswith("/checkout")]
    assert len(sent) == 2
    keys = {json.loads(r.content)["idempotencyKey"] for r in sent}
    assert len(keys) == 1
    assert keys.pop().startswith("nc-")
    assert [o.order_id for o in node.iter_orders()] == [order.order_id]
    assert node.get_product("latte").variants[0].stock == 28  # 30 less the 2 sold, once
    assert node.sync_status().pending_total == 2  # one order, one stock delta


def test_a_callers_own_key_makes_its_own_repeat_safe_too(node):
    cart = node.create_cart([("latte-1", 1)])
    first = node.checkout(cart.cart_id, PaymentMethod.CASH, idempotency_key="kiosk-2-sale-0042")
    again = node.checkout(cart.cart_id, PaymentMethod.CASH, idempotency_key="kiosk-2-sale-0042")
    assert again == first
    assert len(node.list_orders().items) == 1


def test_a_lost_return_answer_is_retried_with_the_same_key_and_refunds_once(injected, edge, node):
    sale = node.checkout(node.create_cart([("latte-1", 2)]).cart_id, PaymentMethod.CASH)
    stock = node.get_product("latte").variants[0].stock
    client, injector = injected(edge.base_url, "lose", token=node.token)
    taken = client.return_items(sale.order_id, [(sale.items[0].item_id, 1)])  # taken; the answer lost; again

    sent = [r for r in injector.seen if r.url.path.endswith("/returns")]
    assert len(sent) == 2
    assert len({json.loads(r.content)["idempotencyKey"] for r in sent}) == 1
    assert node.get_order(sale.order_id).returns == [taken]  # one return, one refund
    assert node.get_product("latte").variants[0].stock == stock + 1  # back once
    again = node.return_items(sale.order_id, [(sale.items[0].item_id, 1)], idempotency_key="till-2-return-7")
    assert (
        node.return_items(sale.order_id, [(sale.items[0].item_id, 1)], idempotency_key="till-2-return-7")
        == again
    )
    assert len(node.get_order(sale.order_id).returns) == 2


def test_a_busy_node_is_asked_again_for_a_checkout(busy_node, injected):
    base_url, database = busy_node
    with NodeClient(base_url, **QUICK) as plain:
        cart = plain.create_cart([("latte-1", 1)])
    lock = HeldLock(database)

    def free_once_refused(response):  # another writer finishing: the node said busy, then the lock frees
        if response.status_code == 503:
            lock.release()

    client, injector = injected(base_url, after=free_once_refused)
    try:
        order = client.checkout(cart.cart_id, PaymentMethod.CASH)
    finally:
        lock.close()
    assert order.status == "completed"
    assert injector.attempts("POST", "/checkout") == 2
    client.staff_login(MANAGER, PIN)
    assert [o.order_id for o in client.iter_orders()] == [order.order_id]


@pytest.mark.parametrize("fault", ["refuse", "lose"])
def test_cart_and_order_changes_are_sent_once(injected, edge, node, fault):
    cart = node.create_cart([("latte-1", 1)])
    order = node.checkout(node.create_cart([("tissues-1", 1)]).cart_id, PaymentMethod.CASH)
    line = cart.items[0].item_id
    changes = {
        "POST /carts": lambda c: c.create_cart(),
        "POST /items": lambda c: c.add_item(cart.cart_id, "latte-1"),
        f"PATCH /items/{line}": lambda c: c.set_item_quantity(cart.cart_id, line, 3),
        f"DELETE /items/{line}": lambda c: c.remove_item(cart.cart_id, line),
        "POST /transitions": lambda c: c.transition_order(order.order_id, "returned"),
    }
    for target, change in changes.items():
        client, injector = injected(edge.base_url, fault, retries=3, token=node.token)
        with pytest.raises(NodeUnreachable) as caught:
            change(client)
        method, path_end = target.split(" ")
        assert caught.value.attempts == 1
        assert injector.attempts(method, path_end) == 1
    # A lost answer means the node did the work: exactly once, which a retry would have doubled.
    quantity = node.get_cart(cart.cart_id).items
    orders = node.get_order(order.order_id).status
    if fault == "lose":
        assert quantity == []  # added (2), set to 3, then removed: each once
        assert orders == "returned"
    else:
        assert [i.quantity for i in quantity] == [1]
        assert orders == "completed"


def test_the_wait_doubles_with_jitter_within_the_cap_and_heeds_retry_after():
    policy = RetryPolicy(retries=5, backoff=0.1, max_backoff=1.0)
    assert [policy.delay(n, rand=lambda: 1.0) for n in range(5)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0])
    assert [policy.delay(n, rand=lambda: 0.0) for n in range(5)] == pytest.approx([0.05, 0.1, 0.2, 0.4, 0.5])
    waits = {policy.delay(2) for _ in range(50)}
    assert len(waits) > 1  # jitter: kiosks that lost the node together do not return in step
    assert all(0.2 <= w <= 0.4 for w in waits)
    assert policy.delay(0, retry_after=0.7, rand=lambda: 0.0) == pytest.approx(0.7)
    assert policy.delay(0, retry_after=30, rand=lambda: 0.0) == pytest.approx(1.0)  # a shopper is waiting
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(retries=-1)
