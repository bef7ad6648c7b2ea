"""Uplink content encodings (issue 22): a batch in ``compact2+zstd`` decodes to exactly the batch it was, the
redundant fields put back key for key; version 1 (plain JSON) still decodes; and whatever a device sends with
a header, the decoder refuses it with a dead-letter reason and nothing else (an unknown encoding as
``unknownVersion``, a decompression bomb as ``oversized`` before it is inflated)."""

import json

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.order_states import Actor, OrderStatus
from sync_protocol import compact
from sync_protocol.compact import compact_batch, restore_batch
from sync_protocol.encoding import (
    DEFAULT_MAX_BATCH_BYTES,
    ContentEncoding,
    batch_document,
    decode_batch,
    encode,
    encode_batch,
)
from sync_protocol.envelope import Batch, Envelope
from sync_protocol.errors import MessageRejected, RejectReason
from sync_protocol.hlc import HLC
from sync_protocol.streams import Stream
from sync_protocol.topics import Topics
from tests.sync_protocol.sync_factories import (
    DEVICE,
    OTHER_DEVICE,
    OTHER_STORE,
    STORE,
    T0,
    batch,
    envelope,
    order,
    order_return,
    stock_delta,
    transition,
    ulid,
    z_report,
)
from tests.sync_protocol.test_sync_encoding import batches, json_values, outcome_of

HEADER = b"#compact2+zstd\n"


def rejected(data: bytes, **kwargs: object) -> MessageRejected:
    with pytest.raises(MessageRejected) as caught:
        decode_batch(data, **kwargs)  # type: ignore[arg-type]
    return caught.value


def zstd(document: object, **options: object) -> bytes:
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
    return zstandard.ZstdCompressor(**options).compress(text)  # type: ignore[arg-type]


def orders_batch(n: int = 10) -> Batch:
    return batch([envelope(i, order(i)) for i in range(1, n + 1)])


# --- round trips ------------------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(batches())
def test_any_batch_round_trips_in_both_encodings_key_for_key(b: Batch) -> None:
    compressed = encode_batch(b)
    assert compressed.startswith(HEADER)
    assert decode_batch(compressed) == b
    assert decode_batch(encode_batch(b, ContentEncoding.JSON)) == b
    # The restored document is the version-1 one byte for byte: the same keys in the same order.
    restored = json.dumps(batch_document(compressed), separators=(",", ":"), ensure_ascii=False)
    assert restored.encode() == encode(b)


ids = st.sampled_from([STORE, OTHER_STORE, DEVICE, OTHER_DEVICE, "", "x"])
maybe_id = st.one_of(ids, json_values)
child = st.dictionaries(st.sampled_from(["orderId", "itemId", "paymentId", "name"]), maybe_id, max_size=4)
payload_dicts = st.fixed_dictionaries(
    {},
    optional={
        "orderId": maybe_id,
        "storeId": maybe_id,
        "deviceId": maybe_id,
        "items": st.lists(child | json_values, max_size=4) | json_values,
        "payments": st.lists(child, max_size=3),
        "other": json_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(list(Stream)),
    st.lists(payload_dicts, min_size=1, max_size=5),
    st.integers(1, 10**9),
    st.sampled_from([1, 2]),
)
def test_any_payload_comes_back_exactly_as_sent(
    stream: Stream, payloads: list[dict[str, object]], first: int, version: int
) -> None:
    """Fields equal to the batch's are left out and put back; absent ones stay absent; any other value,
    null or another store's id included, travels as it is: what the cloud validates is what was sent."""
    b = Batch(
        batch_id=ulid(1),
        store_id=STORE,
        device_id=DEVICE,
        stream=stream,
        messages=tuple(
            Envelope(
                schema_version=version if i % 2 else 1,
                message_id=ulid(100 + i),
                store_id=STORE,
                device_id=DEVICE,
                stream=stream,
                seq=first + i,
                hlc=HLC(T0 + i, i, DEVICE).encode(),
                payload=p,
            )
            for i, p in enumerate(payloads)
        ),
    )
    assert restore_batch(json.loads(json.dumps(compact_batch(b)))) == json.loads(encode(b))
    result = outcome_of(decode_batch, encode_batch(b))
    if isinstance(result, MessageRejected):  # payloads no model takes: refused one by one, the batch intact
        assert result.reason is RejectReason.BAD_PAYLOAD
        assert result.batch == b
    else:
        assert result == b


def test_the_compact_form_leaves_out_what_the_batch_says() -> None:
    b = batch([envelope(7, order(1)), envelope(8, order(2))])
    document = compact_batch(b)
    assert document["firstSeq"] == 7
    text = json.dumps(document)
    assert text.count(STORE) == 1  # once, in the batch's header
    assert text.count(DEVICE) == 1
    first = document["messages"][0]
    assert set(first) == {"messageId", "hlc", "payload"}
    assert first["hlc"] == HLC(T0 + 7, 0, DEVICE).encode().removesuffix(f"-{DEVICE}")
    payload = first["payload"]
    assert "storeId" not in payload
    assert "deviceId" not in payload
    assert all("orderId" not in line for line in payload["items"] + payload["payments"])
    assert payload["orderId"] == order(1).order_id  # the order's own id stays


def test_every_stream_round_trips() -> None:
    sold = order(1)
    for b in (
        batch([envelope(1, sold)]),
        batch([envelope(1, stock_delta(1)), envelope(2, stock_delta(2))]),
        batch([envelope(1, transition(OrderStatus.COMPLETED, OrderStatus.REFUNDED, Actor.STORE))]),
        batch([envelope(1, order_return(1, sold))]),
        batch([envelope(1, z_report())]),
    ):
        assert decode_batch(encode_batch(b)) == b


def test_an_order_sold_by_another_device_keeps_its_device() -> None:
    other = order(1).model_copy(update={"device_id": OTHER_DEVICE})
    b = batch([envelope(1, other)])
    assert compact_batch(b)["messages"][0]["payload"]["deviceId"] == OTHER_DEVICE
    assert decode_batch(encode_batch(b)) == b


def test_compression_takes_a_backlog_to_a_tenth_of_its_bytes() -> None:
    b = orders_batch(100)
    assert len(encode_batch(b)) * 10 < len(encode(b))


# --- refusals -----------------------------------------------------------------------------------------------


def test_an_unknown_content_encoding_is_an_unknown_version() -> None:
    body = zstandard.ZstdCompressor().compress(encode(orders_batch(1)))
    exc = rejected(b"#compact3+brotli\n" + body)
    assert exc.reason is RejectReason.UNKNOWN_VERSION
    assert "compact3+brotli" in exc.detail
    assert "compact2+zstd" in exc.detail  # what this side reads


def test_a_header_said_json_is_read_as_json() -> None:
    b = orders_batch(2)
    assert decode_batch(b"#json\n" + encode(b)) == b


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"#compact2+zstd", id="no-newline"),
        pytest.param(b"#" + b"x" * 100 + b"\n{}", id="header-too-long"),
        pytest.param(HEADER + b"not zstd at all", id="not-zstd"),
        pytest.param(HEADER, id="no-body"),
    ],
)
def test_a_broken_header_or_body_is_malformed(data: bytes) -> None:
    assert rejected(data).reason is RejectReason.MALFORMED


