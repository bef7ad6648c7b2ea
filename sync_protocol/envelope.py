"""What goes over the wire: versioned envelopes and batches up, acknowledgements and catalog, status and stock
messages down. camelCase JSON through ``models.base.CamelModel``; ``docs/sync-protocol.md`` shows examples.

Uplink: a store node wraps each outbox row in an ``Envelope`` (one stream, a per-device per-stream ``seq``,
an HLC stamp, the payload) and sends ``Batch``es of envelopes with contiguous seqs. The cloud answers with an
``Ack`` naming the highest seq below which everything is committed and the gaps it wants again.

Downlink: each message is idempotent by itself (a catalog version, a delta's version range, a transition's
stamp, a stock delta's id). Order transitions and stock deltas made in the cloud also travel in the store's
*feed*: numbered 1, 2, 3... per store, so a node that holds feed position ``n`` and sees ``n + 2`` knows it
missed one and asks again from ``n`` (its ``DeviceStatus``); catalog changes follow the catalog version.

Validation errors that the decoder must tell apart from plain schema errors carry their own pydantic error
type (``unknownVersion``, ``inconsistent``, ``illegalTransition``); see ``sync_protocol.encoding``.
"""

import ipaddress
from collections.abc import Mapping
from enum import StrEnum
from itertools import pairwise
from types import MappingProxyType
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from models.base import CamelModel
from models.catalog import Brand, Category, Coupon, Discount, Product
from models.end_of_day import ZReport
from models.errors import IllegalTransition
from models.footfall import FootfallEvent
from models.order_states import Actor, OrderStatus, check_transition
from models.returns import OrderReturn
from models.sales import Order
from models.staff import StaffRecord, StaffRef
from models.stock import StockDelta
from sync_protocol.errors import MessageRejected, RejectReason
from sync_protocol.hlc import HLC
from sync_protocol.ids import Ident, Ulid
from sync_protocol.streams import DownlinkKind, Stream

SCHEMA_VERSION = 1
"""The schema version this code writes, except on what only a later version carries
(``payload_schema_version``)."""
EINVOICE_SCHEMA_VERSION = 2
"""Version 2 adds an order's ``einvoice`` (issue 17); nothing else changed."""
MODEL_REFUSALS_SCHEMA_VERSION = 3
"""Version 3 adds a device status's ``modelRefusals`` (issue 18); nothing else changed."""
RECOGNITION_PHOTOS_SCHEMA_VERSION = 4
"""Version 4 adds a device status's ``recognitionPhotos`` (the cloud-enrolled photo set a node holds, issue
18); nothing else changed."""
DEVICE_HEALTH_SCHEMA_VERSION = 5
"""Version 5 adds a device status's ``health`` (software version, uptime, addresses, outbox backlog: the cloud's
Devices page, issue 19); nothing else changed."""
CONTENT_ENCODINGS_SCHEMA_VERSION = 6
"""Version 6 adds a device status's ``contentEncodings`` (what the node reads on its downlink besides JSON,
issue 22); nothing else changed."""
SUPPORTED_SCHEMA_VERSIONS = frozenset(
    {
        SCHEMA_VERSION,
        EINVOICE_SCHEMA_VERSION,
        MODEL_REFUSALS_SCHEMA_VERSION,
        RECOGNITION_PHOTOS_SCHEMA_VERSION,
        DEVICE_HEALTH_SCHEMA_VERSION,
        CONTENT_ENCODINGS_SCHEMA_VERSION,
    }
)
"""The versions this code reads. A reader learns a new version before any writer sends it."""

MAX_MESSAGES_PER_BATCH = 500
MAX_MISSING_RANGES = 100
"""An ack re-requests at most this many gaps (the earliest first); the rest follow in later acks."""
MAX_CATALOG_CHANGES = 10_000
MAX_NOTE_LENGTH = 500
CLOUD_ORIGIN = "cloud"
"""The device id (and HLC node) of transitions made in the cloud: the dashboard, carriers, timeouts."""


