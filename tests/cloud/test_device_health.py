"""A store's devices with what their last status said (issue 19): online, health (software version, uptime,
address), sync lag (outbox backlog, how far behind the store's feed), a device renamed, and a malformed health
dead-lettered, never recorded."""

import json
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from cloud.sync_service import SyncService
from cloud.tables import dead_letters
from sync_protocol.encoding import encode
from sync_protocol.envelope import DEVICE_HEALTH_SCHEMA_VERSION, DeviceHealth, DeviceStatus
from sync_protocol.mqtt_link import MqttSettings
from sync_protocol.topics import Topics
from tests.cloud.conftest import CloudServer, restock
from tests.cloud.test_cloud_catalog import make_product


def status_service(server: CloudServer) -> SyncService:
    """The sync service's message handling, without a broker: statuses are handed to it as MQTT would."""
    return SyncService(server.cloud, MqttSettings(host="127.0.0.1", port=1), server.clock)


def healthy(store: str, device: str, *, downlink_seq: int = 0, **health: Any) -> bytes:
    figures: dict[str, Any] = {
        "software_version": "0.4.0",
        "uptime_s": 7260,
        "addresses": ["192.168.1.20"],
        "outbox_pending": 3,
        "outbox_oldest_age_s": 42,
    }
    return encode(
        DeviceStatus(
            schema_version=DEVICE_HEALTH_SCHEMA_VERSION,
            store_id=store,
            device_id=device,
            online=True,
            downlink_seq=downlink_seq,
            models={"product-recognizer": 2},
            health=DeviceHealth(**(figures | health)),
        )
    )


def test_the_list_shows_what_each_devices_last_status_said(
    cloud_server: CloudServer, seller: httpx.Client
) -> None:
    store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    device = seller.post(f"/stores/{store}/devices", json={"name": "櫃台 Pi"}).json()["deviceId"]
    quiet = seller.post(f"/stores/{store}/devices", json={"name": "門口感測器", "kind": "doorSensor"}).json()
    product = make_product(seller)
    for _ in range(5):
        restock(seller, store, product["variants"][0]["variantId"], 1)  # the feed ends at 5

    never = seller.get(f"/stores/{store}/devices").json()[0]
    assert never["online"] is False
    assert never["softwareVersion"] is None
    assert never["syncLag"] == {
        "outboxPending": None,
        "outboxOldestAt": None,
        "outboxOldestAgeS": None,
        "feedBehind": None,
    }

    service = status_service(cloud_server)
    said_at = cloud_server.clock()
    service._on_message(str(Topics.status(store, device)), healthy(store, device, downlink_seq=2))
    cloud_server.clock.advance(seconds=60)
    listed = {d["deviceId"]: d for d in seller.get(f"/stores/{store}/devices").json()}
    node = listed[device]
    assert node["online"] is True
    assert node["softwareVersion"] == "0.4.0"
    assert node["ip"] == "192.168.1.20"
    assert node["addresses"] == ["192.168.1.20"]
    assert node["uptimeS"] == 7260
    assert node["models"] == {"product-recognizer": 2}
    assert node["lastSeenAt"] is not None
    assert node["syncLag"]["outboxPending"] == 3
    assert node["syncLag"]["outboxOldestAgeS"] == 42 + 60  # as of now, by the cloud's clock
    assert node["syncLag"]["feedBehind"] == 3  # the feed's end 5, its position 2
    assert datetime.fromisoformat(node["healthAt"]) == said_at
    assert listed[quiet["deviceId"]]["online"] is False  # it never said anything

    # the last will: offline, what it said before is kept
    offline = DeviceStatus(store_id=store, device_id=device, online=False)
    service._on_message(str(Topics.status(store, device)), encode(offline))
    node = next(d for d in seller.get(f"/stores/{store}/devices").json() if d["deviceId"] == device)
    assert node["online"] is False
    assert node["softwareVersion"] == "0.4.0"

    # an older node (no health) forgets what a newer one said rather than show it stale
    older = DeviceStatus(store_id=store, device_id=device, online=True, downlink_seq=5)
    service._on_message(str(Topics.status(store, device)), encode(older))
    node = next(d for d in seller.get(f"/stores/{store}/devices").json() if d["deviceId"] == device)
    assert (node["online"], node["softwareVersion"], node["uptimeS"]) == (True, None, None)
    assert node["syncLag"]["feedBehind"] == 0

    revoked = seller.delete(f"/stores/{store}/devices/{device}").json()
    assert revoked["online"] is False
    assert revoked["revokedAt"] is not None
    cloud_server.clock.advance(seconds=5)
    again = seller.delete(f"/stores/{store}/devices/{device}").json()
    assert again["revokedAt"] == revoked["revokedAt"]  # revoked once, when it was