def test_a_decompression_bomb_is_refused_before_it_is_inflated() -> None:
    # A few hundred bytes that say they inflate to 200 MiB: refused on what the frame declares.
    bomb = HEADER + zstandard.ZstdCompressor(level=19).compress(b" " * (200 << 20))
    assert len(bomb) < 20_000
    exc = rejected(bomb)
    assert exc.reason is RejectReason.OVERSIZED
    assert "inflates to 209715200 bytes" in exc.detail


def test_a_frame_that_hides_its_size_or_lies_about_it_is_malformed() -> None:
    document = json.loads(encode(orders_batch(3)))
    hidden = zstd(document, write_content_size=False)
    assert rejected(HEADER + hidden).reason is RejectReason.MALFORMED
    # A frame that inflates past the limit without saying so never gets more room than the limit.
    spaces = zstandard.ZstdCompressor(write_content_size=False).compress(b" " * (DEFAULT_MAX_BATCH_BYTES + 1))
    assert rejected(HEADER + spaces).reason is RejectReason.MALFORMED
    good = zstd(document)
    assert rejected(HEADER + good[:-3]).reason is RejectReason.MALFORMED  # truncated
    assert rejected(HEADER + good + b"more").reason is RejectReason.MALFORMED  # bytes after the frame


def test_compressed_or_not_a_batch_may_not_exceed_the_limit() -> None:
    b = orders_batch(60)
    size = len(json.dumps(compact_batch(b), separators=(",", ":"), ensure_ascii=False).encode())
    assert size < len(encode(b))  # a compact batch inflates to less than its version-1 JSON
    assert rejected(encode_batch(b), max_bytes=size - 1).reason is RejectReason.OVERSIZED  # inflated
    assert decode_batch(encode_batch(b), max_bytes=size) == b
    small = encode_batch(b)
    assert rejected(small, max_bytes=len(small) - 1).reason is RejectReason.OVERSIZED  # as received


def test_a_compact_batch_without_its_first_seq_is_malformed() -> None:
    document = compact_batch(orders_batch(2))
    del document["firstSeq"]
    assert rejected(HEADER + zstd(document)).reason is RejectReason.MALFORMED


