"""The compact form of an uplink batch: what the ``compact2+zstd`` content encoding compresses (issue 22).

A batch says its store, device, stream and first seq once; version 1 repeats them in every envelope (the
store and device ids also in most payloads, and an order's id in each of its lines and payments), and the
store and device ids again in every HLC stamp's node. The compact form leaves out what the batch already
says and ``restore_batch`` puts it back, so the decoder hands on exactly the document a version-1 batch
would have been: the same ``Batch``, envelope for envelope, payload key for payload key.

What is left out (and restored):

- in each envelope: ``storeId``, ``deviceId``, ``stream`` (the batch's, which validation requires anyway),
  ``seq`` (the batch's ``firstSeq`` plus the envelope's index: a batch's seqs are contiguous), the node of
  ``hlc`` (always the device), and ``schemaVersion`` when it is the batch's;
- in each payload, per stream (``ELIDED``): ``storeId`` and ``deviceId`` when they are the batch's, and an
  order's ``orderId`` in its ``items`` and ``payments`` when it is the order's.

Only a string equal to the one restored is left out. A field the payload does not have at all is listed in
the envelope's ``absent`` (``"deviceId"``, ``"items.2.orderId"``), so it stays absent; a field holding
anything else (null, another id) travels as it is. So the round trip is exact for any payload, even one its
stream's model would refuse (the cloud must see that refusal as it is). Our own nodes' payloads never need
``absent``.

Restoring never trusts its input. It fills in only what is missing and leaves everything else to the same
validation as a version-1 batch (unknown fields refused, stores and devices checked against the batch and
the topic, seqs contiguous), so a compact batch can claim nothing a version-1 batch could not.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any

from models.sales import OrderItem, Payment
from sync_protocol.envelope import PAYLOAD_MODELS, Batch, Envelope
from sync_protocol.errors import MessageRejected, RejectReason
from sync_protocol.streams import Stream

FIRST_SEQ = "firstSeq"
"""The batch's first seq: the only field the compact form adds to a batch."""
ABSENT = "absent"
"""An envelope's list of left-out fields that were not there at all (never sent by our own nodes)."""


@dataclass(frozen=True)
class _Elision:
    """What a stream's payloads leave out: top-level fields equal to the batch's (``storeId``,
    ``deviceId``), and in each listed child list, the field that repeats the parent's id."""

    batch_fields: tuple[str, ...]
    children: tuple[tuple[str, str, str], ...] = ()  # (list field, child field, the parent's field)


ELIDED: Mapping[Stream, _Elision] = MappingProxyType(
    {
        Stream.ORDERS: _Elision(
            ("storeId", "deviceId"), (("items", "orderId", "orderId"), ("payments", "orderId", "orderId"))
        ),
        Stream.STOCK_DELTAS: _Elision(("storeId",)),
        Stream.ORDER_STATUS: _Elision(("deviceId",)),  # the transition's origin: the sending device
        Stream.ORDER_RETURNS: _Elision(("storeId", "deviceId")),
        Stream.FOOTFALL: _Elision(("storeId", "deviceId")),
        Stream.Z_REPORTS: _Elision(("storeId", "deviceId")),
    }
)
"""Per stream, what its payloads leave out when the batch already says it."""


def _aliases(model: Any) -> tuple[str, ...]:
    return tuple(field.alias or name for name, field in model.model_fields.items())


# Field orders, so that restored fields go back where the models put them: a payload a node dumped from
# its model comes back key for key in the same order (the cloud keeps a refused envelope's JSON as it was).
_ENVELOPE_ORDER = _aliases(Envelope)
_PAYLOAD_ORDER: Mapping[Stream, tuple[str, ...]] = MappingProxyType(
    {stream: _aliases(model) for stream, model in PAYLOAD_MODELS.items()}
)
_CHILD_ORDER: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"items": _aliases(OrderItem), "payments": _aliases(Payment)}
)
_FROM_THE_BATCH = ("storeId", "deviceId", "stream")