def _check_version(value: int) -> int:
    if value not in SUPPORTED_SCHEMA_VERSIONS:
        raise PydanticCustomError(
            "unknownVersion", "schemaVersion {version} is not supported", {"version": value}
        )
    return value


def _check_hlc(value: str) -> str:
    HLC.parse(value)  # InvalidHLC is a ValueError: pydantic reports it as a validation error
    return value


SchemaVersion = Annotated[int, Field(strict=True, ge=1), AfterValidator(_check_version)]
MAX_SEQ = 2**53 - 1
"""Far beyond any device's lifetime of messages; exact in every JSON reader and in a Postgres bigint."""
Seq = Annotated[int, Field(strict=True, ge=1, le=MAX_SEQ)]
"""A per-device, per-stream sequence number: 1 for the first message, then each one more than the last."""
EncodedHLC = Annotated[str, StringConstraints(max_length=96), AfterValidator(_check_hlc)]
"""A hybrid logical clock stamp in its sortable string form (``HLC.encode``)."""
Sha256Hex = Annotated[str, StringConstraints(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$")]
HttpUrl = Annotated[str, StringConstraints(max_length=2048, pattern=r"^https?://[^\s]+$")]


def _inconsistent(message: str, **context: Any) -> PydanticCustomError:
    return PydanticCustomError("inconsistent", message, context)


class WireModel(CamelModel):
    """Base of every message: camelCase, unknown fields refused, immutable once built."""

    model_config = ConfigDict(frozen=True)


# --- uplink -----------------------------------------------------------------------------------------------


class OrderTransition(WireModel):
    """One order status change, made at a store (uplink, ``orderStatus`` stream) or in the cloud (downlink).

    ``hlc`` is the stamp of the device that made it (``deviceId``, the origin: a store node or a cloud
    process); the merge rule uses both to break ties. ``fromStatus`` is None for the order's creation.
    ``staff`` is who made a store's change at the counter (the staff member logged in at the node); both
    sides keep it with the order's event, and it is part of the transition's identity like every field.
    """

    order_id: Ident
    from_status: OrderStatus | None
    to_status: OrderStatus
    actor: Actor
    hlc: EncodedHLC
    device_id: Ident
    note: Annotated[str, StringConstraints(max_length=MAX_NOTE_LENGTH)] | None = None
    staff: StaffRef | None = None

    @model_validator(mode="after")
    def _legal_and_stamped_by_its_origin(self) -> Self:
        try:
            check_transition(self.from_status, self.to_status, self.actor)
        except IllegalTransition as exc:
            raise PydanticCustomError("illegalTransition", "{message}", {"message": exc.message}) from exc
        if self.stamp().node != self.device_id:
            raise _inconsistent(
                "hlc was made by {node}, not by deviceId {device}",
                node=self.stamp().node,
                device=self.device_id,
            )
        return self

    def stamp(self) -> HLC:
        return HLC.parse(self.hlc)


UplinkPayload = Order | StockDelta | OrderTransition | FootfallEvent | ZReport | OrderReturn

PAYLOAD_MODELS: Mapping[
    Stream,
    type[Order]
    | type[StockDelta]
    | type[OrderTransition]
    | type[FootfallEvent]
    | type[ZReport]
    | type[OrderReturn],
]
PAYLOAD_MODELS = MappingProxyType(
    {
        Stream.ORDERS: Order,
        Stream.STOCK_DELTAS: StockDelta,
        Stream.ORDER_STATUS: OrderTransition,
        Stream.FOOTFALL: FootfallEvent,
        Stream.Z_REPORTS: ZReport,
        Stream.ORDER_RETURNS: OrderReturn,
    }
)
"""What each uplink stream carries as its envelopes' payload."""


class Envelope(WireModel):
    """One uplink message: a payload of its stream's model, numbered and stamped by the device that sent it."""

    schema_version: SchemaVersion = SCHEMA_VERSION
    message_id: Ulid
    store_id: Ident
    device_id: Ident
    stream: Stream
    seq: Seq
    hlc: EncodedHLC
    payload: dict[str, Any]

    @model_validator(mode="after")
    def _stamped_by_its_device(self) -> Self:
        node = self.stamp().node
        if node != self.device_id:
            raise _inconsistent(
                "seq {seq}: hlc was made by {node}, not by deviceId {device}",
                seq=self.seq,
                node=node,
                device=self.device_id,
            )
        return self

    def stamp(self) -> HLC:
        return HLC.parse(self.hlc)

    @field_validator("*", mode="after")
    @staticmethod
    def _no_control_characters(value: Any) -> Any:
        # Replaces CamelModel's check of every string. The payload is checked as its stream's model,
        # message by message (``validate_payload``), so a control character in it refuses that message
        # (badPayload) and not the whole batch, which would stop the stream; every other field is an id, a
        # stamp or an enum whose pattern already keeps control characters out.
        return value


class Batch(WireModel):
    """Envelopes of one store, device and stream, with contiguous increasing seqs (what one publish carries).

    Contiguity lets the cloud answer a batch with one high-water mark and makes a gap always mean a lost
    batch, never a sender that skipped numbers.
    """

    schema_version: SchemaVersion = SCHEMA_VERSION
    batch_id: Ulid
    store_id: Ident
    device_id: Ident
    stream: Stream
    messages: tuple[Envelope, ...] = Field(min_length=1, max_length=MAX_MESSAGES_PER_BATCH)

    @model_validator(mode="after")
    def _one_sender_one_stream_contiguous(self) -> Self:
        first = self.messages[0].seq
        ids: set[str] = set()
        for index, message in enumerate(self.messages):
            for field, mine, theirs in (
                ("storeId", self.store_id, message.store_id),
                ("deviceId", self.device_id, message.device_id),
                ("stream", str(self.stream), str(message.stream)),
            ):
                if mine != theirs:
                    raise _inconsistent(
                        "messages[{index}] has {field} {theirs}, the batch {mine}",
                        index=index,
                        field=field,
                        theirs=theirs,
                        mine=mine,
                    )
            if message.seq != first + index:
                raise _inconsistent(
                    "messages[{index}] has seq {seq}; seqs must run {first}, {next}, ... without gaps",
                    index=index,
                    seq=message.seq,
                    first=first,
                    next=first + 1,
                )
            if message.message_id in ids:
                raise _inconsistent("messageId {id} appears twice", id=message.message_id)
            ids.add(message.message_id)
        return self

    @property
    def first_seq(self) -> int:
        return self.messages[0].seq

    @property
    def last_seq(self) -> int:
        return self.messages[-1].seq

    @property
    def seqs(self) -> range:
        return range(self.first_seq, self.last_seq + 1)


class SeqRange(WireModel):
    """The seqs ``first`` to ``last``, both included."""

    first: Seq
    last: Seq

    @model_validator(mode="after")
    def _in_order(self) -> Self:
        if self.last < self.first:
            raise ValueError("last must not be below first")
        return self

    def __contains__(self, seq: object) -> bool:
        return isinstance(seq, int) and self.first <= seq <= self.last

    def __len__(self) -> int:
        return self.last - self.first + 1


def _ordered_disjoint(ranges: tuple[SeqRange, ...]) -> bool:
    return all(a.last + 1 < b.first for a, b in pairwise(ranges))


class Ack(WireModel):
    """The cloud's answer for one device's stream.

    Every seq at or below ``highWaterSeq`` is committed in Postgres (the device may delete those outbox
    rows); ``missing`` lists gaps above it that the cloud wants sent again, earliest first;
    ``deadLettered`` lists seqs at or below the high-water mark that were refused and kept as dead letters
    (they count as handled, so the device stops re-sending them).
    """

    schema_version: SchemaVersion = SCHEMA_VERSION
    store_id: Ident
    device_id: Ident
    stream: Stream
    high_water_seq: Annotated[int, Field(strict=True, ge=0, le=MAX_SEQ)]
    missing: tuple[SeqRange, ...] = Field(default=(), max_length=MAX_MISSING_RANGES)
    dead_lettered: tuple[SeqRange, ...] = Field(default=(), max_length=MAX_MISSING_RANGES)

    @model_validator(mode="after")
    def _ranges_fit_the_mark(self) -> Self:
        if not _ordered_disjoint(self.missing) or not _ordered_disjoint(self.dead_lettered):
            raise _inconsistent("ranges must be in order, apart and not touching")
        if self.missing and self.missing[0].first <= self.high_water_seq:
            raise _inconsistent("missing seqs must lie above highWaterSeq")
        if self.dead_lettered and self.dead_lettered[-1].last > self.high_water_seq:
            raise _inconsistent("dead-lettered seqs must lie at or below highWaterSeq")
        return self


# --- downlink ---------------------------------------------------------------------------------------------


class CatalogAnnouncement(WireModel):
    """A new catalog version for a store. The node fetches the snapshot, checks size and SHA-256, and applies
    it only if the version is newer than the one it holds. Without ``snapshotUrl`` the node fetches it from
    the cloud's ``GET /api/v1/stores/{storeId}/catalog-snapshot``."""

    schema_version: SchemaVersion = SCHEMA_VERSION
    store_id: Ident
    version: Annotated[int, Field(strict=True, ge=1)]
    snapshot_url: HttpUrl | None = None
    sha256: Sha256Hex
    size: Annotated[int, Field(strict=True, ge=0)]


class CatalogEntity(StrEnum):
    CATEGORY = "category"
    BRAND = "brand"
    PRODUCT = "product"
    DISCOUNT = "discount"
    COUPON = "coupon"


class ChangeOp(StrEnum):
    UPSERT = "upsert"  # the entity as it is now, whole
    REMOVE = "remove"  # gone from the catalog (a product is unlisted at the store, never deleted)


_ENTITY_MODELS: Mapping[
    CatalogEntity, tuple[type[Category] | type[Brand] | type[Product] | type[Discount] | type[Coupon], str]
] = MappingProxyType(
    {
        CatalogEntity.CATEGORY: (Category, "category_id"),
        CatalogEntity.BRAND: (Brand, "brand_id"),
        CatalogEntity.PRODUCT: (Product, "product_id"),
        CatalogEntity.DISCOUNT: (Discount, "discount_id"),
        CatalogEntity.COUPON: (Coupon, "code"),
    }
)


class CatalogChange(WireModel):
    """One entity of a catalog delta. An upsert carries the whole entity in its ``models.catalog`` shape."""

    entity: CatalogEntity
    op: ChangeOp
    entity_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    data: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _data_matches_op(self) -> Self:
        if self.op is ChangeOp.REMOVE:
            if self.data is not None:
                raise ValueError("a remove carries no data")
            return self
        if self.data is None:
            raise ValueError("an upsert carries the entity as data")
        model, id_field = _ENTITY_MODELS[self.entity]
        try:
            entity = model.model_validate(self.data)
        except ValidationError as exc:
            raise ValueError(f"not a valid {self.entity}: {describe_validation_error(exc)}") from None
        if getattr(entity, id_field) != self.entity_id:
            raise ValueError(f"data is {self.entity} {getattr(entity, id_field)}, not {self.entity_id}")
        return self


class CatalogDelta(WireModel):
    """The changes that take a store's catalog from ``fromVersion`` to ``toVersion``."""

    schema_version: SchemaVersion = SCHEMA_VERSION
    store_id: Ident
    from_version: Annotated[int, Field(strict=True, ge=1)]
    to_version: Annotated[int, Field(strict=True, ge=2)]
    changes: tuple[CatalogChange, ...] = Field(max_length=MAX_CATALOG_CHANGES)

    @model_validator(mode="after")
    def _moves_forward(self) -> Self:
        if self.to_version <= self.from_version:
            raise ValueError("toVersion must be above fromVersion")
        return self


class FeedMessage(WireModel):
    """A message in a store's downlink feed: ``seq`` is its position (1, 2, 3... per store) and ``latestSeq``
    the feed's end when it was sent, so a node knows whether more is waiting behind it."""

    schema_version: SchemaVersion = SCHEMA_VERSION
    store_id: Ident
    seq: Annotated[int, Field(strict=True, ge=1)]
    latest_seq: Annotated[int, Field(strict=True, ge=1)]

    @model_validator(mode="after")
    def _within_the_feed(self) -> Self:
        if self.latest_seq < self.seq:
            raise _inconsistent("latestSeq {latest} is below seq {seq}", latest=self.latest_seq, seq=self.seq)
        return self


class OrderStatusUpdate(FeedMessage):
    """A status transition made in the cloud (a seller's refund, a carrier's delivery), sent to the store."""

    transition: OrderTransition


class StockAdjustment(FeedMessage):
    """A stock delta the cloud wrote for the store (restock, count, write-off, correction, or the effect of
    an order transition), sent to it. Idempotent by the delta's id: a node that has it already ignores it."""

    delta: StockDelta

    @model_validator(mode="after")
    def _same_store(self) -> Self:
        if self.delta.store_id != self.store_id:
            raise _inconsistent("the delta is for store {theirs}", theirs=self.delta.store_id)
        return self


class StaffChange(FeedMessage):
    """A staff account of the store as the cloud has it now (created, renamed, given a new role or PIN, or
    removed), sent to the store's nodes. A node applies it only when its version is above the one it holds."""

    staff: StaffRecord

    @model_validator(mode="after")
    def _same_store(self) -> Self:
        if self.staff.store_id != self.store_id:
            raise _inconsistent("the staff account is of store {theirs}", theirs=self.staff.store_id)
        return self


ModelName = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9-]*$")]
ContentEncodingName = Annotated[
    str, StringConstraints(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9+.-]*$")
]
"""The name of a content encoding (``sync_protocol.encoding.ContentEncoding``), as a status says it."""
MAX_CONTENT_ENCODINGS = 8
MAX_MODEL_BYTES = 256 * 1024 * 1024
MAX_MODELS = 16


class ModelAnnouncement(WireModel):
    """A new version of a named model file for the store's devices (the product recognition model, say).
    Like a catalog snapshot it never travels over MQTT: the node fetches ``url``, checks size and SHA-256,
    and installs it only if the version is newer than the one it holds."""

    schema_version: SchemaVersion = SCHEMA_VERSION
    store_id: Ident
    name: ModelName
    version: Annotated[int, Field(strict=True, ge=1)]
    url: HttpUrl
    sha256: Sha256Hex
    size: Annotated[int, Field(strict=True, ge=1, le=MAX_MODEL_BYTES)]


MAX_RECOGNITION_PHOTO_BYTES = 20 * 1024 * 1024
MAX_RECOGNITION_PHOTOS = 100_000
MAX_PHOTO_SET_BYTES = 64 * 1024 * 1024


class RecognitionPhotoRef(WireModel):
    """One reference photo of a variant that the seller enrolled in the cloud: the node fetches ``url``,
    checks size and SHA-256, and embeds it with the model it runs. ``photoId`` is the cloud's, so the node
    knows which of its references came from which photo (and forgets them when the photo is deleted)."""

    photo_id: Ident
    variant_id: Ident
    url: HttpUrl
    sha256: Sha256Hex
    size: Annotated[int, Field(strict=True, ge=1, le=MAX_RECOGNITION_PHOTO_BYTES)]


class RecognitionPhotoSet(WireModel):
    """Every photo the seller has enrolled in the cloud for the store's catalog, as of ``version``: the file a
    ``RecognitionPhotosAnnouncement`` links to (never sent over MQTT: a seller's set is thousands of photos).
    The node makes its cloud-enrolled references equal to it: fetches the photos it lacks, forgets those
    no longer listed; photos enrolled at the node itself (the kiosk's staff mode) are not touched."""

    schema_version: SchemaVersion = SCHEMA_VERSION
    store_id: Ident
    version: Annotated[int, Field(strict=True, ge=1)]
    photos: tuple[RecognitionPhotoRef, ...] = Field(max_length=MAX_RECOGNITION_PHOTOS)


class RecognitionPhotosAnnouncement(WireModel):
    """A new version of the seller's cloud-enrolled photo set for a node that holds an older one (its status
    says which). Like a catalog snapshot, the set is fetched from ``url`` and checked (size, SHA-256)."""

    schema_version: SchemaVersion = SCHEMA_VERSION
    store_id: Ident
    version: Annotated[int, Field(strict=True, ge=1)]
    url: HttpUrl
    sha256: Sha256Hex
    size: Annotated[int, Field(strict=True, ge=1, le=MAX_PHOTO_SET_BYTES)]


DownlinkMessage = (
    CatalogAnnouncement
    | CatalogDelta
    | OrderStatusUpdate
    | StockAdjustment
    | StaffChange
    | ModelAnnouncement
    | RecognitionPhotosAnnouncement
)

DOWNLINK_MODELS: Mapping[
    DownlinkKind,
    type[CatalogAnnouncement]
    | type[CatalogDelta]
    | type[OrderStatusUpdate]
    | type[StockAdjustment]
    | type[StaffChange]
    | type[ModelAnnouncement]
    | type[RecognitionPhotosAnnouncement],
] = MappingProxyType(
    {
        DownlinkKind.CATALOG: CatalogAnnouncement,
        DownlinkKind.CATALOG_DELTA: CatalogDelta,
        DownlinkKind.ORDER_STATUS: OrderStatusUpdate,
        DownlinkKind.STOCK: StockAdjustment,
        DownlinkKind.STAFF: StaffChange,
        DownlinkKind.MODEL: ModelAnnouncement,
        DownlinkKind.RECOGNITION_PHOTOS: RecognitionPhotosAnnouncement,
    }
)
FEED_MODELS: Mapping[DownlinkKind, type[OrderStatusUpdate] | type[StockAdjustment] | type[StaffChange]]
FEED_MODELS = MappingProxyType(
    {
        DownlinkKind.ORDER_STATUS: OrderStatusUpdate,
        DownlinkKind.STOCK: StockAdjustment,
        DownlinkKind.STAFF: StaffChange,
    }
)
"""The kinds that travel in a store's numbered feed, and their messages."""


MAX_REFUSAL_REASON = 500


class ModelRefusal(WireModel):
    """A model file the node fetched and would not run (bad, truncated, incompatible): the model before it
    serves on. ``reason`` is for people (the cloud's bell shows it), not a stable code."""

    name: ModelName
    version: Annotated[int, Field(strict=True, ge=1)]
    sha256: Sha256Hex
    reason: Annotated[str, StringConstraints(min_length=1, max_length=MAX_REFUSAL_REASON)]


MAX_HEALTH_COUNT = 2**31 - 1
"""The bound of a health figure (seconds, messages): 68 years of uptime, more messages than a node holds."""
MAX_ADDRESSES = 8


def _check_address(value: str) -> str:
    ipaddress.ip_address(value)  # a ValueError: pydantic reports it as a validation error
    return value


IpAddress = Annotated[str, StringConstraints(min_length=2, max_length=45), AfterValidator(_check_address)]
"""An IPv4 or IPv6 address in its text form (45 characters hold the longest IPv6 one)."""
SoftwareVersion = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z.+_-]+$")
]
"""A package version (PEP 440 and local labels: ``0.4.0``, ``0.0.0+source``)."""
HealthCount = Annotated[int, Field(strict=True, ge=0, le=MAX_HEALTH_COUNT)]


