"""The phone protocol's core, with no radio: messages and chunks at every MTU, put together again through
loss, duplication and reordering; what breaks the layout is refused with the right status."""

import contextlib
import random
import struct
import zlib

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.ble.protocol import (
    CHUNK_HEADER,
    FLAG_DEFLATED,
    MAX_CHUNKS,
    MAX_MTU,
    MESSAGE_HEADER,
    MIN_MTU,
    Message,
    ProtocolError,
    Reassembler,
    Status,
    chunk_capacity,
    decode_message,
    encode_message,
    frames,
    split,
)

bodies = st.dictionaries(
    st.text(max_size=12),
    st.one_of(
        st.integers(min_value=-(2**40), max_value=2**40),
        st.text(max_size=60),
        st.binary(max_size=40),
        st.none(),
        st.lists(st.text(max_size=20), max_size=30),
    ),
    max_size=20,
)
mtus = st.integers(min_value=MIN_MTU, max_value=MAX_MTU)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def reassembler(clock: Clock | None = None, **limits: int) -> Reassembler:
    return Reassembler(max_bytes=limits.pop("max_bytes", 1 << 20), clock=clock or Clock(), **limits)


@given(body=bodies, op=st.integers(0, 255), status=st.integers(0, 255))
def test_a_message_decodes_to_what_was_encoded(body, op, status) -> None:
    data = encode_message(op, status, body)
    assert decode_message(7, data, max_body=1 << 20) == Message(7, op, status, body)


def test_long_bodies_are_deflated_and_short_ones_are_not() -> None:
    names = {"items": [["p000001", "珍珠奶茶", "Bubble milk tea", 55, 55, 80, "drinks"]] * 40}
    long = encode_message(2, 0, names)
    assert long[2] & FLAG_DEFLATED
    assert len(long) < len(cbor2.dumps(names)) / 4
    short = encode_message(1, 0, {})
    assert short[2] == 0


@given(body=bodies, mtu=mtus, message_id=st.integers(0, 0xFFFF), seed=st.integers(0, 2**32))
@settings(max_examples=300)
def test_chunks_fit_the_mtu_and_come_together_in_any_order_with_duplicates(
    body, mtu, message_id, seed
) -> None:
    message = Message(message_id, 2, 0, body)
    chunks = frames(message, mtu)
    assert all(len(c) <= mtu - 3 for c in chunks)
    rng = random.Random(seed)
    shuffled = chunks + rng.sample(chunks, k=min(len(chunks), rng.randint(0, 3)))  # some twice
    rng.shuffle(shuffled)
    taker = reassembler()
    done = [a for c in shuffled if (a := taker.feed(c)) is not None]
    # Duplicates that come after the message was whole may make it again: the bridge tells a repeat by
    # its id and checksum and answers it from memory (test_ble_bridge).
    assert done
    assert all(decode_message(a.message_id, a.data, max_body=1 << 20) == message for a in done)


@given(body=bodies, mtu=mtus, seed=st.integers(0, 2**32))
def test_a_message_missing_a_chunk_never_comes_out_and_is_given_up(body, mtu, seed) -> None:
    rng = random.Random(seed)
    chunks = frames(Message(5, 2, 0, body | {"pad": rng.randbytes(600)}), mtu)  # 2+ chunks at any MTU
    lost = rng.randrange(len(chunks))
    clock = Clock()
    taker = reassembler(clock)
    assert all(taker.feed(c) is None for i, c in enumerate(chunks) if i != lost)
    assert taker.pending == 1
    clock.now += 11  # no chunk for longer than the timeout
    taker.feed(frames(Message(6, 1, 0, {}), mtu)[0])
    assert taker.pending == 0


def test_the_smallest_mtu_carries_thirteen_bytes_a_chunk() -> None:
    assert chunk_capacity(23) == 13
    assert chunk_capacity(247) == 237
    assert chunk_capacity(5000) == chunk_capacity(MAX_MTU)  # no chunk larger than ATT allows


def test_a_corrupted_message_fails_its_checksum() -> None:
    data = bytearray(encode_message(2, 0, {"cursor": "abc"}))
    data[-1] ^= 0x40
    with pytest.raises(ProtocolError) as caught:
        decode_message(1, bytes(data), max_body=100)
    assert (caught.value.status, caught.value.code) == (Status.BAD_FRAME, "badChecksum")


