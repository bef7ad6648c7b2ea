"""Bytes in and out: compact JSON that round-trips, and a decoder that refuses with a dead-letter reason, in a
fixed order of checks, and never raises anything but MessageRejected whatever it is given."""

import json
from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.footfall import Direction
from models.order_states import Actor, OrderStatus
from sync_protocol.encoding import (
    DEFAULT_MAX_BATCH_BYTES,
    MAX_JSON_DEPTH,
    check_batch_topic,
    decode_ack,
    decode_batch,
    decode_downlink,
    decode_status,
    encode,
    pack_batches,
)
from sync_protocol.envelope import (
    Ack,
    Batch,
    CatalogAnnouncement,
    CatalogDelta,
    DeviceStatus,
    ModelAnnouncement,
    OrderStatusUpdate,
    SeqRange,
)
from sync_protocol.errors import MessageRejected, RejectReason
from sync_protocol.streams import DownlinkKind, Stream
from sync_protocol.topics import Topics
from tests.sync_protocol.sync_factories import (
    DEVICE,
    OTHER_DEVICE,
    OTHER_STORE,
    STORE,
    batch,
    envelope,
    footfall,
    order,
    refund_update,
    stock_adjustment,
    stock_delta,
    transition,
    ulid,
)


def rejected(data: bytes, **kwargs) -> MessageRejected:
    with pytest.raises(MessageRejected) as caught:
        decode_batch(data, **kwargs)
    return caught.value


def wire(b: Batch) -> dict:
    return json.loads(encode(b))


def good_batch() -> Batch:
    return batch([envelope(1, order()), envelope(2, order(2)), envelope(3, order(3))])


# --- encoding ---------------------------------------------------------------------------------------------


def test_encode_is_compact_utf8_camel_case_json():
    data = encode(good_batch())
    text = data.decode("utf-8")
    assert "珍珠奶茶" in text  # not \u escapes
    assert ": " not in text
    assert ", " not in text
    assert text.startswith('{"schemaVersion":1,"batchId":')


def test_sorted_keys_give_the_same_message_in_canonical_order():
    b = good_batch()
    canonical = encode(b, sort_keys=True)
    assert json.loads(canonical) == json.loads(encode(b))
    assert canonical.decode().startswith('{"batchId":')
    assert decode_batch(canonical) == b


def test_a_batch_round_trips():
    b = good_batch()
    assert decode_batch(encode(b)) == b


payloads = st.one_of(
    st.builds(stock_delta, st.integers(1, 10**6), quantity=st.integers(-999, 999).filter(bool)),
    st.builds(footfall, st.integers(1, 10**6), direction=st.sampled_from(Direction)),
    st.builds(order, st.integers(1, 10**6), coupon_code=st.none() | st.just("WELCOME10")),
    st.builds(
        transition,
        st.just(OrderStatus.COMPLETED),
        st.sampled_from([OrderStatus.REFUNDED, OrderStatus.RETURNED]),
        st.just(Actor.STORE),
        device=st.just(DEVICE),
        note=st.none() | st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=40),
    ),
)


