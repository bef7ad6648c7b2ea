"""The field staff's whole flow against a cloud and a broker started here, configured as a deployment's
(``edgestore cloud broker-config``): a claim code made by the seller, ``edgestore provision`` run as a
command into a temporary root, the node started from the config it wrote and nothing else; the node takes
its catalog, sells, the sale reaches the cloud, and the seller's Devices page shows the node online with
its version (Chromium). Then what must not work: a second run claims nothing
new and keeps the database; a used, an unknown and an expired code are refused by name; a revoked device
is cut off the broker and stays out.

The time from ``provision`` to the first sale in the cloud is printed (docs/field-guide.md records it).
"""

import os
import shutil
import sqlite3
import stat
import subprocess
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from cloud.api.app import create_app
from cloud.runtime import Cloud
from edgestore.demo import DemoBroker
from plumbing import free_port, serve_in_thread
from plumbing.version import VERSION
from tests.cloud.conftest import CloudServer, PostgresForTests, cloud_settings, register_and_login, restock
from tests.cloud.test_cloud_catalog import make_product
from tests.cloud.test_dashboard_browser import chromium, desk_page, log_in
from tests.conftest import EDGESTORE, FakeClock

pytestmark = pytest.mark.slow

CLOUD_PASSWORD = "cloud-broker-secret"
SELLER, SELLER_PASSWORD = "pi.flow", "correct horse 1"


@dataclass
class Deployment:
    cloud: CloudServer
    broker: DemoBroker
    web: str  # the cloud's address as a Pi is told it (no /api/v1)
    seller: httpx.Client  # logged in


@pytest.fixture
def deployment(tmp_path: Path, postgres: PostgresForTests, clock: FakeClock) -> Iterator[Deployment]:
    broker = DemoBroker(tmp_path / "broker", cloud_password=CLOUD_PASSWORD)
    settings = cloud_settings(
        tmp_path,
        postgres.fresh_database(),
        cloud_mqtt_url=broker.cloud_url,
        public_broker_url=broker.url,
        broker_password_file=broker.password_file,
        broker_acl_file=broker.acl_file,
        broker_pid_file=broker.pid_file,
    )
    opened = Cloud.open(settings)  # the broker's files first: the cloud's sync service logs in at start
    try:
        broker.write_files(opened)
    finally:
        opened.close()
    broker.start()
    app = create_app(settings, clock)
    served = serve_in_thread(app, settings.cloud_port)
    web = f"http://127.0.0.1:{settings.cloud_port}"
    server = CloudServer(settings, f"{web}/api/v1", clock, app)
    try:
        with server.client() as seller:
            register_and_login(seller, SELLER, SELLER_PASSWORD)
            yield Deployment(server, broker, web, seller)
    finally:
        served.stop(timeout_s=20)
        broker.stop()


