"""Cloud -> store over a real Mosquitto, with two store nodes: a fresh node takes the cloud's snapshot, then
follows catalog deltas and the store feed (restocks, dashboard transitions); 500 sales per node while the
broker is down and a cloud restock meanwhile converge exactly once; a refund in the cloud and a return at
the store made concurrently settle on the same status and stock on both sides."""

import hashlib
import io
import json
import os
import sqlite3
import zipfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import httpx
import pytest
import zstandard

from cloud.sync_service import SyncService
from edge.api.app import create_app as create_edge_app
from edge.recognition.service import SHIPPED_BUNDLE
from edge.settings import EdgeSettings
from plumbing import ServedApp, serve_in_thread
from sync_protocol.mqtt_link import MqttLink
from sync_protocol.streams import DownlinkKind
from sync_protocol.topics import Topics
from tests.broker import MosquittoBroker
from tests.cloud.conftest import (
    CloudServer,
    cloud_broker,
    cloud_mqtt,
    provisioned_node,
    restock,
    store_feed,
)
from tests.cloud.test_cloud_catalog import make_product
from tests.cloud.test_sync_end_to_end import wait_for
from tests.edge.helpers import as_staff

pytestmark = pytest.mark.slow


@dataclass
class StoreNode:
    store_id: str
    kiosk: httpx.Client
    settings: EdgeSettings

    @cached_property
    def manager(self) -> dict[str, str]:
        """A node-local manager's login (returns and refunds at the counter need one)."""
        return as_staff(self.kiosk, self.settings)

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
        return self.kiosk.get("/health").json()["pendingOutbox"]


def cloud_level(seller: httpx.Client, store_id: str, variant_id: str) -> int:
    return next(
        (s["level"] for s in seller.get(f"/stores/{store_id}/stock").json() if s["variantId"] == variant_id),
        0,
    )


@dataclass
class Rig:
    """A broker with the shipped ACL and the cloud's sync service; store nodes started on demand."""

    cloud_server: CloudServer
    seller: httpx.Client
    tmp_path: Path
    broker: MosquittoBroker
    service: SyncService
    devices: list[tuple[str, dict]]  # (store id, the registered device), by node index
    nodes: list[StoreNode] = field(default_factory=list)
    servers: list[ServedApp] = field(default_factory=list)

    def start_node(self, i: int) -> StoreNode:
        """Node ``i``, fresh: device id and store id only, as provisioning leaves it (the catalog comes from
        the cloud)."""
        store_id, device = self.devices[i]
        settings = provisioned_node(device, self.broker, self.tmp_path / f"node-{i}", store_id, None)
        settings = settings.model_copy(update={"sync_status_interval_s": 0.5})  # the feed prunes sooner
        self.servers.append(serve_in_thread(create_edge_app(settings), settings.port))
        node = StoreNode(
            store_id, httpx.Client(base_url=f"http://127.0.0.1:{settings.port}/api/v1", timeout=30), settings
        )
        self.nodes.append(node)
        return node

    def register(self, store_id: str) -> int:
        """A device registered while the rig runs: the broker re-reads what the cloud writes for it (as
        ``refresh_broker_credentials`` makes a deployed broker do); returns its node index."""
        device = self.seller.post(f"/stores/{store_id}/devices", json={"name": "Pi"}).json()
        fresh = cloud_broker(self.cloud_server, self.broker.folder)
        self.broker.password_file_text, self.broker.acl_text = fresh.password_file_text, fresh.acl_text
        self.broker.reload()
        self.devices.append((store_id, device))
        return len(self.devices) - 1

    def feed(self, store_id: str) -> tuple[int, int, int]:
        """The store's feed: pruned up to, its end, and how many messages it holds."""
        pruned, end, held = store_feed(self.cloud_server, store_id)
        return pruned, end, len(held)


@contextmanager
def running_rig(
    cloud_server: CloudServer,
    seller: httpx.Client,
    tmp_path: Path,
    store_ids: list[str],
    *,
    prune_interval_s: float = 0.5,
) -> Iterator[Rig]:
    """One device registered per entry of ``store_ids``, no node running yet."""
    registered = [(s, seller.post(f"/stores/{s}/devices", json={"name": "Pi"}).json()) for s in store_ids]
    broker = cloud_broker(cloud_server, tmp_path / "broker").start()
    service = SyncService(
        cloud_server.cloud,
        cloud_mqtt(broker),
        cloud_server.clock,
        downlink_interval_s=0.3,
        prune_interval_s=prune_interval_s,
    )
    assert service.start()
    rig = Rig(cloud_server, seller, tmp_path, broker, service, registered)
    try:
        yield rig
    finally:
        for node in rig.nodes:
            node.kiosk.close()
        for served in rig.servers:
            served.stop(timeout_s=20)
        service.close()
        broker.stop()


