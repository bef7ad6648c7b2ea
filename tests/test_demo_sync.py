"""``edgestore demo`` as a person runs it, linked: a real subprocess starts the cloud with its sync service, a
Mosquitto broker and a store node registered in the demo seller's first store. A sale at the node reaches the
cloud's orders and bell within seconds; Ctrl-C stops everything cleanly; a second run on the same folder finds
the same seller and the same device, and sells again."""

import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from plumbing import free_port, wait_until
from tests.conftest import EDGESTORE

pytestmark = pytest.mark.slow

BANNER_END = "Ctrl-C stops the demo"


class Demo:
    """One ``edgestore demo`` process; its output is read as it comes, so the pipe never fills."""

    def __init__(self, data_dir: Path) -> None:
        self.port, self.cloud_port = free_port(), free_port()
        self.api = f"http://127.0.0.1:{self.port}/api/v1"
        self.capi = f"http://127.0.0.1:{self.cloud_port}/api/v1"
        self.lines: list[str] = []
        self.banner_seen = threading.Event()
        self.proc = subprocess.Popen(
            [
                *EDGESTORE,
                "demo",
                "--data-dir",
                str(data_dir),
                "--port",
                str(self.port),
                "--cloud-port",
                str(self.cloud_port),
                "--no-kiosk",  # a window would open on a developer's display
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=os.environ | {"PYTHONUNBUFFERED": "1"},
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if BANNER_END in line:
                self.banner_seen.set()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for_banner(self, timeout: float = 300) -> str:
        deadline = time.monotonic() + timeout
        while not self.banner_seen.wait(0.5):
            assert self.proc.poll() is None, f"the demo exited early:\n{self.output}"
            assert time.monotonic() < deadline, f"no banner after {timeout} s:\n{self.output}"
        return self.output

    def interrupt(self) -> int:
        """Ctrl-C; the exit status once the demo has stopped."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
            raise AssertionError(f"the demo did not stop on SIGINT:\n{self.output}") from None
        self.reader.join(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return code


def field(banner: str, name: str) -> str:
    match = re.search(rf"^  {name} +(\S+)", banner, re.MULTILINE)
    assert match, f"no {name!r} line in the banner:\n{banner}"
    return match.group(1)


def login(capi: str) -> dict[str, str]:
    r = httpx.post(f"{capi}/auth/login", json={"account": "demo", "password": "edgestore-demo"}, timeout=10)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def sell_and_see_it_in_the_cloud(demo: Demo, auth: dict[str, str], tag: str) -> str:
    """The banner's checkout, over HTTP at the node; the order in the cloud's list and bell within seconds."""
    with httpx.Client(base_url=demo.api, timeout=30) as node:
        cart = node.post("/carts", json={"items": [{"variantId": "pineapple-cake-1", "quantity": 2}]})
        assert cart.status_code == 201, cart.text
        sale = node.post(
            f"/carts/{cart.json()['cartId']}/checkout",
            json={"paymentMethod": "cash", "couponCode": "WELCOME100", "idempotencyKey": f"demo-test-{tag}"},
        )
        assert sale.status_code == 201, sale.text
        order_id = sale.json()["orderId"]
        sold_at = time.monotonic()
        with httpx.Client(base_url=demo.capi, headers=auth, timeout=10) as cloud:
            while True:
                listed = [o["orderId"] for o in cloud.get("/orders", params={"limit": 5}).json()["items"]]
                if order_id in listed:
                    break
                assert time.monotonic() - sold_at < 20, f"order {order_id} not in the cloud:\n{demo.output}"
                time.sleep(0.2)
            bell = cloud.get("/notifications").json()["items"]
            assert any(n["kind"] == "newOrder" and n["refId"] == order_id for n in bell)
            order = cloud.get(f"/orders/{order_id}").json()
            assert order["deviceId"] == node.get("/health").json()["deviceId"]
        while node.get("/health").json()["pendingOutbox"]:  # the cloud's ack empties the outbox
            assert time.monotonic() - sold_at < 20, node.get("/health").text
            time.sleep(0.2)
    return order_id


def return_at_the_counter(demo: Demo, auth: dict[str, str], banner: str, order_id: str) -> None:
    """The banner's staff login and return: the manager it prints logs in at the node with its PIN, takes
    the sale back, and the cloud's order names them."""
    manager = re.search(r"^  manager +(\S+) / PIN (\d{4,8})", banner, re.MULTILINE)
    assert manager, banner
    assert re.search(r"^  cashier +\S+ / PIN \d{4,8}", banner, re.MULTILINE), banner
    name, pin = manager.groups()
    with httpx.Client(base_url=demo.api, timeout=30) as node:
        session = node.post("/staff/login", json={"name": name, "pin": pin})
        assert session.status_code == 200, session.text
        token = {"Authorization": f"Bearer {session.json()['token']}"}
        assert node.get("/orders", params={"limit": 1}).status_code == 401  # staff only
        latest = node.get("/orders", params={"limit": 1}, headers=token).json()["items"][0]["orderId"]
        assert latest == order_id
        done = node.post(f"/orders/{order_id}/transitions", json={"toStatus": "returned"}, headers=token)
        assert done.status_code == 200, done.text
    deadline = time.monotonic() + 20
    with httpx.Client(base_url=demo.capi, headers=auth, timeout=10) as cloud:
        while cloud.get(f"/orders/{order_id}").json()["status"] != "returned":
            assert time.monotonic() < deadline, f"the return did not reach the cloud:\n{demo.output}"
            time.sleep(0.2)
        [event] = [
            e for e in cloud.get(f"/orders/{order_id}").json()["events"] if e["toStatus"] == "returned"
        ]
    assert event["staff"]["name"] == name


def provision_a_second_pi(banner: str) -> None:
    """The banner's provisioning line, run as printed: a second Pi claims its place in the demo seller's
    other store and takes that store's catalog from the demo's cloud over the demo's broker."""
    line = re.search(
        r"^  (edgestore provision --cloud \S+ --claim-code \S+ --root \S+ .*)$", banner, re.MULTILINE
    )
    assert line, banner
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGESTORE_")}
    done = subprocess.run(
        [*EDGESTORE, *line.group(1).split()[1:], "--lang", "en"],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "✓ Claim: device" in done.stdout
    assert "✓ Catalog: catalog version" in done.stdout


def the_door_counts(demo: Demo, banner: str) -> None:
    """The demo's door counter records crossings at the node as it sees them (a staff read)."""
    wait_until(lambda: "Door counter (edge/footfall/)" in demo.output, timeout_s=60, what="the door's lines")
    manager = re.search(r"^  manager +(\S+) / PIN (\d{4,8})", banner, re.MULTILINE)
    assert manager, banner
    with httpx.Client(base_url=demo.api, timeout=30) as node:
        token = node.post("/staff/login", json={"name": manager[1], "pin": manager[2]}).json()["token"]
        staff = {"Authorization": f"Bearer {token}"}

        def counted() -> bool:
            day = node.get("/footfall", headers=staff).json()
            return bool(day["inCount"] + day["outCount"])

        wait_until(counted, timeout_s=90, what="a crossing at the demo's door")


def a_phone_over_bluetooth(demo: Demo) -> None:
    """The banner's phone lines, run as printed: the store found, its catalog over the virtual radio."""
    wait_until(lambda: "Phones (edge/ble/)" in demo.output, timeout_s=60, what="the phones' lines")
    scan = re.search(
        r"find the store +edgestore ble scan --transport (tcp-client:127\.0\.0\.1:\d+)", demo.output
    )
    assert scan, demo.output
    found = subprocess.run(
        [*EDGESTORE, "ble", "scan", "--transport", scan.group(1), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert found.returncode == 0, found.stderr
    assert len(json.loads(found.stdout)) == 1
    browse = re.search(r"browse +edgestore ble call catalogPage --transport (\S+) --body '(.+)'", demo.output)
    assert browse, demo.output
    page = subprocess.run(
        [*EDGESTORE, "ble", "call", "catalogPage", "--transport", browse.group(1), "--body", browse.group(2)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert page.returncode == 0, page.stderr
    assert len(json.loads(page.stdout)["items"]) == 5


def test_the_demo_runs_linked_and_a_sale_reaches_the_cloud_then_a_rerun_finds_it_all(reachable_tmp):
    data_dir = reachable_tmp / "demo"

    first = Demo(data_dir)
    try:
        banner = first.wait_for_banner()
        device_id = field(banner, "device id")
        assert field(banner, "cloud link") == "online:"
        broker_url = re.search(r"^Broker \(Mosquitto\) +(mqtt://127\.0\.0\.1:\d+)", banner, re.MULTILINE)
        assert broker_url, banner
        assert f"the node is connected to {broker_url.group(1)}" in banner
        assert f"{first.api}/orders" in banner
        wait_until(lambda: "Kiosk (kiosk_ui/)" in first.output, timeout_s=30, what="the kiosk's lines")
        assert f"edgestore kiosk --edge-url {first.api}" in first.output
        assert "'pineapple-cake-1'" in banner or '"variantId":"pineapple-cake-1"' in banner
        assert "reaches the cloud within seconds" in banner
        assert "demo / edgestore-demo" in banner
        assert "WELCOME100" in banner

        health = httpx.get(f"{first.api}/health", timeout=10).json()
        assert health["deviceId"] == device_id
        assert health["online"] is True
        assert health["catalogVersion"] == int(field(banner, "catalog version"))
        search = httpx.get(f"{first.api}/catalog/products", params={"q": "鳳梨"}, timeout=10).json()
        product = httpx.get(
            f"{first.api}/catalog/products/{search['items'][0]['productId']}", timeout=10
        ).json()
        assert "pineapple-cake-1" in [v["variantId"] for v in product["variants"]]

        auth = login(first.capi)
        assert httpx.get(f"{first.capi}/orders", headers=auth, timeout=10).json()["totals"]["orders"] > 100
        assert len(httpx.get(f"{first.capi}/products", headers=auth, timeout=10).json()["items"]) == 14
        assert httpx.get(f"{first.capi}/dashboard/summary", headers=auth, timeout=10).json()["conversion"]
        stores = httpx.get(f"{first.capi}/stores", headers=auth, timeout=10).json()
        store = next(s for s in stores if s["storeId"] == health["storeId"])
        assert store["name"] == "信義門市 Xinyi"
        devices = httpx.get(
            f"{first.capi}/stores/{store['storeId']}/devices", headers=auth, timeout=10
        ).json()
        assert [d["deviceId"] for d in devices] == [device_id]
        assert devices[0]["downlinkSeq"] is not None  # its status on connect said where it stands
        assert "downlinkSeq" in banner

        sold = sell_and_see_it_in_the_cloud(first, auth, "first-run")
        return_at_the_counter(first, auth, banner, sold)
        provision_a_second_pi(banner)
        a_phone_over_bluetooth(first)
        the_door_counts(first, banner)
    finally:
        code = first.interrupt()
    out = first.output
    assert code == 0, out
    assert "demo stopped" in out
    assert "Traceback" not in out
    assert not (data_dir / "broker" / "mosquitto.pid").exists()  # Mosquitto removes it when it stops

    again = Demo(data_dir)
    try:
        banner = again.wait_for_banner(timeout=180)
        assert f"found the store node's device {device_id}" in banner
        assert field(banner, "device id") == device_id
        assert field(banner, "cloud link") == "online:"
        auth = login(again.capi)
        devices = httpx.get(
            f"{again.capi}/stores/{store['storeId']}/devices", headers=auth, timeout=10
        ).json()
        assert [d["deviceId"] for d in devices] == [device_id]  # no second device piled up
        assert len(httpx.get(f"{again.capi}/products", headers=auth, timeout=10).json()["items"]) == 14
        sell_and_see_it_in_the_cloud(again, auth, "second-run")
    finally:
        code = again.interrupt()
    assert code == 0, again.output
    assert "Traceback" not in again.output
