"""The MQTT transport against a real Mosquitto: QoS 1 with acknowledgement, persistent sessions across a
disconnect and a broker restart, a failing handler that never stalls delivery, the last will, credentials."""

import queue
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from paho.mqtt.client import MQTTMessage

from sync_protocol.broker_config import TCP_NODELAY
from sync_protocol.mqtt_link import RECEIVE_MAXIMUM, MqttLink, MqttSettings
from tests.broker import MosquittoBroker

pytestmark = pytest.mark.slow


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    b = MosquittoBroker(tmp_path / "broker").start()
    yield b
    b.stop()


def link(
    broker: MosquittoBroker, client_id: str, inbox: "queue.Queue[tuple[str, bytes]] | None" = None, **kw
) -> MqttLink:
    handler = (lambda topic, payload: inbox.put((topic, payload))) if inbox is not None else None
    return MqttLink(MqttSettings(host="127.0.0.1", port=broker.port, client_id=client_id, **kw), handler)


def test_publish_is_acknowledged_and_delivered(broker: MosquittoBroker):
    inbox: queue.Queue[tuple[str, bytes]] = queue.Queue()
    sub = link(broker, "sub", inbox)
    sub.subscribe("t/#")
    assert sub.start()
    pub = link(broker, "pub")
    assert pub.start()
    assert pub.publish("t/a", "珍珠奶茶".encode()) is True
    assert inbox.get(timeout=5) == ("t/a", "珍珠奶茶".encode())
    pub.close()
    sub.close()


def test_messages_wait_for_an_offline_subscriber_even_across_a_broker_restart(broker: MosquittoBroker):
    inbox: queue.Queue[tuple[str, bytes]] = queue.Queue()
    node = link(broker, "node-1", inbox)
    node.subscribe("down/#")
    assert node.start()
    node.close()  # offline; its session (and subscription) stays at the broker
    cloud = link(broker, "cloud")
    assert cloud.start()
    for i in range(20):
        assert cloud.publish(f"down/{i}", str(i).encode())
    cloud.close()
    broker.restart()  # persisted to disk
    node = link(broker, "node-1", inbox)  # no subscribe call: the session remembers it
    assert node.start()
    got = sorted(int(inbox.get(timeout=10)[1]) for _ in range(20))
    assert got == list(range(20))
    node.close()


def test_a_failing_handler_never_stalls_the_link(broker: MosquittoBroker):
    """A failing delivery is acknowledged anyway (the sync protocol resends what was not applied): more
    failures than the broker's in-flight window must not stop the messages behind them."""
    seen: list[bytes] = []

    def down_for_a_while(topic: str, payload: bytes) -> None:
        seen.append(payload)
        if len(seen) <= 150:
            raise RuntimeError("database down")

    node = MqttLink(MqttSettings(host="127.0.0.1", port=broker.port, client_id="flaky"), down_for_a_while)
    node.subscribe("x")
    assert node.start()
    pub = link(broker, "pub2")
    assert pub.start()
    for i in range(160):
        assert pub.publish("x", f"sale-{i}".encode())
    deadline = time.monotonic() + 20
    while len(seen) < 160 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert seen == [f"sale-{i}".encode() for i in range(160)]  # each once, none held back
    node.close()
    pub.close()


