"""The node's sync loop: connect, drain the outbox, receive the cloud's acks and downlink, announce where the
node stands.

Selling never waits for it: checkout writes the outbox, this thread sends it when it can. While the broker
is unreachable the loop only retries the connection (paho's backoff); on reconnect it sends what waited.
What goes up and how acks delete it is ``sync_uplink``'s (with the resend plan, ``InFlight``); what comes
down and how it is applied, fetched or announced back is ``sync_downlink``'s. The status the node announces
says where it stands, and it announces again when it finds a gap, so the cloud resends. Files announced to
the node are fetched by this loop's thread, never by the MQTT network thread.
"""

import logging
import threading
import time
from dataclasses import replace

import httpx

from edge import node_state
from edge.node import Node
from edge.sync_downlink import (
    HeldFeed,
    apply_catalog_delta,
    dead_letter,
    status_message,
    take_model,
    take_recognition_photos,
    take_snapshot,
)
from edge.sync_uplink import InFlight, apply_ack, held_back, pending_batches
from models.ids import new_id
from sync_protocol.encoding import (
    DOWNLINK_CONTENT_ENCODINGS,
    ContentEncoding,
    decode_ack,
    decode_downlink,
    encode_batch,
)
from sync_protocol.envelope import (
    Ack,
    CatalogAnnouncement,
    CatalogDelta,
    Envelope,
    ModelAnnouncement,
    RecognitionPhotosAnnouncement,
)
from sync_protocol.errors import MessageRejected
from sync_protocol.mqtt_link import MqttLink, MqttSettings
from sync_protocol.rules import CatalogVerdict
from sync_protocol.sequence import DEFAULT_SEND_WINDOW
from sync_protocol.streams import DownlinkKind, Stream
from sync_protocol.topics import DownlinkTopic, Topics, parse_topic

log = logging.getLogger(__name__)

DEFAULT_LINGER_S = 0.1
"""The pause after a round that left nothing waiting for an ack (``held_back``): a sale made meanwhile goes
up with the next round, about this much later, and under load the sales and acks of that time share a round
(measured in docs/performance.md, "Store node checkout")."""


