"""Cloud -> store over a real Mosquitto, with two store nodes: a fresh node takes the cloud's snapshot, then
follows catalog deltas and the store feed (restocks, dashboard transitions); 500 sales per node while the
broker is down and a cloud restock meanwhile converge exactly once; a refund in the cloud and a return at
the store made concurrently settle on the same status and stock on both sides."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import httpx
import pytest

from cloud.sync_service import SyncService
from edge.api.app import create_app as create_edge_app
from sync_protocol.mqtt_link import MqttLink
from sync_protocol.streams import DownlinkKind
from sync_protocol.topics import Topics
from tests.broker import MosquittoBroker
from tests.cloud.conftest import CloudServer, cloud_broker, cloud_mqtt, provisioned_node
from tests.cloud.test_cloud_catalog import make_product
from tests.cloud.test_sync_end_to_end import wait_for
from tests.conftest import serve_in_thread

pytestmark = pytest.mark.slow


@dataclass
class StoreNode:
    store_id: str
    kiosk: httpx.Client

    def sell(self, variant_id: str, n: int, tag: str) -> list[str]:
        order_ids = []
        for i in range(n):
            cart = self.kiosk.post("/carts", json={"items": [{"variantId": variant_id, "quantity": 1}]})
            assert cart.status_code == 201, cart.text
            r = self.kiosk.post(
                f"/carts/{cart.json()['cartId']}/checkout",
                json={"paymentMethod": "cash", "idempotencyKey": f"{tag}-{i}"},
            )
            assert r.status_code == 201, r.text
            order_ids.append(r.json()["orderId"])
        return order_ids

    def level(self, product_id: str, variant_id: str) -> int | None:
        r = self.kiosk.get(f"/catalog/products/{product_id}")
        if r.status_code != 200:
            return None
        return next(v["stock"] for v in r.json()["variants"] if v["variantId"] == variant_id)

    def pending(self) -> int:
        return self.kiosk.get("/sync/status").json()["pendingTotal"]


def cloud_level(seller: httpx.Client, store_id: str, variant_id: str) -> int:
    return next(
        (s["level"] for s in seller.get(f"/stores/{store_id}/stock").json() if s["variantId"] == variant_id),
        0,
    )


@contextmanager
def sync_rig(
    cloud_server: CloudServer, seller: httpx.Client, tmp_path, store_ids: list[str]
) -> Iterator[tuple[MosquittoBroker, list[StoreNode]]]:
    """A broker with the shipped ACL, the cloud's sync service, and one fresh node per store (device id
    and store id only, as provisioning leaves it: the catalog comes from the cloud)."""
    registered = [seller.post(f"/stores/{s}/devices", json={"name": "Pi"}).json() for s in store_ids]
    broker = cloud_broker(cloud_server, tmp_path / "broker").start()
    service = SyncService(cloud_server.cloud, cloud_mqtt(broker), cloud_server.clock, downlink_interval_s=0.3)
    assert service.start()
    servers, nodes = [], []
    try:
        for i, (store_id, device) in enumerate(zip(store_ids, registered, strict=True)):
            settings = provisioned_node(device, broker, tmp_path / f"node-{i}", store_id, None)
            servers.append(serve_in_thread(create_edge_app(settings), settings.port))
            kiosk = httpx.Client(base_url=f"http://127.0.0.1:{settings.port}/api/v1", timeout=30)
            nodes.append(StoreNode(store_id, kiosk))
        yield broker, nodes
    finally:
        for node in nodes:
            node.kiosk.close()
        for server, thread in servers:
            server.should_exit = True
            thread.join(timeout=20)
        service.close()
        broker.stop()


def test_two_nodes_follow_the_cloud_and_converge_after_500_offline_sales_each(
    cloud_server: CloudServer, seller: httpx.Client, tmp_path
):
    stores = [seller.post("/stores", json={"name": name}).json()["storeId"] for name in ("信義店", "西門店")]
    product = make_product(seller)
    variant = product["variants"][0]["variantId"]
    for store in stores:
        seller.post(
            f"/stores/{store}/stock/adjustments",
            json={"variantId": variant, "kind": "restock", "quantity": 600},
        )
    version = lambda: seller.get(f"/stores/{stores[0]}/catalog-snapshot").json()["version"]  # noqa: E731

    with sync_rig(cloud_server, seller, tmp_path, stores) as (broker, nodes):
        # A fresh node takes the snapshot: catalog and this store's levels.
        for node in nodes:
            wait_for(lambda n=node: n.level(product["productId"], variant) == 600, what="the first snapshot")
            wait_for(lambda n=node: n.kiosk.get("/health").json()["online"], what="the node online")

        # Catalog changes in the cloud reach both nodes as deltas.
        seller.patch(f"/products/{product['productId']}", json={"name": "冬片烏龍茶"})
        added = make_product(seller, name="文山包種茶", nameEn="Wenshan pouchong")
        for node in nodes:
            wait_for(
                lambda n=node: (
                    n.kiosk.get(f"/catalog/products/{product['productId']}").json()["name"] == "冬片烏龍茶"
                ),
                what="the renamed product",
            )
            wait_for(
                lambda n=node: n.kiosk.get(f"/catalog/products/{added['productId']}").status_code == 200,
                what="the new product",
            )
            health = node.kiosk.get("/health").json()
            assert health["catalogVersion"] == version()

        # Sales at both nodes reach the cloud.
        for i, node in enumerate(nodes):
            node.sell(variant, 3, f"online-{i}")
        wait_for(lambda: seller.get("/orders").json()["totals"]["orders"] == 6, what="6 orders in the cloud")

        # The broker goes down: each store sells 500, the seller restocks both meanwhile.
        broker.stop()
        for node in nodes:
            wait_for(lambda n=node: not n.kiosk.get("/health").json()["online"], what="the node offline")
        for i, node in enumerate(nodes):
            node.sell(variant, 500, f"offline-{i}")
        for store in stores:
            r = seller.post(
                f"/stores/{store}/stock/adjustments",
                json={"variantId": variant, "kind": "restock", "quantity": 100},
            )
            assert r.status_code in (200, 201), r.text
        assert seller.get("/orders").json()["totals"]["orders"] == 6

        broker.start()
        wait_for(
            lambda: seller.get("/orders").json()["totals"]["orders"] == 1006,
            timeout=180,
            what="every offline sale in the cloud",
        )
        for node in nodes:
            wait_for(lambda n=node: n.pending() == 0, timeout=120, what="the outbox to drain")
            wait_for(
                lambda n=node: n.level(product["productId"], variant) == 600 + 100 - 503,
                timeout=60,
                what="the cloud's restock at the node",
            )
        for store in stores:
            assert cloud_level(seller, store, variant) == 600 + 100 - 503
        # Exactly once: no order twice, none lost.
        assert seller.get("/orders").json()["totals"]["orders"] == 1006


def test_a_cloud_refund_and_a_store_return_made_at_once_settle_the_same_on_both_sides(
    cloud_server: CloudServer, seller: httpx.Client, tmp_path
):
    store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    product = make_product(seller)
    variant = product["variants"][0]["variantId"]
    seller.post(
        f"/stores/{store}/stock/adjustments", json={"variantId": variant, "kind": "restock", "quantity": 10}
    )
    with sync_rig(cloud_server, seller, tmp_path, [store]) as (broker, [node]):
        wait_for(lambda: node.level(product["productId"], variant) == 10, what="the first snapshot")
        store_wins, cloud_wins = node.sell(variant, 2, "conflict")
        wait_for(lambda: seller.get("/orders").json()["totals"]["orders"] == 2, what="both orders up")
        wait_for(lambda: node.pending() == 0, what="the outbox to drain")

        broker.stop()
        # The cloud's clock is frozen at the test's start, the node's runs on: the store's return of the
        # first order is later than the refund; the cloud's second refund is made an hour "later".
        assert (
            seller.post(f"/orders/{store_wins}/transitions", json={"toStatus": "refunded"}).status_code == 200
        )
        r = node.kiosk.post(f"/orders/{store_wins}/transitions", json={"toStatus": "returned"})
        assert r.status_code == 200, r.text
        r = node.kiosk.post(f"/orders/{cloud_wins}/transitions", json={"toStatus": "returned"})
        assert r.status_code == 200, r.text
        assert node.level(product["productId"], variant) == 10  # both returns put the goods back here
        cloud_server.clock.advance(hours=1)
        assert (
            seller.post(f"/orders/{cloud_wins}/transitions", json={"toStatus": "refunded"}).status_code == 200
        )
        broker.start()

        def statuses(order_id: str) -> tuple[str, str]:
            return (
                node.kiosk.get(f"/orders/{order_id}").json()["status"],
                seller.get(f"/orders/{order_id}").json()["status"],
            )

        wait_for(
            lambda: statuses(store_wins) == ("returned", "returned"), timeout=60, what="the store's return"
        )
        wait_for(
            lambda: statuses(cloud_wins) == ("refunded", "refunded"), timeout=60, what="the cloud's refund"
        )
        wait_for(lambda: node.pending() == 0, what="the outbox to drain")
        # One return stands (goods back), one refund stands (goods kept): 10 - 2 + 1 on both sides.
        wait_for(lambda: node.level(product["productId"], variant) == 9, what="the node's level")
        wait_for(lambda: cloud_level(seller, store, variant) == 9, what="the cloud's level")
        kinds = {n["kind"] for n in seller.get("/notifications").json()["items"]}
        assert "syncConflict" in kinds


def test_a_model_file_published_in_the_cloud_reaches_the_node_checked_and_versioned(
    cloud_server: CloudServer, seller: httpx.Client, tmp_path
):
    store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    first, second = os.urandom(300_000), os.urandom(200_000)
    r = seller.put("/models/product-recognizer", content=first)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1
    with sync_rig(cloud_server, seller, tmp_path, [store]) as (_broker, [node]):
        held = lambda: node.kiosk.get("/health").json()["models"]  # noqa: E731
        wait_for(lambda: held() == {"product-recognizer": 1}, what="the model at the node")
        folder = tmp_path / "node-0" / "models" / "product-recognizer"
        [installed] = folder.glob("1-*.bin")
        assert installed.read_bytes() == first

        assert seller.put("/models/product-recognizer", content=first).json()["version"] == 1  # same bytes
        assert seller.put("/models/product-recognizer", content=second).json()["version"] == 2
        wait_for(lambda: held() == {"product-recognizer": 2}, what="the new version at the node")
        assert next(folder.glob("2-*.bin")).read_bytes() == second
        assert len(list(folder.glob("*.bin"))) == 2  # the previous version stays for a rollback
    assert [m["version"] for m in seller.get("/models").json()] == [2]


def test_bad_model_uploads_are_refused(seller: httpx.Client):
    r = seller.put("/models/product-recognizer", content=b"")
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalidInput"
    assert seller.put("/models/Not_A_Name", content=b"x").status_code == 422
    assert seller.get("/models").json() == []


def test_a_message_the_node_refuses_is_kept_as_a_dead_letter_and_stops_nothing(
    cloud_server: CloudServer, seller: httpx.Client, tmp_path
):
    store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    product = make_product(seller)
    variant = product["variants"][0]["variantId"]
    with sync_rig(cloud_server, seller, tmp_path, [store]) as (broker, [node]):
        wait_for(lambda: node.level(product["productId"], variant) == 0, what="the first snapshot")
        device = node.kiosk.get("/health").json()["deviceId"]
        sender = MqttLink(replace(cloud_mqtt(broker), client_id="a-confused-cloud"))
        assert sender.start()
        try:
            for kind, data in (
                (DownlinkKind.STOCK, b"{not json"),
                (DownlinkKind.CATALOG, b'{"schemaVersion": 9}'),
            ):
                assert sender.publish(str(Topics.downlink(store, device, kind)), data)
        finally:
            sender.close()
        wait_for(lambda: node.kiosk.get("/sync/status").json()["deadLetters"] == 2, what="two dead letters")
        seller.post(
            f"/stores/{store}/stock/adjustments",
            json={"variantId": variant, "kind": "restock", "quantity": 7},
        )
        wait_for(lambda: node.level(product["productId"], variant) == 7, what="the restock after them")


def test_two_selling_devices_of_one_store_hear_each_others_stock(
    cloud_server: CloudServer, seller: httpx.Client, tmp_path
):
    store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    product = make_product(seller)
    variant = product["variants"][0]["variantId"]
    seller.post(
        f"/stores/{store}/stock/adjustments", json={"variantId": variant, "kind": "restock", "quantity": 20}
    )
    with sync_rig(cloud_server, seller, tmp_path, [store, store]) as (_broker, [counter, kiosk]):
        for node in (counter, kiosk):
            wait_for(lambda n=node: n.level(product["productId"], variant) == 20, what="the first snapshot")
        counter.sell(variant, 3, "at-the-counter")
        kiosk.sell(variant, 2, "at-the-kiosk")
        for node in (counter, kiosk):
            wait_for(lambda n=node: n.level(product["productId"], variant) == 15, what="both devices' sales")
        assert cloud_level(seller, store, variant) == 15
