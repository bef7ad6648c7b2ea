"""The node's side of the downlink, without the network: each message from the cloud applied in one write
transaction, by the rules in ``sync_protocol`` (feed order, catalog versions, status merge, stock by id).

- Feed (stock deltas and order transitions made in the cloud, the store's staff accounts): applied strictly
  in order; a message at or below the position is a repeat, one beyond the next waits until the gap is
  filled.
- Catalog delta: only on top of exactly the version it starts from; a snapshot otherwise.
- Catalog snapshot: only if newer. Its stock levels are taken only on the node's first link to the cloud
  (feed position 0), plus the node's own sales the cloud had not counted when it made the snapshot; after
  that, stock follows the feed, so nothing the node sold or was sent is counted twice. Its staff accounts
  are applied like feed messages, each only if newer (``edge.staff``): a node that starts from a snapshot
  never sees the feed before it.
- Snapshot, model and recognition photo set announcements: the file they link to is fetched over HTTP
  (``take_snapshot``, ``take_model``, ``take_recognition_photos``), by the agent's loop thread, never by the
  MQTT network thread.

The node's status (``status_message``) tells the cloud this position, so the cloud sends what follows it.
"""

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
from pydantic import ValidationError
from sqlalchemy import Connection, delete, func, insert, select

from edge import (
    catalog,
    model_files,
    node_state,
    order_status,
    product_revisions,
    resumable_download,
    staff,
    stock,
)
from edge.node import Node
from edge.outbox import backlog
from edge.recognition import cloud_photos
from edge.snapshot_stream import SnapshotParts, StreamedSnapshot, parts_of
from edge.tables import brands, categories, coupons, dead_letters, discounts, outbox, sync_acks
from models.catalog import Brand, CatalogSnapshot, Category, Coupon, Discount, Product
from models.errors import NotFound
from models.ids import new_id
from models.node_api import StreamBacklog
from plumbing.version import VERSION
from sync_protocol.encoding import (
    DOWNLINK_CONTENT_ENCODINGS,
    ContentEncoding,
    check_fetched_pieces,
    encode,
    read_fetched,
    readable,
)
from sync_protocol.envelope import (
    CONTENT_ENCODINGS_SCHEMA_VERSION,
    DEVICE_HEALTH_SCHEMA_VERSION,
    MAX_HEALTH_COUNT,
    MAX_REFUSAL_REASON,
    CatalogAnnouncement,
    CatalogChange,
    CatalogDelta,
    CatalogEntity,
    ChangeOp,
    DeviceHealth,
    DeviceStatus,
    FeedMessage,
    ModelAnnouncement,
    ModelRefusal,
    OrderStatusUpdate,
    RecognitionPhotoRef,
    RecognitionPhotosAnnouncement,
    StaffChange,
    StockAdjustment,
)
from sync_protocol.rules import CatalogVerdict, judge_catalog_delta, judge_catalog_snapshot
from sync_protocol.sequence import FeedVerdict, judge_feed
from sync_protocol.streams import Stream

log = logging.getLogger(__name__)

# The decoded JSON a node takes: a 100,000-product catalog is about 58 MB (docs/performance.md).
MAX_SNAPSHOT_BYTES = 512 * 1024 * 1024
# Partial downloads live here between attempts (``edge.resumable_download``), one per announced SHA-256.
DOWNLOADS_DIR = "downloads"
SNAPSHOT_PART_PREFIX = "catalog-"


@dataclass(frozen=True)
class Position:
    """Where the node stands downstream: what its status tells the cloud."""

    downlink_seq: int
    catalog_version: int | None
    models: dict[str, int]
    # The cloud-enrolled recognition photo set version held (0: none); None when the node takes none.
    recognition_photos: int | None = None


def position(conn: Connection, *, takes_recognition_photos: bool = False) -> Position:
    """``takes_recognition_photos``: the node runs recognition (it has a recogniser), so it holds a version
    of the seller's cloud-enrolled photo set, 0 for none; otherwise it says nothing of it and none is
    announced to it."""
    # The model shipped with the node (version 0) is not the cloud's: the cloud sees "none of yours".
    delivered = {name: v for name, v in model_files.versions(conn).items() if v > model_files.SHIPPED_VERSION}
    photos = node_state.recognition_photos_version(conn) if takes_recognition_photos else None
    return Position(node_state.downlink_seq(conn), node_state.catalog_version(conn), delivered, photos)


