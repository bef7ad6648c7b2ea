"""The e-invoice choice at checkout (issue 17), over real HTTP on a real node: each kind kept on the order and
in its outbox record, each refused value a 422 with its kind's code and nothing written."""

import json
import sqlite3

import pytest

from edge.node import Node
from edge.sync_uplink import pending_batches
from models.ids import new_id
from sync_protocol.envelope import Envelope
from sync_protocol.streams import Stream
from tests.edge.helpers import as_staff, checkout, new_cart, stock_of, table_counts


def _outbox_order(edge, order_id: str) -> dict:
    with sqlite3.connect(edge.database_path) as conn:
        row = conn.execute(
            "SELECT payload FROM outbox WHERE stream='orders' AND aggregate_id=?", (order_id,)
        ).fetchone()
    return json.loads(row[0])


@pytest.mark.parametrize(
    "einvoice",
    [
        {"kind": "none"},
        {"kind": "carrier", "value": "/ABC1234"},
        {"kind": "carrier", "value": "/+.-0Z9A"},
        {"kind": "donation", "value": "8585"},
        {"kind": "donation", "value": "123"},
        {"kind": "taxId", "value": "22099131"},
        {"kind": "taxId", "value": "10458575"},  # 7th digit 7
        {"kind": "taxId", "value": "04595252"},  # valid by the 2023 rule (% 5) only
    ],
)
def test_each_kind_is_kept_on_the_order_and_sent_with_it(edge, einvoice):
    cart = new_cart(edge.client, ("latte-1", 1))
    response = checkout(edge.client, cart["cartId"], einvoice=einvoice)
    assert response.status_code == 201, response.text
    order = response.json()
    expected = {"value": None} | einvoice
    assert order["einvoice"] == expected
    staff = as_staff(edge.client, edge.settings)
    assert edge.client.get(f"/orders/{order['orderId']}", headers=staff).json()["einvoice"] == expected
    assert _outbox_order(edge, order["orderId"]) == order  # the cloud gets the choice with the order


def test_an_order_without_a_choice_has_none_and_goes_up_as_before(edge):
    cart = new_cart(edge.client, ("latte-1", 1))
    order = checkout(edge.client, cart["cartId"]).json()
    assert "einvoice" not in order  # absent, not null: a reader of sync schema 1 reads it as it always did
    assert "einvoice" not in _outbox_order(edge, order["orderId"])


@pytest.mark.parametrize(
    ("einvoice", "code"),
    [
        ({"kind": "carrier", "value": "/abc1234"}, "invalidCarrier"),  # lower case
        ({"kind": "carrier", "value": "ABC12345"}, "invalidCarrier"),  # no slash
        ({"kind": "carrier", "value": "/ABC123"}, "invalidCarrier"),  # 6 characters
        ({"kind": "carrier", "value": "/ABC12345"}, "invalidCarrier"),  # 8 characters
        ({"kind": "carrier", "value": "/ABC_123"}, "invalidCarrier"),  # _ is not a carrier character
        ({"kind": "carrier"}, "invalidCarrier"),  # no barcode
        ({"kind": "donation", "value": "12"}, "invalidDonationCode"),
        ({"kind": "donation", "value": "12345678"}, "invalidDonationCode"),
        ({"kind": "donation", "value": "12a4"}, "invalidDonationCode"),
        ({"kind": "donation"}, "invalidDonationCode"),
        ({"kind": "taxId", "value": "04595258"}, "invalidTaxId"),  # checksum
        ({"kind": "taxId", "value": "0459525"}, "invalidTaxId"),  # 7 digits
        ({"kind": "taxId", "value": "0459525A"}, "invalidTaxId"),
        ({"kind": "taxId", "value": "12345674"}, "invalidTaxId"),  # 7th digit 7, neither sum fits
        ({"kind": "taxId"}, "invalidTaxId"),
        ({"kind": "none", "value": "/ABC1234"}, "validationError"),  # none has no value
        ({"kind": "paper"}, "validationError"),
        ({"kind": "taxId", "value": 22099131}, "validationError"),  # a number, not text
        ("/ABC1234", "validationError"),
    ],
)
def test_a_refused_choice_is_422_with_the_code_of_its_kind_and_writes_nothing(edge, einvoice, code):
    cart = new_cart(edge.client, ("latte-1", 1))
    before = table_counts(edge.database_path)
    response = checkout(edge.client, cart["cartId"], einvoice=einvoice)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["field"].startswith("einvoice")
    assert table_counts(edge.database_path) == before
    assert stock_of(edge.client, "latte", "latte-1") == 30
    # the cart is still open: the shopper fixes the value and pays
    fixed = checkout(edge.client, cart["cartId"], einvoice={"kind": "carrier", "value": "/ABC1234"})
    assert fixed.status_code == 201, fixed.text


def test_an_idempotent_retry_returns_the_order_with_its_choice(edge):
    cart = new_cart(edge.client, ("latte-1", 1))
    body = {"einvoice": {"kind": "taxId", "value": "04595257"}, "idempotencyKey": "kiosk-1-sale-17"}
    first = checkout(edge.client, cart["cartId"], **body)
    again = checkout(edge.client, cart["cartId"], **body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert again.json()["einvoice"] == {"kind": "taxId", "value": "04595257"}


def test_the_order_with_a_choice_goes_up_at_schema_version_2(edge):
    """An order with an e-invoice is the one thing version 1 cannot carry; everything else stays at 1, so a
    cloud that speaks only 1 keeps reading it (docs/sync-protocol.md, "Versioning")."""
    plain = checkout(edge.client, new_cart(edge.client, ("latte-1", 1))["cartId"]).json()
    chosen = checkout(
        edge.client,
        new_cart(edge.client, ("latte-1", 1))["cartId"],
        einvoice={"kind": "donation", "value": "8585"},
    ).json()
    node = Node.open(edge.settings)
    try:
        with node.db.read() as conn:
            health = edge.client.get("/health").json()
            batches = pending_batches(
                conn, store_id=health["storeId"], device_id=health["deviceId"], new_batch_id=new_id
            )
    finally:
        node.close()
    envelopes: dict[str, Envelope] = {
        m.payload["orderId"]: m for b in batches if b.stream is Stream.ORDERS for m in b.messages
    }
    assert envelopes[plain["orderId"]].schema_version == 1
    assert envelopes[chosen["orderId"]].schema_version == 2
    assert all(b.schema_version == 1 for b in batches)