@st.composite
def batches(draw) -> Batch:
    kind = draw(payloads.map(type))
    first = draw(st.integers(1, 10**9))
    items = draw(st.lists(payloads.filter(lambda p: type(p) is kind), min_size=1, max_size=8))
    return batch([envelope(first + i, p) for i, p in enumerate(items)], n=draw(st.integers(0, 10**6)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(batches(), st.booleans())
def test_any_batch_round_trips_through_bytes(b, sort_keys):
    assert decode_batch(encode(b, sort_keys=sort_keys)) == b


def test_acks_and_downlink_messages_round_trip():
    ack = Ack(store_id=STORE, device_id=DEVICE, stream=Stream.ORDERS, high_water_seq=4,
              missing=(SeqRange(first=6, last=9),))  # fmt: skip
    assert decode_ack(encode(ack)) == ack
    messages = {
        DownlinkKind.CATALOG: CatalogAnnouncement(store_id=STORE, version=3, sha256="f" * 64, size=10),
        DownlinkKind.MODEL: ModelAnnouncement(
            store_id=STORE,
            name="product-recognizer",
            version=2,
            url="https://cloud.example/files/models/s/product-recognizer/2-f.bin",
            sha256="f" * 64,
            size=4_000_000,
        ),
        DownlinkKind.CATALOG_DELTA: CatalogDelta(store_id=STORE, from_version=3, to_version=4, changes=()),
        DownlinkKind.ORDER_STATUS: refund_update(),
        DownlinkKind.STOCK: stock_adjustment(),
    }
    for kind, message in messages.items():
        assert decode_downlink(encode(message), kind) == message
    status = DeviceStatus(
        store_id=STORE, device_id=DEVICE, online=True, downlink_seq=7, catalog_version=3, models={"m": 2}
    )
    assert decode_status(encode(status)) == status


def test_a_downlink_message_decoded_as_another_kind_is_malformed():
    data = encode(CatalogAnnouncement(store_id=STORE, version=3, sha256="f" * 64, size=10))
    with pytest.raises(MessageRejected) as caught:
        decode_downlink(data, DownlinkKind.STOCK)
    assert caught.value.reason is RejectReason.MALFORMED


def test_an_illegal_transition_sent_down_is_a_bad_payload():
    raw = json.loads(
        encode(
            OrderStatusUpdate(
                store_id=STORE,
                seq=1,
                latest_seq=1,
                transition=transition(
                    OrderStatus.COMPLETED, OrderStatus.REFUNDED, Actor.SELLER, device="cloud-1"
                ),
            )
        )
    )
    raw["transition"]["fromStatus"] = "cancelled"
    with pytest.raises(MessageRejected) as caught:
        decode_downlink(json.dumps(raw).encode(), DownlinkKind.ORDER_STATUS)
    assert caught.value.reason is RejectReason.BAD_PAYLOAD


def test_an_inconsistent_ack_is_refused_as_inconsistent():
    raw = json.loads(encode(Ack(store_id=STORE, device_id=DEVICE, stream=Stream.ORDERS, high_water_seq=4)))
    raw["missing"] = [{"first": 2, "last": 3}]
    with pytest.raises(MessageRejected) as caught:
        decode_ack(json.dumps(raw).encode())
    assert caught.value.reason is RejectReason.INCONSISTENT


# --- rejections, by reason --------------------------------------------------------------------------------


def test_size_is_checked_before_anything_is_parsed():
    data = encode(good_batch())
    assert decode_batch(data, max_bytes=len(data)) == good_batch()
    assert rejected(data, max_bytes=len(data) - 1).reason is RejectReason.OVERSIZED
    garbage = b"\xff" * (DEFAULT_MAX_BATCH_BYTES + 1)  # not UTF-8 either: size wins
    assert rejected(garbage).reason is RejectReason.OVERSIZED


@pytest.mark.parametrize(
    "data",
    [b"", b"\xff\xfe", b"not json", b"[]", b"1", b'"batch"', b"null", b'{"schemaVersion": NaN}',
     b'{"schemaVersion": 1, "x": Infinity}', b'{"a": 1', "{}".encode("utf-16"),
     b"[" * 100_000 + b"]" * 100_000, b'{"schemaVersion":1,"n":' + b"9" * 5_000 + b"}"],
)  # fmt: skip
def test_bytes_that_are_not_a_json_object_are_malformed(data):
    assert rejected(data).reason is RejectReason.MALFORMED


def test_nesting_deeper_than_the_limit_is_malformed():
    raw = wire(good_batch())
    deep: dict = {}
    node = deep
    for _ in range(MAX_JSON_DEPTH):
        node["x"] = {}
        node = node["x"]
    raw["messages"][0]["payload"]["deep"] = deep
    caught = rejected(json.dumps(raw).encode())
    assert caught.reason is RejectReason.MALFORMED
    assert "nested deeper" in caught.detail


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda raw: raw.pop("schemaVersion"), RejectReason.MALFORMED),
        (lambda raw: raw.update(schemaVersion="1"), RejectReason.MALFORMED),
        (lambda raw: raw.update(schemaVersion=True), RejectReason.MALFORMED),
        (lambda raw: raw["messages"][1].pop("schemaVersion"), RejectReason.MALFORMED),
        (lambda raw: raw.update(schemaVersion=99), RejectReason.UNKNOWN_VERSION),
        (lambda raw: raw["messages"][2].update(schemaVersion=9), RejectReason.UNKNOWN_VERSION),
        # a future version may look nothing like this one: still reported as a version problem
        (
            lambda raw: (raw.clear(), raw.update(schemaVersion=99, everything="different")),
            RejectReason.UNKNOWN_VERSION,
        ),
        (lambda raw: raw.pop("batchId"), RejectReason.MALFORMED),
        (lambda raw: raw.update(batchId="b-1"), RejectReason.MALFORMED),
        (lambda raw: raw.update(extra=1), RejectReason.MALFORMED),
        (lambda raw: raw.update(messages=[]), RejectReason.MALFORMED),
        (lambda raw: raw["messages"][0].update(seq="1"), RejectReason.MALFORMED),
        (lambda raw: raw["messages"][0].update(hlc="soon"), RejectReason.MALFORMED),
        (lambda raw: raw["messages"][0].update(payload=[1]), RejectReason.MALFORMED),
        (lambda raw: raw["messages"][1].update(seq=7), RejectReason.INCONSISTENT),
        (lambda raw: raw["messages"].reverse(), RejectReason.INCONSISTENT),
        (lambda raw: raw["messages"][2].update(storeId=OTHER_STORE), RejectReason.INCONSISTENT),
        (lambda raw: raw.update(stream="footfall"), RejectReason.INCONSISTENT),
        (lambda raw: raw["messages"][1]["payload"].update(total=-5), RejectReason.BAD_PAYLOAD),
        (lambda raw: raw["messages"][1]["payload"].pop("items"), RejectReason.BAD_PAYLOAD),
    ],
)
def test_each_defect_gets_its_reason(edit, reason):
    raw = wire(good_batch())
    edit(raw)
    assert rejected(json.dumps(raw).encode()).reason is reason