def _message(op: int, flags: int, payload: bytes) -> bytes:
    head = bytes((op, 0, flags))
    return MESSAGE_HEADER.pack(op, 0, flags, zlib.crc32(head + payload)) + payload


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"\x01\x00", Status.BAD_FRAME, "badFrame"),
        (_message(1, 0x80, cbor2.dumps({})), Status.BAD_FRAME, "badFrame"),  # unknown flags
        (_message(1, 0, b"\xff\xff"), Status.BAD_REQUEST, "badBody"),
        (_message(1, 0, cbor2.dumps([1, 2])), Status.BAD_REQUEST, "badBody"),
        (_message(1, FLAG_DEFLATED, b"not deflate"), Status.BAD_FRAME, "badDeflate"),
        (
            _message(1, FLAG_DEFLATED, zlib.compress(cbor2.dumps({"a": 1}))[:-3]),
            Status.BAD_FRAME,
            "badDeflate",
        ),
        # a zip bomb: 200 bytes that would inflate to 1 MiB
        (
            _message(1, FLAG_DEFLATED, zlib.compress(cbor2.dumps({"a": "x" * (1 << 20)}), 9)),
            Status.TOO_LARGE,
            "tooLarge",
        ),
        (_message(1, 0, cbor2.dumps({"a": "x" * 20000})), Status.TOO_LARGE, "tooLarge"),
    ],
)
def test_bad_messages_are_refused_with_a_status_and_a_code(data, status, code) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode_message(3, data, max_body=16384)
    assert (caught.value.status, caught.value.code, caught.value.message_id) == (status, code, 3)


@pytest.mark.parametrize(
    ("chunk", "code"),
    [
        (b"\x01\x00", "badFrame"),  # shorter than a header
        (CHUNK_HEADER.pack(2, 1, 0, 1) + b"x", "badVersion"),
        (CHUNK_HEADER.pack(1, 1, 0, 0) + b"x", "badFrame"),  # no chunks
        (CHUNK_HEADER.pack(1, 1, 3, 3) + b"x", "badFrame"),  # index past the count
        (CHUNK_HEADER.pack(1, 1, 0, MAX_CHUNKS + 1) + b"x", "badFrame"),
    ],
)
def test_bad_chunks_are_refused(chunk, code) -> None:
    with pytest.raises(ProtocolError) as caught:
        reassembler().feed(chunk)
    assert caught.value.code == code


def test_chunks_disagreeing_on_the_count_drop_their_message() -> None:
    taker = reassembler()
    assert taker.feed(CHUNK_HEADER.pack(1, 9, 0, 3) + b"a") is None
    with pytest.raises(ProtocolError):
        taker.feed(CHUNK_HEADER.pack(1, 9, 1, 2) + b"b")
    assert taker.pending == 0


def test_a_message_over_the_limit_is_refused_as_its_chunks_pass_it() -> None:
    taker = reassembler(max_bytes=100)
    first, *rest = split(4, b"x" * 500, 23)

    def feed_all() -> None:
        for chunk in [first, *rest]:
            taker.feed(chunk)

    with pytest.raises(ProtocolError) as caught:
        feed_all()
    assert caught.value.status == Status.TOO_LARGE
    assert taker.pending == 0


def test_at_most_max_pending_messages_are_held() -> None:
    taker = reassembler(max_pending=4)
    for message_id in range(10):
        taker.feed(split(message_id, b"x" * 100, 23)[0])
    assert taker.pending == 4


@given(chunk=st.binary(max_size=300))
@settings(max_examples=500)
def test_any_bytes_are_taken_or_refused_never_an_unexpected_error(chunk) -> None:
    try:
        got = reassembler().feed(chunk)
    except ProtocolError:
        return
    if got is not None:
        with contextlib.suppress(ProtocolError):
            decode_message(got.message_id, got.data, max_body=16384)


def test_the_layouts_are_the_documented_sizes() -> None:
    assert CHUNK_HEADER.size == 7
    assert MESSAGE_HEADER.size == 7
    assert struct.calcsize("<BHHH") == 7


@pytest.mark.parametrize(
    "payload",
    [
        b"\x81" * 15000 + b"\x00",  # arrays nested 15,000 deep
        b"\xa1\x61a" * 5000 + b"\x00",  # maps nested 5,000 deep
        b"\xd8\x1c" * 5000 + b"\x00",  # tags nested
        b"\x9b\x3f\xff\xff\xff\xff\xff\xff\xff",  # an array claiming 2^62 items
        b"\x5b\x3f\xff\xff\xff\xff\xff\xff\xff",  # bytes claiming 2^62 of them
    ],
)
def test_hostile_cbor_is_a_bad_body_never_a_crash(payload) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode_message(1, _message(1, 0, payload), max_body=1 << 20)
    assert caught.value.status in (Status.BAD_REQUEST, Status.TOO_LARGE)