def status_message(
    node: Node,
    store_id: str,
    *,
    online: bool,
    goodbye: bool = False,
    address: str | None = None,
    reads: Sequence[ContentEncoding] = DOWNLINK_CONTENT_ENCODINGS,
) -> bytes:
    """The node's presence: online with its position and health, or offline (its last will, or a clean
    goodbye). ``address``: the local address of the node's connection to the broker (``MqttLink``), the
    one the seller's Devices page shows. ``reads``: the content encodings the node takes on its downlink
    besides JSON; none for a cloud older than issue 22, which knows neither them nor schema version 6."""
    if not online:
        return encode(
            DeviceStatus(store_id=store_id, device_id=node.device_id, online=False, goodbye=goodbye)
        )
    with node.db.read() as conn:
        where = position(conn, takes_recognition_photos=node.recognizer is not None)
        refusals = model_refusals(conn)
        waiting = backlog(conn)
    return encode(
        DeviceStatus(
            # Version 6 covers every field before it (encodings, health, photos, refusals), 5 all but the
            # encodings. A cloud that reads only up to 5 dead-letters a 6 as unknownVersion: the cloud learns
            # a version before the nodes write it.
            schema_version=CONTENT_ENCODINGS_SCHEMA_VERSION if reads else DEVICE_HEALTH_SCHEMA_VERSION,
            store_id=store_id,
            device_id=node.device_id,
            online=True,
            downlink_seq=where.downlink_seq,
            catalog_version=where.catalog_version,
            models=where.models,
            model_refusals=refusals,
            recognition_photos=where.recognition_photos,
            health=health(node, waiting, address),
            content_encodings=[e.value for e in reads],
        )
    )


def health(node: Node, waiting: list[StreamBacklog], address: str | None) -> DeviceHealth:
    """How the node is doing, as its status says it: its version, uptime, address, and what waits in its
    outbox (``edge.outbox.backlog``, the figures ``/sync/status`` and ``edgestore doctor`` show too)."""
    pending = sum(s.pending for s in waiting)
    oldest = min((s.oldest_pending_at for s in waiting if s.oldest_pending_at is not None), default=None)
    age = None if oldest is None else (node.now() - oldest).total_seconds()
    figures = {
        "software_version": VERSION,
        "uptime_s": min(node.uptime_s(), MAX_HEALTH_COUNT),
        "outbox_pending": min(pending, MAX_HEALTH_COUNT),
        "outbox_oldest_age_s": None if age is None else min(max(0, int(age)), MAX_HEALTH_COUNT),
    }
    try:
        return DeviceHealth(**figures, addresses=[address] if address else [])
    except ValidationError:
        # An address the schema does not take (a scoped IPv6 one, say) must not stop the node announcing
        # itself: the status goes without it.
        return DeviceHealth(**figures, addresses=[])


def model_refusals(conn: Connection) -> list[ModelRefusal]:
    """The model files refused since the one installed: what the cloud's bell should ring for."""
    return [
        ModelRefusal(
            name=r.name, version=r.version, sha256=r.sha256, reason=r.reason[:MAX_REFUSAL_REASON] or "refused"
        )
        for r in model_files.outstanding_rejections(conn)
    ]


DEAD_LETTER_PAYLOAD_CHARS = 64 * 1024


def dead_letter(
    conn: Connection, *, topic: str, reason: str, detail: str, data: bytes, now: datetime
) -> None:
    """Keep a message this node refused, with why (it never stops what follows it)."""
    conn.execute(
        insert(dead_letters).values(
            dead_letter_id=new_id(),
            received_at=now,
            topic=topic[:1000],
            reason=reason,
            detail=detail[:2000],
            payload=readable(data, keep=DEAD_LETTER_PAYLOAD_CHARS)[:DEAD_LETTER_PAYLOAD_CHARS],
        )
    )