def test_a_bad_payload_names_every_bad_seq_and_keeps_the_batch_for_per_message_dead_letters():
    raw = wire(good_batch())
    raw["messages"][0]["payload"]["total"] = "free"
    raw["messages"][2]["payload"]["storeId"] = OTHER_STORE
    caught = rejected(json.dumps(raw).encode())
    assert caught.reason is RejectReason.BAD_PAYLOAD
    assert caught.seqs == (1, 3)
    assert caught.batch is not None
    assert caught.batch.batch_id == good_batch().batch_id
    assert "(and 1 more)" in caught.detail


def test_a_batch_must_claim_the_store_and_device_of_its_topic():
    b = good_batch()
    assert decode_batch(encode(b), topic=Topics.uplink(STORE, DEVICE, Stream.ORDERS)) == b
    for topic, reason in (
        (Topics.uplink(OTHER_STORE, DEVICE, Stream.ORDERS), RejectReason.UNAUTHORISED),
        (Topics.uplink(STORE, OTHER_DEVICE, Stream.ORDERS), RejectReason.UNAUTHORISED),
        (Topics.uplink(STORE, DEVICE, Stream.FOOTFALL), RejectReason.INCONSISTENT),
    ):
        caught = rejected(encode(b), topic=topic)
        assert caught.reason is reason
        assert caught.seqs == (1, 2, 3)
        with pytest.raises(MessageRejected):
            check_batch_topic(b, topic)


def test_a_batch_on_a_store_path_other_than_the_devices_registered_store_is_unauthorised():
    b = good_batch()
    topic = Topics.uplink(STORE, DEVICE, Stream.ORDERS)
    assert decode_batch(encode(b), topic=topic, device_store_id=STORE) == b
    caught = rejected(encode(b), topic=topic, device_store_id=OTHER_STORE)
    assert caught.reason is RejectReason.UNAUTHORISED
    assert "belongs to store" in caught.detail


def test_decode_refuses_things_that_are_not_bytes():
    assert rejected("{}").reason is RejectReason.MALFORMED  # type: ignore[arg-type]
    assert rejected(None).reason is RejectReason.MALFORMED  # type: ignore[arg-type]
    assert decode_batch(bytearray(encode(good_batch()))) == good_batch()


# --- fuzzing: only MessageRejected, ever -------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=30,
)

DECODERS = [
    decode_batch,
    decode_ack,
    decode_status,
    *[lambda data, k=kind: decode_downlink(data, k) for kind in DownlinkKind],
]


def outcome_of(decode, data: bytes) -> object:
    """What decoding gives: the message, or the MessageRejected it raised (anything else propagates)."""
    try:
        return decode(data)
    except MessageRejected as exc:
        return exc


def only_rejections(data: bytes) -> None:
    for decoder in DECODERS:
        result = outcome_of(decoder, data)
        if isinstance(result, MessageRejected):
            assert result.reason in RejectReason
            assert isinstance(result.detail, str)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2_000))
