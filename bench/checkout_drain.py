"""A sync drain beside the checkout benchmark (``bench/edge_checkout.py --drain``): a real Mosquitto broker
(``plumbing.Mosquitto``) and a small acking cloud, so the node's own sync agent sends its outbox up while
the shoppers buy, as it does in a store.

The acking cloud is one MQTT client of this process. It takes every uplink batch on the cloud's filter,
decodes it with the protocol's own checks (``sync_protocol.encoding.decode_batch``, against the topic it
came on), and answers with the protocol's ``Ack`` on the device's ack topic: the highest seq up to which it
holds every message of the stream, and the gap above it as ``missing``, as the real cloud does. It commits
nothing anywhere (no Postgres): it stands for an ingest that keeps up, so what is measured is the node's
side of the drain (packing, publishing, applying acks, deleting rows: all inside the node's process and
its write lock), not the cloud's.

The broker listens on 127.0.0.1 only, anonymous (a throwaway broker of the run; the node connects with its
device id as username, as a provisioned node does).
"""

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from benchkit import log
from paho.mqtt.enums import CallbackAPIVersion

from plumbing.mosquitto import Mosquitto
from sync_protocol.encoding import decode_batch, encode
from sync_protocol.envelope import Ack, SeqRange
from sync_protocol.errors import MessageRejected
from sync_protocol.topics import Topics, UplinkTopic, parse_topic

HOST = "127.0.0.1"


def start_broker(work: Path) -> Mosquitto:
    folder = work / "broker"
    folder.mkdir(parents=True, exist_ok=True)
    broker = Mosquitto(folder)
    (folder / "mosquitto.conf").write_text(
        f"# bench/edge_checkout.py --drain: a throwaway loopback broker\n"
        f"listener {broker.port} {HOST}\nallow_anonymous true\npersistence false\n"
    )
    return broker.start()


@dataclass
class StreamSeen:
    seqs: set[int] = field(default_factory=set)
    high_water: int = 0
    batches: int = 0


class AckingCloud:
    """Acks every batch it can decode; counts the distinct seqs of each (store, device, stream)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.streams: dict[tuple[str, str, str], StreamSeen] = {}
        self.rejected: list[str] = []
        self.before = (0, 0)  # distinct orders and stockDeltas seqs received before the measured run
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="bench-acking-cloud", protocol=mqtt.MQTTv5
        )
        client.on_connect = self._connected
        client.on_subscribe = lambda *_args: self._subscribed.set()
        client.on_message = self._message
        self._client = client

    def start(self, timeout_s: float = 15.0) -> None:
        self._client.connect(HOST, self.port, keepalive=30)
        self._client.loop_start()
        if not self._subscribed.wait(timeout_s):
            raise RuntimeError("the acking cloud could not subscribe")

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def distinct(self, stream: str) -> int:
        with self._lock:
            return sum(len(s.seqs) for (_st, _dev, name), s in self.streams.items() if name == stream)

    def batches(self) -> int:
        with self._lock:
            return sum(s.batches for s in self.streams.values())

    def _connected(self, client: mqtt.Client, _u: object, _f: object, reason: Any, _p: object) -> None:
        if reason.is_failure:
            log(f"  acking cloud refused by the broker: {reason}")
            return
        client.subscribe(Topics.CLOUD_UPLINK_FILTER, qos=1)

    def _message(self, client: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        topic = parse_topic(message.topic)
        if not isinstance(topic, UplinkTopic):
            return
        try:
            batch = decode_batch(bytes(message.payload), topic=topic)
        except MessageRejected as exc:
            with self._lock:
                self.rejected.append(f"{exc.reason.value}: {exc.detail}")
            return
        key = (batch.store_id, batch.device_id, str(batch.stream))
        with self._lock:
            seen = self.streams.setdefault(key, StreamSeen())
            seen.batches += 1
            seen.seqs.update(m.seq for m in batch.messages)
            while seen.high_water + 1 in seen.seqs:
                seen.high_water += 1
            above = [s for s in seen.seqs if s > seen.high_water]
            missing = (SeqRange(first=seen.high_water + 1, last=min(above) - 1),) if above else ()
            ack = Ack(
                store_id=batch.store_id,
                device_id=batch.device_id,
                stream=batch.stream,
                high_water_seq=seen.high_water,
                missing=missing,
            )
        client.publish(str(Topics.ack(batch.store_id, batch.device_id)), encode(ack), qos=1)
