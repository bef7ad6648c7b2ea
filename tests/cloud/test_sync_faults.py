"""Fault injection on the uplink (node outbox -> Mosquitto -> cloud -> Postgres -> ack), all real: a Mosquitto
with the ACL and passwords the cloud writes, the cloud's SyncService on embedded Postgres, a store node on
SQLite. The cloud dies between its commit and its ack; batches arrive duplicated and out of order; the
broker restarts with batches in flight; the node is SIGKILLed while it drains. Every time, each order is in
Postgres exactly once, the node's outbox empties and both sides agree on stock. Last, Postgres goes away
for a while under a burst of uplink traffic, and the cloud must ingest again once it is back."""

import os
import queue
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import create_engine, func, select, text

from cloud import sync_service
from cloud.db import CloudDatabase, sqlalchemy_url
from cloud.sync_service import SyncService
from cloud.tables import dead_letters, orders, stock_deltas, sync_streams
from edge import carts, checkout
from edge.api.app import create_app as create_edge_app
from edge.node import Node
from edge.settings import EdgeSettings
from models.catalog import CatalogSnapshot
from models.ids import new_id
from models.node_api import CheckoutRequest
from models.sales import PaymentMethod
from models.stock import StockReason
from plumbing import serve_in_thread
from sync_protocol.encoding import decode_ack, encode
from sync_protocol.envelope import Ack, Batch, Envelope, make_envelope
from sync_protocol.hlc import HLC
from sync_protocol.mqtt_link import MqttSettings
from sync_protocol.partition import Partition, store_partition
from sync_protocol.streams import Stream
from sync_protocol.topics import Topics, worker_username
from tests.broker import MosquittoBroker
from tests.cloud.conftest import (
    CloudServer,
    PostgresForTests,
    cloud_broker,
    cloud_mqtt,
    provisioned_node,
    restock,
    sale,
)
from tests.cloud.test_cloud_catalog import make_product
from tests.cloud.test_sync_end_to_end import wait_for
from tests.conftest import EDGESTORE

pytestmark = pytest.mark.slow

STOCK = 5000
# Two cores, hundreds of orders, reconnect backoff, 10 s resends: generous, and never asserted as a duration.
SYNC_TIMEOUT = 240.0


