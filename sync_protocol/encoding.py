"""Messages to bytes and back. Decoding never trusts its input: it refuses with ``MessageRejected`` and a
reason the receiver dead-letters, and never raises anything else, whatever the bytes.

Order of checks, cheapest and most telling first: size (before anything is parsed), for an uplink batch or a
downlink message its content encoding (and, compressed, its declared and actual size once inflated), UTF-8,
JSON (no NaN or Infinity), nesting depth, ``schemaVersion`` (present and supported), the schema, consistency (one store,
device and stream per batch, contiguous seqs), the topic it came on, and finally each payload against its
stream's model.

Uplink batches travel in one of two content encodings (``ContentEncoding``, docs/sync-protocol.md,
"Content encodings"): ``json``, the batch as JSON, which is all a node sent before issue 22 and what every
cloud reads; and ``compact2+zstd``, a header line naming it, then the batch's compact form
(``sync_protocol.compact``) compressed with zstd: a twelfth of the bytes for a backlog, less than half for a
single sale. The decoder tells them apart by the first byte and hands on the same ``Batch`` either way.
Downlink messages travel as JSON, or as ``json+zstd`` to a node whose status says it reads that
(``encode_downlink``): whichever is smaller.
"""

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, TypeVar, cast

import zstandard
from pydantic import BaseModel, ValidationError

from sync_protocol.compact import compact_batch, restore_batch
from sync_protocol.envelope import (
    DOWNLINK_MODELS,
    MAX_MESSAGES_PER_BATCH,
    SUPPORTED_SCHEMA_VERSIONS,
    Ack,
    Batch,
    DeviceStatus,
    DownlinkMessage,
    Envelope,
    FeedMessage,
    UplinkPayload,
    describe_validation_error,
    validate_payload,
)
from sync_protocol.errors import MessageRejected, RejectReason
from sync_protocol.streams import DownlinkKind
from sync_protocol.topics import UplinkTopic

DEFAULT_MAX_BATCH_BYTES = 256 * 1024
"""A batch of up to 500 messages: a few hundred sales. Mosquitto's ``message_size_limit`` sits above it."""
DEFAULT_MAX_ACK_BYTES = 16 * 1024
DEFAULT_MAX_DOWNLINK_BYTES = 1024 * 1024
"""Catalog deltas can be large; whole snapshots never travel over MQTT (they are fetched by URL)."""
DEFAULT_MAX_STATUS_BYTES = 16 * 1024
"""Room for the most a status may carry: 16 model versions, 16 refusals with their reasons, its health."""
MAX_JSON_DEPTH = 32
"""Deeper than any message of ours (an order with items is 4 levels inside a batch's payload)."""


class ContentEncoding(StrEnum):
    """How a message's bytes say its JSON document (an uplink batch's, a downlink message's). A reader learns
    an encoding before any writer sends it (the cloud first for the uplink, as with schema versions; for the
    downlink the node says what it reads); one it does not know is refused as ``unknownVersion``."""

    JSON = "json"
    """Version 1: the message's JSON itself, no header (every batch before issue 22; still read)."""
    COMPACT_ZSTD = "compact2+zstd"
    """Version 2: ``#compact2+zstd`` and a newline, then the compact form (``sync_protocol.compact``) as JSON,
    compressed with zstd in one frame that declares its size. Uplink batches only."""
    JSON_ZSTD = "json+zstd"
    """Version 3: ``#json+zstd`` and a newline, then the message's JSON compressed as version 2's. What the
    cloud sends down to a node that says it reads it (``DeviceStatus.content_encodings``); read in an
    uplink batch too, though no node of ours sends one."""


DOWNLINK_CONTENT_ENCODINGS = (ContentEncoding.JSON_ZSTD,)
"""What a node of this version reads on its downlink besides JSON, and says so in its status."""


