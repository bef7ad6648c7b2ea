"""The calls a phone bridge makes, against a real node: cart hand-off, receipts, catalog changes."""

import pytest

from models.node_api import (
    CartHandoff,
    CatalogChanges,
    ReceiptAccess,
    ReceiptPublic,
    format_receipt_token,
    parse_handoff_qr,
)
from models.sales import CartStatus, PaymentMethod
from node_client import Conflict, NodeClient, NodeUnreachable, NotFound, TooMany
from tests.node_client.conftest import QUICK


def test_a_phones_cart_handed_off_to_a_kiosk(node):
    phone = node.create_cart([("bubble-tea-1", 2), ("latte-1", 1)])
    handoff = node.hand_off_cart(phone.cart_id)
    assert isinstance(handoff, CartHandoff)
    assert handoff.cart_id == phone.cart_id
    code = parse_handoff_qr(handoff.qr)  # what the kiosk's camera read
    assert code == handoff.code
    kiosk = node.claim_handoff(code)
    assert kiosk.cart_id != phone.cart_id
    assert sorted((i.variant_id, i.quantity) for i in kiosk.items) == [("bubble-tea-1", 2), ("latte-1", 1)]
    assert node.get_cart(phone.cart_id).status is CartStatus.HANDED_OFF
    with pytest.raises(Conflict) as caught:
        node.add_item(phone.cart_id, "latte-1")
    assert caught.value.code == "cartHandedOff"
    with pytest.raises(Conflict) as caught:
        node.claim_handoff(code)
    assert caught.value.code == "handoffUsed"
    with pytest.raises(Conflict) as caught:
        node.hand_off_cart(node.create_cart().cart_id)
    assert caught.value.code == "cartEmpty"
    assert node.checkout(kiosk.cart_id, PaymentMethod.CASH).total == phone.total


def test_guessed_codes_are_not_found_then_too_many(node, edge):
    for n in range(10):
        with pytest.raises(NotFound) as caught:
            node.claim_handoff(f"99999{n}")
        assert caught.value.code == "handoffNotFound"
    with pytest.raises(TooMany) as caught:
        node.claim_handoff("123456")
    assert (caught.value.code, caught.value.retry_after is not None) == ("tooManyAttempts", True)
    edge.clock.advance(seconds=61)
    with pytest.raises(NotFound):
        node.claim_handoff("123456")


def test_a_receipt_read_later_with_its_token_and_no_login(node, edge):
    cart = node.create_cart([("latte-1", 2)])
    with pytest.raises(Conflict) as caught:
        node.receipt_access(cart.cart_id)
    assert caught.value.code == "cartNotCheckedOut"
    order = node.checkout(cart.cart_id, PaymentMethod.CARD)
    access = node.receipt_access(cart.cart_id)
    assert isinstance(access, ReceiptAccess)
    assert access.order_id == order.order_id
    with NodeClient(edge.base_url, **QUICK) as phone:  # no staff token
        receipt = phone.get_receipt(order.order_id, format_receipt_token(access.receipt_token).lower())
        assert isinstance(receipt, ReceiptPublic)
        assert (receipt.order_id, receipt.total, receipt.refunded_amount) == (order.order_id, order.total, 0)
        with pytest.raises(NotFound) as caught:
            phone.get_receipt(
                order.order_id, "0000-0000" if access.receipt_token != "00000000" else "1111-1111"
            )
        assert caught.value.code == "receiptNotFound"


def test_catalog_changes_and_the_stores_name(node):
    assert node.health().store_name == "信義門市 Xinyi store"
    changes = node.catalog_changes(1)
    assert isinstance(changes, CatalogChanges)
    assert (changes.catalog_version, changes.reset, changes.items, changes.removed) == (1, False, [], [])
    assert node.catalog_changes(0, limit=5).reset is True


def test_reads_are_retried_and_hand_off_calls_sent_once(injected, edge, node):
    cart = node.create_cart([("latte-1", 1)])
    node.checkout(cart.cart_id, PaymentMethod.CASH)
    client, injector = injected(edge.base_url, "refuse", "refuse")
    assert client.receipt_access(cart.cart_id).order_id
    assert injector.attempts("GET", "/receipt") == 3
    client, injector = injected(edge.base_url, "refuse")
    assert client.catalog_changes(1).reset is False
    assert injector.attempts("GET", "/catalog/changes") == 2
    phone = node.create_cart([("latte-1", 1)])
    client, injector = injected(edge.base_url, "lose", retries=3)
    with pytest.raises(NodeUnreachable):
        client.hand_off_cart(phone.cart_id)
    assert injector.attempts("POST", "/handoff") == 1
    code = node.hand_off_cart(phone.cart_id).code
    client, injector = injected(edge.base_url, "lose", retries=3)
    with pytest.raises(NodeUnreachable):
        client.claim_handoff(code)
    assert injector.attempts("POST", "/claim") == 1
