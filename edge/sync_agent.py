"""The node's sync loop: drain the outbox over MQTT while connected, apply the cloud's acks and downlink,
announce presence.

Selling never waits for it: checkout writes the outbox, this thread sends it when it can. While the broker
is unreachable the loop only retries the connection (paho's backoff); on reconnect it sends what waited.
Acks arrive on the node's own ack topic and delete exactly what the cloud committed (``sync_drain``).
Downlink messages arrive on the node's own downlink topics and are applied by ``sync_apply``; the status the
node announces says where it stands, and it announces again when it finds a gap, so the cloud resends.
A snapshot announcement is fetched over HTTP by this loop's thread, never by the MQTT network thread.
"""

import logging
import threading
import time
from dataclasses import replace
from datetime import datetime

import httpx

from edge import model_files, node_state
from edge.node import Node
from edge.sync_apply import (
    apply_catalog_delta,
    apply_feed_message,
    apply_snapshot,
    dead_letter,
    position,
    read_snapshot,
    wants_snapshot,
)
from edge.sync_drain import apply_ack, pending_batches
from models.ids import new_id
from sync_protocol.encoding import decode_ack, decode_downlink, encode
from sync_protocol.envelope import (
    CatalogAnnouncement,
    CatalogDelta,
    DeviceStatus,
    FeedMessage,
    ModelAnnouncement,
)
from sync_protocol.errors import MessageRejected
from sync_protocol.mqtt_link import MqttLink, MqttSettings
from sync_protocol.rules import CatalogVerdict
from sync_protocol.sequence import FeedVerdict
from sync_protocol.streams import DownlinkKind, Stream
from sync_protocol.topics import DownlinkTopic, Topics, parse_topic

log = logging.getLogger(__name__)

RESEND_AFTER_S = 10.0
"""How long a sent batch waits for its ack before it is sent again (sooner after a reconnect, or when an ack
asks for it). Without it every tick would resend what the cloud is still committing."""


