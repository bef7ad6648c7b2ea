"""The cloud's MQTT side: uplink batches in, acks out, device presence (online / last will), and the downlink.

Every uplink message goes through ``cloud.sync_uplink.handle_uplink`` (one Postgres transaction) before its
ack is published, and the MQTT delivery itself is acknowledged to the broker only after that, so a cloud
killed at any point gets the batch again and the sequence state turns it into a no-op.

Messages are handled on ``ingest_threads`` threads of the link (``MqttLink``'s ``handler_threads``), not on
paho's network thread, which only hands each over: one topic at a time each, in the order it came (an
uplink topic is one device's stream, a status topic one device's presence), and different topics at once,
so one thread's Python work overlaps another's wait on Postgres and acks are written as soon as they are
published. What the handlers share is safe for that: ``_unexpected`` has an entry per topic, touched only by
that topic's handler; ``cloud.ingest_health`` takes its own lock; ``_online`` and ``_stranded`` are changed
under ``_lock``; the engine's pool has a connection for each thread (``cloud.runtime``). Two threads may
apply two streams of one store at once: docs/scaling.md ("Ingest threads") says which of their writes
wait on each other, why the usual ones cannot deadlock, and what happens to a rare one that does.

Downlink: a device's online status says where it stands (feed position, catalog version). A thread of this
service sends each online device what follows: the store's feed (``cloud.sync_downlink``), a page at a time, and
the catalog as a delta from the device's version or, when a delta cannot say it, a snapshot announcement,
an announcement of each model file newer than the device's, and of the seller's recognition photo set
when the device holds an older one (``cloud.recognition_photos``). It
looks again every ``downlink_interval_s``, so changes made by any cloud process reach online stores within
about that. A node that finds a gap publishes its status again, which rewinds what this side thinks it sent.
Every ``prune_interval_s`` it deletes the feed messages every live device of a store has applied (the
positions come from the devices' statuses, kept in Postgres).
"""

import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from cloud import devices as cloud_devices
from cloud import model_files, notifications, recognition_photos, store_catalog, sync_downlink
from cloud.failures import Failure, failure_of
from cloud.runtime import Cloud
from cloud.sync_uplink import dead_letter, handle_uplink
from cloud.tables import devices, stores
from models.cloud_api import NotificationKind
from sync_protocol.encoding import (
    DEFAULT_MAX_DOWNLINK_BYTES,
    ContentEncoding,
    decode_status,
    encode,
    encode_downlink,
)
from sync_protocol.envelope import (
    Ack,
    CatalogAnnouncement,
    CatalogDelta,
    DeviceStatus,
    DownlinkMessage,
    FeedMessage,
    ModelAnnouncement,
    RecognitionPhotosAnnouncement,
)
from sync_protocol.errors import InvalidTopic, MessageRejected
from sync_protocol.mqtt_link import MqttLink, MqttSettings
from sync_protocol.partition import Partition
from sync_protocol.streams import DownlinkKind
from sync_protocol.topics import (
    CLOUD_USERNAME,
    StatusTopic,
    Topics,
    UplinkTopic,
    parse_topic,
    worker_username,
)

log = logging.getLogger(__name__)


@dataclass
class _Downstream:
    """What this service believes an online device holds: where to send from next."""

    store_id: str
    seller_id: str
    feed_seq: int
    catalog_version: int | None
    models: dict[str, int]
    recognition_photos: int | None = None  # the photo set version it holds; None: it takes no cloud photos
    # A device at feed position 0 is sent a snapshot and nothing of the feed: the snapshot gives it its
    # position (its first link). Until it says where it stands, nothing more is sent.
    awaiting_position: bool = False
    # How its downlink travels: json+zstd when its status says it reads that, else JSON (an older node).
    encoding: ContentEncoding = ContentEncoding.JSON