@pytest.mark.parametrize(
    "bad",
    [
        {"uptime_s": 2**31},
        {"addresses": ["10.0.0.1"] * 9},
        {"software_version": "x" * 65},
    ],
)
def test_a_status_with_health_out_of_bounds_is_dead_lettered(
    cloud_server: CloudServer, seller: httpx.Client, bad: dict[str, Any]
) -> None:
    store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    device = seller.post(f"/stores/{store}/devices", json={"name": "櫃台 Pi"}).json()["deviceId"]
    good = healthy(store, device)
    key, value = next(iter(bad.items()))
    camel = {"uptime_s": "uptimeS", "addresses": "addresses", "software_version": "softwareVersion"}[key]
    raw = json.loads(good)
    raw["health"][camel] = value
    service = status_service(cloud_server)
    service._on_message(str(Topics.status(store, device)), json.dumps(raw).encode())
    node = seller.get(f"/stores/{store}/devices").json()[0]
    assert (node["online"], node["lastSeenAt"], node["softwareVersion"]) == (False, None, None)
    with cloud_server.cloud.db.read() as conn:
        reasons = conn.execute(select(dead_letters.c.reason)).scalars().all()
    assert reasons == ["badPayload"] or reasons == ["malformed"], reasons
    # and the stream is not wedged: the next good status counts
    service._on_message(str(Topics.status(store, device)), good)
    assert seller.get(f"/stores/{store}/devices").json()[0]["online"] is True


def test_a_device_is_renamed(seller: httpx.Client, other_seller: httpx.Client) -> None:
    store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    other_store = seller.post("/stores", json={"name": "大安店"}).json()["storeId"]
    device = seller.post(f"/stores/{store}/devices", json={"name": "櫃台 Pi"}).json()["deviceId"]
    r = seller.patch(f"/stores/{store}/devices/{device}", json={"name": "收銀台 Pi"})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "收銀台 Pi"
    assert seller.get(f"/stores/{store}/devices").json()[0]["name"] == "收銀台 Pi"
    for body in ({"name": ""}, {"name": "x" * 201}, {"name": "a\x00b"}, {"name": None}, {}, {"extra": 1}):
        assert seller.patch(f"/stores/{store}/devices/{device}", json=body).status_code == 422, body
    # another store's path, another seller, a device that does not exist: 404
    r = seller.patch(f"/stores/{other_store}/devices/{device}", json={"name": "x"})
    assert (r.status_code, r.json()["error"]["code"]) == (404, "deviceNotFound")
    r = other_seller.patch(f"/stores/{store}/devices/{device}", json={"name": "x"})
    assert (r.status_code, r.json()["error"]["code"]) == (404, "storeNotFound")
    r = seller.patch(f"/stores/{store}/devices/01HZZZZZZZZZZZZZZZZZZZZZZZ", json={"name": "x"})
    assert (r.status_code, r.json()["error"]["code"]) == (404, "deviceNotFound")
    assert seller.get(f"/stores/{store}/devices").json()[0]["name"] == "收銀台 Pi"


def test_nothing_more_goes_to_a_device_revoked_while_online(
    cloud_server: CloudServer, seller: httpx.Client
) -> None:
    """The broker publishes no last will for a device it drops at a reload, so the sync service forgets a
    device revoked while online at its next tick, instead of sending it the feed for ever."""
    store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    device = seller.post(f"/stores/{store}/devices", json={"name": "櫃台 Pi"}).json()["deviceId"]
    restock(seller, store, make_product(seller)["variants"][0]["variantId"], 1)
    service = status_service(cloud_server)
    service._on_message(str(Topics.status(store, device)), healthy(store, device))
    assert [d for d, _, _ in service._behind(list(service._online.items()))] == [device]
    assert seller.delete(f"/stores/{store}/devices/{device}").status_code == 200
    assert service._behind(list(service._online.items())) == []
    assert device not in service._online
