"""The broker binds a connection to its device (issue 15): on a real Mosquitto with what the cloud writes (the
password file and ACL of two registered devices), a device that sends another device's client id neither
disconnects that device nor takes over its persistent session. The broker replaces the client id a client
sends by its username (``use_username_as_clientid``, see sync_protocol/broker_config.py)."""

import queue
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from sync_protocol.topics import CLOUD_USERNAME, Topics
from tests.broker import MosquittoBroker
from tests.cloud.conftest import CLOUD_BROKER_PASSWORD, CloudServer, cloud_broker

pytestmark = pytest.mark.slow

WAIT_S = 15.0  # a bound on every wait for the broker, never a measured duration
SESSION_EXPIRY_S = 3600

Message = tuple[str, bytes]


class Login:
    """One MQTT 5 connection as a bare paho client, with the choices a test needs to make: client id, clean
    start, session expiry, last will. It counts its disconnects; paho reconnects after one, as a node does."""

    def __init__(
        self,
        broker: MosquittoBroker,
        username: str,
        password: str,
        client_id: str,
        *,
        clean_start: bool,
        will: Message | None = None,
    ) -> None:
        self.inbox: queue.Queue[Message] = queue.Queue()
        self.disconnects = 0
        self._connected: queue.Queue[bool] = queue.Queue()
        self._subscribed: queue.Queue[int] = queue.Queue()
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        client.username_pw_set(username, password)
        if will is not None:
            # As MqttLink sets a node's will: QoS 1, retained, on the device's status topic.
            client.will_set(will[0], will[1], qos=1, retain=True)
        client.on_connect = lambda _c, _u, _f, reason, _p: self._connected.put(not reason.is_failure)
        client.on_disconnect = self._disconnected
        client.on_subscribe = lambda _c, _u, mid, _reasons, _p: self._subscribed.put(mid)
        client.on_message = lambda _c, _u, m: self.inbox.put((m.topic, bytes(m.payload)))
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = SESSION_EXPIRY_S if not clean_start else 0
        client.connect("127.0.0.1", broker.port, clean_start=clean_start, properties=props)
        client.loop_start()
        self.client = client
        assert self._connected.get(timeout=WAIT_S), f"{username} could not log in"

    def _disconnected(self, *_args: object) -> None:
        self.disconnects += 1

    def subscribe(self, topic_filter: str) -> None:
        _rc, mid = self.client.subscribe(topic_filter, qos=1)
        assert self._subscribed.get(timeout=WAIT_S) == mid

    def publish(self, topic: str, payload: bytes) -> None:
        """QoS 1, waiting for the broker's PUBACK (which Mosquitto sends for a topic the ACL denies too)."""
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(WAIT_S)
        assert info.is_published()

    def next_message(self, what: str) -> Message:
        try:
            return self.inbox.get(timeout=WAIT_S)
        except queue.Empty:
            raise AssertionError(f"no message came: {what} ({self.disconnects} disconnects)") from None

    def messages_until(self, sentinel: Message) -> list[Message]:
        """Everything received before ``sentinel`` (which its sender sent after everything else)."""
        got: list[Message] = []
        while (message := self.next_message(f"{sentinel} never arrived, after {got}")) != sentinel:
            got.append(message)
        return got

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@dataclass
class Device:
    store_id: str
    device_id: str
    username: str
    password: str
    client_id: str

    @property
    def status(self) -> str:
        return str(Topics.status(self.store_id, self.device_id))

    @property
    def ack(self) -> str:
        return str(Topics.ack(self.store_id, self.device_id))


@dataclass
class Rig:
    broker: MosquittoBroker
    a: Device
    b: Device
    logins: ExitStack

    def cloud(self) -> Login:
        return self.login(
            Login(self.broker, CLOUD_USERNAME, CLOUD_BROKER_PASSWORD, "cloud", clean_start=True)
        )

    def device(self, who: Device, *, client_id: str, clean_start: bool, will: Message | None = None) -> Login:
        login = Login(self.broker, who.username, who.password, client_id, clean_start=clean_start, will=will)
        return self.login(login)

    def login(self, login: Login) -> Login:
        self.logins.callback(login.close)
        return login


