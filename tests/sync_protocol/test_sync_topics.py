"""Topic names: built in one place, parsed back exactly, nothing else accepted; and the broker ACL, checked on a
real Mosquitto, confines each device to its own topics."""

import queue
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync_protocol.errors import InvalidTopic
from sync_protocol.streams import DownlinkKind, Stream
from sync_protocol.topics import (
    CLOUD_USERNAME,
    AckTopic,
    DownlinkTopic,
    StatusTopic,
    Topics,
    UplinkTopic,
    mosquitto_acl,
    parse_topic,
)
from tests.broker import MosquittoBroker

ids = st.from_regex(r"[A-Za-z0-9_.:-]{1,64}", fullmatch=True)


def test_the_four_topic_shapes():
    assert Topics.uplink("S1", "D1", Stream.STOCK_DELTAS).name == "edgestore/v1/stores/S1/up/D1/stockDeltas"
    assert Topics.ack("S1", "D1").name == "edgestore/v1/stores/S1/ack/D1"
    assert Topics.downlink("S1", "D1", DownlinkKind.CATALOG).name == "edgestore/v1/stores/S1/down/D1/catalog"
    assert str(Topics.status("S1", "D1")) == "edgestore/v1/stores/S1/status/D1"


def test_subscription_filters():
    assert Topics.CLOUD_UPLINK_FILTER == "edgestore/v1/stores/+/up/+/+"
    assert Topics.CLOUD_STATUS_FILTER == "edgestore/v1/stores/+/status/+"
    assert Topics.device_downlink_filter("S1", "D1") == "edgestore/v1/stores/S1/down/D1/+"
    with pytest.raises(InvalidTopic):
        Topics.device_downlink_filter("S1", "+")


@given(ids, ids, st.sampled_from(Stream), st.sampled_from(DownlinkKind))
def test_every_topic_parses_back_to_itself(store, device, stream, kind):
    for topic in (
        Topics.uplink(store, device, stream),
        Topics.ack(store, device),
        Topics.downlink(store, device, kind),
        Topics.status(store, device),
    ):
        assert parse_topic(topic.name) == topic


def test_parsing_gives_the_parts():
    topic = parse_topic("edgestore/v1/stores/S1/up/D1/orders")
    assert isinstance(topic, UplinkTopic)
    assert (topic.store_id, topic.device_id, topic.stream) == ("S1", "D1", Stream.ORDERS)
    assert isinstance(parse_topic("edgestore/v1/stores/S1/ack/D1"), AckTopic)
    assert isinstance(parse_topic("edgestore/v1/stores/S1/down/D1/stock"), DownlinkTopic)
    assert isinstance(parse_topic("edgestore/v1/stores/S1/status/D1"), StatusTopic)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "edgestore/v1/stores",
        "edgestore/v1/stores/",
        "edgestore/v2/stores/S1/ack/D1",
        "/edgestore/v1/stores/S1/ack/D1",
        "edgestore/v1/stores/S1/ack/D1/",
        "edgestore/v1/stores/S1/ack/D1/extra",
        "edgestore/v1/stores/S1/ack",
        "edgestore/v1/stores//ack/D1",
        "edgestore/v1/stores/+/ack/D1",
        "edgestore/v1/stores/S1/ack/#",
        "edgestore/v1/stores/S1/ack/D+1",
        "edgestore/v1/stores/S1/ack/D#1",
        "edgestore/v1/stores/S 1/ack/D1",
        "edgestore/v1/stores/$SYS/ack/D1",
        "edgestore/v1/stores/S1/up/D1/refunds",
        "edgestore/v1/stores/S1/up/D1",
        "edgestore/v1/stores/S1/down/D1/everything",
        "edgestore/v1/stores/S1/sideways/D1",
        "edgestore/v1/stores/" + "S" * 65 + "/ack/D1",
        "edgestore/v1/stores/S1/ack/D1\n",
        "edgestore/v1/stores/S1/ack/Ｄ1",  # a full-width letter
    ],
)
def test_anything_else_is_refused(name):
    with pytest.raises(InvalidTopic):
        parse_topic(name)