CONTENT_ENCODING_MARK = b"#"
"""The first byte of a message with a header line; one in ``json`` starts with ``{``."""
MAX_CONTENT_ENCODING_HEADER = 64
"""The most bytes a header line may take, newline included: enough for any name, little to scan."""
ZSTD_LEVEL = 3
"""zstd's default level. It takes a 2,000-sale backlog to 195-199 bytes a sale on the wire, under issue 22's
goal of 250 (bench/sync_drain.py); ``encode_batch`` costs about 16 ms of CPU per 1,000 envelopes on the
2-vCPU VM of docs/performance.md, most of it the JSON. Other levels were not measured on real batches, nor
was anything on a Pi."""
MAX_ZSTD_WINDOW = 1 << 20
"""The most memory a frame may ask for its window (a batch fits in far less): a frame asking more is refused
before anything is allocated."""

_M = TypeVar("_M", bound=BaseModel)

_ERROR_REASONS = {
    "unknownVersion": RejectReason.UNKNOWN_VERSION,
    "inconsistent": RejectReason.INCONSISTENT,
    "illegalTransition": RejectReason.BAD_PAYLOAD,
}
"""Custom pydantic error types raised by the models' validators, and the reason each means."""


def encode(model: BaseModel, *, sort_keys: bool = False) -> bytes:
    """Compact camelCase JSON in UTF-8: no spaces, non-ASCII text as itself. ``sort_keys`` gives a canonical
    form (for hashing or comparing bytes); otherwise fields come in model order, which is faster."""
    if sort_keys:
        text = json.dumps(
            model.model_dump(mode="json", by_alias=True),
            ensure_ascii=False,
            separators=(",", ":"),
            sort_keys=True,
            allow_nan=False,
        )
        return text.encode()
    return model.model_dump_json(by_alias=True).encode()


def encode_batch(batch: Batch, content_encoding: ContentEncoding = ContentEncoding.COMPACT_ZSTD) -> bytes:
    """An uplink batch's bytes in ``content_encoding``: what a node publishes. ``decode_batch`` gives back
    ``batch`` from either."""
    if content_encoding is ContentEncoding.JSON:
        return encode(batch)
    if content_encoding is ContentEncoding.JSON_ZSTD:
        return _compressed(content_encoding, encode(batch))
    document = json.dumps(
        compact_batch(batch), ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode()
    return _compressed(content_encoding, document)


def encode_downlink(
    message: DownlinkMessage | FeedMessage, content_encoding: ContentEncoding = ContentEncoding.JSON
) -> bytes:
    """A downlink message's bytes: its JSON, or with ``json+zstd`` (to a node that reads it) the same
    compressed when that is smaller (bench/downlink_bytes.py: a catalog delta of 100 products a thirteenth,
    a stock change about 60 %; a message of a few short words would grow by the header and the frame, and
    goes as JSON). ``decode_downlink`` reads either."""
    plain = encode(message)
    if content_encoding is ContentEncoding.JSON:
        return plain
    if content_encoding is not ContentEncoding.JSON_ZSTD:
        raise ValueError(f"a downlink message does not travel in {content_encoding.value}")
    packed = _compressed(content_encoding, plain)
    return packed if len(packed) < len(plain) else plain


def _compressed(content_encoding: ContentEncoding, document: bytes) -> bytes:
    # write_content_size: the decoder refuses a frame that does not say how large it inflates (the bomb
    # guard reads it before inflating anything); no checksum, MQTT over TCP (or TLS) delivers bytes intact.
    body = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_content_size=True).compress(document)
    return CONTENT_ENCODING_MARK + content_encoding.value.encode() + b"\n" + body


def decode_batch(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BATCH_BYTES,
    topic: UplinkTopic | None = None,
    device_store_id: str | None = None,
) -> Batch:
    """An uplink batch with every payload valid for its stream, in any ``ContentEncoding`` this side reads.

    ``max_bytes`` bounds the bytes received and, for a compressed batch, the bytes they inflate to (a batch
    compressed may hold no more than one sent as JSON may). With ``topic`` (the one it arrived on, whose
    deviceId the broker vouched for), also one that claims no other store or device; with
    ``device_store_id`` (the store the cloud's device registry holds for that device), also one sent under
    the device's own store. See ``check_batch_topic``.
    """
    return decode_uplink(data, max_bytes=max_bytes, topic=topic, device_store_id=device_store_id).batch


