"""Registering a store's devices: MQTT credentials shown once, the broker's password file written by the
cloud and accepted by a real Mosquitto, revocation, and the bell."""

import httpx
import pytest

from sync_protocol.mqtt_link import MqttLink, MqttSettings
from tests.broker import MosquittoBroker
from tests.cloud.conftest import CloudServer


def test_register_list_revoke_and_the_broker_agrees(
    cloud_server: CloudServer, seller: httpx.Client, tmp_path
):
    store = seller.post("/stores", json={"name": "信義店"}).json()
    r = seller.post(f"/stores/{store['storeId']}/devices", json={"name": "櫃台 Pi", "kind": "storeNode"})
    assert r.status_code == 201
    device = r.json()
    creds = device["mqtt"]
    assert creds["username"] == creds["clientId"] == device["deviceId"]
    assert len(creds["password"]) >= 24
    listed = seller.get(f"/stores/{store['storeId']}/devices").json()
    assert [d["deviceId"] for d in listed] == [device["deviceId"]]
    assert "mqtt" not in listed[0]  # the password is never shown again
    bell = seller.get("/notifications").json()["items"][0]
    assert bell["kind"] == "deviceProvisioned"
    assert bell["params"]["deviceId"] == device["deviceId"]

    path = cloud_server.cloud.broker_password_path
    text = path.read_text()
    assert text.startswith(f"{device['deviceId']}:$7$")
    assert creds["password"] not in text

    broker = MosquittoBroker(tmp_path / "broker", password_file_text=text).start()
    try:
        ok = MqttLink(
            MqttSettings(
                host="127.0.0.1",
                port=broker.port,
                client_id=creds["clientId"],
                username=creds["username"],
                password=creds["password"],
            )
        )
        assert ok.start(wait_s=5)
        ok.close()
        r = seller.delete(f"/stores/{store['storeId']}/devices/{device['deviceId']}")
        assert r.status_code == 200
        assert r.json()["revokedAt"] is not None
        broker.password_file_text = path.read_text()
        broker.reload()
        again = MqttLink(
            MqttSettings(
                host="127.0.0.1",
                port=broker.port,
                client_id=creds["clientId"],
                username=creds["username"],
                password=creds["password"],
            )
        )
        assert not again.start(wait_s=2)
        again.close()
    finally:
        broker.stop()


@pytest.mark.parametrize("body", [{"kind": "toaster"}, {"name": ""}, {"extra": 1}])
def test_bad_device_bodies(seller: httpx.Client, body: dict):
    store = seller.post("/stores", json={"name": "x"}).json()
    assert seller.post(f"/stores/{store['storeId']}/devices", json=body).status_code == 422


def test_rewriting_the_password_file_keeps_the_clouds_own_account(
    cloud_server: CloudServer, seller: httpx.Client
):
    path = cloud_server.cloud.broker_password_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("edgestore-cloud:$7$101$c2FsdA==$aGFzaA==\n")  # as `cloud broker-config` leaves it
    store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    device = seller.post(f"/stores/{store}/devices", json={"name": "Pi"}).json()
    seller.delete(f"/stores/{store}/devices/{device['deviceId']}")
    lines = path.read_text().splitlines()
    # the revoked device is gone, the cloud stays
    assert lines == ["edgestore-cloud:$7$101$c2FsdA==$aGFzaA=="]