def test_last_will_tells_the_cloud_a_node_died(broker: MosquittoBroker, tmp_path: Path):
    inbox: queue.Queue[tuple[str, bytes]] = queue.Queue()
    cloud = link(broker, "cloud-watch", inbox)
    cloud.subscribe("status/#")
    assert cloud.start()
    script = textwrap.dedent(
        f"""
        import time
        from sync_protocol.mqtt_link import RECEIVE_MAXIMUM, MqttLink, MqttSettings
        link = MqttLink(MqttSettings(host="127.0.0.1", port={broker.port}, client_id="doomed", keepalive_s=2,
                                     will_topic="status/doomed", will_payload=b"offline"))
        assert link.start()
        link.publish("status/doomed", b"online", retain=True)
        print("up", flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "up"
    assert inbox.get(timeout=5) == ("status/doomed", b"online")
    proc.send_signal(signal.SIGKILL)  # no DISCONNECT: the broker publishes the will
    proc.wait(5)
    proc.stdout.close()
    assert inbox.get(timeout=10) == ("status/doomed", b"offline")
    cloud.close()


def test_credentials_are_required_when_configured(tmp_path: Path):
    from cloud.broker_credentials import password_file

    broker = MosquittoBroker(
        tmp_path / "b", password_file_text=password_file({"dev-1": "s3cret-pass"})
    ).start()
    try:
        good = link(broker, "dev-1", username="dev-1", password="s3cret-pass")
        assert good.start(wait_s=5)
        good.close()
        bad = link(broker, "dev-1b", username="dev-1", password="wrong")
        assert not bad.start(wait_s=2)
        bad.close()
    finally:
        broker.stop()


def test_settings_from_url():
    s = MqttSettings.from_url("mqtts://node%40a:p%3Ass@broker.example:8884", client_id="x")
    assert (s.host, s.port, s.tls, s.username, s.password, s.client_id) == (
        "broker.example",
        8884,
        True,
        "node@a",
        "p:ss",
        "x",
    )
    assert MqttSettings.from_url("mqtt://localhost").port == 1883
    with pytest.raises(ValueError, match="not an MQTT URL"):
        MqttSettings.from_url("http://localhost")


def nodelay(mqtt_link: MqttLink) -> int:
    sock = mqtt_link._client.socket()
    assert isinstance(sock, socket.socket)
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_nagle_is_off_on_every_connection(broker: MosquittoBroker):
    """A batch, its ack and each PUBACK are small writes answered by the other side: with Nagle on, each
    waits out the peer's delayed ACK (a batch -> ack round trip of 88 ms instead of under one, issue 22).
    The broker turns it off on its side (``set_tcp_nodelay``, in its config), the link on its own."""
    assert TCP_NODELAY in broker.config_path.read_text().splitlines()
    node = link(broker, "node-1", reconnect_max_s=1)
    assert node.start()
    assert nodelay(node) != 0
    first = node._client.socket()
    broker.restart()  # a new socket for the reconnection: set again
    deadline = time.monotonic() + 15
    while node._client.socket() in (first, None) or not node.connected.is_set():
        assert time.monotonic() < deadline, "the link did not reconnect"
        time.sleep(0.05)
    assert nodelay(node) != 0
    node.close()


def test_an_unsubscribe_drops_a_filter_the_resumed_session_held(broker: MosquittoBroker):
    """An ingest worker counted anew takes back its login's session, with the filters it had: what it drops
    before it connects is dropped at the broker when it does, and nothing more comes on it."""
    inbox: queue.Queue[tuple[str, bytes]] = queue.Queue()
    worker = link(broker, "worker", inbox)
    worker.subscribe("up/all/#")
    assert worker.start()
    worker.close()  # its session keeps up/all/#
    worker = link(broker, "worker", inbox)
    worker.unsubscribe("up/all/#")  # before connecting: sent when it connects
    worker.subscribe("up/mine/#")
    assert worker.start()
    time.sleep(0.3)
    pub = link(broker, "pub")
    assert pub.start()
    assert pub.publish("up/all/x", b"not mine")
    assert pub.publish("up/mine/x", b"mine")
    assert inbox.get(timeout=5) == ("up/mine/x", b"mine")
    with pytest.raises(queue.Empty):
        inbox.get(timeout=1)
    pub.close()
    worker.close()


def test_subscribing_from_another_thread_while_connecting_loses_nothing(broker: MosquittoBroker):
    """A worker takes up new stores on its downlink thread while paho's thread may be renewing the
    subscriptions after a reconnect: each filter is renewed, or sent once the link is up."""
    inbox: queue.Queue[tuple[str, bytes]] = queue.Queue()
    worker = link(broker, "worker2", inbox)
    worker.subscribe("s/0")
    adding = threading.Thread(target=lambda: [worker.subscribe(f"s/{i}") for i in range(1, 200)])
    adding.start()
    assert worker.start()
    adding.join(10)
    time.sleep(0.5)
    pub = link(broker, "pub2")
    assert pub.start()
    for i in range(200):
        assert pub.publish(f"s/{i}", str(i).encode())
    got = sorted(int(inbox.get(timeout=10)[1]) for _ in range(200))
    assert got == list(range(200))
    pub.close()
    worker.close()


WAIT_S = 10  # only reached when something is broken


def test_handler_threads_keep_each_topics_order(broker: MosquittoBroker):
    """On handler threads, messages of one topic are handled one at a time in the order they came, while
    topics are spread over the threads."""
    seen: dict[str, list[int]] = {f"up/{t}": [] for t in range(4)}
    done = threading.Event()
    lock = threading.Lock()

    def handler(topic: str, payload: bytes) -> None:
        with lock:
            seen[topic].append(int(payload))
            if all(len(got) == 50 for got in seen.values()):
                done.set()

    cloud = MqttLink(
        MqttSettings(host="127.0.0.1", port=broker.port, client_id="lanes-order"), handler, handler_threads=3
    )
    cloud.subscribe("up/#")
    assert cloud.start()
    pub = link(broker, "pub-order")
    assert pub.start()
    for n in range(50):
        for t in range(4):
            assert pub.publish(f"up/{t}", str(n).encode())
    assert done.wait(WAIT_S)
    assert seen == {f"up/{t}": list(range(50)) for t in range(4)}
    pub.close()
    cloud.close()


def test_a_blocked_topic_holds_neither_another_topic_nor_its_own_redelivery(broker: MosquittoBroker):
    """With handler threads, a handler blocked on topic A does not keep a message on topic B from being
    handled and acknowledged; A's message, not acknowledged, comes again after the connection breaks, and is
    acknowledged once handled. The first copy's late PUBACK is not sent on the new connection."""
    release = threading.Event()
    a_blocked = threading.Event()
    handled: queue.Queue[tuple[str, bytes]] = queue.Queue()
    calls: list[tuple[str, bytes]] = []

    def handler(topic: str, payload: bytes) -> None:
        calls.append((topic, payload))
        if (topic, payload) == ("up/a", b"a1") and not a_blocked.is_set():
            a_blocked.set()
            assert release.wait(WAIT_S)
        handled.put((topic, payload))

    settings = MqttSettings(
        host="127.0.0.1", port=broker.port, client_id="lanes", reconnect_min_s=1, reconnect_max_s=1
    )
    cloud = MqttLink(settings, handler, handler_threads=2)
    pubacks = threading.Event()
    sent_pubacks: list[str] = []

    def paho_log(_client: object, _userdata: object, _level: int, text: str) -> None:
        if text.startswith("Sending PUBACK"):
            sent_pubacks.append(text)
            pubacks.set()

    cloud._client.on_log = paho_log
    cloud.subscribe("up/#")
    assert cloud.start()
    pub = link(broker, "pub-lanes")
    assert pub.start()

    assert pub.publish("up/a", b"a1")
    assert a_blocked.wait(WAIT_S)
    assert pub.publish("up/b", b"b1")
    assert handled.get(timeout=WAIT_S) == ("up/b", b"b1")  # while a1's handler still blocks
    assert pubacks.wait(WAIT_S)  # b1's PUBACK queued (a1's cannot be: its handler has not returned)
    # Queued behind that PUBACK on the same socket: the broker's answer says it read the PUBACK first.
    assert cloud.publish("probe", b"")

    # The connection breaks (no DISCONNECT: the broker keeps the session and what it holds unacknowledged).
    first = cloud._client.socket()
    assert isinstance(first, socket.socket)
    first.shutdown(socket.SHUT_RDWR)
    deadline = time.monotonic() + WAIT_S
    while cloud._client.socket() in (first, None) or not cloud.connected.is_set():
        assert time.monotonic() < deadline, "the link did not reconnect"
        time.sleep(0.05)
    release.set()  # a1's first handling ends; its PUBACK belongs to the connection that is gone
    assert handled.get(timeout=WAIT_S) == ("up/a", b"a1")
    assert handled.get(timeout=WAIT_S) == ("up/a", b"a1")  # delivered again, handled again
    # A fence on B: a redelivered b1 would have come before it on its topic.
    assert pub.publish("up/b", b"b2")
    assert handled.get(timeout=WAIT_S) == ("up/b", b"b2")
    cloud.close()
    assert len(sent_pubacks) == 3  # b1, the second a1 and b2: none for the first a1

    # The second a1 was acknowledged: the session, taken up again, holds nothing more.
    again = MqttLink(settings, lambda topic, payload: handled.put((topic, payload)), handler_threads=2)
    assert again.start()
    assert pub.publish("up/c", b"fence")
    assert handled.get(timeout=WAIT_S) == ("up/c", b"fence")
    assert handled.empty()
    assert sorted(calls) == [("up/a", b"a1"), ("up/a", b"a1"), ("up/b", b"b1"), ("up/b", b"b2")]
    again.close()
    pub.close()


def test_close_lets_the_running_handler_finish_and_leaves_the_waiting_messages_to_the_broker(
    broker: MosquittoBroker,
):
    """Closing a link with handler threads: the message being handled is finished and acknowledged, the
    ones waiting behind it are not handled, and the broker delivers them to the next session."""
    started = threading.Event()
    release = threading.Event()
    handled: list[bytes] = []

    def slow(_topic: str, payload: bytes) -> None:
        if payload == b"m0":
            started.set()
            assert release.wait(WAIT_S)
        handled.append(payload)

    settings = MqttSettings(host="127.0.0.1", port=broker.port, client_id="closing")
    cloud = MqttLink(settings, slow, handler_threads=1)
    cloud.subscribe("up/#")
    assert cloud.start()
    pub = link(broker, "pub-closing")
    assert pub.start()
    assert pub.publish("up/a", b"m0")
    assert started.wait(WAIT_S)
    for n in range(1, 4):
        assert pub.publish("up/a", f"m{n}".encode())
    assert cloud.publish("probe", b"")  # the broker has sent m1..m3 before its answer to this
    closing = threading.Thread(target=cloud.close)
    closing.start()
    release.set()
    closing.join(WAIT_S)
    assert not closing.is_alive()
    assert handled == [b"m0"]

    inbox: queue.Queue[tuple[str, bytes]] = queue.Queue()
    again = link(broker, "closing", inbox)
    assert again.start()
    assert [inbox.get(timeout=WAIT_S)[1] for _ in range(3)] == [b"m1", b"m2", b"m3"]
    assert pub.publish("up/a", b"fence")
    assert inbox.get(timeout=WAIT_S) == ("up/a", b"fence")  # and m0, acknowledged, did not come again
    again.close()
    pub.close()


def test_a_broken_connection_drops_its_waiting_messages_and_never_blocks_the_network_thread():
    """Messages handed to the pool and not started when their connection ends are dropped, not handled a
    second time beside the broker's copies: the pool has room for the broker's whole window again at once.
    Driven through the link's paho callbacks (what its network thread calls), without a broker."""
    started = threading.Event()
    release = threading.Event()
    handled: list[bytes] = []

    def slow(_topic: str, payload: bytes) -> None:
        if payload == b"first":
            started.set()
            assert release.wait(WAIT_S)
        handled.append(payload)

    cloud = MqttLink(MqttSettings(host="127.0.0.1", client_id="dropping"), slow, handler_threads=1)

    def deliver(payload: bytes, mid: int) -> None:
        message = MQTTMessage(mid=mid, topic=b"up/a")
        message.payload = payload
        message.qos = 1
        cloud._message(cloud._client, None, message)

    deliver(b"first", 1)
    assert started.wait(WAIT_S)
    for mid in range(2, 2 + RECEIVE_MAXIMUM):  # the old connection's whole window waits
        deliver(b"old", mid)
    cloud._disconnected(cloud._client, None, None, "gone", None)
    redelivered = threading.Thread(
        target=lambda: [deliver(b"again", mid) for mid in range(1, 1 + RECEIVE_MAXIMUM)]
    )
    redelivered.start()
    redelivered.join(WAIT_S)
    assert not redelivered.is_alive()  # room for the broker's window at once
    release.set()
    cloud.close()
    assert handled[0] == b"first"
    assert b"old" not in handled  # dropped: the broker's copies ("again") stand for them