class DeviceHealth(WireModel):
    """How a node is doing, for the seller's Devices page (schema version 5). Every field is bounded, so a
    status no page could show is dead-lettered instead of stored."""

    software_version: SoftwareVersion
    uptime_s: HealthCount
    # The node's own addresses, the one it reaches the broker from first (its MQTT socket's local address).
    addresses: list[IpAddress] = Field(default=[], max_length=MAX_ADDRESSES)
    # What waits in its outbox to go up: how many messages, and how old the oldest is (seconds, by the
    # node's clock at the time of the status; absent when nothing waits).
    outbox_pending: HealthCount = 0
    outbox_oldest_age_s: HealthCount | None = None


class DeviceStatus(WireModel):
    """Retained on a device's status topic: ``online`` when it connects, ``false`` as its last will.

    An online status also says where the node stands downstream: the feed position it has applied up to
    (``downlinkSeq``), the catalog version it holds and the version of each model file it has. The cloud answers with what follows both; a node
    that sees a gap in the feed publishes its status again to ask for the rest. From schema version 5 it also
    says how the node is doing (``health``), for the seller's Devices page."""

    schema_version: SchemaVersion = SCHEMA_VERSION
    store_id: Ident
    device_id: Ident
    online: bool
    downlink_seq: Annotated[int, Field(strict=True, ge=0)] = 0
    catalog_version: Annotated[int, Field(strict=True, ge=1)] | None = None
    models: dict[ModelName, Annotated[int, Field(strict=True, ge=1)]] = Field(
        default={}, max_length=MAX_MODELS
    )
    goodbye: bool = False  # offline by a clean stop, not the last will: nobody needs to be alarmed
    # Model files refused since the one serving (schema version 3): the cloud rings the seller's bell once each.
    model_refusals: list[ModelRefusal] = Field(default=[], max_length=MAX_MODELS)
    # The version of the seller's cloud-enrolled photo set the node holds, 0 for none (schema version 4).
    # Absent: the node takes no cloud photos (an older node, or one without recognition): none are announced.
    recognition_photos: Annotated[int, Field(strict=True, ge=0, le=2**31 - 1)] | None = None
    # How the node is doing (schema version 5): absent from offline statuses and from older nodes.
    health: DeviceHealth | None = None
    # The content encodings the node reads on its downlink besides JSON (schema version 6; names, not
    # ``ContentEncoding`` members: a node may name one this cloud does not know, which it then never sends).
    # Absent: JSON only (an older node, or one set to talk to an older cloud).
    content_encodings: list[ContentEncodingName] = Field(default=[], max_length=MAX_CONTENT_ENCODINGS)

    @model_serializer(mode="wrap")
    def _without_empty_refusals(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Written only when there are refusals, encodings, a photo set version or health: a cloud that reads
        # only older versions refuses unknown fields.
        data: dict[str, Any] = handler(self)
        for key in ("modelRefusals", "model_refusals", "contentEncodings", "content_encodings"):
            if key in data and not data[key]:
                del data[key]
        for key in ("recognitionPhotos", "recognition_photos", "health"):
            if key in data and data[key] is None:
                del data[key]
        return data

    @model_validator(mode="after")
    def _fields_need_their_version(self) -> Self:
        if self.model_refusals and self.schema_version < MODEL_REFUSALS_SCHEMA_VERSION:
            raise _inconsistent(
                "modelRefusals need schemaVersion {version}", version=MODEL_REFUSALS_SCHEMA_VERSION
            )
        if self.recognition_photos is not None and self.schema_version < RECOGNITION_PHOTOS_SCHEMA_VERSION:
            raise _inconsistent(
                "recognitionPhotos need schemaVersion {version}", version=RECOGNITION_PHOTOS_SCHEMA_VERSION
            )
        if self.health is not None and self.schema_version < DEVICE_HEALTH_SCHEMA_VERSION:
            raise _inconsistent("health needs schemaVersion {version}", version=DEVICE_HEALTH_SCHEMA_VERSION)
        if self.content_encodings and self.schema_version < CONTENT_ENCODINGS_SCHEMA_VERSION:
            raise _inconsistent(
                "contentEncodings need schemaVersion {version}", version=CONTENT_ENCODINGS_SCHEMA_VERSION
            )
        return self


# --- payloads ---------------------------------------------------------------------------------------------


def stream_of(payload: UplinkPayload) -> Stream:
    """The uplink stream that carries ``payload``."""
    for stream, model in PAYLOAD_MODELS.items():
        if type(payload) is model:
            return stream
    raise TypeError(f"no uplink stream carries {type(payload).__name__}")


def payload_schema_version(stream: Stream, payload: Mapping[str, Any]) -> int:
    """The lowest schema version that carries ``payload``, the one its envelope says: 2 for an order with an
    e-invoice choice, 1 for everything else. Writing 1 wherever it suffices keeps a reader that speaks only
    1 reading everything but those orders, which wait (their batch refused as ``unknownVersion``, nothing
    lost) until it learns 2."""
    if stream is Stream.ORDERS and "einvoice" in payload:
        return EINVOICE_SCHEMA_VERSION
    return SCHEMA_VERSION


def make_envelope(
    *, message_id: str, store_id: str, device_id: str, seq: int, hlc: HLC, payload: UplinkPayload
) -> Envelope:
    """Wrap a payload for its stream (chosen from the payload's type, so the two cannot disagree), at the
    schema version it needs."""
    stream, wire = stream_of(payload), payload.to_json_dict()
    return Envelope(
        schema_version=payload_schema_version(stream, wire),
        message_id=message_id,
        store_id=store_id,
        device_id=device_id,
        stream=stream,
        seq=seq,
        hlc=hlc.encode(),
        payload=wire,
    )


def validate_payload(envelope: Envelope) -> UplinkPayload:
    """The envelope's payload as its stream's model; raises ``MessageRejected`` (``badPayload``).

    A payload that names a store must name the envelope's store, and a transition must have been made by
    the device that sends it: a node speaks only for its own store and itself.
    """
    model = PAYLOAD_MODELS[envelope.stream]
    try:
        payload: UplinkPayload = model.model_validate(envelope.payload)
    except ValidationError as exc:
        raise MessageRejected(
            RejectReason.BAD_PAYLOAD,
            f"seq {envelope.seq}: not a valid {model.__name__}: {describe_validation_error(exc)}",
            seqs=(envelope.seq,),
        ) from None
    needed = payload_schema_version(envelope.stream, envelope.payload)
    if envelope.schema_version < needed:
        # A version-1 reader refuses the field as unknown: so does this one, so a version means one thing.
        raise MessageRejected(
            RejectReason.BAD_PAYLOAD,
            f"seq {envelope.seq}: schemaVersion {envelope.schema_version} cannot carry this payload "
            f"(it needs {needed})",
            seqs=(envelope.seq,),
        )
    store_id = getattr(payload, "store_id", envelope.store_id)
    if store_id != envelope.store_id:
        raise MessageRejected(
            RejectReason.BAD_PAYLOAD,
            f"seq {envelope.seq}: payload is for store {store_id}, the envelope for {envelope.store_id}",
            seqs=(envelope.seq,),
        )
    if isinstance(payload, OrderTransition) and payload.device_id != envelope.device_id:
        # A device reports its own transitions only: one stamped as another origin (the cloud, say) could
        # win ties it has no right to.
        raise MessageRejected(
            RejectReason.BAD_PAYLOAD,
            f"seq {envelope.seq}: a transition made by {payload.device_id}, sent by {envelope.device_id}",
            seqs=(envelope.seq,),
        )
    return payload


def describe_validation_error(exc: ValidationError, *, limit: int = 300) -> str:
    """The first problem of a validation error, as ``field.path: message``, short enough for a log line."""
    errors = exc.errors(include_url=False, include_input=False)
    if not errors:
        return "invalid"
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ())) or "message"
    text = f"{where}: {first.get('msg', 'invalid')}"
    if len(errors) > 1:
        text += f" (and {len(errors) - 1} more)"
    return text[:limit]
