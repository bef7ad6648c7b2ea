"""Revoking a device takes effect at once on a real Mosquitto (issue 19): the cloud rewrites the broker's
password file and ACL and sends it SIGHUP (its pid file, as a deployment's), and Mosquitto 2 then drops every
client whose login is gone. The device's live connection is closed, a reconnect is refused (CONNACK "not
authorised"), another device of the store stays connected, its retained status is dead-lettered (once) rather
than counted, and its feed position no longer holds back pruning."""

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select

from cloud import sync_downlink
from cloud.api.app import create_app
from cloud.sync_service import SyncService
from cloud.tables import dead_letters
from plumbing import serve_in_thread
from sync_protocol.encoding import encode
from sync_protocol.envelope import DEVICE_HEALTH_SCHEMA_VERSION, DeviceHealth, DeviceStatus
from sync_protocol.mqtt_link import MqttLink
from sync_protocol.topics import Topics
from tests.broker import MosquittoBroker
from tests.cloud.conftest import (
    CloudServer,
    PostgresForTests,
    cloud_broker,
    cloud_mqtt,
    cloud_settings,
    device_mqtt,
    register_and_login,
    restock,
    store_feed,
)
from tests.cloud.test_cloud_catalog import make_product
from tests.conftest import FakeClock

pytestmark = pytest.mark.slow

WAIT_S = 15.0  # generous: the broker acts within a fraction of a second of the signal


@dataclass
class PidFileBroker(MosquittoBroker):
    """The test broker writing its pid file, which the cloud signals after a credential change."""

    @property
    def pid_file(self) -> Path:
        return self.folder / "mosquitto.pid"

    def write_config(self) -> None:
        super().write_config()
        with self.config_path.open("a") as conf:
            conf.write(f"pid_file {self.pid_file}\n")


@pytest.fixture
def wired_cloud(tmp_path: Path, postgres: PostgresForTests, clock: FakeClock) -> Iterator[CloudServer]:
    """A cloud whose broker files and pid file are the test broker's, as ``edgestore demo`` wires them."""
    folder = tmp_path / "broker"
    settings = cloud_settings(
        tmp_path,
        postgres.fresh_database(),
        broker_password_file=folder / "passwords",
        broker_acl_file=folder / "acl",
        broker_pid_file=folder / "mosquitto.pid",
    )
    app = create_app(settings, clock)
    served = serve_in_thread(app, settings.cloud_port)
    yield CloudServer(settings, f"http://127.0.0.1:{settings.cloud_port}/api/v1", clock, app)
    served.stop(timeout_s=20)


def connack(broker: MosquittoBroker, device: dict[str, Any]) -> str:
    """The broker's answer to a fresh connection with the device's login, in words."""
    creds = device["mqtt"]
    answered = threading.Event()
    said: list[str] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=creds["clientId"], protocol=mqtt.MQTTv5)
    client.username_pw_set(creds["username"], creds["password"])

    def on_connect(_c: object, _u: object, _f: object, reason: Any, _p: object) -> None:
        said.append(str(reason))
        answered.set()

    client.on_connect = on_connect
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        assert answered.wait(WAIT_S), "no CONNACK"
    finally:
        client.disconnect()
        client.loop_stop()
    return said[0]


def status_of(store: str, device: str, seq: int) -> bytes:
    return encode(
        DeviceStatus(
            schema_version=DEVICE_HEALTH_SCHEMA_VERSION,
            store_id=store,
            device_id=device,
            online=True,
            downlink_seq=seq,
            health=DeviceHealth(software_version="0.4.0", uptime_s=60, addresses=["127.0.0.1"]),
        )
    )