@given(st.text(max_size=80))
def test_parsing_arbitrary_text_gives_that_topic_or_refuses(text):
    try:
        topic = parse_topic("edgestore/v1/stores/" + text)
    except InvalidTopic:
        return
    assert topic.name == "edgestore/v1/stores/" + text


@pytest.mark.parametrize("bad", ["", "a/b", "a+b", "#", "a b", "x" * 65, "é"])
def test_ids_that_cannot_be_a_topic_level_are_refused_when_building(bad):
    with pytest.raises(InvalidTopic):
        Topics.uplink(bad, "D1", Stream.ORDERS)
    with pytest.raises(InvalidTopic):
        Topics.ack("S1", bad)


def test_only_known_streams_and_kinds():
    with pytest.raises(InvalidTopic):
        UplinkTopic("S1", "D1", "orders")  # type: ignore[arg-type]
    with pytest.raises(InvalidTopic):
        DownlinkTopic("S1", "D1", "catalog")  # type: ignore[arg-type]


def test_the_acl_confines_devices_by_username():
    acl = mosquitto_acl()
    lines = [line for line in acl.splitlines() if line and not line.startswith("#")]
    assert lines == [
        "pattern write edgestore/v1/stores/+/up/%u/+",
        "pattern write edgestore/v1/stores/+/status/%u",
        "pattern read edgestore/v1/stores/+/ack/%u",
        "pattern read edgestore/v1/stores/+/down/%u/+",
        f"user {CLOUD_USERNAME}",
        "topic read edgestore/v1/stores/+/up/+/+",
        "topic readwrite edgestore/v1/stores/+/status/+",
        "topic write edgestore/v1/stores/+/ack/+",
        "topic write edgestore/v1/stores/+/down/+/+",
    ]
    assert "%c" not in acl  # a client id is whatever the client says: never trusted
    assert "user ops" in mosquitto_acl(cloud_username="ops")
    for bad in ("", "a b", "a/b", "%u"):
        with pytest.raises(ValueError, match="username"):
            mosquitto_acl(cloud_username=bad)


def test_the_acl_the_cloud_writes_binds_each_device_to_its_store():
    acl = mosquitto_acl({"D2": "S9", "D1": "S1"})
    lines = [line for line in acl.splitlines() if line and not line.startswith("#")]
    assert "pattern" not in acl
    assert lines[5:] == [
        "user D1",
        "topic write edgestore/v1/stores/S1/up/D1/+",
        "topic write edgestore/v1/stores/S1/status/D1",
        "topic read edgestore/v1/stores/S1/ack/D1",
        "topic read edgestore/v1/stores/S1/down/D1/+",
        "user D2",
        "topic write edgestore/v1/stores/S9/up/D2/+",
        "topic write edgestore/v1/stores/S9/status/D2",
        "topic read edgestore/v1/stores/S9/ack/D2",
        "topic read edgestore/v1/stores/S9/down/D2/+",
    ]
    for bad in ({"a/b": "S1"}, {"D1": "+"}, {CLOUD_USERNAME: "S1"}):
        with pytest.raises(ValueError, match=r"topic level|named like the cloud"):
            mosquitto_acl(bad)


# --- the ACL on a real broker -----------------------------------------------------------------------------

STORE_A, DEVICE_A = "01JSTOREA00000000000000000", "01JDEVA0000000000000000000"
STORE_B, DEVICE_B = "01JSTOREB00000000000000000", "01JDEVB0000000000000000000"


class Client:
    def __init__(self, broker: MosquittoBroker, username: str, password: str, client_id: str) -> None:
        self.inbox: queue.Queue[str] = queue.Queue()
        self.mqtt = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.mqtt.username_pw_set(username, password)
        self.mqtt.on_message = lambda _c, _u, message: self.inbox.put(message.topic)
        connected = queue.Queue()
        self.mqtt.on_connect = lambda _c, _u, _f, reason, _p: connected.put(reason)
        self.mqtt.connect("127.0.0.1", broker.port)
        self.mqtt.loop_start()
        assert not connected.get(timeout=10).is_failure

    def subscribe(self, topic_filter: str) -> None:
        done: queue.Queue[object] = queue.Queue()
        self.mqtt.on_subscribe = lambda *_args: done.put(True)
        self.mqtt.subscribe(topic_filter, qos=1)
        done.get(timeout=5)

    def publish(self, topic: str) -> None:
        self.mqtt.publish(topic, topic.encode(), qos=1).wait_for_publish(5)

    def received_until(self, sentinel: str) -> set[str]:
        """Topics received up to the sentinel message (which is sent after everything else)."""
        got: set[str] = set()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            topic = self.inbox.get(timeout=10)
            if topic == sentinel:
                return got
            got.add(topic)
        raise AssertionError("sentinel never arrived")

    def close(self) -> None:
        self.mqtt.disconnect()
        self.mqtt.loop_stop()