@pytest.fixture
def rig(cloud_server: CloudServer, seller: httpx.Client, tmp_path: Path) -> Iterator[Rig]:
    """Two devices of one store registered in the cloud, and a broker running the cloud's password file and
    ACL for them."""
    store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    devices = []
    for name in ("counter", "kiosk"):
        body = seller.post(f"/stores/{store}/devices", json={"name": name}).json()
        creds = body["mqtt"]
        devices.append(
            Device(store, body["deviceId"], creds["username"], creds["password"], creds["clientId"])
        )
    a, b = devices
    for device in devices:
        assert device.client_id == device.username  # the cloud hands out client id = login
    broker = cloud_broker(cloud_server, tmp_path / "broker").start()
    with ExitStack() as logins:
        logins.callback(broker.stop)
        yield Rig(broker, a, b, logins)


@pytest.mark.parametrize(
    "clean_start",
    [
        # As a plain client connects. Trusted, A's id would close A's connection and publish A's will.
        pytest.param(True, id="clean-start"),
        # As a node connects (MqttLink). Trusted, A's id would close A's connection (Mosquitto then drops the
        # will, as the session lives on), and A and B, both reconnecting, would close each other's every second.
        pytest.param(False, id="resuming"),
    ],
)
def test_a_device_sending_anothers_client_id_does_not_disconnect_it(rig: Rig, clean_start: bool):
    a, b = rig.a, rig.b
    cloud = rig.cloud()
    cloud.subscribe(Topics.CLOUD_STATUS_FILTER)
    will = (a.status, b"a-vanished")  # what the cloud would take for "store offline"
    device_a = rig.device(a, client_id=a.client_id, clean_start=False, will=will)
    device_a.subscribe(a.ack)

    # B logs in as itself but sends A's client id.
    device_b = rig.device(b, client_id=a.client_id, clean_start=clean_start)
    device_b.publish(a.status, b"b-posing-as-a")  # the ACL: B may not speak for A...
    device_b.publish(b.status, b"b-as-itself")  # ...but for itself, under its own login

    # The cloud hears statuses in the order the broker took them: a will fired by B's login, or a status B
    # could publish for A, would come before B's own.
    heard = cloud.messages_until((b.status, b"b-as-itself"))
    assert will not in heard, "A's last will was published: the cloud would ring 'store offline'"
    assert heard == []

    # A is still on the connection it had: it gets what the cloud sends now, and the cloud hears its answer.
    cloud.publish(a.ack, b"cloud-to-a")
    assert device_a.messages_until((a.ack, b"cloud-to-a")) == []
    device_a.publish(a.status, b"a-still-here")
    assert cloud.messages_until((a.status, b"a-still-here")) == []
    # A disconnect would have been seen before any message of a later connection.
    assert device_a.disconnects == 0, "B's login closed A's connection"
    assert device_b.disconnects == 0


def test_a_device_sending_anothers_client_id_does_not_take_over_its_session(rig: Rig):
    a, b = rig.a, rig.b
    cloud = rig.cloud()
    # A, persistent as a node is (no clean start, a session expiry), subscribes to its acks and goes away.
    device_a = Login(rig.broker, a.username, a.password, a.client_id, clean_start=False)
    device_a.subscribe(a.ack)
    device_a.close()
    cloud.publish(a.ack, b"queued-for-a")  # PUBACKed: the broker holds it in A's session

    # B logs in as itself with A's client id, asking to resume a session: trusted, that id would hand B A's
    # session, its subscription and the queued message.
    device_b = rig.device(b, client_id=a.client_id, clean_start=False)
    device_b.subscribe(b.ack)
    cloud.publish(b.ack, b"cloud-to-b")
    assert device_b.messages_until((b.ack, b"cloud-to-b")) == [], "B received what was queued for A"

    # A comes back to its session (without subscribing again): the message waited for it.
    device_a = rig.device(a, client_id=a.client_id, clean_start=False)
    assert device_a.next_message("A's queued message was lost") == (a.ack, b"queued-for-a")
    # ...and B, on its own session, neither lost its connection to A's return nor got anything more.
    cloud.publish(b.ack, b"b-still-here")
    assert device_b.messages_until((b.ack, b"b-still-here")) == []
    assert device_b.disconnects == 0