@dataclass(frozen=True)
class DecodedUplink:
    """A batch ``decode_uplink`` read, with each message's payload as its stream's model, by seq: what the
    receiver applies, so that no payload is validated twice."""

    batch: Batch
    payloads: Mapping[int, UplinkPayload]


def decode_uplink(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BATCH_BYTES,
    topic: UplinkTopic | None = None,
    device_store_id: str | None = None,
) -> DecodedUplink:
    """``decode_batch`` with the payloads it validated (the same checks, the same refusals)."""
    raw = batch_document(data, max_bytes=max_bytes)
    _require_versions(raw, nested="messages")
    batch = _validate(Batch, raw)
    if topic is not None:
        check_batch_topic(batch, topic, device_store_id=device_store_id)
    payloads: dict[int, UplinkPayload] = {}
    bad: list[int] = []
    details: list[str] = []
    for envelope in batch.messages:
        try:
            payloads[envelope.seq] = validate_payload(envelope)
        except MessageRejected as exc:
            bad.extend(exc.seqs)
            details.append(exc.detail)
    if bad:
        more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
        raise MessageRejected(RejectReason.BAD_PAYLOAD, details[0] + more, seqs=tuple(bad), batch=batch)
    return DecodedUplink(batch, payloads)


def batch_document(data: bytes, *, max_bytes: int = DEFAULT_MAX_BATCH_BYTES) -> dict[str, Any]:
    """An uplink batch's JSON document as version 1 spells it, whatever its content encoding: read (size,
    encoding, inflated size, UTF-8, JSON, depth) but not yet checked against the schema. ``decode_batch``
    goes on from here; a tool that only looks (a benchmark's observer) may stop here."""
    return _document(data, max_bytes, batch=True)


def _document(data: bytes, max_bytes: int, *, batch: bool) -> dict[str, Any]:
    """A message's JSON document in whatever content encoding its bytes say (``compact2+zstd`` only for an
    uplink ``batch``), read but not yet checked against a schema."""
    _checked_size(data, max_bytes)
    encoding, body = _split_header(data)
    # ``#json`` is JSON said in a header, which it needs not be.
    if encoding is None or encoding is ContentEncoding.JSON:
        return _parse(body, max_bytes)
    if encoding is ContentEncoding.JSON_ZSTD:
        return _parse(_inflate(body, max_bytes), max_bytes)
    if not batch:
        raise MessageRejected(
            RejectReason.MALFORMED, f"content encoding {encoding.value} is for uplink batches only"
        )
    return restore_batch(_parse(_inflate(body, max_bytes), max_bytes))


def readable(data: bytes, *, keep: int) -> str:
    """At most ``keep`` bytes of a message as text, for a dead letter that people look at: a compressed one
    inflated behind its header line (only as far as kept, so a bomb shows its start and costs nothing), else
    the bytes as they came; invalid UTF-8 replaced either way. Never raises."""
    try:
        encoding, body = _split_header(data)
    except MessageRejected:
        encoding, body = None, data
    if encoding is None or encoding is ContentEncoding.JSON:
        return bytes(data[:keep]).decode("utf-8", errors="replace")
    header = bytes(data[: len(data) - len(body)])
    try:
        with zstandard.ZstdDecompressor(max_window_size=MAX_ZSTD_WINDOW).stream_reader(body) as reader:
            inflated = reader.read(keep)
    except zstandard.ZstdError:
        return bytes(data[:keep]).decode("utf-8", errors="replace")
    return (header + inflated).decode("utf-8", errors="replace")


def _split_header(data: bytes) -> tuple[ContentEncoding | None, bytes]:
    """The content encoding a message's header line names and the bytes after it; None and the bytes
    themselves when it has no header (JSON as version 1 spells it). ``MessageRejected`` for a broken header
    or an encoding this side does not know."""
    if bytes(data[:1]) != CONTENT_ENCODING_MARK:
        return None, data
    return _content_encoding(bytes(data[:MAX_CONTENT_ENCODING_HEADER]), data)


