"""The phone protocol's wire format, pure and transport-independent (docs/ble-protocol.md is its
specification; the constants here are the ones it lists).

A *message* (a request or a response) is ``op, status, flags, crc32, body``: the body a CBOR map, deflated
(zlib) when that makes it smaller. A message travels as *chunks* that each fit one ATT write or
notification at the link's MTU: ``version, messageId, index, count, data``. The receiver puts a message
together from its chunks whatever order they arrive in, drops duplicates, and gives up on one whose
chunks stop coming (the sender repeats it: the same ``messageId``, so the bridge answers a repeat from
its memory of answers rather than doing the work twice).
"""

import struct
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final
from uuid import UUID

import cbor2

VERSION: Final = 1
"""The chunk layout's version, first byte of every chunk; a chunk of another version is refused."""

SERVICE_UUID: Final = UUID("8c5e0001-4f2b-4d3c-9a57-6b1e2d0c5a10")
REQUEST_UUID: Final = UUID("8c5e0002-4f2b-4d3c-9a57-6b1e2d0c5a10")  # write, write without response
RESPONSE_UUID: Final = UUID("8c5e0003-4f2b-4d3c-9a57-6b1e2d0c5a10")  # notify
INFO_UUID: Final = UUID("8c5e0004-4f2b-4d3c-9a57-6b1e2d0c5a10")  # read: a CBOR map, not chunked

ATT_HEADER: Final = 3
"""An ATT write or notification carries MTU - 3 bytes of value (opcode and handle take 3)."""
MIN_MTU: Final = 23
MAX_MTU: Final = 517
MTU_HINT: Final = 247
"""The MTU the bridge asks for and advertises in its info: 244 bytes a chunk, one LE data-length-extended
packet (251 bytes) per chunk."""

CHUNK_HEADER: Final = struct.Struct("<BHHH")  # version, messageId, index, count
MESSAGE_HEADER: Final = struct.Struct("<BBBI")  # op, status, flags, crc32
FLAG_DEFLATED: Final = 0x01
KNOWN_FLAGS: Final = FLAG_DEFLATED
DEFLATE_FROM: Final = 64
"""Bodies this long or longer are deflated when that makes them smaller; shorter ones are sent as they are."""

MAX_CHUNKS: Final = 4096
"""The most chunks one message may have: the bound that keeps a count from promising a huge message."""
MAX_REQUEST_BYTES: Final = 4096
"""A request, as carried (deflated), after reassembly: a cart of 50 lines is under 2 KiB."""
MAX_REQUEST_BODY: Final = 16384
"""A request's body once inflated: a small deflated request cannot unfold into a large one."""
MAX_RESPONSE_BYTES: Final = 1 << 20
"""What a client accepts as one response (a catalog page of 100 products is about 3 to 5 KiB deflated)."""


class Op(IntEnum):
    """The operations a phone may ask for, and the only ones: nothing of staff or admin."""

    INFO = 0x01
    CATALOG_PAGE = 0x02
    CATALOG_CHANGES = 0x03
    PRODUCT = 0x04
    CART_CREATE = 0x05
    CART_GET = 0x06
    CART_SET = 0x07
    HANDOFF = 0x08
    RECEIPT = 0x09


OP_NAMES: Final = {
    Op.INFO: "info",
    Op.CATALOG_PAGE: "catalogPage",
    Op.CATALOG_CHANGES: "catalogChanges",
    Op.PRODUCT: "product",
    Op.CART_CREATE: "cartCreate",
    Op.CART_GET: "cartGet",
    Op.CART_SET: "cartSet",
    Op.HANDOFF: "handoff",
    Op.RECEIPT: "receipt",
}
OPS_BY_NAME: Final = {name: op for op, name in OP_NAMES.items()}


class Status(IntEnum):
    """A response's outcome. Anything but OK carries ``{"code", "message", ...details}`` as its body."""

    OK = 0x00
    BAD_FRAME = 0x01  # a chunk or message that does not follow the layout, or fails its checksum
    BAD_REQUEST = 0x02  # a body that is not a CBOR map, or fields that are missing or wrong
    UNKNOWN_OPERATION = 0x03
    TOO_LARGE = 0x04
    NOT_FOUND = 0x05
    CONFLICT = 0x06  # the node refused it as things stand (out of stock, cart closed, code used...)
    FORBIDDEN = 0x07  # a cart this phone did not make
    RATE_LIMITED = 0x08  # too many requests on this connection: ``retryAfterMs`` says when to try again
    UNAVAILABLE = 0x09  # the node did not answer, or was busy: try again
    INTERNAL = 0x0A


