"""An order's e-invoice choice on the wire (issue 17): schema version 2 carries it, version 1 carries every
order without one exactly as before, and a choice no check passes is a bad payload."""

import json

import pytest

from models.einvoice import EInvoice, EInvoiceKind
from models.sales import Order
from sync_protocol.encoding import decode_batch, encode
from sync_protocol.envelope import EINVOICE_SCHEMA_VERSION, SCHEMA_VERSION, Envelope, validate_payload
from sync_protocol.errors import MessageRejected, RejectReason
from tests.sync_protocol.sync_factories import batch, envelope, order

V1_ORDER_FIELDS = {Order.model_fields[name].alias for name in Order.model_fields if name != "einvoice"}


def with_einvoice(n: int = 1, *, kind: str = "carrier", value: str | None = "/ABC1234") -> Order:
    return order(n).model_copy(update={"einvoice": EInvoice(kind=EInvoiceKind(kind), value=value)})


def test_an_order_without_a_choice_is_a_version_1_message_with_only_version_1_fields():
    message = envelope(1, order(1))
    assert message.schema_version == SCHEMA_VERSION == 1
    assert set(message.payload) <= V1_ORDER_FIELDS  # what a reader of version 1 accepts (it refuses the rest)


@pytest.mark.parametrize(
    ("kind", "value"), [("none", None), ("carrier", "/ABC1234"), ("donation", "8585"), ("taxId", "04595257")]
)
def test_an_order_with_a_choice_is_version_2_and_reads_back(kind, value):
    sold = with_einvoice(kind=kind, value=value)
    message = envelope(1, sold)
    assert message.schema_version == EINVOICE_SCHEMA_VERSION == 2
    assert message.payload["einvoice"] == {"kind": kind, "value": value}
    assert validate_payload(message) == sold
    received = decode_batch(encode(batch([message, envelope(2, order(2))])))  # one batch, both versions
    assert [m.schema_version for m in received.messages] == [2, 1]
    assert received.schema_version == SCHEMA_VERSION  # the batch itself did not change


def test_version_1_cannot_carry_a_choice():
    message = envelope(1, with_einvoice())
    relabelled = Envelope.model_validate(message.to_json_dict() | {"schemaVersion": 1})
    with pytest.raises(MessageRejected) as excinfo:
        validate_payload(relabelled)
    assert excinfo.value.reason is RejectReason.BAD_PAYLOAD
    assert "schemaVersion 1" in excinfo.value.detail


@pytest.mark.parametrize(
    "einvoice",
    [
        {"kind": "carrier", "value": "/abc1234"},
        {"kind": "donation", "value": "1"},
        {"kind": "taxId", "value": "04595258"},
        {"kind": "none", "value": "x"},
        {"kind": "paper"},
        "/ABC1234",
    ],
)
def test_a_choice_no_check_passes_is_a_bad_payload_of_that_message_only(einvoice):
    good = envelope(1, with_einvoice(1))
    forged = envelope(2, with_einvoice(2))
    raw = json.loads(encode(batch([good, forged])))
    raw["messages"][1]["payload"]["einvoice"] = einvoice
    with pytest.raises(MessageRejected) as excinfo:
        decode_batch(json.dumps(raw).encode())
    assert excinfo.value.reason is RejectReason.BAD_PAYLOAD
    assert excinfo.value.seqs == (2,)