def _content_encoding(head: bytes, data: bytes) -> tuple[ContentEncoding, bytes]:
    """The header line's encoding and the bytes after it."""
    end = head.find(b"\n")
    if end < 0:
        raise MessageRejected(
            RejectReason.MALFORMED,
            f"a content encoding header must end in a newline within {MAX_CONTENT_ENCODING_HEADER} bytes",
        )
    name = head[1:end].decode("ascii", errors="replace")
    try:
        encoding = ContentEncoding(name)
    except ValueError:
        spoken = ", ".join(e.value for e in ContentEncoding)
        shown = name if name.isprintable() else repr(name)
        raise MessageRejected(
            RejectReason.UNKNOWN_VERSION, f"content encoding {shown} (this side reads {spoken})"
        ) from None
    return encoding, bytes(data[end + 1 :])


def _inflate(body: bytes, max_bytes: int) -> bytes:
    """A zstd frame's bytes, at most ``max_bytes`` of them: the frame must declare its size, and a size
    above the limit is refused before anything is inflated (a decompression bomb costs nothing); a frame
    that inflates to other than it declared, or has bytes after it, is malformed."""
    try:
        declared = zstandard.frame_content_size(body)
    except zstandard.ZstdError:
        raise MessageRejected(RejectReason.MALFORMED, "the body is not a zstd frame") from None
    if declared < 0:
        raise MessageRejected(RejectReason.MALFORMED, "the zstd frame does not declare its size")
    if declared > max_bytes:
        raise MessageRejected(
            RejectReason.OVERSIZED, f"inflates to {declared} bytes, at most {max_bytes} allowed"
        )
    try:
        return zstandard.ZstdDecompressor(max_window_size=MAX_ZSTD_WINDOW).decompress(
            body, max_output_size=max_bytes, allow_extra_data=False
        )
    except zstandard.ZstdError as exc:
        raise MessageRejected(RejectReason.MALFORMED, f"zstd: {str(exc)[:200]}") from None


def check_batch_topic(batch: Batch, topic: UplinkTopic, *, device_store_id: str | None = None) -> None:
    """Refuse a batch that claims another store or device than its topic, or a topic outside the device's
    own store (``unauthorised``), or another stream than its topic (``inconsistent``).

    The broker guarantees only the topic's deviceId (it is the login); the store level of the topic is the
    device's word until checked against the registry (``device_store_id``).
    """
    if device_store_id is not None and topic.store_id != device_store_id:
        raise MessageRejected(
            RejectReason.UNAUTHORISED,
            f"device {topic.device_id} belongs to store {device_store_id}, not {topic.store_id}",
            seqs=tuple(batch.seqs),
            batch=batch,
        )
    if batch.device_id != topic.device_id or batch.store_id != topic.store_id:
        raise MessageRejected(
            RejectReason.UNAUTHORISED,
            f"batch of store {batch.store_id} device {batch.device_id} came on {topic.name}",
            seqs=tuple(batch.seqs),
            batch=batch,
        )
    if batch.stream != topic.stream:
        raise MessageRejected(
            RejectReason.INCONSISTENT,
            f"batch of stream {batch.stream} came on {topic.name}",
            seqs=tuple(batch.seqs),
            batch=batch,
        )


def decode_ack(data: bytes, *, max_bytes: int = DEFAULT_MAX_ACK_BYTES) -> Ack:
    raw = _parse(data, max_bytes)
    _require_versions(raw)
    return _validate(Ack, raw)


def decode_downlink(
    data: bytes, kind: DownlinkKind, *, max_bytes: int = DEFAULT_MAX_DOWNLINK_BYTES
) -> DownlinkMessage:
    """A downlink message of ``kind`` (taken from the topic it arrived on)."""
    raw = _document(data, max_bytes, batch=False)
    _require_versions(raw)
    message: DownlinkMessage = _validate(DOWNLINK_MODELS[kind], raw)
    return message