def test_a_compact_batch_claims_nothing_a_version_1_batch_could_not() -> None:
    """What restoring fills in comes from the batch's header, which is checked against the topic; what a
    device spells out itself is checked as in version 1."""
    b = orders_batch(2)
    mine = Topics.uplink(STORE, DEVICE, Stream.ORDERS)
    theirs = Topics.uplink(OTHER_STORE, DEVICE, Stream.ORDERS)
    assert rejected(encode_batch(b), topic=theirs).reason is RejectReason.UNAUTHORISED
    document = compact_batch(b)
    document["messages"][1]["storeId"] = OTHER_STORE  # one envelope says another store
    assert rejected(HEADER + zstd(document), topic=mine).reason is RejectReason.INCONSISTENT
    document = compact_batch(b)
    document["messages"][0]["payload"]["storeId"] = OTHER_STORE  # one sale says another store
    exc = rejected(HEADER + zstd(document), topic=mine)
    assert (exc.reason, exc.seqs) == (RejectReason.BAD_PAYLOAD, (1,))
    document = compact_batch(b)
    document["messages"][0]["seq"] = 5  # seqs out of line
    assert rejected(HEADER + zstd(document)).reason is RejectReason.INCONSISTENT
    document = compact_batch(b)
    document["messages"][0]["hlc"] = HLC(T0, 0, OTHER_DEVICE).encode()  # stamped by another device
    assert rejected(HEADER + zstd(document)).reason is RejectReason.INCONSISTENT
    document = compact_batch(b)
    document["messages"][0]["absent"] = "storeId"
    assert rejected(HEADER + zstd(document)).reason is RejectReason.MALFORMED


def test_restoring_keeps_no_key_a_device_made_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """Restoring remembers where the fields go for each key layout it meets, but only layouts of the models'
    own fields: a hostile device's invented keys (refused by validation anyway) are not kept in memory."""
    monkeypatch.setattr(compact, "_PLANS", {})
    invented = "x" * 10_000
    document = compact_batch(orders_batch(2))
    document["messages"][0]["payload"][invented] = 1
    document["messages"][1]["payload"]["items"][0][invented + "y"] = 1
    document["messages"][1][invented + "z"] = 1
    restored = restore_batch(document)
    assert invented in restored["messages"][0]["payload"]  # kept in the document, for validation to refuse
    assert rejected(HEADER + zstd(document)).reason is RejectReason.MALFORMED
    kept = {key for _, keys, _ in compact._PLANS for key in keys}
    assert not any(key.startswith(invented) for key in kept)
    assert "orderId" in kept  # the models' own layouts are kept


def test_the_layouts_restoring_keeps_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A device may send the fields of its payloads in any order; each order is a layout of its own. Past the
    bound the kept layouts start over, and every batch still comes back exactly."""
    monkeypatch.setattr(compact, "_PLANS", {})
    monkeypatch.setattr(compact, "_MAX_PLANS", 8)
    b = orders_batch(1)
    sent = b.model_dump(mode="json", by_alias=True)["messages"][0]["payload"]
    document = compact_batch(b)
    payload = document["messages"][0]["payload"]
    for shift in range(20):  # 20 rotations of the payload's keys: 20 layouts
        keys = list(payload)
        rotated = {k: payload[k] for k in keys[shift % len(keys) :] + keys[: shift % len(keys)]}
        document["messages"][0]["payload"] = rotated
        text = json.dumps(document)
        placed, looked_up = (json.dumps(restore_batch(json.loads(text))) for _ in range(2))
        assert placed == looked_up  # key for key, whether the layout was placed or found
        assert json.loads(placed)["messages"][0]["payload"] == sent  # every field back (in any order)
        assert len(compact._PLANS) <= 8


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2_000))
def test_arbitrary_bytes_after_the_header_only_ever_raise_message_rejected(body: bytes) -> None:
    for data in (HEADER + body, HEADER + zstandard.ZstdCompressor().compress(body)):
        result = outcome_of(decode_batch, data)
        assert isinstance(result, Batch) or result.reason in RejectReason


@st.composite
def mutated_compact(draw: st.DrawFn) -> bytes:
    """A compact batch with one value somewhere replaced by any JSON value, or one key dropped."""
    document = compact_batch(batch([envelope(1, order(1)), envelope(2, order(2))]))
    containers: list[object] = []
    stack: list[object] = [document]
    while stack:
        node = stack.pop()
        containers.append(node)
        children = node.values() if isinstance(node, dict) else node
        stack.extend(c for c in children if isinstance(c, dict | list))  # type: ignore[union-attr]
    target = draw(st.sampled_from(containers))
    if isinstance(target, dict) and target:
        key = draw(st.sampled_from(sorted(target)))
        if draw(st.booleans()):
            del target[key]
        else:
            target[key] = draw(json_values)
    elif isinstance(target, list) and target:
        target[draw(st.integers(0, len(target) - 1))] = draw(json_values)
    return HEADER + zstd(document)


@settings(max_examples=300, deadline=None)
@given(mutated_compact())
def test_mutated_compact_batches_only_ever_raise_message_rejected(data: bytes) -> None:
    result = outcome_of(decode_batch, data)
    assert isinstance(result, Batch) or result.reason in RejectReason