class SyncAgent:
    def __init__(
        self,
        node: Node,
        mqtt: MqttSettings,
        *,
        store_id: str,
        status_every_s: float,
        interval_s: float = 1.0,
    ) -> None:
        """``status_every_s`` (the node's ``sync_status_interval_s``): the node says where it stands at least
        this often while connected, so whatever the cloud failed to apply or send (a status it could not
        record, a downlink message the node could not apply, a restart) is sent again from there, and the
        cloud can prune the feed behind it."""
        self.node = node
        self.store_id = store_id
        self.interval_s = interval_s
        self.status_every_s = status_every_s
        device = node.device_id
        settings = replace(
            mqtt,
            client_id=mqtt.client_id or device,
            will_topic=str(Topics.status(store_id, device)),
            will_payload=self._status(False),  # what the broker says for us if we vanish
        )
        self.link = MqttLink(settings, self._on_message)
        self.link.subscribe(str(Topics.ack(store_id, device)))
        self.link.subscribe(Topics.device_downlink_filter(store_id, device))
        self._held: dict[int, FeedMessage] = {}  # feed messages beyond a gap, until it is filled
        self._in_flight: dict[Stream, tuple[int, float]] = {}  # highest seq sent per stream, and when
        self._unanswered: dict[Stream, datetime] = {}  # first send per stream not acknowledged since
        self._announcement: CatalogAnnouncement | None = None
        self._models: dict[str, ModelAnnouncement] = {}  # announced model files, fetched by the loop thread
        self.link.state_listeners.append(self._link_changed)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._announced = threading.Event()
        self._announced_at = 0.0
        self._thread = threading.Thread(target=self._run, name="sync-agent", daemon=True)

    def start(self) -> None:
        self.link.start(wait_s=None)
        self._thread.start()
        self.node.cloud.nudge = self.nudge

    def stop(self) -> None:
        self.node.cloud.nudge = lambda: None
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)
        if self.link.connected.is_set():  # a clean goodbye: the broker does not publish the will
            self.link.publish(
                str(Topics.status(self.store_id, self.node.device_id)),
                self._status(False, goodbye=True),
                retain=True,
            )
        self.link.close()

    def nudge(self) -> None:
        """Send now rather than at the next tick (after a sale, say)."""
        self._wake.set()

    def _status(self, online: bool, *, goodbye: bool = False) -> bytes:
        if not online:
            return encode(
                DeviceStatus(
                    store_id=self.store_id, device_id=self.node.device_id, online=False, goodbye=goodbye
                )
            )
        with self.node.db.read() as conn:
            where = position(conn)
        return encode(
            DeviceStatus(
                store_id=self.store_id,
                device_id=self.node.device_id,
                online=True,
                downlink_seq=where.downlink_seq,
                catalog_version=where.catalog_version,
                models=where.models,
            )
        )

    def _ask_again(self) -> None:
        """Publish our position again: the cloud sends what follows it."""
        self._announced.clear()
        self._wake.set()

    def _refuse(self, topic: str, data: bytes, exc: MessageRejected) -> None:
        """Keep a message from the cloud this node cannot take, with why; what follows it goes on."""
        log.warning("a message on %s was refused: %s", topic, exc)
        with self.node.db.write() as conn:
            dead_letter(
                conn, topic=topic, reason=exc.reason.value, detail=exc.detail, data=data, now=self.node.now()
            )

    def _on_message(self, topic: str, data: bytes) -> None:
        parsed = parse_topic(topic)
        if isinstance(parsed, DownlinkTopic):
            self._on_downlink(topic, parsed.kind, data)
        else:
            self._on_ack(topic, data)

    def _on_downlink(self, topic: str, kind: DownlinkKind, data: bytes) -> None:
        try:
            message = decode_downlink(data, kind)
        except MessageRejected as exc:
            self._refuse(topic, data, exc)
            return
        if message.store_id != self.store_id:
            return
        now = self.node.now()
        if isinstance(message, CatalogAnnouncement):
            self._announcement = message  # fetched by the loop thread
            self._wake.set()
        elif isinstance(message, ModelAnnouncement):
            self._models[message.name] = message
            self._wake.set()
        elif isinstance(message, CatalogDelta):
            with self.node.db.write() as conn:
                verdict = apply_catalog_delta(conn, message)
            if verdict is CatalogVerdict.NEEDS_SNAPSHOT:
                self._ask_again()
        else:
            self._held[message.seq] = message
            self._apply_held(now)
        self.node.cloud.last_contact_at = now

    def _apply_held(self, now: datetime) -> None:
        with self.node.db.write() as conn:
            for seq in sorted(self._held):
                verdict = apply_feed_message(conn, self._held[seq], device_id=self.node.device_id, now=now)
                if verdict is FeedVerdict.GAP:
                    break
                del self._held[seq]
        if self._held:
            self._ask_again()

    def _fetch_model(self, announcement: ModelAnnouncement) -> None:
        with self.node.db.read() as conn:
            if not model_files.wants(conn, announcement):
                return
        data = _download(str(announcement.url), timeout_s=300)
        path = model_files.write_file(self.node.settings.data_dir, announcement, data)
        with self.node.db.write() as conn:
            if model_files.wants(conn, announcement):
                model_files.record(conn, announcement, path)
        log.info("model %s v%s installed at %s", announcement.name, announcement.version, path)
        self._ask_again()

    def _fetch_snapshot(self, announcement: CatalogAnnouncement) -> None:
        with self.node.db.read() as conn:
            if not wants_snapshot(conn, announcement):
                return
        url = str(announcement.snapshot_url) if announcement.snapshot_url else None
        if url is None:
            log.warning("catalog v%s announced without a link; waiting for one", announcement.version)
            return
        snapshot = read_snapshot(announcement, _download(url, timeout_s=60))
        with self.node.db.write() as conn:
            verdict = apply_snapshot(conn, snapshot, device_id=self.node.device_id, now=self.node.now())
        log.info("catalog v%s from the cloud: %s", snapshot.version, verdict.value)
        self._ask_again()  # tell the cloud where we stand now

    def _link_changed(self, up: bool) -> None:
        self.node.cloud.connected = up
        if up:
            self._in_flight.clear()  # a new session: send everything unacknowledged again
            self._announced.clear()
            self._wake.set()

    def _on_ack(self, topic: str, data: bytes) -> None:
        try:
            ack = decode_ack(data)
        except MessageRejected as exc:
            self._refuse(topic, data, exc)
            return
        if ack.device_id != self.node.device_id:
            return
        now = self.node.now()
        with self.node.db.write() as conn:
            apply_ack(conn, ack, now)
        if ack.missing:
            self._in_flight.pop(ack.stream, None)  # the cloud asks again: resend now
        self._unanswered.pop(ack.stream, None)
        self._show_waiting(resends=0)
        self.node.cloud.last_contact_at = now
        self._wake.set()  # more may be waiting behind what was just acknowledged

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval_s)
            self._wake.clear()
            if self._stop.is_set() or not self.link.connected.is_set():
                continue
            try:
                self._send_once()
            except Exception:
                log.exception("sync round failed; retrying at the next tick")

    def _send_once(self) -> None:
        announcement, self._announcement = self._announcement, None
        if announcement is not None:
            try:
                self._fetch_snapshot(announcement)
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("catalog snapshot v%s not taken: %s", announcement.version, exc)
                self._ask_again()
        for name in list(self._models):
            model = self._models.pop(name)
            try:
                self._fetch_model(model)
            except (httpx.HTTPError, ValueError, OSError) as exc:
                log.warning("model %s v%s not taken: %s", model.name, model.version, exc)
                self._ask_again()
        if not self._announced.is_set() or time.monotonic() - self._announced_at > self.status_every_s:
            topic = str(Topics.status(self.store_id, self.node.device_id))
            if self.link.publish(topic, self._status(True), retain=True):
                self._announced.set()
                self._announced_at = time.monotonic()
        with self.node.db.read() as conn:
            batches = pending_batches(
                conn, store_id=self.store_id, device_id=self.node.device_id, new_batch_id=new_id
            )
        for batch in batches:
            last = batch.messages[-1].seq
            sent = self._in_flight.get(batch.stream)
            resend = sent is not None and time.monotonic() - sent[1] >= RESEND_AFTER_S
            if sent is not None and not resend:
                # Sent and not acknowledged yet: give the cloud time before sending those again, and send
                # only what lies beyond them (the batches are cut anew after every ack).
                unsent = tuple(m for m in batch.messages if m.seq > sent[0])
                if not unsent:
                    continue
                batch = batch.model_copy(update={"messages": unsent, "batch_id": new_id()})
            # QoS 1: delivered at least once; the cloud's sequence state makes a repeat harmless. Rows stay
            # in the outbox until the ack for them arrives.
            if not self.link.publish(
                str(Topics.uplink(self.store_id, self.node.device_id, batch.stream)), encode(batch)
            ):
                return
            self._in_flight[batch.stream] = (max(last, sent[0] if sent else 0), time.monotonic())
            self._unanswered.setdefault(batch.stream, self.node.now())
            self._show_waiting(resends=self.node.cloud.resends + 1 if resend else None)

    def _show_waiting(self, *, resends: int | None) -> None:
        """What ``GET /sync/status`` shows of batches the cloud has not acknowledged yet."""
        cloud = self.node.cloud
        cloud.waiting_for_ack_since = min(self._unanswered.values(), default=None)
        if resends is not None:
            cloud.resends = resends


def _download(url: str, *, timeout_s: float) -> bytes:
    """What an announcement links to (the cloud's file route may redirect to a presigned S3 URL)."""
    response = httpx.get(url, follow_redirects=True, timeout=timeout_s)
    response.raise_for_status()
    return response.content


def store_of(node: Node) -> str | None:
    with node.db.read() as conn:
        return node_state.get(conn, node_state.STORE_ID)