def _downlink_encoding(said: list[str]) -> ContentEncoding:
    """The content encoding a device's downlink takes: json+zstd if its status names it, whatever else it
    names (a newer node may know encodings this cloud does not)."""
    return ContentEncoding.JSON_ZSTD if ContentEncoding.JSON_ZSTD.value in said else ContentEncoding.JSON


def _stale_catalog(down: _Downstream, feed: sync_downlink.FeedEnds) -> bool:
    return down.catalog_version is None or down.catalog_version < feed.catalog_version


def _newer_photos(down: _Downstream, photo_sets: dict[str, int]) -> bool:
    """Whether the seller's recognition photo set moved past what a device that takes them holds."""
    return down.recognition_photos is not None and down.recognition_photos < photo_sets.get(down.seller_id, 0)


def _first_link(down: _Downstream, feed: sync_downlink.FeedEnds) -> bool:
    """A device that has applied nothing of its store's feed and lacks the current catalog is sent a snapshot
    and no feed: the snapshot's stock counts the feed up to its position, which the node takes as its own.
    The feed from the start, applied before the snapshot is fetched, would leave it without sales made at
    the store's other devices, and may be pruned anyway."""
    return down.feed_seq == 0 and feed.end > 0 and _stale_catalog(down, feed)


class SyncService:
    def __init__(
        self,
        cloud: Cloud,
        mqtt: MqttSettings,
        clock: Callable[[], datetime],
        *,
        downlink_interval_s: float = 1.0,
        prune_interval_s: float = 300.0,
        retry_pauses_s: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0),
        retry_budget_s: float = 10.0,
        give_up_after: int = 5,
        partition: Partition | None = None,
        stores_every_s: float = 10.0,
        ingest_threads: int = 2,
        max_downlink_bytes: int = DEFAULT_MAX_DOWNLINK_BYTES,
    ) -> None:
        """``retry_pauses_s`` and ``retry_budget_s``: the pauses between tries of an uplink message while the
        database fails, and the most time spent on one message (it holds its stream and an ingest thread
        meanwhile, so short: the device sends it again after its own wait anyway). ``give_up_after``:
        unexpected failures in a row on one stream before what fails is dead-lettered. ``partition``: this
        process takes only the streams and presence of the stores that hash to it
        (``sync_protocol.partition``; docs/scaling.md), looking for new stores every ``stores_every_s``; None
        or 0/1: every store. ``ingest_threads``: how many messages (of different topics) are handled at once;
        1: one at a time, in the order they came. ``max_downlink_bytes``: the most a node takes in one downlink
        message as JSON (``sync_protocol.encoding.decode_downlink``): a catalog delta larger goes as a
        snapshot."""
        self.cloud = cloud
        self.retry_pauses_s = retry_pauses_s
        self.retry_budget_s = retry_budget_s
        self.give_up_after = give_up_after
        # Uplink topic -> unexpected failures in a row. Each entry is read and written only by the handler of
        # its topic, which runs one message at a time: no lock needed.
        self._unexpected: dict[str, int] = {}
        self.clock = clock
        self.downlink_interval_s = downlink_interval_s
        self.max_downlink_bytes = max_downlink_bytes
        self.prune_interval_s = prune_interval_s
        self._next_prune = 0.0  # monotonic time; the first tick prunes
        self._stranded: set[str] = set()  # devices behind the pruned feed, already reported in the log
        self.partition = partition if partition is not None and not partition.whole else None
        self.stores_every_s = stores_every_s
        self._owned: set[str] = set()  # with a partition: the stores whose topics this process took
        self._others: set[str] = set()  # and the other workers' stores, dropped from its session
        self._next_stores = 0.0
        if self.partition is not None and mqtt.username == CLOUD_USERNAME:
            # Each worker on its own broker account: the broker binds the client id to the login, and two
            # workers on one would take each other's connection over (``topics.worker_username``).
            mqtt = replace(mqtt, username=worker_username(self.partition.index))
        if not mqtt.client_id:
            # One persistent session per worker, each keeping its own stores' messages while it is away. On a
            # broker that binds the client id to the login (ours), the session is the login's and this id is
            # not used.
            worker = f"-{self.partition.index}of{self.partition.count}" if self.partition else ""
            mqtt = replace(mqtt, client_id=f"edgestore-cloud-{socket.gethostname()}{worker}")
        self.link = MqttLink(mqtt, self._on_message, handler_threads=ingest_threads)
        if self.partition is None:
            self.link.subscribe(Topics.CLOUD_UPLINK_FILTER)
            self.link.subscribe(Topics.CLOUD_STATUS_FILTER)
        else:
            # A session from when this login took every store (one worker before) keeps the catch-alls.
            self.link.unsubscribe(Topics.CLOUD_UPLINK_FILTER)
            self.link.unsubscribe(Topics.CLOUD_STATUS_FILTER)
            self._take_stores()
        self._online: dict[str, _Downstream] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._downlink_loop, name="sync-downlink", daemon=True)

    def _take_stores(self) -> None:
        """Subscribe to the topics of the stores this partition owns and has not taken yet (a store made
        since the last look); a database failure is tried again at the next look."""
        assert self.partition is not None
        self._next_stores = time.monotonic() + self.stores_every_s
        try:
            with self.cloud.db.transaction() as conn:
                store_ids = list(conn.execute(select(stores.c.store_id)).scalars())
        except Exception:
            log.exception("listing the stores for partition %s failed; trying again later", self.partition)
            return
        for store_id in sorted(store_ids):
            if store_id in self._owned or store_id in self._others:
                continue
            if self.partition.owns(store_id):
                self.link.subscribe(Topics.store_uplink_filter(store_id))
                self.link.subscribe(Topics.store_status_filter(store_id))
                self._owned.add(store_id)
            else:
                # Another worker's: dropped from this worker's broker session, which may hold it from before
                # the workers were counted anew (the session is its login's, kept across restarts).
                self.link.unsubscribe(Topics.store_uplink_filter(store_id))
                self.link.unsubscribe(Topics.store_status_filter(store_id))
                self._others.add(store_id)

    def owns(self, store_id: str) -> bool:
        """Whether this process takes ``store_id``'s streams."""
        return self.partition is None or self.partition.owns(store_id)

    def start(self, *, wait_s: float | None = 10.0) -> bool:
        up = self.link.start(wait_s=wait_s)
        self._thread.start()
        return up

    def close(self) -> None:
        """Stop: the retry pauses of messages being handled end (``_stop``), the link takes no more messages,
        lets those being handled finish and leaves those waiting to the broker, and the threads are joined."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.link.close()

    # -- downlink (own thread) --------------------------------------------------------------------------------

    def _downlink_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.downlink_interval_s)
            self._wake.clear()
            if self._stop.is_set():
                continue
            if self.partition is not None and time.monotonic() >= self._next_stores:
                self._take_stores()
            self._prune_when_due()
            if not self.link.connected.is_set():
                continue
            with self._lock:
                targets = list(self._online.items())
            if not targets:
                continue
            try:
                behind = self._behind(targets)
            except Exception:
                log.exception("downlink check failed; retrying at the next tick")
                continue
            for device_id, down, ends in behind:
                try:
                    self._send_downlink(device_id, down, ends)
                except Exception:
                    log.exception("downlink to %s failed; retrying at the next tick", device_id)

    def _prune_when_due(self) -> None:
        if self.partition is not None and self.partition.index != 0:
            return  # the feed is every store's: one worker prunes it
        if time.monotonic() < self._next_prune:
            return
        self._next_prune = time.monotonic() + self.prune_interval_s
        try:
            with self.cloud.db.transaction() as conn:
                pruned = sync_downlink.prune(conn)
        except Exception:
            log.exception("pruning the downlink feed failed; trying again later")
            return
        if pruned:
            log.info("downlink feed pruned for %d store(s)", len(pruned))

    def _without_revoked(
        self, conn: Connection, targets: list[tuple[str, _Downstream]]
    ) -> list[tuple[str, _Downstream]]:
        """Forget the devices revoked while online (the broker dropped them, and no will of theirs counts):
        nothing more is sent to them."""
        revoked = cloud_devices.revoked_among(conn, [device_id for device_id, _ in targets])
        if not revoked:
            return targets
        with self._lock:
            for device_id in revoked:
                self._online.pop(device_id, None)
        return [(device_id, down) for device_id, down in targets if device_id not in revoked]

    def _behind(
        self, targets: list[tuple[str, _Downstream]]
    ) -> list[tuple[str, _Downstream, sync_downlink.FeedEnds]]:
        """The devices with something to receive, with where their store's feed stands: two queries for all
        online devices, so an idle tick costs the same however many stores are online."""
        with self.cloud.db.read() as conn:
            targets = self._without_revoked(conn, targets)
            ends = sync_downlink.ends(conn, {down.store_id for _, down in targets})
            models = model_files.newest_versions(conn, {down.seller_id for _, down in targets})
            photo_sets = recognition_photos.versions(conn, {down.seller_id for _, down in targets})
        out = []
        for device_id, down in targets:
            feed = ends.get(down.store_id)
            if feed is None:
                continue  # the store is gone
            if down.awaiting_position:
                continue
            if _first_link(down, feed):
                out.append((device_id, down, feed))
                continue
            if down.feed_seq < feed.pruned:
                # Only a node put back from an old backup gets here (a live device holds pruning back):
                # what it lacks is gone, and sending the rest would only show it a gap it asks about again.
                with self._lock:  # a status handled meanwhile may discard it
                    reported = device_id in self._stranded
                    self._stranded.add(device_id)
                if not reported:
                    log.error(
                        "device %s is at feed position %d but its store's feed is pruned to %d: "
                        "provision it again",
                        device_id,
                        down.feed_seq,
                        feed.pruned,
                    )
                continue
            newer_model = any(
                down.models.get(name, 0) < v for name, v in models.get(down.seller_id, {}).items()
            )
            newer_photos = _newer_photos(down, photo_sets)
            if down.feed_seq < feed.end or _stale_catalog(down, feed) or newer_model or newer_photos:
                out.append((device_id, down, feed))
        return out

    def _send_downlink(self, device_id: str, down: _Downstream, feed_ends: sync_downlink.FeedEnds) -> None:
        cloud = self.cloud
        first_link = _first_link(down, feed_ends)
        with cloud.db.read() as conn:
            feed = (
                []
                if first_link
                else sync_downlink.feed_after(conn, down.store_id, down.feed_seq, latest=feed_ends.end)
            )
            update: CatalogDelta | CatalogAnnouncement | None = None
            if _stale_catalog(down, feed_ends):
                if down.catalog_version is not None and not first_link:
                    update = store_catalog.catalog_delta(
                        conn,
                        cloud.metadata,
                        down.seller_id,
                        down.store_id,
                        down.catalog_version,
                        max_bytes=self.max_downlink_bytes,
                    )
                if update is None:
                    update = store_catalog.publish_snapshot(
                        conn,
                        cloud.metadata,
                        cloud.blobs,
                        down.seller_id,
                        down.store_id,
                        cloud.settings.base_url,
                    )
            new_models = model_files.announcements(
                conn, down.seller_id, down.store_id, down.models, cloud.settings.base_url
            )
            photos = (
                recognition_photos.publish_set(
                    conn, cloud.blobs, down.seller_id, down.store_id, cloud.settings.base_url
                )
                if _newer_photos(down, recognition_photos.versions(conn, [down.seller_id]))
                else None
            )
        if update is not None:
            kind = DownlinkKind.CATALOG_DELTA if isinstance(update, CatalogDelta) else DownlinkKind.CATALOG
            if not self._publish_down(device_id, down, kind, update):
                return
            down.catalog_version = update.to_version if isinstance(update, CatalogDelta) else update.version
            down.awaiting_position = first_link
        for kind, message in feed:
            if not self._publish_down(device_id, down, kind, message):
                return
            down.feed_seq = message.seq
        self._announce_files(device_id, down, new_models, photos)

    def _announce_files(
        self,
        device_id: str,
        down: _Downstream,
        new_models: list[ModelAnnouncement],
        photos: RecognitionPhotosAnnouncement | None,
    ) -> None:
        """The files a device fetches itself: model versions newer than its, and the photo set."""
        for model in new_models:
            if not self._publish_down(device_id, down, DownlinkKind.MODEL, model):
                return
            down.models[model.name] = model.version
        if photos is not None and self._publish_down(
            device_id, down, DownlinkKind.RECOGNITION_PHOTOS, photos
        ):
            down.recognition_photos = photos.version

    def _publish_down(
        self, device_id: str, down: _Downstream, kind: DownlinkKind, message: DownlinkMessage | FeedMessage
    ) -> bool:
        """One downlink message to a device, in the content encoding it reads; False when not sent."""
        topic = str(Topics.downlink(down.store_id, device_id, kind))
        return self.link.publish(topic, encode_downlink(message, down.encoding))

    def _on_message(self, topic: str, data: bytes) -> None:
        try:
            parsed = parse_topic(topic)
        except InvalidTopic:
            parsed = None
        if isinstance(parsed, StatusTopic | UplinkTopic) and not self.owns(parsed.store_id):
            return  # another worker's store (a subscription left from before the workers were re-counted)
        if isinstance(parsed, StatusTopic):
            if data:  # empty: a retained status cleared (``_presence`` clears a revoked device's)
                self._presence(parsed, topic, data)
            return
        if parsed is not None and not isinstance(parsed, UplinkTopic):
            return  # our own acks and downlink echo back to us only if the ACL allowed it: ignore them
        ack = self._ingest(topic, data)
        if ack is not None:
            self.link.publish(str(Topics.ack(ack.store_id, ack.device_id)), encode(ack), wait=False)

    def _ingest(self, topic: str, data: bytes) -> Ack | None:
        """``handle_uplink``, tried again with growing pauses while the database fails (``cloud.failures``),
        within ``retry_budget_s``: this runs on an ingest thread, so the network thread and its keep-alive go
        on meanwhile, but the stream waits behind it and the thread serves no other stream, and the delivery
        stays unacknowledged; the device sends the batch again anyway when no ack comes, which is where the
        message is left after that. ``close`` ends the pauses (``_stop``). An unexpected failure is not tried
        again at once (it would fail the same way) but counted per stream: after ``give_up_after`` in a row,
        what fails is dead-lettered and the stream moves on. Meanwhile the failure shows in
        ``GET /sync/status``."""
        health = self.cloud.ingest_health
        started = time.monotonic()
        give_up = self._unexpected.get(topic, 0) + 1 >= self.give_up_after
        for pause_s in (*self.retry_pauses_s, None):
            try:
                ack = handle_uplink(
                    self.cloud.db,
                    topic,
                    data,
                    self.clock(),
                    low_threshold=self.cloud.settings.low_stock_threshold,
                    give_up=give_up,
                )
            except Exception as exc:
                health.failed(exc, self.clock())
                if failure_of(exc) is not Failure.TRANSIENT:
                    self._unexpected[topic] = self._unexpected.get(topic, 0) + 1
                    log.exception(
                        "uplink on %s failed unexpectedly (%d in a row)", topic, self._unexpected[topic]
                    )
                    return None
                out_of_time = pause_s is None or time.monotonic() - started + pause_s > self.retry_budget_s
                if out_of_time or self._stop.wait(pause_s):
                    log.warning("uplink on %s not applied (%r); the device sends it again", topic, exc)
                    return None
                continue
            self._unexpected.pop(topic, None)
            health.applied(self.clock())
            return ack
        return None  # pragma: no cover - the loop returns on its last pass

    @staticmethod
    def _models_said(
        conn: Connection,
        parsed: StatusTopic,
        device: Any,
        status: DeviceStatus,
        topic: str,
        data: bytes,
        now: datetime,
    ) -> None:
        """What an online node serves and refused (``cloud.model_files.record_status``); a refusal of a file
        its seller never published is dead-lettered, and the rest of the status counts."""
        unknown = model_files.record_status(
            conn,
            seller_id=device.seller_id,
            store_id=parsed.store_id,
            device_id=parsed.device_id,
            serving=dict(status.models),
            refusals=status.model_refusals,
            words={"deviceName": device.name or "", "storeName": device.store_name},
            now=now,
        )
        if unknown:
            dead_letter(
                conn,
                topic=topic,
                reason="unknownModel",
                detail="refusal of a model file this seller did not publish: "
                + ", ".join(f"{r.name} v{r.version}" for r in unknown),
                data=data,
                now=now,
                store_id=parsed.store_id,
                device_id=parsed.device_id,
            )

    def _presence(self, parsed: StatusTopic, topic: str, data: bytes) -> None:
        if self._record_presence(parsed, topic, data):
            # A refused retained status would come back at every subscription (each restart of this
            # service): cleared once its dead letter is committed, it is dead-lettered once. A device that
            # may speak says where it stands again within its status interval.
            self.link.publish(topic, b"", retain=True, wait=False)

    def _record_presence(self, parsed: StatusTopic, topic: str, data: bytes) -> bool:
        """Record what a status says; True when it was refused (dead-lettered) rather than applied."""
        now = self.clock()
        with self.cloud.db.transaction() as conn:
            try:
                status = decode_status(data)
            except MessageRejected as exc:
                dead_letter(conn, topic=topic, reason=exc.reason.value, detail=exc.detail, data=data, now=now)
                return True
            row = conn.execute(
                select(devices.c.seller_id, devices.c.name, stores.c.name.label("store_name"))
                .join(stores, stores.c.store_id == devices.c.store_id)
                .where(
                    devices.c.device_id == parsed.device_id,
                    devices.c.store_id == parsed.store_id,
                    devices.c.revoked_at.is_(None),
                )
            ).first()
            if row is None or status.device_id != parsed.device_id or status.store_id != parsed.store_id:
                dead_letter(
                    conn,
                    topic=topic,
                    reason="unauthorised",
                    detail="status of an unknown device",
                    data=data,
                    now=now,
                )
                return True
            cloud_devices.record_status(
                conn, parsed.device_id, online=status.online, health=status.health, now=now
            )
            if status.online:
                sync_downlink.record_position(conn, parsed.device_id, status.downlink_seq)
                recognition_photos.record_held(conn, parsed.device_id, status.recognition_photos)
                self._models_said(conn, parsed, row, status, topic, data, now)
            with self._lock:
                if status.online:
                    self._stranded.discard(parsed.device_id)
                    self._online[parsed.device_id] = _Downstream(
                        parsed.store_id,
                        row.seller_id,
                        status.downlink_seq,
                        status.catalog_version,
                        dict(status.models),
                        status.recognition_photos,
                        encoding=_downlink_encoding(status.content_encodings),
                    )
                else:
                    self._online.pop(parsed.device_id, None)
            self._wake.set()
            if not status.online and not status.goodbye:  # the last will: it vanished
                notifications.notify(
                    conn,
                    row.seller_id,
                    NotificationKind.STORE_OFFLINE,
                    {"deviceId": parsed.device_id, "deviceName": row.name or "", "storeName": row.store_name},
                    ref_type="store",
                    ref_id=parsed.store_id,
                    now=now,
                )
        return False