@dataclass
class Shop:
    """One seller's store with a registered device, a broker that knows its password, and the device's node
    provisioned (device id, store, catalog) but not running."""

    cloud_server: CloudServer
    seller: httpx.Client
    store: str
    device: dict
    product: dict
    broker: MosquittoBroker
    node: EdgeSettings
    workers: int = 1  # cloud ingest workers, split by store (sync_protocol.partition)
    cleanups: ExitStack = field(default_factory=ExitStack)

    @property
    def device_id(self) -> str:
        return self.device["deviceId"]

    @property
    def variant(self) -> str:
        return self.product["variants"][0]["variantId"]

    @property
    def owner(self) -> int:
        """The ingest worker that takes this shop's store."""
        return store_partition(self.store, self.workers)

    def cloud_mqtt(self, client_id: str = "edgestore-cloud-test") -> MqttSettings:
        """The login of the worker that takes the store (``edgestore-cloud``, or ``edgestore-cloud-K``)."""
        return replace(cloud_mqtt(self.broker), client_id=client_id, username=worker_username(self.owner))

    def start_cloud(self, client_id: str = "edgestore-cloud-test", **options: Any) -> SyncService:
        """The cloud's ingest: one SyncService, or with ``workers`` > 1 one per partition (the others take
        other stores: nothing of this one); the one that takes the store is returned. ``options`` go to each
        SyncService."""
        if self.workers == 1:
            return self._start(
                SyncService(
                    self.cloud_server.cloud, self.cloud_mqtt(client_id), self.cloud_server.clock, **options
                )
            )
        services = [
            SyncService(
                self.cloud_server.cloud,
                replace(cloud_mqtt(self.broker), client_id=f"{client_id}-{k}"),
                self.cloud_server.clock,
                partition=Partition(k, self.workers),
                **options,
            )
            for k in range(self.workers)
        ]
        for service in services:
            self._start(service)
        assert services[self.owner].owns(self.store)
        return services[self.owner]

    def _start(self, service: SyncService) -> SyncService:
        self.cleanups.callback(service.close)
        assert service.start(wait_s=30)
        return service

    def start_node(self) -> None:
        """The node's app in this process (its SyncAgent drains over EDGESTORE_MQTT_URL)."""
        served = serve_in_thread(create_edge_app(self.node), self.node.port)
        self.cleanups.callback(served.stop, timeout_s=30)

    def sell_offline(self, n: int) -> None:
        """``n`` checkouts of one unit at the node, through the same calls as its checkout route, while its
        sync is not running: they wait in the outbox."""
        node = Node.open(self.node)
        try:
            for _ in range(n):
                at = node.now()
                with node.db.write() as conn:
                    cart = carts.create_cart(conn, at)
                    carts.add_item(conn, cart, self.variant, 1, at)
                    checkout.checkout(
                        conn,
                        cart,
                        CheckoutRequest(payment_method=PaymentMethod.CASH),
                        device_id=node.device_id,
                        at=at,
                    )
        finally:
            node.close()

    # -- what each side holds -----------------------------------------------------------------------------

    def node_query(self, sql: str, *args: object) -> list[tuple]:
        """Straight from the node's SQLite file: works whether the node runs here, in a subprocess or not."""
        with closing(sqlite3.connect(self.node.database_path, timeout=30)) as conn:
            return conn.execute(sql, args).fetchall()

    def outbox_rows(self, stream: Stream | None = None) -> int:
        if stream is None:
            return self.node_query("SELECT count(*) FROM outbox")[0][0]
        return self.node_query("SELECT count(*) FROM outbox WHERE stream = ?", str(stream))[0][0]

    def node_order_ids(self) -> list[str]:
        return sorted(r[0] for r in self.node_query("SELECT order_id FROM orders"))

    def node_stock(self) -> int:
        return self.node_query("SELECT quantity FROM stock_levels WHERE variant_id = ?", self.variant)[0][0]

    def cloud_order_ids(self) -> list[str]:
        with self.cloud_server.cloud.db.read() as conn:
            return sorted(
                conn.execute(select(orders.c.order_id).where(orders.c.store_id == self.store)).scalars()
            )

    def cloud_count(self, table, *where) -> int:
        with self.cloud_server.cloud.db.read() as conn:
            return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()

    def high_water(self, stream: Stream) -> tuple[int, list[int]] | None:
        with self.cloud_server.cloud.db.read() as conn:
            row = conn.execute(
                select(sync_streams.c.high_water, sync_streams.c.above).where(
                    sync_streams.c.device_id == self.device_id, sync_streams.c.stream == stream.value
                )
            ).first()
        return (row.high_water, list(row.above)) if row else None

    def cloud_stock(self) -> int:
        levels = self.seller.get(f"/stores/{self.store}/stock").json()
        return next(s["level"] for s in levels if s["variantId"] == self.variant)

    def wait_synced(self, n: int) -> None:
        wait_for(
            lambda: self.outbox_rows() == 0 and len(self.cloud_order_ids()) == n,
            timeout=SYNC_TIMEOUT,
            what=f"{n} orders in Postgres and an empty outbox",
        )

    def assert_exactly_once(self, n: int) -> None:
        node_ids = self.node_order_ids()
        assert len(node_ids) == n
        assert self.cloud_order_ids() == node_ids  # every order, none twice, none foreign
        assert self.seller.get("/orders").json()["totals"]["orders"] == n  # the rolled-up totals too
        sales = (stock_deltas.c.store_id == self.store, stock_deltas.c.reason == StockReason.SALE)
        assert self.cloud_count(stock_deltas, *sales) == n
        assert self.cloud_stock() == self.node_stock() == STOCK - n
        assert self.high_water(Stream.ORDERS) == (n, [])
        assert self.high_water(Stream.STOCK_DELTAS) == (n, [])
        assert self.cloud_count(dead_letters) == 0
        assert self.outbox_rows() == 0