@pytest.mark.slow
@pytest.mark.parametrize("bound_to_stores", [True, False], ids=["cloud-written ACL", "pattern ACL"])
def test_on_mosquitto_a_device_publishes_and_reads_only_its_own_topics(tmp_path: Path, bound_to_stores: bool):
    from cloud.broker_credentials import password_file  # the cloud writes the broker's password file

    passwords = {DEVICE_A: "pass-a", DEVICE_B: "pass-b", CLOUD_USERNAME: "pass-cloud"}
    acl = mosquitto_acl({DEVICE_A: STORE_A, DEVICE_B: STORE_B} if bound_to_stores else None)
    broker = MosquittoBroker(
        tmp_path / "broker", password_file_text=password_file(passwords), acl_text=acl
    ).start()
    clients: list[Client] = []
    try:
        cloud = Client(broker, CLOUD_USERNAME, "pass-cloud", "edgestore-cloud-1")
        # Device A sends device B's id as its client id: the ACL must not care.
        device = Client(broker, DEVICE_A, "pass-a", DEVICE_B)
        clients += [cloud, device]
        cloud.subscribe("edgestore/v1/stores/#")
        device.subscribe("edgestore/v1/stores/#")  # asks for everything; receives only what the ACL allows

        # uplink: A publishes as itself, as B, and under B's store
        attempts = [
            Topics.uplink(STORE_A, DEVICE_A, Stream.ORDERS).name,
            Topics.status(STORE_A, DEVICE_A).name,
            Topics.uplink(STORE_A, DEVICE_B, Stream.ORDERS).name,
            Topics.status(STORE_B, DEVICE_B).name,
            Topics.ack(STORE_A, DEVICE_A).name,
            Topics.downlink(STORE_A, DEVICE_A, DownlinkKind.CATALOG).name,
            "edgestore/v1/other",
            Topics.uplink(STORE_B, DEVICE_A, Stream.ORDERS).name,
        ]
        for topic in attempts:
            device.publish(topic)
        sentinel = Topics.uplink(STORE_A, DEVICE_A, Stream.FOOTFALL).name
        device.publish(sentinel)
        allowed = {
            Topics.uplink(STORE_A, DEVICE_A, Stream.ORDERS).name,
            Topics.status(STORE_A, DEVICE_A).name,
        }
        if not bound_to_stores:
            # A pattern ACL cannot know A's store (only the username is authenticated): the cloud refuses
            # this one as unauthorised (see test_sync_encoding). The cloud-written ACL stops it at the broker.
            allowed.add(Topics.uplink(STORE_B, DEVICE_A, Stream.ORDERS).name)
        assert cloud.received_until(sentinel) == allowed

        # downlink: the cloud sends to both devices; A hears only its own
        sends = [
            Topics.downlink(STORE_A, DEVICE_A, DownlinkKind.CATALOG).name,
            Topics.ack(STORE_A, DEVICE_A).name,
            Topics.downlink(STORE_B, DEVICE_B, DownlinkKind.CATALOG).name,
            Topics.ack(STORE_B, DEVICE_B).name,
            Topics.uplink(STORE_B, DEVICE_B, Stream.ORDERS).name,
        ]
        for topic in sends:
            cloud.publish(topic)
        sentinel = Topics.downlink(STORE_A, DEVICE_A, DownlinkKind.STOCK).name
        cloud.publish(sentinel)
        assert device.received_until(sentinel) == {
            Topics.downlink(STORE_A, DEVICE_A, DownlinkKind.CATALOG).name,
            Topics.ack(STORE_A, DEVICE_A).name,
        }
    finally:
        for client in clients:
            client.close()
        broker.stop()