def decode_status(data: bytes, *, max_bytes: int = DEFAULT_MAX_STATUS_BYTES) -> DeviceStatus:
    raw = _parse(data, max_bytes)
    _require_versions(raw)
    return _validate(DeviceStatus, raw)


def pack_batches(
    envelopes: Iterable[Envelope],
    *,
    new_batch_id: Callable[[], str],
    max_bytes: int = DEFAULT_MAX_BATCH_BYTES,
    max_messages: int = MAX_MESSAGES_PER_BATCH,
) -> list[Batch]:
    """Cut envelopes of one store, device and stream, with contiguous seqs, into as few batches as fit
    ``max_bytes`` encoded and ``max_messages`` each. ``new_batch_id`` makes ids (``models.ids.new_id``).

    A single envelope too large for any batch raises ``MessageRejected`` (``oversized``) naming its seq: it
    can never be sent, and the sender must set it aside rather than block the stream behind it.
    """
    if not 1 <= max_messages <= MAX_MESSAGES_PER_BATCH:
        raise ValueError(f"max_messages must be 1..{MAX_MESSAGES_PER_BATCH}")
    items = list(envelopes)
    if not items:
        return []
    sizes = [len(encode(e)) for e in items]
    head = items[0]

    def make(chunk: list[Envelope], batch_id: str | None = None) -> Batch:
        return Batch(
            batch_id=batch_id or new_batch_id(),
            store_id=head.store_id,
            device_id=head.device_id,
            stream=head.stream,
            messages=tuple(chunk),
        )

    # A batch's size is its frame (fixed for one store, device and stream, since batch ids are all 26
    # characters: measure it with a message id standing in) plus its messages and the commas between them.
    frame = len(encode(make(items[:1], batch_id=head.message_id))) - sizes[0]
    batches: list[Batch] = []
    chunk: list[Envelope] = []
    used = frame
    for envelope, size in zip(items, sizes, strict=True):
        if frame + size > max_bytes:
            raise MessageRejected(
                RejectReason.OVERSIZED,
                f"seq {envelope.seq} is {size} bytes; a batch may hold {max_bytes - frame}",
                seqs=(envelope.seq,),
            )
        grown = used + size + (1 if chunk else 0)
        if chunk and (grown > max_bytes or len(chunk) == max_messages):
            batches.append(make(chunk))
            chunk, grown = [], frame + size
        chunk.append(envelope)
        used = grown
    batches.append(make(chunk))
    return batches


# --- the steps ----------------------------------------------------------------------------------------------


def _checked_size(data: bytes, max_bytes: int) -> int:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MessageRejected(RejectReason.MALFORMED, f"expected bytes, got {type(data).__name__}")
    size = len(data) if not isinstance(data, memoryview) else data.nbytes
    if size > max_bytes:
        raise MessageRejected(RejectReason.OVERSIZED, f"{size} bytes, at most {max_bytes} allowed")
    return size


def _parse(data: bytes, max_bytes: int) -> dict[str, Any]:
    _checked_size(data, max_bytes)
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MessageRejected(RejectReason.MALFORMED, f"not UTF-8 at byte {exc.start}") from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        # json.JSONDecodeError is a ValueError; so are numbers too long to convert. Very deep nesting stops
        # the C parser with a RecursionError before it can use up the stack.
        raise MessageRejected(RejectReason.MALFORMED, f"not JSON: {str(exc)[:200]}") from None
    if _depth_exceeds(value, MAX_JSON_DEPTH):
        raise MessageRejected(RejectReason.MALFORMED, f"nested deeper than {MAX_JSON_DEPTH} levels")
    if not isinstance(value, dict):
        raise MessageRejected(RejectReason.MALFORMED, f"expected a JSON object, got {type(value).__name__}")
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _depth_exceeds(value: Any, limit: int) -> bool:
    # Iterative, so hostile input cannot exhaust the stack here either. Only containers go on the stack: a
    # batch's leaves (ids, names, amounts) outnumber them many times, and this runs on every batch. json.loads
    # makes plain dicts and lists, so their exact types are enough.
    stack: list[tuple[Any, int]] = [(value, 1)] if type(value) is dict or type(value) is list else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if type(node) is dict else node
        stack.extend((child, depth + 1) for child in children if type(child) is dict or type(child) is list)
    return False