def dead_letter_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(dead_letters)).scalar_one())


def apply_feed_message(
    conn: Connection, message: FeedMessage, *, device_id: str, now: datetime
) -> FeedVerdict:
    verdict = judge_feed(node_state.downlink_seq(conn), message.seq)
    if verdict is not FeedVerdict.APPLY:
        return verdict
    if isinstance(message, StockAdjustment):
        stock.record(conn, message.delta, send=False)  # the cloud has it: count it here, once by id
    elif isinstance(message, OrderStatusUpdate):
        try:
            order_status.merge(conn, message.transition, now, device_id=device_id)
        except NotFound:
            # Another device's sale (or one from before this node): nothing here to move.
            log.info("feed %s: order %s is not at this node", message.seq, message.transition.order_id)
    elif isinstance(message, StaffChange):
        staff.apply_record(conn, message.staff, now)
    node_state.put(conn, node_state.DOWNLINK_SEQ, str(message.seq))
    return verdict


class HeldFeed:
    """Feed messages that arrived beyond a gap, kept until the gap is filled (the cloud resends from the
    position the node announces)."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self._held: dict[int, FeedMessage] = {}

    def receive(self, message: FeedMessage, now: datetime) -> bool:
        """Apply ``message`` and whatever it lets follow; True while a gap remains (ask the cloud again)."""
        self._held[message.seq] = message
        with self.node.db.write() as conn:
            for seq in sorted(self._held):
                verdict = apply_feed_message(conn, self._held[seq], device_id=self.node.device_id, now=now)
                if verdict is FeedVerdict.GAP:
                    break
                del self._held[seq]
        return bool(self._held)


def apply_catalog_delta(conn: Connection, delta: CatalogDelta) -> CatalogVerdict:
    verdict = judge_catalog_delta(node_state.catalog_version(conn), delta)
    if verdict is not CatalogVerdict.APPLY:
        return verdict
    rules_before = product_revisions.listing_rules_digest(conn)
    for change in delta.changes:
        _apply_change(conn, change)
    touched = {c.entity_id for c in delta.changes if c.entity is CatalogEntity.PRODUCT}
    product_revisions.after_change(conn, delta.to_version, rules_before, touched)
    node_state.put(conn, node_state.CATALOG_VERSION, str(delta.to_version))
    return verdict


def _apply_change(conn: Connection, change: CatalogChange) -> None:
    upsert = change.op is ChangeOp.UPSERT and change.data is not None
    match change.entity:
        case CatalogEntity.PRODUCT if upsert:
            catalog.upsert_product(conn, Product.model_validate(change.data))
        case CatalogEntity.PRODUCT:
            catalog.unlist_product(conn, change.entity_id)
        case CatalogEntity.CATEGORY if upsert:
            catalog.upsert_row(conn, categories, Category.model_validate(change.data).to_row())
        case CatalogEntity.BRAND if upsert:
            catalog.upsert_row(conn, brands, Brand.model_validate(change.data).to_row())
        case CatalogEntity.CATEGORY | CatalogEntity.BRAND:
            pass  # kept: past products and orders still name them
        case CatalogEntity.DISCOUNT if upsert:
            catalog.upsert_row(conn, discounts, Discount.model_validate(change.data).to_row())
        case CatalogEntity.DISCOUNT:
            conn.execute(delete(discounts).where(discounts.c.discount_id == change.entity_id))
        case CatalogEntity.COUPON if upsert:
            catalog.upsert_row(conn, coupons, Coupon.model_validate(change.data).to_row())
        case CatalogEntity.COUPON:
            conn.execute(delete(coupons).where(coupons.c.code == change.entity_id))


def wants_snapshot(conn: Connection, announcement: CatalogAnnouncement) -> bool:
    return (
        judge_catalog_snapshot(node_state.catalog_version(conn), announcement.version) is CatalogVerdict.APPLY
    )


def read_snapshot(announcement: CatalogAnnouncement, data: bytes) -> CatalogSnapshot:
    """The announced snapshot from its bytes held whole, checked against the announcement (size, SHA-256,
    store, version) before anything is parsed into the catalog. A node takes its downloads with
    ``read_downloaded`` instead, which holds neither the bytes nor the catalog whole."""
    return read_fetched(data, announcement, CatalogSnapshot, max_bytes=MAX_SNAPSHOT_BYTES, what="snapshot")


def read_downloaded(
    announcement: CatalogAnnouncement,
    fetched: resumable_download.Fetched,
    *,
    max_bytes: int,
    progress: resumable_download.Progress,
) -> StreamedSnapshot:
    """The announced snapshot in a whole download, checked against the announcement before it is applied:
    size and SHA-256 of the decoded bytes (``decoding``: inflated a chunk at a time, never past
    ``max_bytes``, before anything parses them), then its head (``verifying``: the schema of all but the
    products and stock levels, the announced store and version). The products and levels are validated as
    the apply reads them (``edge.snapshot_stream``). ``ValueError`` when not the announced snapshot."""
    progress.set_phase("decoding")
    check_fetched_pieces(
        resumable_download.decoded(fetched, max_bytes=max_bytes),
        size=announcement.size,
        sha256=announcement.sha256,
        what="snapshot",
    )
    progress.set_phase("verifying")
    snapshot = StreamedSnapshot.read(lambda: resumable_download.open_decoded(fetched, max_bytes=max_bytes))
    if snapshot.head.version != announcement.version or snapshot.head.store_id != announcement.store_id:
        raise ValueError("snapshot is not the announced store and version")
    return snapshot


def download(url: str, *, timeout_s: float, max_bytes: int) -> bytes:
    """What an announcement links to (the cloud's file route may redirect to a presigned S3 URL), read as it
    streams in: ``ValueError`` as soon as it runs past ``max_bytes`` (the announced size), so a server that
    sends more, or forever, costs the node that many bytes and no more."""
    body = bytearray()
    with httpx.stream("GET", url, follow_redirects=True, timeout=timeout_s) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > max_bytes:
                raise ValueError(f"{url} sends more than the {max_bytes} bytes announced")
    return bytes(body)


def take_snapshot(
    node: Node, announcement: CatalogAnnouncement, *, progress: resumable_download.Progress | None = None
) -> bool:
    """Fetch and apply an announced snapshot the node wants; True when one was applied or judged (the node's
    position may have moved: announce it). Raises ``httpx.HTTPError``, ``ValueError`` or ``OSError`` (the
    partial file) when not taken.

    The file travels gzip-coded when the cloud stores it so, into a partial file in the node's data dir
    that the next attempt resumes after a cut (``edge.resumable_download``); it is decoded (never past the
    announced size) and checked against the announcement (``read_downloaded``), then applied a chunk at a
    time as it is decoded again, in one transaction (a fault found halfway leaves the catalog as it was, and
    the partial file is discarded as for any ``ValueError``). ``node.cloud.snapshot_download`` holds its
    progress meanwhile (``GET /sync/status``); ``progress``: one of the caller's, to read afterwards (a
    benchmark's phase times)."""
    with node.db.read() as conn:
        if not wants_snapshot(conn, announcement):
            return False
    url = str(announcement.snapshot_url) if announcement.snapshot_url else None
    if url is None:
        log.warning("catalog v%s announced without a link; waiting for one", announcement.version)
        return False
    limit = min(announcement.size, MAX_SNAPSHOT_BYTES)
    if announcement.size > MAX_SNAPSHOT_BYTES:
        raise ValueError(
            f"snapshot is {announcement.size} bytes, more than a node takes ({MAX_SNAPSHOT_BYTES})"
        )
    folder = node.settings.data_dir / DOWNLOADS_DIR
    partial = folder / f"{SNAPSHOT_PART_PREFIX}{announcement.sha256}.part"
    _forget_other_snapshot_parts(folder, keep=partial)
    progress = progress or resumable_download.Progress(
        f"catalog v{announcement.version}", started_at=node.now()
    )
    node.cloud.snapshot_download = progress
    try:
        fetched = resumable_download.fetch(
            url, partial, max_raw_bytes=resumable_download.max_coded_bytes(limit), progress=progress
        )
        try:
            snapshot = read_downloaded(announcement, fetched, max_bytes=limit, progress=progress)
            progress.set_phase("applying")
            with node.db.write() as conn:
                verdict = apply_snapshot(conn, snapshot, device_id=node.device_id, now=node.now())
        except ValueError:
            # Not the announced bytes, or not a valid snapshot: the next attempt starts over.
            resumable_download.discard(partial)
            raise
        resumable_download.discard(partial)
    finally:
        node.cloud.snapshot_download = None
    log.info(
        "catalog v%s from the cloud: %s (%d bytes on the wire%s)",
        snapshot.head.version,
        verdict.value,
        fetched.raw_bytes - fetched.resumed_from,
        f", resumed at byte {fetched.resumed_from}" if fetched.resumed_from else "",
    )
    return True


def _forget_other_snapshot_parts(folder: Path, *, keep: Path) -> None:
    """A partial download of an older announcement will not be resumed: a newer one replaced it."""
    if not folder.is_dir():
        return
    for path in folder.glob(f"{SNAPSHOT_PART_PREFIX}*.part"):
        if path != keep:
            resumable_download.discard(path)


def take_model(node: Node, announcement: ModelAnnouncement) -> bool:
    """Fetch and install an announced model file the node wants; True when installed or refused (a model the
    node's recogniser cannot serve is recorded as rejected, ``model_files.reject``, and the one before it
    serves on). Raises ``httpx.HTTPError``, ``ValueError`` or ``OSError`` when not taken."""
    with node.db.read() as conn:
        if not model_files.wants(conn, announcement):
            return False
    data = download(str(announcement.url), timeout_s=300, max_bytes=announcement.size)
    path = model_files.write_file(node.settings.data_dir, announcement, data)
    if node.recognizer is not None and announcement.name == node.recognizer.model_name:
        # A fresh interpreter, every reference embedded again, then one swap; the old model serves meanwhile
        # and serves on if this one is refused.
        from edge.recognition.errors import BadModel

        try:
            node.recognizer.install(path, announcement.version)
        except BadModel as exc:
            log.error("model %s v%s refused: %s", announcement.name, announcement.version, exc.reason)
            with node.db.write() as conn:
                model_files.reject(
                    conn,
                    announcement.name,
                    announcement.version,
                    announcement.sha256,
                    exc.reason,
                    node.now(),
                    path,
                )
            return True  # judged: not fetched again
    with node.db.write() as conn:
        if model_files.wants(conn, announcement):
            model_files.record(conn, announcement, path)
    log.info("model %s v%s installed at %s", announcement.name, announcement.version, path)
    return True


def take_recognition_photos(node: Node, announcement: RecognitionPhotosAnnouncement) -> bool:
    """Make the node's cloud-enrolled reference photos equal to an announced set newer than the one it
    holds (``edge.recognition.cloud_photos``): fetch it, fetch and embed the photos it lacks (in
    ``cloud_photos.batches``, one index swap each), forget those no longer listed. A photo of a variant the
    catalog does not have yet waits, unfetched, and the set's version is recorded only when none waits: until
    then the node's status names the older version, the cloud announces again, and the next take fetches
    only what is still missing. True when the version was recorded (the node's position moved: announce
    it). Photos enrolled at the node are never touched; a node without recognition takes none. Raises
    ``httpx.HTTPError`` or ``ValueError`` (a file not as announced) when not taken; what was applied before
    stays."""
    from edge.recognition.errors import ModelNotLoaded

    recognizer = node.recognizer
    if recognizer is None:
        return False
    with node.db.read() as conn:
        if node_state.recognition_photos_version(conn) >= announcement.version:
            return False
    if recognizer.serving is None:
        log.info("recognition photos v%s wait for the model to load", announcement.version)
        return False
    photo_set = cloud_photos.read_photo_set(
        announcement, download(str(announcement.url), timeout_s=60, max_bytes=announcement.size)
    )
    with node.db.read() as conn:
        todo = cloud_photos.plan(photo_set.photos, cloud_photos.held(conn), cloud_photos.refusals(conn))
        known = cloud_photos.known_variants(conn, {ref.variant_id for ref in todo.fetch})
    fetch = [ref for ref in todo.fetch if ref.variant_id in known]
    waiting = len(todo.fetch) - len(fetch)
    removals: frozenset[str] = todo.forget
    fetched = 0
    # One pass even with nothing to fetch when something is to be forgotten.
    work: list[list[RecognitionPhotoRef]] = list(cloud_photos.batches(fetch)) or ([[]] if removals else [])
    try:
        for batch in work:
            photos = [
                cloud_photos.check_photo(ref, download(str(ref.url), timeout_s=60, max_bytes=ref.size))
                for ref in batch
            ]
            applied = recognizer.apply_cloud_photos(photos, removals)
            removals = frozenset()
            waiting += len(applied.deferred)  # the variant went from the catalog meanwhile
            fetched += len(batch)
            if applied.refused:
                log.warning("recognition photos refused (not an image): %s", ", ".join(applied.refused))
            if fetch:
                log.info(
                    "recognition photos v%s: %d of %d fetched", announcement.version, fetched, len(fetch)
                )
    except ModelNotLoaded:
        log.info("recognition photos v%s wait for the model to load", announcement.version)
        return False
    with node.db.write() as conn:
        cloud_photos.keep_refusals(conn, {ref.photo_id for ref in photo_set.photos})
        if not waiting:
            node_state.put(conn, node_state.RECOGNITION_PHOTOS_VERSION, str(announcement.version))
    if waiting:
        log.info(
            "recognition photos v%s: %d wait for their variant in the catalog; not recorded yet",
            announcement.version,
            waiting,
        )
        return False
    log.info(
        "recognition photos v%s held: %d fetched, %d forgotten",
        announcement.version,
        fetched,
        len(todo.forget),
    )
    return True


def apply_snapshot(
    conn: Connection, snapshot: CatalogSnapshot | SnapshotParts, *, device_id: str, now: datetime
) -> CatalogVerdict:
    """Apply a snapshot from the cloud (see the module docstring for stock); a ``ValueError`` from one read
    as it is applied (``edge.snapshot_stream``) leaves the caller's transaction to roll back."""
    parts = parts_of(snapshot)
    head = parts.head
    if judge_catalog_snapshot(node_state.catalog_version(conn), head.version) is not CatalogVerdict.APPLY:
        return CatalogVerdict.STALE
    feed_position = node_state.downlink_seq(conn)
    first_link = feed_position == 0 and head.downlink_seq is not None
    uncounted = _uncounted_own_deltas(conn, head.stock_counted.get(device_id)) if first_link else None
    if first_link and uncounted is None:
        return CatalogVerdict.STALE  # older than acks we hold: the cloud makes a fresh one when asked again
    catalog.load_snapshot(conn, parts, now, take_stock=first_link, uncounted=uncounted)
    staff.apply_records(conn, head.staff, now)
    return CatalogVerdict.APPLY


def _uncounted_own_deltas(conn: Connection, counted: list[int] | None) -> dict[str, int] | None:
    """Per variant, this node's stock deltas the snapshot's levels do not include: the outbox rows above
    the snapshot's high-water mark for us (less those committed above it). None when our acks go beyond
    that mark (rows the snapshot did not count are gone from the outbox, so it cannot be used)."""
    high_water, above = (counted[0], set(counted[1:])) if counted else (0, set())
    acked = conn.execute(
        select(sync_acks.c.acked_seq).where(sync_acks.c.stream == Stream.STOCK_DELTAS.value)
    ).scalar_one_or_none()
    if (acked or 0) > high_water:
        return None
    extra: dict[str, int] = {}
    for row in conn.execute(
        select(outbox.c.stream_seq, outbox.c.payload).where(
            outbox.c.stream == Stream.STOCK_DELTAS.value, outbox.c.stream_seq > high_water
        )
    ):
        if row.stream_seq in above:
            continue
        payload = json.loads(row.payload)
        extra[payload["variantId"]] = extra.get(payload["variantId"], 0) + int(payload["quantity"])
    return extra