@pytest.fixture(params=[1, 2], ids=["1-worker", "2-workers"])
def shop(
    cloud_server: CloudServer, seller: httpx.Client, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Shop]:
    """Every fault test runs with the cloud's ingest in one worker and split over two (by store)."""
    store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    device = seller.post(f"/stores/{store}/devices", json={"name": "Pi"}).json()
    product = make_product(seller)
    restock(seller, store, product["variants"][0]["variantId"], STOCK)
    snapshot = CatalogSnapshot.model_validate(seller.get(f"/stores/{store}/catalog-snapshot").json())
    broker = cloud_broker(cloud_server, tmp_path / "broker", cloud_workers=request.param)
    settings = provisioned_node(device, broker, tmp_path / "node", store, snapshot)
    shop = Shop(cloud_server, seller, store, device, product, broker, settings, workers=request.param)
    broker.start()
    with shop.cleanups:
        shop.cleanups.callback(broker.stop)
        yield shop


class CloudCrashed(Exception):
    """What the first cloud process 'dies' of, between its Postgres commit and its ack."""


@pytest.mark.parametrize(
    "restarted_as",
    [
        pytest.param("the same client", id="same-client-id"),  # the broker resumes its session: redelivery
        # The broker keys a session by the login, not the client id it is sent (use_username_as_clientid): a
        # cloud restarted on a new host resumes the session too. What a new client id tested before is a cloud
        # whose session is gone (expired, or a broker that lost its store): only the node's resends bring it.
        pytest.param("a lost session", id="session-lost"),
    ],
)
def test_cloud_killed_between_commit_and_ack(shop: Shop, restarted_as: str):
    n = 12
    shop.sell_offline(n)
    first = shop.start_cloud("edgestore-cloud-a")
    never_sent: list[Ack] = []
    crashed = threading.Event()
    dying = threading.Lock()  # two streams' batches may get here at once, on two ingest threads
    real_publish = first.link.publish

    def die_instead_of_acking(topic: str, payload: bytes, **kwargs) -> bool:
        with dying:
            if crashed.is_set():  # what is left of the dead process sends nothing
                return False
            if not topic.endswith(f"/ack/{shop.device_id}"):
                return real_publish(topic, payload, **kwargs)
            # handle_uplink has committed the batch; the process dies before its ack goes out: the connection
            # drops without a DISCONNECT, the network thread stops, and the delivery is never acknowledged to
            # the broker (MqttLink sends no PUBACK for a message of a connection that ended). The socket is
            # shut first: from an ingest thread, loop_stop waits for the network thread to end, which it
            # does only once its connection is gone.
            never_sent.append(decode_ack(payload))
            client = first.link._client
            client.socket().shutdown(socket.SHUT_RDWR)
            client.loop_stop()
            crashed.set()
        raise CloudCrashed("killed between commit and ack")

    first.link.publish = die_instead_of_acking  # type: ignore[method-assign]
    shop.start_node()
    assert crashed.wait(60), "the cloud never got a batch to ack"

    [ack] = never_sent
    assert ack.high_water_seq > 0
    committed = shop.high_water(ack.stream)
    assert committed == (ack.high_water_seq, [])  # in Postgres...
    assert shop.outbox_rows(ack.stream) == n  # ...and still all in the node's outbox: it never heard
    if ack.stream is Stream.ORDERS:
        assert len(shop.cloud_order_ids()) == ack.high_water_seq

    if restarted_as == "a lost session":
        discard_cloud_session(shop)
    client_id = "edgestore-cloud-a" if restarted_as == "the same client" else "edgestore-cloud-b"
    shop.start_cloud(client_id)
    shop.wait_synced(n)
    shop.assert_exactly_once(n)