def wait_for(check, timeout: float = 60.0, what: str = "condition") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def provision(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGESTORE_")}
    return subprocess.run(
        [*EDGESTORE, "provision", "--root", str(root), "--lang", "en", "--sync-timeout", "60", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )


class NodeProcess:
    """``edgestore edge serve`` as its unit runs it: ``EDGESTORE_CONFIG_FILE`` and nothing else."""

    def __init__(self, config_file: Path, workdir: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EDGESTORE_")}
        env["EDGESTORE_CONFIG_FILE"] = str(config_file)
        config = tomllib.loads(config_file.read_text())
        self.url = f"http://127.0.0.1:{config['port']}/api/v1"
        self.log = (workdir / "node.log").open("ab")
        self.process = subprocess.Popen(
            [*EDGESTORE, "edge", "serve"], cwd=workdir, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        wait_for(self._up, what="the node to serve")

    def _up(self) -> bool:
        assert self.process.poll() is None, "the node exited"
        try:
            return httpx.get(f"{self.url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def health(self) -> dict:
        return httpx.get(f"{self.url}/health", timeout=10).json()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


@contextmanager
def devices_page(web: str, store_id: str) -> Iterator[Page]:
    """The seller logged in, in Chromium, on the store's Devices page."""
    with chromium() as browser:
        page = desk_page(browser)
        log_in(page, web, SELLER, SELLER_PASSWORD)
        page.goto(f"{web}/stores/{store_id}/devices")
        yield page


def claim_code(seller: httpx.Client, store_id: str, **body: object) -> str:
    r = seller.post(f"/stores/{store_id}/claim-codes", json={"name": "櫃台 Pi", **body})
    assert r.status_code == 201, r.text
    return str(r.json()["code"])


def test_a_fresh_pi_is_provisioned_syncs_sells_and_can_be_cut_off(
    deployment: Deployment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    seller = deployment.seller
    store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    product = make_product(seller)
    variant = product["variants"][0]["variantId"]
    restock(seller, store, variant, 30)
    code = claim_code(seller, store)
    root = tmp_path / "pi"
    port = free_port()

    started = time.monotonic()
    first = provision(root, "--cloud", deployment.web, "--claim-code", code, "--port", str(port))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "✓ Claim: device" in first.stdout
    assert "✓ Catalog: catalog version" in first.stdout
    assert "(1 products)" in first.stdout
    assert "linking to the broker" in first.stderr  # progress while it works

    config_file = root / "etc/edgestore/edgestore.toml"
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((root / "etc/edgestore/device-key.pem").stat().st_mode) == 0o600
    config = tomllib.loads(config_file.read_text())
    assert config["store_id"] == store
    assert config["data_dir"] == str(root / "var/lib/edgestore")
    assert config["mqtt_url"].startswith(f"mqtt://{config['device_id']}:")
    assert config["port"] == port
    devices = seller.get(f"/stores/{store}/devices").json()
    assert [d["deviceId"] for d in devices] == [config["device_id"]]

    unit_dir = root / "etc/systemd/system"
    written = sorted(p.name for p in unit_dir.glob("*.service"))
    assert written == [
        "edgestore-ble.service",
        "edgestore-footfall.service",
        "edgestore-kiosk.service",
        "edgestore-node.service",
    ]
    assert [p.name for p in (unit_dir / "multi-user.target.wants").iterdir()] == ["edgestore-node.service"]
    assert (root / "etc/sysusers.d/edgestore.conf").read_text().splitlines()[-1].startswith("u edgestore - ")
    assert (
        f"z {config_file} 0600 edgestore edgestore -" in (root / "etc/tmpfiles.d/edgestore.conf").read_text()
    )
    node_unit = (unit_dir / "edgestore-node.service").read_text()
    assert f"Environment=EDGESTORE_CONFIG_FILE={config_file}" in node_unit
    if shutil.which("systemd-analyze"):
        for unit in unit_dir.glob("*.service"):
            verified = subprocess.run(
                ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
            )
            assert verified.returncode == 0, f"{unit.name}: {verified.stderr}"

    node = NodeProcess(config_file, tmp_path)
    try:
        wait_for(lambda: node.health()["online"], what="the node to link to the broker")
        with httpx.Client(base_url=node.url, timeout=30) as kiosk:
            cart = kiosk.post("/carts", json={"items": [{"variantId": variant, "quantity": 2}]}).json()
            sold = kiosk.post(
                f"/carts/{cart['cartId']}/checkout",
                json={"paymentMethod": "card", "idempotencyKey": "first-sale"},
            )
            assert sold.status_code == 201, sold.text
        wait_for(lambda: seller.get("/orders").json()["totals"]["orders"] == 1, what="the sale in the cloud")
        elapsed = time.monotonic() - started
        with capsys.disabled():  # the figure in every run's output, captured or not
            print(f"\nprovision to the first sale in the cloud: {elapsed:.1f} s")  # noqa: T201

        # Again, with the spent code: nothing is claimed, the database and its sale are kept.
        again = provision(root, "--cloud", deployment.web, "--claim-code", code)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "registered before (no code used)" in again.stdout
        assert "already here" in again.stdout
        assert len(seller.get(f"/stores/{store}/devices").json()) == 1
        assert tomllib.loads(config_file.read_text()) == config
        with sqlite3.connect(root / "var/lib/edgestore/edge.sqlite3") as db:
            assert db.execute("SELECT count(*) FROM orders").fetchone() == (1,)

        # The seller's Devices page shows the new node as its status said (in a real browser).
        with devices_page(deployment.web, store) as page:
            row = page.locator(f"#device-{config['device_id']}")
            expect(row.locator(".device-state")).to_have_text("上線")
            expect(row.locator(".software-version")).to_have_text(VERSION)
            expect(row.locator(".device-name")).to_have_text("櫃台 Pi")

            # Revoked: the broker drops the live connection at once and refuses it from then on.
            r = seller.delete(f"/stores/{store}/devices/{config['device_id']}")
            assert r.status_code == 200, r.text
            wait_for(lambda: not node.health()["online"], timeout=20, what="the broker to cut the node off")
            page.reload()
            expect(page.locator(f"#revoked-{config['device_id']}")).to_contain_text("櫃台 Pi")
        time.sleep(3)  # the node retries (paho's backoff) and is refused
        assert not node.health()["online"]
        assert "not authorised" in deployment.broker.log_tail(50).lower()
    finally:
        node.stop()


def test_spent_unknown_expired_and_other_sellers_codes(deployment: Deployment, tmp_path: Path):
    seller = deployment.seller
    store = seller.post("/stores", json={"name": "大安店"}).json()["storeId"]
    code = claim_code(seller, store)
    assert provision(tmp_path / "first", "--cloud", deployment.web, "--claim-code", code).returncode == 0

    spent = provision(tmp_path / "second", "--cloud", deployment.web, "--claim-code", code)
    assert spent.returncode == 1
    assert "claimCodeUsed" in spent.stdout
    assert "Make a new one" in spent.stdout
    assert "✗ Config: not done" in spent.stdout
    assert not (tmp_path / "second/etc/edgestore/edgestore.toml").exists()

    unknown = provision(tmp_path / "third", "--cloud", deployment.web, "--claim-code", "2222-3333-4444")
    assert unknown.returncode == 1
    assert "claimCodeNotFound" in unknown.stdout

    late = claim_code(seller, store, expiresInMinutes=5)
    deployment.cloud.clock.advance(minutes=6)
    expired = provision(tmp_path / "fourth", "--cloud", deployment.web, "--claim-code", late)
    assert expired.returncode == 1
    assert "claimCodeExpired" in expired.stdout

    nothing = provision(tmp_path / "fifth")
    assert nothing.returncode == 1
    assert "--claim-code CODE" in nothing.stdout
    assert len(seller.get(f"/stores/{store}/devices").json()) == 1

    # Another seller's code puts the Pi in that seller's store, never in this one, and this seller cannot
    # see it or make codes for that store.
    with deployment.cloud.client() as other:
        register_and_login(other)
        theirs = other.post("/stores", json={"name": "別家店"}).json()["storeId"]
        code = claim_code(other, theirs)
        assert seller.post(f"/stores/{theirs}/claim-codes", json={}).status_code == 404
        # Into the first Pi, its config gone but its data kept: that store's database is moved aside, kept.
        (tmp_path / "first/etc/edgestore/edgestore.toml").unlink()
        done = provision(tmp_path / "first", "--cloud", deployment.web, "--claim-code", code)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"held another store's node ({store}): moved aside" in done.stdout
        assert len(list((tmp_path / "first/var/lib").glob(f"edgestore-store-{store}-*/edge.sqlite3"))) == 1
        device = tomllib.loads((tmp_path / "first/etc/edgestore/edgestore.toml").read_text())["device_id"]
        assert [d["deviceId"] for d in other.get(f"/stores/{theirs}/devices").json()] == [device]
    assert seller.get(f"/stores/{theirs}/devices").status_code == 404
    assert len(seller.get(f"/stores/{store}/devices").json()) == 1


def test_a_broker_down_at_provisioning_fails_the_catalog_and_a_second_run_completes_it(
    deployment: Deployment, tmp_path: Path
):
    """Resumable: with the broker down the claim and the config are done and the catalog fails; the node
    started from that config sells offline; once the broker is back a second run waits for the running
    node's own link to take the catalog (no second connection with the node's login)."""
    seller = deployment.seller
    store = seller.post("/stores", json={"name": "中山店"}).json()["storeId"]
    make_product(seller)
    code = claim_code(seller, store)
    root = tmp_path / "pi"
    deployment.broker.stop()
    first = provision(
        root,
        "--cloud",
        deployment.web,
        "--claim-code",
        code,
        "--port",
        str(free_port()),
        "--sync-timeout",
        "3",
    )
    assert first.returncode == 1
    assert "✓ Claim: device" in first.stdout
    assert "✗ Catalog: no catalog after 3 s" in first.stdout
    assert "The broker cannot be reached" in first.stdout
    assert "✓ Services" in first.stdout  # the units are there: the node starts and takes it by itself
    config_file = root / "etc/edgestore/edgestore.toml"
    node = NodeProcess(config_file, tmp_path)
    try:
        assert not node.health()["online"]
        deployment.broker.start()
        again = provision(root)  # no code, no cloud: the config has both
        assert again.returncode == 0, again.stdout + again.stderr
        assert "registered before (no code used)" in again.stdout
        assert "✓ Catalog: catalog version" in again.stdout
        assert "(1 products)" in again.stdout
        wait_for(lambda: node.health()["online"], what="the node to link")
    finally:
        node.stop()
    assert len(seller.get(f"/stores/{store}/devices").json()) == 1