# --- leaving out ----------------------------------------------------------------------------------------


def compact_batch(batch: Batch) -> dict[str, Any]:
    """The batch as its compact JSON document (camelCase), from which ``restore_batch`` gives back exactly
    ``batch``'s version-1 document."""
    full = batch.model_dump(mode="json", by_alias=True)
    store, device, stream = batch.store_id, batch.device_id, batch.stream
    suffix = f"-{device}"
    messages: list[dict[str, Any]] = []
    for envelope in full["messages"]:
        item: dict[str, Any] = {}
        if envelope["schemaVersion"] != full["schemaVersion"]:
            item["schemaVersion"] = envelope["schemaVersion"]
        item["messageId"] = envelope["messageId"]
        # A valid batch's stamps are all made by its device (the envelope's validator): the node goes.
        item["hlc"] = envelope["hlc"].removesuffix(suffix)
        payload, absent = _compact_payload(envelope["payload"], ELIDED[stream], store, device)
        item["payload"] = payload
        if absent:
            item[ABSENT] = absent
        messages.append(item)
    return {
        "schemaVersion": full["schemaVersion"],
        "batchId": full["batchId"],
        "storeId": store,
        "deviceId": device,
        "stream": full["stream"],
        FIRST_SEQ: batch.first_seq,
        "messages": messages,
    }


def _compact_payload(
    payload: dict[str, Any], elision: _Elision, store: str, device: str
) -> tuple[dict[str, Any], list[str]]:
    said = {"storeId": store, "deviceId": device}
    drop: set[str] = set()
    absent: list[str] = []
    for field in elision.batch_fields:
        if field not in payload:
            absent.append(field)
        elif payload[field] == said[field] and type(payload[field]) is str:
            drop.add(field)
    out = {k: v for k, v in payload.items() if k not in drop}
    for list_field, child_field, parent_field in elision.children:
        children, parent = payload.get(list_field), payload.get(parent_field)
        if type(children) is not list or type(parent) is not str:
            continue  # restore_batch fills nothing in here either
        compacted: list[Any] = []
        for index, child in enumerate(children):
            if type(child) is dict:
                if child_field not in child:
                    absent.append(f"{list_field}.{index}.{child_field}")
                elif child[child_field] == parent and type(child[child_field]) is str:
                    child = {k: v for k, v in child.items() if k != child_field}
            compacted.append(child)
        out[list_field] = compacted
    return out, absent


# --- restoring ----------------------------------------------------------------------------------------------


def _refuse(detail: str) -> MessageRejected:
    return MessageRejected(RejectReason.MALFORMED, f"compact batch: {detail}")


def restore_batch(compact: dict[str, Any]) -> dict[str, Any]:
    """The version-1 document of a compact batch (what ``compact_batch`` made, or anything a device sent).

    Refuses (``malformed``) only what the compact form itself needs and lacks: ``firstSeq``, a list of
    ``absent`` fields. Anything else out of shape is left as it is, for the batch's validation to refuse.
    """
    first = compact.get(FIRST_SEQ)
    if type(first) is not int:
        raise _refuse("firstSeq must be an integer")
    batch = {k: v for k, v in compact.items() if k != FIRST_SEQ}
    messages = batch.get("messages")
    if type(messages) is not list:
        return batch
    stream = _stream(batch.get("stream"))
    said = {k: batch[k] for k in _FROM_THE_BATCH if type(batch.get(k)) is str}
    batch["messages"] = [
        _restore_envelope(item, first + index, batch, said, stream) if type(item) is dict else item
        for index, item in enumerate(messages)
    ]
    return batch


def _stream(value: Any) -> Stream | None:
    try:
        return Stream(value)
    except ValueError:
        return None  # not a stream: payloads stay as sent, and validation refuses the batch