def discard_cloud_session(shop: Shop) -> None:
    """End the cloud's persistent session at the broker, with the unacknowledged delivery it holds: a clean
    start with the cloud's login and no session expiry, so nothing is kept after it either."""
    settings = shop.cloud_mqtt()
    connected = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set(settings.username, settings.password)
    client.on_connect = lambda c, u, f, reason, p: None if reason.is_failure else connected.set()
    client.connect(settings.host, settings.port, clean_start=True)
    client.loop_start()
    try:
        assert connected.wait(15), "the cloud's login was refused"
    finally:
        client.disconnect()
        client.loop_stop()


def device_login(shop: Shop, subscribe: str, on_message: Callable[[mqtt.MQTTMessage], None]) -> mqtt.Client:
    """The device's own broker login (its username, password and client id) as a bare paho MQTT 5 client,
    subscribed to ``subscribe`` (QoS 1) with ``on_message`` for what comes; disconnected at the shop's end."""
    creds = shop.device["mqtt"]
    connected, subscribed = threading.Event(), threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=creds["clientId"], protocol=mqtt.MQTTv5)
    client.username_pw_set(creds["username"], creds["password"])
    client.on_connect = lambda c, u, f, reason, p: None if reason.is_failure else connected.set()
    client.on_subscribe = lambda c, u, mid, reasons, p: subscribed.set()
    client.on_message = lambda c, u, m: on_message(m)
    client.connect("127.0.0.1", shop.broker.port)
    client.loop_start()

    def close() -> None:
        client.disconnect()
        client.loop_stop()

    shop.cleanups.callback(close)
    assert connected.wait(15), "the device could not log in"
    client.subscribe(subscribe, qos=1)
    assert subscribed.wait(15)
    return client


def published(client: mqtt.Client, topic: str, data: bytes) -> None:
    """Publish at QoS 1 and wait for the broker (not whoever reads it) to take it."""
    info = client.publish(topic, data, qos=1)
    info.wait_for_publish(15)
    assert info.is_published()


class DeviceClient:
    """The device's own broker login, subscribed to its ack topic: publishes whatever bytes a test builds on
    its orders uplink."""

    def __init__(self, shop: Shop) -> None:
        self.acks: queue.Queue[Ack] = queue.Queue()
        self.topic = str(Topics.uplink(shop.store, shop.device_id, Stream.ORDERS))
        self.client = device_login(
            shop, str(Topics.ack(shop.store, shop.device_id)), lambda m: self.acks.put(decode_ack(m.payload))
        )

    def publish(self, data: bytes) -> None:
        """Publish on the device's orders uplink and wait for the broker (not the cloud) to take it."""
        published(self.client, self.topic, data)

    def close(self) -> None:
        """Log out now (the shop's end does it anyway; twice is harmless)."""
        self.client.disconnect()
        self.client.loop_stop()


def order_envelopes(shop: Shop, n: int) -> list[Envelope]:
    """Seqs 1..n of the device's orders stream, one sale each, as a node would number them."""
    now = shop.cloud_server.clock()
    return [
        make_envelope(
            message_id=new_id(),
            store_id=shop.store,
            device_id=shop.device_id,
            seq=i + 1,
            hlc=HLC(1_800_000_000_000 + i, 0, shop.device_id),
            payload=sale(
                shop.store, shop.product, [(0, 1)], now + timedelta(seconds=i), device_id=shop.device_id
            ),
        )
        for i in range(n)
    ]


def orders_batch(shop: Shop, envelopes: list[Envelope]) -> bytes:
    """A batch of these envelopes with a fresh batch id, as a node's re-pack has."""
    return encode(
        Batch(
            batch_id=new_id(),
            store_id=shop.store,
            device_id=shop.device_id,
            stream=Stream.ORDERS,
            messages=tuple(envelopes),
        )
    )