class SyncAgent:
    def __init__(
        self,
        node: Node,
        mqtt: MqttSettings,
        *,
        store_id: str,
        status_every_s: float,
        interval_s: float = 1.0,
        content_encoding: ContentEncoding = ContentEncoding.COMPACT_ZSTD,
        window: int = DEFAULT_SEND_WINDOW,
        linger_s: float = DEFAULT_LINGER_S,
    ) -> None:
        """``status_every_s`` (the node's ``sync_status_interval_s``): the node says where it stands at least
        this often while connected, so whatever the cloud failed to apply or send (a status it could not
        record, a downlink message the node could not apply, a restart) is sent again from there, and the
        cloud can prune the feed behind it."""
        self.node = node
        self.store_id = store_id
        self.interval_s = interval_s
        self.status_every_s = status_every_s
        self.content_encoding = content_encoding
        self.window = window
        self.linger_s = linger_s
        device = node.device_id
        settings = replace(
            mqtt,
            client_id=mqtt.client_id or device,
            will_topic=str(Topics.status(store_id, device)),
            # what the broker says for us if we vanish
            will_payload=status_message(node, store_id, online=False),
        )
        self.link = MqttLink(settings, self._on_message)
        self.link.subscribe(str(Topics.ack(store_id, device)))
        self.link.subscribe(Topics.device_downlink_filter(store_id, device))
        self._in_flight = InFlight(node)
        self._held_runts: dict[str, Envelope] = {}  # envelopes a round held back, for the next (one thread)
        self._held = HeldFeed(node)
        self._acks: dict[Stream, Ack] = {}  # the newest per stream, from the network thread, for the loop
        self._backlogged = False  # the last round left rows waiting behind what is out
        self._acks_lock = threading.Lock()
        self._announcement: CatalogAnnouncement | None = None
        self._models: dict[str, ModelAnnouncement] = {}  # announced model files, fetched by the loop thread
        self._photos: RecognitionPhotosAnnouncement | None = None  # the newest photo set announced, likewise
        self.link.state_listeners.append(self._link_changed)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._announced = threading.Event()
        self._announced_at = 0.0
        self._thread = threading.Thread(target=self._run, name="sync-agent", daemon=True)

    @property
    def reads(self) -> tuple[ContentEncoding, ...]:
        """What the node's status says it reads on its downlink besides JSON. A node set to send JSON talks
        to a cloud older than issue 22: it asks for a JSON downlink too, in a status that cloud reads."""
        return () if self.content_encoding is ContentEncoding.JSON else DOWNLINK_CONTENT_ENCODINGS

    def start(self) -> None:
        self.link.start(wait_s=None)
        self._thread.start()
        self.node.cloud.nudge = self.nudge

    def stop(self) -> None:
        self.node.cloud.nudge = lambda: None
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._apply_acks()  # what the cloud confirmed meanwhile is not sent again at the next start
        if self.link.connected.is_set():  # a clean goodbye: the broker does not publish the will
            self.link.publish(
                str(Topics.status(self.store_id, self.node.device_id)),
                status_message(self.node, self.store_id, online=False, goodbye=True),
                retain=True,
            )
        self.link.close()

    def nudge(self) -> None:
        """Send now rather than at the next tick (after a sale, say)."""
        self._wake.set()

    # Connect

    def _link_changed(self, up: bool) -> None:
        self.node.cloud.connected = up
        if up:
            self._in_flight.new_session()
            self._announced.clear()
            self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval_s)
            self._wake.clear()
            if self._stop.is_set():
                continue
            self._apply_acks()
            self._backlogged = False
            if self.link.connected.is_set():
                try:
                    self._round()
                except Exception:
                    log.exception("sync round failed; retrying at the next tick")
            if not self._backlogged:
                # A sale nudges at once; a pause before the next round lets the sales and acks of a busy
                # moment share rounds, batches and commits instead of costing one each. Not while a backlog
                # drains: then each ack frees room in the window, to be filled at once.
                self._stop.wait(self.linger_s)

    def _round(self) -> None:
        self._take_announced()
        self._announce()
        self._drain()

    # Drain

    def _drain(self) -> None:
        sent = self._in_flight.sent_up_to()
        overdue = {stream for stream in Stream if self._in_flight.resending(stream)}
        with self.node.db.read() as conn:
            batches = pending_batches(
                conn,
                store_id=self.store_id,
                device_id=self.node.device_id,
                new_batch_id=new_id,
                per_stream=self.window,
                sent=sent,
                held=self._held_runts,
            )
            # In the same read: will rows still wait behind what is out once these are? Then the next round
            # follows the next ack without a pause.
            going = dict(sent)
            for batch in batches:
                going[batch.stream] = max(going.get(batch.stream, 0), batch.messages[-1].seq)
            self._backlogged = held_back(conn, going)
        resent: set[Stream] = set()
        for batch in batches:
            resend = batch.stream in overdue
            if batch.stream in resent:
                # An overdue stream sends its oldest batch again, not all it has out: a cloud that is only
                # slow would get the whole window twice. If that batch was lost, the ack for it asks for
                # whatever else is missing, and that goes at once.
                continue
            # QoS 1: delivered at least once; the cloud's sequence state makes a repeat harmless. Rows stay
            # in the outbox until the ack for them arrives.
            if not self.link.publish(
                str(Topics.uplink(self.store_id, self.node.device_id, batch.stream)),
                encode_batch(batch, self.content_encoding),
            ):
                return
            self._in_flight.published(batch, resend=resend)
            if resend:
                resent.add(batch.stream)

    # Receive (on the MQTT network thread)

    def _on_message(self, topic: str, data: bytes) -> None:
        parsed = parse_topic(topic)
        if isinstance(parsed, DownlinkTopic):
            self._on_downlink(topic, parsed.kind, data)
        else:
            self._on_ack(topic, data)

    def _on_ack(self, topic: str, data: bytes) -> None:
        try:
            ack = decode_ack(data)
        except MessageRejected as exc:
            self._refuse(topic, data, exc)
            return
        if ack.device_id != self.node.device_id:
            return
        with self._acks_lock:
            held = self._acks.get(ack.stream)
            if held is None or held.high_water_seq <= ack.high_water_seq:
                # The newer ack says all an older one did: its mark covers the older's dead letters, and
                # its gaps are the stream's gaps now.
                self._acks[ack.stream] = ack
        self.node.cloud.last_contact_at = self.node.now()
        self._wake.set()  # more may be waiting behind what was just acknowledged

    def _apply_acks(self) -> None:
        """Apply the newest ack of each stream that came since the last round, in one write transaction (on
        the loop thread: the network thread never waits for the writer lock to apply an ack, and a busy
        till's acks cost one commit per round, not one each). When the write fails they wait for the next
        round; an ack never applied (the node stopped) only leaves rows the cloud holds already, which go
        again and are skipped there."""
        with self._acks_lock:
            acks, self._acks = self._acks, {}
        if not acks:
            return
        try:
            with self.node.db.write() as conn:
                for ack in acks.values():
                    apply_ack(conn, ack, self.node.now())
        except Exception:
            log.exception("acks not applied; trying again at the next round")
            with self._acks_lock:
                for stream, ack in acks.items():
                    held = self._acks.get(stream)
                    if held is None or held.high_water_seq < ack.high_water_seq:
                        self._acks[stream] = ack
            return
        for ack in acks.values():
            self._in_flight.acknowledged(ack)

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
        elif isinstance(message, RecognitionPhotosAnnouncement):
            held = self._photos
            if held is None or held.version <= message.version:
                self._photos = message
            self._wake.set()
        elif isinstance(message, CatalogDelta):
            with self.node.db.write() as conn:
                verdict = apply_catalog_delta(conn, message)
            if verdict is CatalogVerdict.NEEDS_SNAPSHOT:
                self._ask_again()
        elif self._held.receive(message, now):
            self._ask_again()
        self.node.cloud.last_contact_at = now

    def _refuse(self, topic: str, data: bytes, exc: MessageRejected) -> None:
        """Keep a message from the cloud this node cannot take, with why; what follows it goes on."""
        log.warning("a message on %s was refused: %s", topic, exc)
        with self.node.db.write() as conn:
            dead_letter(
                conn, topic=topic, reason=exc.reason.value, detail=exc.detail, data=data, now=self.node.now()
            )

    def _take_announced(self) -> None:
        """Fetch what was announced since the last round (on the loop thread: downloads may take minutes)."""
        announcement, self._announcement = self._announcement, None
        if announcement is not None:
            try:
                if take_snapshot(self.node, announcement):
                    self._ask_again()  # tell the cloud where we stand now
            except (httpx.HTTPError, ValueError, OSError) as exc:  # OSError: the partial file (disk full)
                log.warning("catalog snapshot v%s not taken: %s", announcement.version, exc)
                self._ask_again()
        for name in list(self._models):
            model = self._models.pop(name)
            try:
                if take_model(self.node, model):
                    self._ask_again()
            except (httpx.HTTPError, ValueError, OSError) as exc:
                log.warning("model %s v%s not taken: %s", model.name, model.version, exc)
                self._ask_again()
        photos, self._photos = self._photos, None
        if photos is not None:
            try:
                if take_recognition_photos(self.node, photos):
                    self._ask_again()
            except (httpx.HTTPError, ValueError, OSError) as exc:
                log.warning("recognition photos v%s not taken: %s", photos.version, exc)
                self._ask_again()

    # Announce

    def _ask_again(self) -> None:
        """Publish our position again: the cloud sends what follows it."""
        self._announced.clear()
        self._wake.set()

    def _announce(self) -> None:
        if self._announced.is_set() and time.monotonic() - self._announced_at <= self.status_every_s:
            return
        topic = str(Topics.status(self.store_id, self.node.device_id))
        message = status_message(
            self.node, self.store_id, online=True, address=self.link.local_address(), reads=self.reads
        )
        if self.link.publish(topic, message, retain=True):
            self._announced.set()
            self._announced_at = time.monotonic()


def store_of(node: Node) -> str | None:
    with node.db.read() as conn:
        return node_state.get(conn, node_state.STORE_ID)