def test_arbitrary_bytes_only_ever_raise_message_rejected(data):
    only_rejections(data)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_arbitrary_json_only_ever_raises_message_rejected(value):
    only_rejections(json.dumps(value).encode())


@st.composite
def mutated_batches(draw) -> bytes:
    """A valid batch with one value somewhere replaced by any JSON value, or one key dropped."""
    raw = wire(good_batch())
    containers = []
    stack = [raw]
    while stack:
        node = stack.pop()
        containers.append(node)
        children = node.values() if isinstance(node, dict) else node
        stack.extend(c for c in children if isinstance(c, dict | list))
    target = draw(st.sampled_from(containers))
    if isinstance(target, dict) and target:
        key = draw(st.sampled_from(sorted(target)))
        if draw(st.booleans()):
            del target[key]
        else:
            target[key] = draw(json_values)
    elif isinstance(target, list) and target:
        target[draw(st.integers(0, len(target) - 1))] = draw(json_values)
    return json.dumps(raw, ensure_ascii=draw(st.booleans())).encode()


@settings(max_examples=300, deadline=None)
@given(mutated_batches())
def test_mutated_batches_only_ever_raise_message_rejected(data):
    result = outcome_of(decode_batch, data)
    assert isinstance(result, Batch) or result.reason in RejectReason


# --- packing ----------------------------------------------------------------------------------------------


def test_pack_batches_fills_batches_up_to_the_byte_and_message_limits():
    envelopes = [envelope(i, order(i)) for i in range(1, 41)]
    ids = (ulid(900_000 + i) for i in count())
    one_size = len(encode(envelopes[0]))
    limit = 5 * one_size + 400
    packed = pack_batches(envelopes, new_batch_id=lambda: next(ids), max_bytes=limit)
    assert [e for b in packed for e in b.messages] == envelopes
    assert all(len(encode(b)) <= limit for b in packed)
    assert len(packed) < 40 / 3  # several messages per batch
    full = len(encode(packed[0]))
    assert full + one_size + 1 > limit  # the first batch could not take one more
    assert len({b.batch_id for b in packed}) == len(packed)
    by_count = pack_batches(envelopes, new_batch_id=lambda: next(ids), max_messages=7)
    assert [len(b.messages) for b in by_count] == [7, 7, 7, 7, 7, 5]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=1, max_size=30), st.integers(1, 4_000))
def test_packed_batches_always_fit_and_keep_every_envelope_in_order(note_sizes, slack):
    envelopes = [
        envelope(i, stock_delta(i).model_copy(update={"note": "備註" * n}))
        for i, n in enumerate(note_sizes, 1)
    ]
    ids = (ulid(900_000 + i) for i in count())
    limit = max(len(encode(e)) for e in envelopes) + 400 + slack
    packed = pack_batches(envelopes, new_batch_id=lambda: next(ids), max_bytes=limit)
    assert [e for b in packed for e in b.messages] == envelopes
    assert all(len(encode(b)) <= limit for b in packed)
    for b in packed:
        assert decode_batch(encode(b), max_bytes=limit) == b


def test_an_envelope_too_big_for_any_batch_is_refused_by_seq():
    envelopes = [
        envelope(1),
        envelope(2, stock_delta(2).model_copy(update={"note": "x" * 5_000})),
        envelope(3),
    ]
    with pytest.raises(MessageRejected) as caught:
        pack_batches(envelopes, new_batch_id=lambda: ulid(1), max_bytes=2_000)
    assert caught.value.reason is RejectReason.OVERSIZED
    assert caught.value.seqs == (2,)


def test_pack_batches_of_nothing_is_nothing():
    assert pack_batches([], new_batch_id=lambda: ulid(1)) == []
    with pytest.raises(ValueError, match="max_messages"):
        pack_batches([envelope(1)], new_batch_id=lambda: ulid(1), max_messages=0)


def test_a_control_character_in_one_payload_refuses_that_message_not_the_batch():
    """A NUL in a note must not make the whole batch unreadable: the cloud could not move past it."""
    good, poisoned = envelope(1), envelope(2)
    raw = json.loads(encode(batch([good, poisoned])))
    raw["messages"][1]["payload"]["note"] = "broken cup\u0000"
    with pytest.raises(MessageRejected) as caught:
        decode_batch(json.dumps(raw).encode())
    assert caught.value.reason is RejectReason.BAD_PAYLOAD
    assert caught.value.seqs == (2,)
    assert caught.value.batch is not None