def test_duplicated_and_reordered_batches_over_the_wire(shop: Shop):
    shop.start_cloud()
    device = DeviceClient(shop)
    envelopes = order_envelopes(shop, 4)

    def batch(first: int, last: int) -> bytes:
        return orders_batch(shop, envelopes[first - 1 : last])

    def send(data: bytes) -> tuple[int, list[tuple[int, int]]]:
        device.publish(data)
        ack = device.acks.get(timeout=30)
        assert (ack.store_id, ack.device_id, ack.stream) == (shop.store, shop.device_id, Stream.ORDERS)
        assert ack.dead_lettered == ()
        return ack.high_water_seq, [(r.first, r.last) for r in ack.missing]

    early = batch(3, 4)
    assert send(early) == (0, [(1, 2)])  # 3-4 before 1-2: committed, and the gap asked for
    assert len(shop.cloud_order_ids()) == 2
    assert send(early) == (0, [(1, 2)])  # the very same bytes again
    assert send(batch(3, 4)) == (0, [(1, 2)])  # the same messages re-packed
    assert len(shop.cloud_order_ids()) == 2
    assert shop.high_water(Stream.ORDERS) == (0, [3, 4])

    assert send(batch(1, 2)) == (4, [])  # the gap filled: the mark covers everything
    for again in (batch(1, 2), batch(2, 3), batch(1, 4), early):  # late and overlapping duplicates
        assert send(again) == (4, [])

    assert shop.cloud_order_ids() == sorted(e.payload["orderId"] for e in envelopes)
    assert shop.seller.get("/orders").json()["totals"]["orders"] == 4
    assert shop.high_water(Stream.ORDERS) == (4, [])
    assert shop.cloud_count(dead_letters) == 0