@contextmanager
def sync_rig(
    cloud_server: CloudServer, seller: httpx.Client, tmp_path: Path, store_ids: list[str]
) -> Iterator[tuple[MosquittoBroker, list[StoreNode]]]:
    """The rig with every node running."""
    with running_rig(cloud_server, seller, tmp_path, store_ids) as rig:
        for i in range(len(store_ids)):
            rig.start_node(i)
        yield rig.broker, rig.nodes


def test_two_nodes_follow_the_cloud_and_converge_after_500_offline_sales_each(
    cloud_server: CloudServer, seller: httpx.Client, tmp_path
):
    stores = [seller.post("/stores", json={"name": name}).json()["storeId"] for name in ("信義店", "西門店")]
    product = make_product(seller)
    variant = product["variants"][0]["variantId"]
    for store in stores:
        restock(seller, store, variant, 600)
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
            restock(seller, store, variant, 100)
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
    restock(seller, store, variant, 10)
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
        r = node.kiosk.post(
            f"/orders/{store_wins}/transitions", json={"toStatus": "returned"}, headers=node.manager
        )
        assert r.status_code == 200, r.text
        r = node.kiosk.post(
            f"/orders/{cloud_wins}/transitions", json={"toStatus": "returned"}, headers=node.manager
        )
        assert r.status_code == 200, r.text
        assert node.level(product["productId"], variant) == 10  # both returns put the goods back here
        cloud_server.clock.advance(hours=1)
        assert (
            seller.post(f"/orders/{cloud_wins}/transitions", json={"toStatus": "refunded"}).status_code == 200
        )
        broker.start()

        def statuses(order_id: str) -> tuple[str, str]:
            return (
                node.kiosk.get(f"/orders/{order_id}", headers=node.manager).json()["status"],
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
    # Real bundles (the node loads what it installs): the shipped one, then another model file of it.
    first = SHIPPED_BUNDLE.read_bytes()
    second = _another_model(first, "cloud-2")
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
        wait_for(
            lambda: node.kiosk.get("/recognition/status").json()["modelVersion"] == "cloud-2",
            what="the new model serving",
        )
        # A file that is no model: refused, reported, and the model before it serves on.
        assert seller.put("/models/product-recognizer", content=os.urandom(1000)).json()["version"] == 3
        wait_for(
            lambda: (node.kiosk.get("/health").json()["recognition"]["rejected"] or {}).get("version") == 3,
            what="the refusal reported",
        )
        assert held() == {"product-recognizer": 2}
        assert node.kiosk.get("/recognition/status").json()["modelVersion"] == "cloud-2"
        # ... up to the cloud: the seller's bell rings once, and the version says who refused it
        wait_for(lambda: len(_refused_bells(seller)) == 1, what="the bell for the refused model")
        versions = seller.get("/models/product-recognizer/versions").json()
        assert [len(v["refusals"]) for v in versions] == [1, 0, 0]
        wait_for(
            lambda: (
                [len(v["serving"]) for v in seller.get("/models/product-recognizer/versions").json()]
                == [0, 1, 0]
            ),
            what="the node reported serving version 2",
        )
        # Rolled back to version 1 in the cloud: its file again, as version 4, which the node installs.
        assert (
            seller.post("/models/product-recognizer/rollback", json={"toVersion": 1}).json()["version"] == 4
        )
        wait_for(lambda: held() == {"product-recognizer": 4}, what="the rollback at the node")
        assert next(folder.glob("4-*.bin")).read_bytes() == first
        assert node.kiosk.get("/health").json()["recognition"]["rejected"] is None  # moot once 4 serves
        assert len(_refused_bells(seller)) == 1
    assert [m["version"] for m in seller.get("/models").json()] == [4]


def _refused_bells(seller: httpx.Client) -> list[dict]:
    return [n for n in seller.get("/notifications").json()["items"] if n["kind"] == "modelRefused"]


def _another_model(bundle: bytes, label: str) -> bytes:
    """The bundle with another label and other bytes (padding the flatbuffer keeps it loadable)."""
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        meta, tflite = json.loads(archive.read("model.json")), archive.read("model.tflite") + bytes(64)
    meta |= {"modelVersion": label, "tfliteSha256": hashlib.sha256(tflite).hexdigest()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("model.json", json.dumps(meta))
        archive.writestr("model.tflite", tflite)
    return out.getvalue()


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
                (DownlinkKind.STOCK, b"#json+zstd\n" + zstd_frame(b'{"schemaVersion": 9}')),
            ):
                assert sender.publish(str(Topics.downlink(store, device, kind)), data)
        finally:
            sender.close()
        wait_for(
            lambda: node.kiosk.get("/sync/status", headers=node.manager).json()["deadLetters"] == 3,
            what="three dead letters",
        )
        with closing(sqlite3.connect(node.settings.database_path)) as db:
            kept = [row[0] for row in db.execute("SELECT reason || ' ' || payload FROM dead_letters")]
        # The compressed one is kept as it inflated, readable.
        assert sorted(kept) == [
            "malformed {not json",
            'unknownVersion #json+zstd\n{"schemaVersion": 9}',
            'unknownVersion {"schemaVersion": 9}',
        ]
        restock(seller, store, variant, 7)
        wait_for(lambda: node.level(product["productId"], variant) == 7, what="the restock after them")


def zstd_frame(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(write_content_size=True).compress(data)


def test_two_selling_devices_of_one_store_hear_each_others_stock(
    cloud_server: CloudServer, seller: httpx.Client, tmp_path
):
    store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    product = make_product(seller)
    variant = product["variants"][0]["variantId"]
    restock(seller, store, variant, 20)
    with sync_rig(cloud_server, seller, tmp_path, [store, store]) as (_broker, [counter, kiosk]):
        for node in (counter, kiosk):
            wait_for(lambda n=node: n.level(product["productId"], variant) == 20, what="the first snapshot")
        counter.sell(variant, 3, "at-the-counter")
        kiosk.sell(variant, 2, "at-the-kiosk")
        for node in (counter, kiosk):
            wait_for(lambda n=node: n.level(product["productId"], variant) == 15, what="both devices' sales")
        assert cloud_level(seller, store, variant) == 15


@pytest.mark.parametrize("pruned", [True, False], ids=["feed-pruned", "feed-kept"])
def test_a_device_added_later_takes_the_stores_stock_from_a_snapshot(
    cloud_server: CloudServer, seller: httpx.Client, tmp_path, pruned: bool
):
    """The counter sells alone (its sales are in no feed), the cloud restocks twice; a kiosk registered
    after that takes the levels from a snapshot, whether the restocks are still in the feed or pruned."""
    store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    product = make_product(seller)
    variant = product["variants"][0]["variantId"]

    def level(node: StoreNode) -> int | None:
        return node.level(product["productId"], variant)

    restock(seller, store, variant, 20)
    with running_rig(
        cloud_server, seller, tmp_path, [store], prune_interval_s=0.5 if pruned else 3600
    ) as rig:
        counter = rig.start_node(0)
        wait_for(lambda: level(counter) == 20, what="the first snapshot")
        counter.sell(variant, 5, "before-the-kiosk")
        restock(seller, store, variant, 10)
        wait_for(lambda: level(counter) == 25, what="the second restock")
        wait_for(lambda: cloud_level(seller, store, variant) == 25, what="the sales in the cloud")
        if pruned:  # the counter is the only live device: once it reports both restocks, they are gone
            wait_for(lambda: rig.feed(store) == (2, 2, 0), what="the feed pruned to the counter's position")
        else:
            assert rig.feed(store) == (0, 2, 2)

        kiosk = rig.start_node(rig.register(store))
        wait_for(lambda: level(kiosk) == 25, what="the kiosk's first snapshot")
        # From now on each device's sales go down the feed to the other.
        kiosk.sell(variant, 2, "at-the-kiosk")
        counter.sell(variant, 1, "at-the-counter")
        for node in (counter, kiosk):
            wait_for(lambda n=node: level(n) == 22, what="both devices' sales")
        assert cloud_level(seller, store, variant) == 22
        if pruned:  # each sale went down the feed to the other device; both have reported applying them
            wait_for(lambda: rig.feed(store) == (5, 5, 0), what="the feed pruned to both devices' position")
