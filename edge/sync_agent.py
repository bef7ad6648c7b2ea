"""The node's sync loop: drain the outbox over MQTT while connected, apply the cloud's acks, announce presence.

Selling never waits for it: checkout writes the outbox, this thread sends it when it can. While the broker
is unreachable the loop only retries the connection (paho's backoff); on reconnect it sends what waited.
Acks arrive on the node's own ack topic and delete exactly what the cloud committed (``sync_drain``).
"""

import logging
import threading
from dataclasses import replace

from edge import node_state
from edge.node import Node
from edge.sync_drain import apply_ack, pending_batches
from models.ids import new_id
from sync_protocol.encoding import decode_ack, encode
from sync_protocol.envelope import DeviceStatus
from sync_protocol.errors import MessageRejected
from sync_protocol.mqtt_link import MqttLink, MqttSettings
from sync_protocol.topics import Topics

log = logging.getLogger(__name__)


class SyncAgent:
    def __init__(self, node: Node, mqtt: MqttSettings, *, store_id: str, interval_s: float = 1.0) -> None:
        self.node = node
        self.store_id = store_id
        self.interval_s = interval_s
        device = node.device_id
        settings = replace(
            mqtt,
            client_id=mqtt.client_id or device,
            will_topic=str(Topics.status(store_id, device)),
            will_payload=self._status(False),  # what the broker says for us if we vanish
        )
        self.link = MqttLink(settings, self._on_ack)
        self.link.subscribe(str(Topics.ack(store_id, device)))
        self.link.state_listeners.append(self._link_changed)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._announced = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sync-agent", daemon=True)

    def start(self) -> None:
        self.link.start(wait_s=None)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)
        if self.link.connected.is_set():  # a clean goodbye: the broker does not publish the will
            self.link.publish(
                str(Topics.status(self.store_id, self.node.device_id)), self._status(False), retain=True
            )
        self.link.close()

    def nudge(self) -> None:
        """Send now rather than at the next tick (after a sale, say)."""
        self._wake.set()

    def _status(self, online: bool) -> bytes:
        return encode(DeviceStatus(store_id=self.store_id, device_id=self.node.device_id, online=online))

    def _link_changed(self, up: bool) -> None:
        self.node.cloud.connected = up
        if up:
            self._announced.clear()
            self._wake.set()

    def _on_ack(self, _topic: str, data: bytes) -> None:
        try:
            ack = decode_ack(data)
        except MessageRejected:
            log.warning("an unreadable ack was ignored")
            return
        if ack.device_id != self.node.device_id:
            return
        now = self.node.now()
        with self.node.db.write() as conn:
            apply_ack(conn, ack, now)
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
        if not self._announced.is_set():
            topic = str(Topics.status(self.store_id, self.node.device_id))
            if self.link.publish(topic, self._status(True), retain=True):
                self._announced.set()
        with self.node.db.read() as conn:
            batches = pending_batches(
                conn, store_id=self.store_id, device_id=self.node.device_id, new_batch_id=new_id
            )
        for batch in batches:
            # QoS 1: delivered at least once; the cloud's sequence state makes a repeat harmless. Rows stay
            # in the outbox until the ack for them arrives.
            if not self.link.publish(
                str(Topics.uplink(self.store_id, self.node.device_id, batch.stream)), encode(batch)
            ):
                return


def store_of(node: Node) -> str | None:
    with node.db.read() as conn:
        return node_state.get(conn, node_state.STORE_ID)