def wait_until(check: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_revoking_drops_the_live_connection_and_refuses_the_next(
    wired_cloud: CloudServer, tmp_path: Path
) -> None:
    with wired_cloud.client() as seller:
        register_and_login(seller)
        store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
        variant = make_product(seller)["variants"][0]["variantId"]
        device = seller.post(f"/stores/{store}/devices", json={"name": "櫃台 Pi"}).json()
        other = seller.post(f"/stores/{store}/devices", json={"name": "自助機"}).json()
        for _ in range(4):
            restock(seller, store, variant, 1)  # the store's feed ends at 4
        base = cloud_broker(wired_cloud, tmp_path / "broker")
        broker = PidFileBroker(
            base.folder, password_file_text=base.password_file_text, acl_text=base.acl_text
        )
        broker.start()
        service = SyncService(wired_cloud.cloud, cloud_mqtt(broker), wired_cloud.clock)
        links: list[MqttLink] = []
        try:
            assert service.start()
            dropped = threading.Event()
            link = MqttLink(device_mqtt(broker, device))
            link.state_listeners.append(lambda up: None if up else dropped.set())
            links.append(link)
            stays = MqttLink(device_mqtt(broker, other))
            links.append(stays)
            assert link.start(wait_s=WAIT_S)
            assert stays.start(wait_s=WAIT_S)
            assert link.local_address() == "127.0.0.1"  # what a node's status says it reaches the broker from

            # Each says where it stands: the revoked-to-be device is the lowest, so it holds pruning back.
            topic = str(Topics.status(store, device["deviceId"]))
            assert link.publish(topic, status_of(store, device["deviceId"], 1), retain=True)
            other_topic = str(Topics.status(store, other["deviceId"]))
            assert stays.publish(other_topic, status_of(store, other["deviceId"], 4), retain=True)

            def both_online() -> bool:
                return all(d["online"] for d in seller.get(f"/stores/{store}/devices").json())

            wait_until(both_online, "both devices online")
            with wired_cloud.cloud.db.transaction() as conn:
                sync_downlink.prune(conn)  # (the service's first tick may have done it already)
            assert store_feed(wired_cloud, store) == (1, 4, [2, 3, 4])

            r = seller.delete(f"/stores/{store}/devices/{device['deviceId']}")
            assert r.status_code == 200, r.text

            # the live connection is dropped, by the broker, at once
            assert dropped.wait(WAIT_S), "the revoked device's connection was not dropped"
            link.close()
            assert "not authori" in connack(broker, device).lower()
            # the other device of the store was not touched, and still may connect
            time.sleep(0.5)
            assert stays.connected.is_set()
            assert stays.publish(other_topic, status_of(store, other["deviceId"], 4), retain=True)
            assert connack(broker, other) == "Success"

            listed = {d["deviceId"]: d for d in seller.get(f"/stores/{store}/devices").json()}
            assert listed[device["deviceId"]]["online"] is False
            assert listed[device["deviceId"]]["revokedAt"] is not None
            assert listed[other["deviceId"]]["online"] is True

            # its feed position (1) no longer holds the store's feed back: pruned up to the other's (4)
            with wired_cloud.cloud.db.transaction() as conn:
                sync_downlink.prune(conn)
            assert store_feed(wired_cloud, store) == (4, 4, [])

            # Its retained status comes back when the cloud subscribes again (a restart): dead-lettered, not
            # counted, and cleared from the broker, so the next restart does not see it again.
            service.close()
            service = SyncService(wired_cloud.cloud, cloud_mqtt(broker), wired_cloud.clock)
            assert service.start()

            def refused() -> list[str]:
                with wired_cloud.cloud.db.read() as conn:
                    return list(
                        conn.execute(
                            select(dead_letters.c.reason).where(dead_letters.c.topic == topic)
                        ).scalars()
                    )

            wait_until(lambda: refused() == ["unauthorised"], "the revoked device's status dead-lettered")
            gone = seller.get(f"/stores/{store}/devices").json()
            assert next(d for d in gone if d["deviceId"] == device["deviceId"])["online"] is False
            service.close()
            service = SyncService(wired_cloud.cloud, cloud_mqtt(broker), wired_cloud.clock)
            assert service.start()
            time.sleep(1.0)  # the other device's retained status arrives again; the revoked one's is gone
            assert refused() == ["unauthorised"]
        finally:
            service.close()
            for each in links:
                each.close()
            broker.stop()


def test_the_devices_route_needs_the_stores_owner(wired_cloud: CloudServer) -> None:
    """Revoking another seller's device is 404 and leaves its login in the broker's password file."""
    with wired_cloud.client() as a, wired_cloud.client() as b:
        register_and_login(a)
        register_and_login(b)
        store = a.post("/stores", json={"name": "A 店"}).json()["storeId"]
        device = a.post(f"/stores/{store}/devices", json={"name": "A 的 Pi"}).json()
        r = b.delete(f"/stores/{store}/devices/{device['deviceId']}")
        assert r.status_code == 404
        assert wired_cloud.cloud.broker_password_path.read_text().startswith(f"{device['deviceId']}:")
        assert isinstance(a, httpx.Client)