class ProtocolError(Exception):
    """Input that breaks the protocol; answered with an error message of ``status`` and ``code``."""

    def __init__(
        self, status: Status, code: str, message: str, *, message_id: int | None = None, **details: Any
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.message_id = message_id
        self.details = details


@dataclass(frozen=True)
class Message:
    """One request or response. ``op`` of a response echoes its request's; ``status`` of a request is 0."""

    message_id: int
    op: int
    status: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.status == Status.OK


def error_message(message_id: int, op: int, error: ProtocolError) -> Message:
    return Message(
        message_id, op, error.status, {"code": error.code, "message": error.message, **error.details}
    )


# messages <-> bytes


def encode_message(op: int, status: int, body: dict[str, Any]) -> bytes:
    """The message's bytes: header and the CBOR body, deflated when that is smaller."""
    payload = cbor2.dumps(body)
    flags = 0
    if len(payload) >= DEFLATE_FROM:
        deflated = zlib.compress(payload, 9)
        if len(deflated) < len(payload):
            payload, flags = deflated, FLAG_DEFLATED
    head = bytes((op, status, flags))
    return MESSAGE_HEADER.pack(op, status, flags, zlib.crc32(head + payload)) + payload


def decode_message(message_id: int, data: bytes, *, max_body: int) -> Message:
    """A message from its bytes; ``ProtocolError`` for a bad header, checksum or body."""
    if len(data) < MESSAGE_HEADER.size:
        raise ProtocolError(
            Status.BAD_FRAME, "badFrame", "a message is at least 7 bytes", message_id=message_id
        )
    op, status, flags, crc = MESSAGE_HEADER.unpack_from(data)
    payload = data[MESSAGE_HEADER.size :]
    if zlib.crc32(bytes((op, status, flags)) + payload) != crc:
        raise ProtocolError(
            Status.BAD_FRAME, "badChecksum", "the message fails its CRC-32", message_id=message_id
        )
    if flags & ~KNOWN_FLAGS:
        raise ProtocolError(
            Status.BAD_FRAME, "badFrame", f"unknown flags 0x{flags:02x}", message_id=message_id
        )
    if flags & FLAG_DEFLATED:
        payload = _inflate(payload, max_body, message_id)
    elif len(payload) > max_body:
        raise ProtocolError(
            Status.TOO_LARGE,
            "tooLarge",
            f"a body is at most {max_body} bytes",
            message_id=message_id,
            limit=max_body,
        )
    try:
        body = cbor2.loads(payload)
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError) as exc:
        raise ProtocolError(
            Status.BAD_REQUEST, "badBody", f"the body is not CBOR: {exc}", message_id=message_id
        ) from exc
    if not isinstance(body, dict):
        raise ProtocolError(
            Status.BAD_REQUEST, "badBody", "the body is not a CBOR map", message_id=message_id
        )
    return Message(message_id, op, status, body)