def _require_versions(raw: dict[str, Any], *, nested: str | None = None) -> None:
    """``schemaVersion`` must be present (never assumed) and spoken here, on the message and on each nested
    one; an unknown version is reported as such even when the rest would not parse either."""
    _check_version_field(raw, "message")
    if nested is not None and isinstance(raw.get(nested), list):
        for index, item in enumerate(raw[nested]):
            if isinstance(item, dict):
                _check_version_field(item, f"{nested}[{index}]")


def _check_version_field(raw: dict[str, Any], where: str) -> None:
    if "schemaVersion" not in raw:
        raise MessageRejected(RejectReason.MALFORMED, f"{where} has no schemaVersion")
    version = raw["schemaVersion"]
    if type(version) is not int:
        raise MessageRejected(RejectReason.MALFORMED, f"{where}: schemaVersion must be an integer")
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        supported = ", ".join(str(v) for v in sorted(SUPPORTED_SCHEMA_VERSIONS))
        raise MessageRejected(
            RejectReason.UNKNOWN_VERSION, f"{where}: schemaVersion {version} (this side speaks {supported})"
        )


def _validate(model: type[_M], raw: dict[str, Any]) -> _M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        reason = RejectReason.MALFORMED
        for error in exc.errors(include_url=False, include_input=False):
            found = _ERROR_REASONS.get(error["type"])
            if found is not None:
                reason = found
                break
        raise MessageRejected(reason, describe_validation_error(exc)) from None
    except (TypeError, OverflowError, RecursionError) as exc:  # defensive: validators on odd input
        raise MessageRejected(RejectReason.MALFORMED, f"{type(exc).__name__}: {str(exc)[:200]}") from None


def check_fetched(data: bytes, *, size: int, sha256: str, what: str) -> None:
    """Bytes fetched after an announcement (a catalog snapshot, a model file) are exactly what was announced:
    their size and SHA-256. ValueError otherwise, before anything parses or stores them."""
    check_fetched_pieces([data], size=size, sha256=sha256, what=what)


def check_fetched_pieces(pieces: Iterable[bytes], *, size: int, sha256: str, what: str) -> None:
    """``check_fetched`` for bytes read a piece at a time (a large file as it is decoded), none held after
    its turn: ValueError as soon as they run past ``size``, or at the end."""
    digest = hashlib.sha256()
    seen = 0
    for piece in pieces:
        seen += len(piece)
        if seen > size:
            raise ValueError(f"{what} is more than the {size} bytes announced")
        digest.update(piece)
    if seen != size:
        raise ValueError(f"{what} is {seen} bytes, announced {size}")
    if digest.hexdigest() != sha256:
        raise ValueError(f"{what} does not match its announced SHA-256")


class _Announcement(Protocol):
    @property
    def store_id(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def sha256(self) -> str: ...


class _Versioned(Protocol):
    @property
    def store_id(self) -> str: ...
    @property
    def version(self) -> int: ...


Fetched = TypeVar("Fetched", bound=BaseModel)


def read_fetched(
    data: bytes, announcement: _Announcement, schema: type[Fetched], *, max_bytes: int, what: str
) -> Fetched:
    """A document fetched after its announcement (a catalog snapshot, a photo set), checked before anything
    is taken from it: at most ``max_bytes``, exactly the announced bytes (``check_fetched``), and the
    announced store's announced version. ValueError otherwise (a ``ValidationError`` is one)."""
    if len(data) > max_bytes:
        raise ValueError(f"{what} is {len(data)} bytes, more than a node takes ({max_bytes})")
    check_fetched(data, size=announcement.size, sha256=announcement.sha256, what=what)
    document = schema.model_validate_json(data)
    said = cast(_Versioned, document)
    if said.version != announcement.version or said.store_id != announcement.store_id:
        raise ValueError(f"{what} is not the announced store and version")
    return document