def _restore_envelope(
    item: dict[str, Any], seq: int, batch: dict[str, Any], said: dict[str, str], stream: Stream | None
) -> dict[str, Any]:
    absent = item.get(ABSENT, [])
    if type(absent) is not list or not all(type(a) is str for a in absent):
        raise _refuse(f"seq {seq}: absent must be a list of field names")
    envelope = {k: v for k, v in item.items() if k != ABSENT}
    fills: dict[str, Any] = {k: v for k, v in said.items() if k not in envelope}
    if "schemaVersion" not in envelope and "schemaVersion" in batch:
        fills["schemaVersion"] = batch["schemaVersion"]
    if "seq" not in envelope:
        fills["seq"] = seq
    hlc, device = envelope.get("hlc"), said.get("deviceId")
    if type(hlc) is str and hlc.count("-") == 1 and device is not None:
        envelope["hlc"] = f"{hlc}-{device}"  # wall-counter: the node was left out
    payload = envelope.get("payload")
    if stream is not None and type(payload) is dict:
        envelope["payload"] = _restore_payload(payload, stream, said, frozenset(absent))
    return _with(envelope, fills, _ENVELOPE_ORDER)


def _restore_payload(
    payload: dict[str, Any], stream: Stream, said: dict[str, str], absent: frozenset[str]
) -> dict[str, Any]:
    elision = ELIDED[stream]
    fills = {
        field: said[field]
        for field in elision.batch_fields
        if field not in payload and field not in absent and field in said
    }
    out = _with(payload, fills, _PAYLOAD_ORDER[stream])
    for list_field, child_field, parent_field in elision.children:
        children, parent = out.get(list_field), out.get(parent_field)
        if type(children) is not list or type(parent) is not str:
            continue
        order = _CHILD_ORDER[list_field]
        out[list_field] = [
            _with(child, {child_field: parent}, order)
            if type(child) is dict
            and child_field not in child
            and f"{list_field}.{index}.{child_field}" not in absent
            else child
            for index, child in enumerate(children)
        ]
    return out


@cache
def _rank(order: tuple[str, ...]) -> Mapping[str, int]:
    # A handful of field orders, looked up for every envelope, payload and order line of every batch: made
    # once each (a tenth of restoring a batch, issue 22).
    return {key: i for i, key in enumerate(order)}


def _with(document: dict[str, Any], fills: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    """``document`` with ``fills`` (keys it does not have) added where ``order`` (the model's fields) puts
    them: before the first of the document's keys that comes after them. Keys the model does not know keep
    their place."""
    if not fills:
        return document
    layout = (order, tuple(document), tuple(fills))
    keys = _PLANS.get(layout)
    if keys is None:
        keys = _placed(*layout)
        rank = _rank(order)
        # Only layouts of the model's own fields are kept: keys it does not know come only from a batch the
        # validation will refuse, and kept they would hold whatever long keys a hostile device made up.
        if all(key in rank for key in document):
            if len(_PLANS) >= _MAX_PLANS:
                _PLANS.clear()  # a device sending every order of the fields: ours are placed again
            _PLANS[layout] = keys
    return {key: fills[key] if key in fills else document[key] for key in keys}


def _placed(order: tuple[str, ...], keys: tuple[str, ...], fills: tuple[str, ...]) -> tuple[str, ...]:
    """The keys of ``_with``'s result, in order."""
    rank = _rank(order)
    pending = sorted(fills, key=lambda key: rank.get(key, len(order)))
    out: list[str] = []
    for key in keys:
        place = rank.get(key)
        while pending and place is not None and rank.get(pending[0], len(order)) < place:
            out.append(pending.pop(0))
        out.append(key)
    return (*out, *pending)


# A batch's envelopes, payloads and order lines share a few key layouts: each is placed once, then looked up
# (restoring a 182-order batch took 3.2 ms instead of 3.9, issue 22; the cloud restores every batch it
# takes). Read and written by the cloud's ingest threads at once: each lookup, store or clear is one dict
# operation, and a layout placed twice is placed the same; threads racing past the bound overshoot it by a
# few entries at most before the next clear.
_PLANS: dict[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]], tuple[str, ...]] = {}
_MAX_PLANS = 512