def _inflate(payload: bytes, limit: int, message_id: int) -> bytes:
    """Inflate at most ``limit`` bytes: a small deflated body that would unfold past it is refused."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(payload, limit + 1)
    except zlib.error as exc:
        raise ProtocolError(
            Status.BAD_FRAME, "badDeflate", f"the body does not inflate: {exc}", message_id=message_id
        ) from exc
    if len(out) > limit or inflater.unconsumed_tail:
        raise ProtocolError(
            Status.TOO_LARGE,
            "tooLarge",
            f"a body is at most {limit} bytes",
            message_id=message_id,
            limit=limit,
        )
    if not inflater.eof or inflater.unused_data:
        raise ProtocolError(
            Status.BAD_FRAME,
            "badDeflate",
            "the deflated body is cut short or has trailing bytes",
            message_id=message_id,
        )
    return out


# chunks


def chunk_capacity(mtu: int) -> int:
    """Bytes of message a chunk carries at this ATT MTU (13 at the minimum MTU of 23)."""
    return max(MIN_MTU, min(mtu, MAX_MTU)) - ATT_HEADER - CHUNK_HEADER.size


def split(message_id: int, data: bytes, mtu: int) -> list[bytes]:
    """The message's chunks, each at most ``mtu - 3`` bytes long."""
    size = chunk_capacity(mtu)
    count = max(1, -(-len(data) // size))
    if count > MAX_CHUNKS:
        raise ValueError(
            f"a message of {len(data)} bytes needs {count} chunks at MTU {mtu}, over {MAX_CHUNKS}"
        )
    return [
        CHUNK_HEADER.pack(VERSION, message_id, index, count) + data[index * size : (index + 1) * size]
        for index in range(count)
    ]


def frames(message: Message, mtu: int) -> list[bytes]:
    """A message, encoded and split for a link at ``mtu``."""
    return split(message.message_id, encode_message(message.op, message.status, message.body), mtu)


@dataclass
class _Partial:
    count: int
    chunks: dict[int, bytes]
    size: int
    last_at: float


@dataclass(frozen=True)
class Assembled:
    message_id: int
    data: bytes


class Reassembler:
    """Puts messages together from their chunks: in any order, duplicates dropped.

    At most ``max_pending`` messages are put together at once (a new one drops the one heard from least
    recently), one is given up when no chunk of it came for ``timeout`` seconds, and one over ``max_bytes``
    is refused as soon as its chunks pass it. A message sent again whole (a retry) comes out again: telling
    a retry from a new request is the bridge's business (it answers a repeat from memory).
    """

    def __init__(
        self, *, max_bytes: int, max_pending: int = 4, timeout: float = 10.0, clock: Callable[[], float]
    ) -> None:
        self.max_bytes, self.max_pending, self.timeout, self.clock = max_bytes, max_pending, timeout, clock
        self._pending: OrderedDict[int, _Partial] = OrderedDict()

    def feed(self, chunk: bytes) -> Assembled | None:
        """The message this chunk completes, else None; ``ProtocolError`` for a chunk that breaks the rules
        (the message it belonged to, if any, is dropped)."""
        self._expire(self.clock())
        message_id, index, count = _chunk_header(chunk)
        if count == 0 or count > MAX_CHUNKS or index >= count:
            self._pending.pop(message_id, None)
            raise ProtocolError(
                Status.BAD_FRAME, "badFrame", f"chunk {index} of {count}", message_id=message_id
            )
        partial = self._partial(message_id, count)
        if index in partial.chunks:
            return None  # a duplicate
        partial.chunks[index] = data = chunk[CHUNK_HEADER.size :]
        partial.size += len(data)
        if partial.size > self.max_bytes:
            del self._pending[message_id]
            raise ProtocolError(
                Status.TOO_LARGE,
                "tooLarge",
                f"a message is at most {self.max_bytes} bytes",
                message_id=message_id,
                limit=self.max_bytes,
            )
        if len(partial.chunks) < count:
            return None
        del self._pending[message_id]
        return Assembled(message_id, b"".join(partial.chunks[i] for i in range(count)))

    def _partial(self, message_id: int, count: int) -> _Partial:
        now = self.clock()
        partial = self._pending.get(message_id)
        if partial is None:
            partial = self._pending[message_id] = _Partial(count, {}, 0, now)
            while len(self._pending) > self.max_pending:
                self._pending.popitem(last=False)
        elif partial.count != count:
            del self._pending[message_id]
            raise ProtocolError(
                Status.BAD_FRAME,
                "badFrame",
                "chunks of one message disagree on its count",
                message_id=message_id,
            )
        self._pending.move_to_end(message_id)
        partial.last_at = now
        return partial

    def _expire(self, now: float) -> None:
        for message_id in [m for m, p in self._pending.items() if now - p.last_at > self.timeout]:
            del self._pending[message_id]

    @property
    def pending(self) -> int:
        return len(self._pending)


def _chunk_header(chunk: bytes) -> tuple[int, int, int]:
    """A chunk's messageId, index and count; ``ProtocolError`` for a chunk too short or of another version."""
    if len(chunk) < CHUNK_HEADER.size:
        raise ProtocolError(Status.BAD_FRAME, "badFrame", f"a chunk is at least {CHUNK_HEADER.size} bytes")
    version, message_id, index, count = CHUNK_HEADER.unpack_from(chunk)
    if version != VERSION:
        raise ProtocolError(
            Status.BAD_FRAME,
            "badVersion",
            f"chunk version {version}, expected {VERSION}",
            message_id=message_id,
            version=VERSION,
        )
    return message_id, index, count
