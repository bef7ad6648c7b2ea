"""A real cloud per test: one embedded PostgreSQL for the session, a fresh database per test (copied from a
migrated template, so each test starts clean in milliseconds), montydb and local files in tmp_path, the real
FastAPI app behind uvicorn on a free port."""

import itertools
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import select

from cloud import devices
from cloud.api.app import create_app
from cloud.broker_credentials import hash_password
from cloud.db import CloudDatabase, EmbeddedPostgres
from cloud.settings import CloudSettings
from cloud.sync_service import SyncService
from cloud.tables import downlink_feed, stores
from edge.catalog import load_snapshot
from edge.node import Node
from edge.settings import EdgeSettings
from models.catalog import CatalogSnapshot
from models.ids import new_id
from models.order_states import OrderStatus
from models.sales import Order, OrderItem, Payment, PaymentMethod
from plumbing import free_port, serve_in_thread
from sync_protocol.mqtt_link import MqttSettings
from sync_protocol.topics import CLOUD_USERNAME, worker_username
from tests.broker import MosquittoBroker
from tests.conftest import FakeClock

TEMPLATE = "edgestore_template"
_counter = itertools.count()


@dataclass
class PostgresForTests:
    server: EmbeddedPostgres

    def fresh_database(self) -> str:
        """A new database holding the migrated schema; returns its URL."""
        name = f"t{next(_counter)}"
        self.server.create_database(name, template=TEMPLATE)
        return self.server.url(name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresForTests]:
    # Not under pytest's basetemp (see reachable_tmp in tests/conftest.py); session-scoped, so made here.
    root = Path(tempfile.mkdtemp(prefix="edgestore-pg-"))
    root.chmod(0o755)
    server = EmbeddedPostgres(root / "data")
    server.create_database(TEMPLATE)
    db = CloudDatabase(server.url(TEMPLATE))
    db.migrate()
    db.dispose()  # a template must have no open connections when copied
    yield PostgresForTests(server)
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's S3 in server mode: real HTTP, so presigned URLs can be fetched and POSTed to like in a browser.

    Port 0 lets the OS choose a free port while the server binds it (no window in which another process
    could take a port found beforehand); ``get_host_and_port`` reports the one chosen.
    """
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@dataclass
class CloudServer:
    settings: CloudSettings
    base_url: str
    clock: FakeClock
    app: object

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30)

    @property
    def cloud(self):
        return self.app.state.cloud  # type: ignore[attr-defined]


def cloud_settings(tmp_path: Path, database_url: str, **overrides: object) -> CloudSettings:
    port = free_port()
    return CloudSettings(
        cloud_data_dir=tmp_path / "cloud",
        cloud_port=port,
        database_url=database_url,
        **overrides,  # type: ignore[arg-type]
    )


@pytest.fixture
def cloud_server(tmp_path: Path, postgres: PostgresForTests, clock: FakeClock) -> Iterator[CloudServer]:
    settings = cloud_settings(tmp_path, postgres.fresh_database())
    app = create_app(settings, clock)
    served = serve_in_thread(app, settings.cloud_port)
    yield CloudServer(settings, f"http://127.0.0.1:{settings.cloud_port}/api/v1", clock, app)
    served.stop(timeout_s=20)


_sellers = itertools.count()


def register_and_login(
    client: httpx.Client, account: str | None = None, password: str = "correct horse 1"
) -> dict:
    """Register a seller and log the client in with a Bearer token; returns the session body."""
    account = account or f"seller{next(_sellers)}"
    r = client.post("/sellers", json={"account": account, "password": password, "name": f"{account} 小舖"})
    assert r.status_code == 201, r.text
    r = client.post("/auth/login", json={"account": account, "password": password})
    assert r.status_code == 200, r.text
    session = r.json()
    client.headers["Authorization"] = f"Bearer {session['token']}"
    client.cookies.clear()  # the Bearer header alone must be enough
    return session


@pytest.fixture
def seller(cloud_server: CloudServer) -> Iterator[httpx.Client]:
    """A client logged in as a fresh seller."""
    with cloud_server.client() as client:
        register_and_login(client)
        yield client


@pytest.fixture
def other_seller(cloud_server: CloudServer) -> Iterator[httpx.Client]:
    with cloud_server.client() as client:
        register_and_login(client)
        yield client


def sale(
    store_id: str, product: dict, lines: list[tuple[int, int]], at: datetime, *, device_id: str = "node-1"
) -> Order:
    """An in-store order as a store node would send it: ``lines`` are (variant index, quantity), sold by
    ``device_id`` (the sender's id, for orders that go through the uplink checks)."""
    order_id = new_id()
    items = []
    for index, quantity in lines:
        v = product["variants"][index]
        items.append(
            OrderItem(
                item_id=new_id(),
                order_id=order_id,
                product_id=product["productId"],
                variant_id=v["variantId"],
                name=product["name"],
                variant_name=v["name"],
                quantity=quantity,
                unit_price=v["price"],
                unit_discount=0,
                unit_final_price=v["price"],
                line_total=v["price"] * quantity,
            )
        )
    total = sum(i.line_total for i in items)
    return Order(
        order_id=order_id,
        store_id=store_id,
        device_id=device_id,
        status=OrderStatus.COMPLETED,
        subtotal=total,
        discount_total=0,
        total=total,
        items=items,
        payments=[
            Payment(
                payment_id=new_id(), order_id=order_id, method=PaymentMethod.CASH, amount=total, created_at=at
            )
        ],
        created_at=at,
        updated_at=at,
    )


def ingest(server: CloudServer, order: Order, *, with_deltas: bool = True) -> bool:
    """Deliver an order the way the sync layer will: one transaction, idempotent."""
    from cloud import orders

    cloud = server.cloud
    with cloud.db.transaction() as conn:
        new = orders.ingest_order(
            conn, order, server.clock(), low_threshold=cloud.settings.low_stock_threshold
        )
        if with_deltas:
            orders.ingest_sale_deltas(
                conn, order, server.clock(), low_threshold=cloud.settings.low_stock_threshold
            )
    return new


# --- a broker as the cloud configures one, and store nodes provisioned for it ---------------------------

CLOUD_BROKER_PASSWORD = "cloud-pass"


def restock(seller: httpx.Client, store_id: str, variant_id: str, quantity: int) -> None:
    """A restock of one variant at one store through the seller's API (one message in the store's feed)."""
    r = seller.post(
        f"/stores/{store_id}/stock/adjustments",
        json={"variantId": variant_id, "kind": "restock", "quantity": quantity},
    )
    assert r.status_code < 300, r.text


def store_feed(server: CloudServer, store_id: str) -> tuple[int, int, list[int]]:
    """A store's downlink feed in Postgres: pruned up to, its end, and the seqs it still holds."""
    with server.cloud.db.read() as conn:
        pruned, end = conn.execute(
            select(stores.c.feed_pruned_seq, stores.c.downlink_seq).where(stores.c.store_id == store_id)
        ).one()
        held = conn.execute(
            select(downlink_feed.c.seq)
            .where(downlink_feed.c.store_id == store_id)
            .order_by(downlink_feed.c.seq)
        ).scalars()
        return int(pruned), int(end), [int(s) for s in held]


def cloud_broker(server: CloudServer, folder: Path, *, cloud_workers: int = 1) -> MosquittoBroker:
    """A Mosquitto (not started yet) with what the cloud writes for a deployment: the password file of its
    live devices plus the cloud's own accounts (one per ingest worker), and the ACL binding each device to
    its store's topics. Register the devices first."""
    hashed = hash_password(CLOUD_BROKER_PASSWORD)
    with server.cloud.db.read() as conn:
        passwords = devices.broker_password_file(
            conn, {worker_username(k): hashed for k in range(cloud_workers)}
        )
        acl = devices.broker_acl(conn, cloud_workers=cloud_workers)
    return MosquittoBroker(folder, password_file_text=passwords, acl_text=acl)


def cloud_mqtt(broker: MosquittoBroker) -> MqttSettings:
    """The cloud's login to that broker."""
    return MqttSettings(
        host="127.0.0.1", port=broker.port, username=CLOUD_USERNAME, password=CLOUD_BROKER_PASSWORD
    )


def device_mqtt(broker: MosquittoBroker, device: dict) -> MqttSettings:
    """A registered device's own login to that broker (the credentials ``POST /stores/{id}/devices`` gave)."""
    creds = device["mqtt"]
    return MqttSettings(
        host="127.0.0.1",
        port=broker.port,
        client_id=creds["clientId"],
        username=creds["username"],
        password=creds["password"],
    )


def provisioned_node(
    device: dict, broker: MosquittoBroker, data_dir: Path, store_id: str, snapshot: CatalogSnapshot | None
) -> EdgeSettings:
    """A store node's settings as provisioning leaves them: the device id and MQTT login the cloud gave it,
    its store, and (if given) the store's catalog loaded by hand. Without a catalog it takes the cloud's."""
    creds = device["mqtt"]
    url = f"mqtt://{quote(creds['username'])}:{quote(creds['password'])}@127.0.0.1:{broker.port}"
    settings = EdgeSettings(
        data_dir=data_dir, port=free_port(), store_id=store_id, device_id=device["deviceId"], mqtt_url=url
    )
    if snapshot is not None:
        node = Node.open(settings)
        with node.db.write() as conn:
            load_snapshot(conn, snapshot, node.now())
        node.close()
    return settings


@dataclass
class StoreOnBroker:
    """A seller's store with a registered device, one product restocked there (the store's catalog
    snapshot holds it), and the cloud's broker (started) and sync service (not started yet)."""

    store_id: str
    device: dict
    product_id: str
    variant_id: str
    snapshot: CatalogSnapshot
    broker: MosquittoBroker
    service: SyncService


def store_on_a_broker(
    cloud_server: CloudServer, seller: httpx.Client, folder: Path, *, stock: int = 50
) -> StoreOnBroker:
    from tests.cloud.test_cloud_catalog import make_product  # a test module's helper: imported when used

    store_id = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    device = seller.post(f"/stores/{store_id}/devices", json={"name": "Pi"}).json()
    product = make_product(seller)
    variant_id = product["variants"][0]["variantId"]
    restock(seller, store_id, variant_id, stock)
    snapshot = CatalogSnapshot.model_validate(seller.get(f"/stores/{store_id}/catalog-snapshot").json())
    broker = cloud_broker(cloud_server, folder).start()
    service = SyncService(cloud_server.cloud, cloud_mqtt(broker), cloud_server.clock)
    return StoreOnBroker(store_id, device, product["productId"], variant_id, snapshot, broker, service)


@pytest.fixture
def s3_cloud(tmp_path: Path, postgres: PostgresForTests, moto_endpoint: str) -> Iterator[CloudServer]:
    settings = cloud_settings(
        tmp_path,
        postgres.fresh_database(),
        s3_endpoint=moto_endpoint,
        s3_bucket="edgestore-images-test",
        s3_access_key="testing",
        s3_secret_key="testing",
        s3_region="us-east-1",
    )
    clock = FakeClock()
    app = create_app(settings, clock)
    served = serve_in_thread(app, settings.cloud_port)
    yield CloudServer(settings, f"http://127.0.0.1:{settings.cloud_port}/api/v1", clock, app)
    served.stop(timeout_s=20)
