"""The store feed is pruned up to what every live device of the store has applied (real Postgres)."""

import logging

import httpx
from sqlalchemy import func, select

from cloud import sync_downlink
from cloud.sync_service import SyncService, _Downstream
from cloud.tables import downlink_feed
from sync_protocol.mqtt_link import MqttSettings
from tests.cloud.conftest import CloudServer, restock, store_feed
from tests.cloud.test_cloud_catalog import make_product


def restock_times(seller: httpx.Client, store: str, variant: str, times: int) -> None:
    """Each restock is one message in the store's feed."""
    for _ in range(times):
        restock(seller, store, variant, 1)


def report(server: CloudServer, device: dict, seq: int) -> None:
    with server.cloud.db.transaction() as conn:
        sync_downlink.record_position(conn, device["deviceId"], seq)


def prune(server: CloudServer) -> dict[str, int]:
    with server.cloud.db.transaction() as conn:
        return sync_downlink.prune(conn)


def test_the_feed_keeps_what_a_live_device_has_not_applied(cloud_server: CloudServer, seller: httpx.Client):
    store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    variant = make_product(seller)["variants"][0]["variantId"]
    counter = seller.post(f"/stores/{store}/devices", json={"name": "counter"}).json()
    kiosk = seller.post(f"/stores/{store}/devices", json={"name": "kiosk"}).json()
    restock_times(seller, store, variant, 6)

    report(cloud_server, counter, 5)
    listed = {d["name"]: d["downlinkSeq"] for d in seller.get(f"/stores/{store}/devices").json()}
    assert listed == {"counter": 5, "kiosk": None}  # what the seller sees of each device's position
    assert prune(cloud_server) == {}  # the kiosk never said where it stands: it may need all of it
    assert store_feed(cloud_server, store) == (0, 6, [1, 2, 3, 4, 5, 6])

    report(cloud_server, kiosk, 3)
    assert prune(cloud_server) == {store: 3}  # the lowest position of the two
    assert store_feed(cloud_server, store) == (3, 6, [4, 5, 6])
    assert prune(cloud_server) == {}  # nothing more to do

    assert seller.delete(f"/stores/{store}/devices/{kiosk['deviceId']}").status_code == 200
    assert prune(cloud_server) == {store: 5}  # a revoked device holds nothing back
    assert store_feed(cloud_server, store) == (5, 6, [6])

    assert seller.delete(f"/stores/{store}/devices/{counter['deviceId']}").status_code == 200
    assert prune(cloud_server) == {store: 6}  # no live device: a new one starts from a snapshot
    assert store_feed(cloud_server, store) == (6, 6, [])
    restock_times(seller, store, variant, 1)
    assert store_feed(cloud_server, store) == (6, 7, [7])  # numbering goes on after the pruned end


def test_one_stores_devices_do_not_hold_back_another_stores_feed(
    cloud_server: CloudServer, seller: httpx.Client
):
    variant = make_product(seller)["variants"][0]["variantId"]
    a, b = (seller.post("/stores", json={"name": n}).json()["storeId"] for n in ("信義店", "板橋店"))
    device_a = seller.post(f"/stores/{a}/devices", json={"name": "a"}).json()
    seller.post(f"/stores/{b}/devices", json={"name": "b"})  # never reports
    restock_times(seller, a, variant, 2)
    restock_times(seller, b, variant, 2)
    report(cloud_server, device_a, 2)
    assert prune(cloud_server) == {a: 2}
    assert store_feed(cloud_server, a) == (2, 2, [])
    assert store_feed(cloud_server, b) == (0, 2, [1, 2])
    with cloud_server.cloud.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(downlink_feed)).scalar_one() == 2


def test_a_device_behind_the_pruned_feed_is_told_to_the_log_once_and_sent_nothing(
    cloud_server: CloudServer, seller: httpx.Client, caplog
):
    """Only a node put back from an old backup can be behind the pruned end; a fresh node (position 0)
    takes a snapshot instead of the feed."""
    store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    variant = make_product(seller)["variants"][0]["variantId"]
    device = seller.post(f"/stores/{store}/devices", json={"name": "Pi"}).json()
    restock_times(seller, store, variant, 4)
    report(cloud_server, device, 3)
    prune(cloud_server)
    seller_id = seller.get("/me").json()["sellerId"]
    with cloud_server.cloud.db.read() as conn:
        version = sync_downlink.ends(conn, [store])[store].catalog_version

    service = SyncService(cloud_server.cloud, MqttSettings(host="127.0.0.1", port=1), cloud_server.clock)
    try:
        restored = _Downstream(store, seller_id, feed_seq=1, catalog_version=version, models={})
        fresh = _Downstream(store, seller_id, feed_seq=0, catalog_version=None, models={})
        current = _Downstream(store, seller_id, feed_seq=3, catalog_version=version, models={})
        targets = [("restored", restored), ("fresh", fresh), ("current", current)]
        with caplog.at_level(logging.ERROR, logger="cloud.sync_service"):
            assert [d for d, _, _ in service._behind(targets)] == ["fresh", "current"]
            assert [d for d, _, _ in service._behind(targets)] == ["fresh", "current"]
        assert [r.getMessage() for r in caplog.records] == [
            "device restored is at feed position 1 but its store's feed is pruned to 3: provision it again"
        ]
    finally:
        service.link.close()


def test_a_revoked_device_that_never_reported_holds_nothing_back(
    cloud_server: CloudServer, seller: httpx.Client
):
    """A device that never said where it stands holds the whole feed back while live (it may need any of it);
    revoked (a Pi lost before it ever linked, say), it no longer does."""
    store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    variant = make_product(seller)["variants"][0]["variantId"]
    counter = seller.post(f"/stores/{store}/devices", json={"name": "counter"}).json()
    lost = seller.post(f"/stores/{store}/devices", json={"name": "lost Pi"}).json()
    restock_times(seller, store, variant, 4)
    report(cloud_server, counter, 4)
    assert prune(cloud_server) == {}
    assert seller.delete(f"/stores/{store}/devices/{lost['deviceId']}").status_code == 200
    assert prune(cloud_server) == {store: 4}
    assert store_feed(cloud_server, store) == (4, 4, [])