def hold_first_uplink(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """Make the cloud's first uplink wait (inside its MQTT handler, before the Postgres transaction) until
    the test lets it go: returns (arrived, release)."""
    arrived, release = threading.Event(), threading.Event()
    real = sync_service.handle_uplink

    def held(*args, **kwargs):
        if not arrived.is_set():
            arrived.set()
            release.wait(120)
        return real(*args, **kwargs)

    monkeypatch.setattr(sync_service, "handle_uplink", held)
    return arrived, release


@pytest.mark.parametrize("how", ["restart", "kill"])
def test_broker_restart_with_batches_in_flight(shop: Shop, monkeypatch: pytest.MonkeyPatch, how: str):
    n = 300
    shop.sell_offline(n)
    assert shop.outbox_rows() == 2 * n  # an order and its stock delta each
    arrived, release = hold_first_uplink(monkeypatch)
    shop.start_cloud()
    shop.start_node()
    assert arrived.wait(60), "no batch reached the cloud"
    # The node has published its batches; the cloud is inside the first one. The broker goes away now.
    if how == "restart":
        shop.broker.restart()  # SIGTERM: it saves its state, queued QoS 1 messages included
    else:
        shop.broker.kill()  # SIGKILL: whatever it had not saved (up to a second) is gone
        shop.broker.start()
    assert shop.cloud_order_ids() == []  # nothing was committed before the broker went
    release.set()
    shop.wait_synced(n)
    shop.assert_exactly_once(n)


def acks_held_until(released: threading.Event, first_acks: list[Ack]) -> Callable[..., Ack | None]:
    """``handle_uplink`` whose acks wait until ``released``, the first of them kept in ``first_acks``. Every
    ack waits, not only the first: the cloud's other ingest thread may apply the node's other stream
    meanwhile, and its ack must not go out before the release either."""
    real = sync_service.handle_uplink
    first = threading.Lock()

    def held(*args: Any, **kwargs: Any) -> Ack | None:
        ack = real(*args, **kwargs)
        if ack is not None and not released.is_set():
            with first:
                if not first_acks:
                    first_acks.append(ack)
            released.wait(120)
        return ack

    return held


def test_node_killed_while_it_drains(shop: Shop, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    n = 300  # sales per lot; each lot is 2 * n outbox rows (an order and its stock delta each)
    log = (tmp_path / "node.log").open("ab")
    env = os.environ | {
        "EDGESTORE_MQTT_URL": shop.node.mqtt_url,
        "EDGESTORE_STORE_ID": shop.store,
        "EDGESTORE_CONFIG_FILE": str(tmp_path / "absent.toml"),
        "PYTHONUNBUFFERED": "1",
    }
    cmd = [*EDGESTORE, "edge", "serve", "--data-dir", str(shop.node.data_dir), "--port", str(shop.node.port)]
    procs: list[subprocess.Popen[bytes]] = []

    def start_node() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    def sigkill(proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)

    def stop_all() -> None:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    sigkill(proc)
        log.close()

    shop.cleanups.callback(stop_all)

    # Kill 1: the cloud has committed the node's first batch; its ack waits until the node is dead.
    first_acks: list[Ack] = []
    node_dead = threading.Event()
    monkeypatch.setattr(sync_service, "handle_uplink", acks_held_until(node_dead, first_acks))
    shop.sell_offline(n)
    shop.start_cloud()
    node = start_node()
    wait_for(lambda: bool(first_acks), timeout=120, what="the node's first batch in the cloud")
    sigkill(node)
    node_dead.set()
    [ack] = first_acks
    assert ack.high_water_seq > 0
    assert shop.high_water(ack.stream)[0] >= ack.high_water_seq  # committed in Postgres
    assert shop.outbox_rows() == 2 * n  # and the node died before any ack reached it

    # The store sells on while the node is down (this opens the database the kill left behind).
    shop.sell_offline(n)

    # Kill 2: the node is back and draining; killed once acks have removed rows of the new lot, while rows
    # still wait. (Acks the cloud sent while the node was dead wait at the broker in the node's session.)
    node = start_node()
    deadline = time.monotonic() + SYNC_TIMEOUT
    while not 0 < shop.outbox_rows() < 2 * n:  # polled fast: the drain must not finish between two looks
        assert time.monotonic() < deadline, "timed out waiting for the second lot to drain"
        time.sleep(0.005)
    sigkill(node)
    assert 0 < shop.outbox_rows() < 2 * n
    assert shop.node_query("PRAGMA integrity_check") == [("ok",)]

    start_node()
    shop.wait_synced(2 * n)
    shop.assert_exactly_once(2 * n)
    assert shop.node_query("PRAGMA integrity_check") == [("ok",)]


@contextmanager
def postgres_outage(postgres: PostgresForTests, db: CloudDatabase) -> Iterator[None]:
    """The cloud's database refuses connections and loses the ones it had, until the block ends."""
    name = db.engine.url.database
    admin = create_engine(sqlalchemy_url(postgres.server.url("postgres")), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                {"name": name},
            )
        yield
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()


def test_the_cloud_ingests_again_after_postgres_was_down(
    shop: Shop, postgres: PostgresForTests, monkeypatch: pytest.MonkeyPatch
):
    n = 120  # more deliveries during the outage than the shipped broker keeps in flight to one client
    handled = []
    real = sync_service.handle_uplink

    def counted(*args, **kwargs):
        handled.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(sync_service, "handle_uplink", counted)
    shop.start_cloud()
    device = DeviceClient(shop)
    envelopes = order_envelopes(shop, n)
    with postgres_outage(postgres, shop.cloud_server.cloud.db):
        # One sale per batch, as many stores (or one node's backlog) would send them while it is down.
        for i in range(n):
            device.publish(orders_batch(shop, envelopes[i : i + 1]))
        wait_for(lambda: len(handled) >= 20, what="the cloud to try (and fail) the deliveries")

    # Postgres is back. The device sends its unacknowledged run again, as a node does every 10 s, until the
    # cloud acknowledges all of it.
    deadline = time.monotonic() + 60  # with every delivery acknowledged, this takes seconds
    high_water = 0
    while high_water < n:
        assert time.monotonic() < deadline, f"no ack past seq {high_water} after Postgres came back"
        device.publish(orders_batch(shop, envelopes))
        with suppress(queue.Empty):
            while True:
                high_water = max(high_water, device.acks.get(timeout=5).high_water_seq)
    assert shop.cloud_order_ids() == sorted(e.payload["orderId"] for e in envelopes)
    assert shop.seller.get("/orders").json()["totals"]["orders"] == n
