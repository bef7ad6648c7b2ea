"""Z-reports from a real node to a real cloud: a manager closes the till at the node, the report goes up the
``zReports`` stream (through the cloud's ingest, every batch delivered twice), the seller reads it in the
API and the dashboard (zh-TW and English) with the drawer's short marked, and a short drawer rings the bell
once. Another seller sees none of it; a device may report only its own till's periods, adding up."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from cloud.sync_uplink import handle_uplink
from edge import node_state
from edge.api.app import create_app as create_edge_app
from edge.catalog import load_snapshot
from edge.node import Node
from edge.settings import EdgeSettings
from edge.sync_uplink import apply_ack, pending_batches
from models.catalog import CatalogSnapshot
from models.end_of_day import TillSale, ZReport, till_figures
from models.ids import new_id
from models.sales import PaymentMethod
from models.staff import StaffRef, StaffRole
from plumbing import free_port, serve_in_thread
from sync_protocol.encoding import encode
from sync_protocol.envelope import Batch
from sync_protocol.errors import RejectReason
from sync_protocol.topics import Topics
from tests.cloud.conftest import CloudServer, restock
from tests.cloud.test_cloud_catalog import make_product
from tests.cloud.test_dashboard_pages import browser
from tests.cloud.test_sync_downlink import running_rig
from tests.cloud.test_sync_end_to_end import wait_for
from tests.cloud.test_sync_trust import Device, dead_seqs, publish, reasons, registered
from tests.edge.helpers import as_staff


@dataclass
class Till:
    """A store node of the seller's store, served, with a manager logged in."""

    client: httpx.Client
    manager: dict[str, str]
    settings: EdgeSettings
    store: str
    device: str
    variants: list[str]

    def sell(self, variant: int, quantity: int, method: str = "cash") -> dict:
        cart = self.client.post(
            "/carts", json={"items": [{"variantId": self.variants[variant], "quantity": quantity}]}
        )
        r = self.client.post(f"/carts/{cart.json()['cartId']}/checkout", json={"paymentMethod": method})
        assert r.status_code == 201, r.text
        return r.json()

    def close(self, **body: object) -> dict:
        r = self.client.post("/end-of-day", json=body, headers=self.manager)
        assert r.status_code == 201, r.text
        return r.json()


@contextmanager
def till_of(seller: httpx.Client, tmp_path: Path, name: str = "信義店") -> Iterator[Till]:
    """A node set up as provisioning leaves one: the cloud's device id, store and catalog."""
    store = seller.post("/stores", json={"name": name}).json()["storeId"]
    device = seller.post(f"/stores/{store}/devices", json={"name": "Pi"}).json()["deviceId"]
    product = make_product(seller)
    variants = [v["variantId"] for v in product["variants"]]
    for variant in variants:
        restock(seller, store, variant, 20)
    snapshot = CatalogSnapshot.model_validate(seller.get(f"/stores/{store}/catalog-snapshot").json())
    settings = EdgeSettings(data_dir=tmp_path / "node", port=free_port(), store_id=store)
    node = Node.open(settings)
    with node.db.write() as conn:
        node_state.put(conn, node_state.DEVICE_ID, device)
        load_snapshot(conn, snapshot, node.now())
    node.close()
    served = serve_in_thread(create_edge_app(settings), settings.port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{settings.port}/api/v1", timeout=30) as client:
            manager = as_staff(client, settings, StaffRole.MANAGER)
            yield Till(client, manager, settings, store, device, variants)
    finally:
        served.stop(timeout_s=20)


def drain(server: CloudServer, till: Till) -> None:
    """What the node's outbox holds, into the cloud's ingest, each batch twice (its ack lost once); rounds
    until nothing waits (a status change goes once its order has)."""
    node = Node.open(till.settings)
    try:
        for _round in range(3):
            with node.db.read() as conn:
                batches = pending_batches(
                    conn, store_id=till.store, device_id=till.device, new_batch_id=new_id
                )
            _deliver(server, till, node, batches)
    finally:
        node.close()


def _deliver(server: CloudServer, till: Till, node: Node, batches: list[Batch]) -> None:
    for batch in batches:
        topic = str(Topics.uplink(till.store, till.device, batch.stream))
        ack = handle_uplink(server.cloud.db, topic, encode(batch), server.clock())
        assert ack is not None
        assert (ack.missing, ack.dead_lettered) == ((), ())
        assert handle_uplink(server.cloud.db, topic, encode(batch), server.clock()) == ack
        with node.db.write() as conn:
            apply_ack(conn, ack, node.now())


def test_a_z_report_closed_at_the_node_reaches_the_seller_and_a_short_drawer_rings_once(
    cloud_server: CloudServer, seller: httpx.Client, other_seller: httpx.Client, tmp_path: Path
):
    with till_of(seller, tmp_path) as till:
        till.sell(0, 2)  # cash 900
        till.sell(1, 1, "card")  # card 850
        returned = till.sell(0, 1)  # cash 450, given back at the counter
        r = till.client.post(
            f"/orders/{returned['orderId']}/transitions", json={"toStatus": "returned"}, headers=till.manager
        )
        assert r.status_code == 200, r.text
        first = till.close(openingFloat=3000, countedCash=3400, note="少了一張五百")
        assert first["figures"]["cashExpected"] == 3000 + 900 + 450 - 450 == 3900
        assert first["figures"]["overShort"] == -500
        till.sell(1, 1)  # cash 850
        second = till.close(openingFloat=3000, countedCash=3850)  # the drawer matches: no bell
        drain(cloud_server, till)
        assert till.client.get("/health").json()["pendingOutbox"] == 0

    # The API: the store's reports, the latest first, exactly as the node made them.
    url = f"/stores/{till.store}/z-reports"
    listed = seller.get(url).json()
    assert [z["number"] for z in listed["items"]] == [2, 1]
    assert listed["nextCursor"] is None
    assert ZReport.model_validate(listed["items"][1]) == ZReport.model_validate(first)
    assert ZReport.model_validate(listed["items"][0]) == ZReport.model_validate(second)
    page = seller.get(url, params={"limit": 1}).json()
    assert [z["number"] for z in page["items"]] == [2]
    rest = seller.get(url, params={"limit": 1, "cursor": page["nextCursor"]}).json()
    assert ([z["number"] for z in rest["items"]], rest["nextCursor"]) == ([1], None)
    assert seller.get(url, params={"cursor": "AAAA"}).json()["error"]["code"] == "invalidCursor"

    # The bell: once, for the short drawer, in the reader's language.
    shorts = [n for n in seller.get("/notifications").json()["items"] if n["kind"] == "cashShort"]
    assert len(shorts) == 1
    [short] = shorts
    assert short["title"] == "信義店 日結 #1 現金短少 NT$500"
    assert (
        short["body"]
        == f"錢櫃應有 NT$3,900，實點 NT$3,400（營業日 {first['businessDay']}，店長 Manager 結帳）"
    )
    assert (short["refType"], short["refId"], short["params"]["storeId"]) == (
        "zReport",
        first["zReportId"],
        till.store,
    )
    english = seller.get("/notifications", headers={"Accept-Language": "en"}).json()["items"]
    [short_en] = [n for n in english if n["kind"] == "cashShort"]
    assert short_en["title"] == "Cash short NT$500: 信義店, Z-report #1"
    assert short_en["body"].startswith("The drawer should hold NT$3,900; 店長 Manager counted NT$3,400")

    # The dashboard: the store's Z-reports tab, the short drawer marked, in both languages.
    with browser(cloud_server) as page_client:
        page_client.cookies.set("edgestore_session", seller.headers["Authorization"].removeprefix("Bearer "))
        html = page_client.get(f"/z-reports?store={till.store}").text
        assert re.search(r'href="/z-reports" class="on" aria-current="page">日結報表<', html)
        assert "信義店的日結報表" in html
        assert f'id="z-{first["zReportId"]}"' in html
        assert re.search(rf'class="list-item z-report short" id="z-{first["zReportId"]}"', html)
        assert '<span class="tag bad z-short">短少 NT$500</span>' in html
        assert '<span class="tag ok">現金相符</span>' in html
        assert "少了一張五百" in html
        assert html.index("Z帳 #2") < html.index("Z帳 #1")  # the latest first
        assert f'href="/z-reports?store={till.store}"' in page_client.get("/stores").text
        bell_page = page_client.get("/notifications").text
        assert f'href="/z-reports?store={till.store}#z-{first["zReportId"]}"' in bell_page
        assert page_client.get("/z-reports").text.count('class="list-item z-report') == 2  # its only store
        page_client.cookies.set("lang", "en")
        english_html = page_client.get(f"/z-reports?store={till.store}").text
        assert "Z-reports of 信義店" in english_html
        assert '<span class="tag bad z-short">Short NT$500</span>' in english_html
        assert "Cash matches" in english_html
        assert ">Z-reports<" in english_html

    # Another seller: nothing, neither in the API nor on a page.
    hidden = other_seller.get(url)
    assert (hidden.status_code, hidden.json()["error"]["code"]) == (404, "storeNotFound")
    assert [n for n in other_seller.get("/notifications").json()["items"] if n["kind"] == "cashShort"] == []
    with browser(cloud_server) as intruder:
        intruder.cookies.set(
            "edgestore_session", other_seller.headers["Authorization"].removeprefix("Bearer ")
        )
        assert intruder.get(f"/z-reports?store={till.store}").status_code == 404
        theirs = intruder.get("/z-reports").text
        assert 'class="list-item z-report' not in theirs
        assert "還沒有商店" in theirs


def _report(device: Device, number: int, at: datetime, **changes: object) -> ZReport:
    """A Z-report of the device's till: one cash sale, the drawer counted right."""
    sales = [TillSale("o1", at, 850, 0, 0, ((PaymentMethod.CASH, 850),))]
    report = ZReport(
        store_id=device.store,
        device_id=device.device,
        business_day=at.date(),
        period_start=at - timedelta(hours=9),
        period_end=at,
        figures=till_figures(sales, [], opening_float=1000, counted_cash=1850),
        z_report_id=new_id(),
        number=number,
        closed_by=StaffRef(staff_id="local-manager", name="王店長"),
    )
    return report.model_copy(update=changes)


@pytest.fixture
def device(seller: httpx.Client) -> Device:
    return registered(seller, "西門店")


def test_a_device_reports_only_its_own_tills_periods_and_figures_that_add_up(
    cloud_server: CloudServer, seller: httpx.Client, device: Device
):
    at = cloud_server.clock()
    good = _report(device, 1, at)
    assert dead_seqs(publish(cloud_server, device, [good])) == []
    assert dead_seqs(publish(cloud_server, device, [good])) == []  # a repeat (its own seq): kept once
    other = registered(seller, "板橋店")
    forged = [
        _report(device, 2, at, device_id=other.device),  # another till's
        _report(device, 1, at),  # the till's number 1 again, under another id
        _report(device, 3, at, z_report_id=good.z_report_id),  # an id the cloud holds as number 1
        _report(device, 4, at, figures=good.figures.model_copy(update={"net_sales": 1})),  # not adding up
    ]
    ack = publish(cloud_server, device, forged)
    assert len(dead_seqs(ack)) == 4
    assert reasons(cloud_server)[-4:] == [
        RejectReason.FOREIGN_REFERENCE.value,
        RejectReason.BAD_PAYLOAD.value,
        RejectReason.BAD_PAYLOAD.value,
        RejectReason.BAD_AMOUNTS.value,
    ]
    listed = seller.get(f"/stores/{device.store}/z-reports").json()["items"]
    assert [z["zReportId"] for z in listed] == [good.z_report_id]
    assert seller.get(f"/stores/{other.store}/z-reports").json()["items"] == []
    assert [n for n in seller.get("/notifications").json()["items"] if n["kind"] == "cashShort"] == []


@pytest.mark.slow
def test_a_z_report_goes_up_over_mosquitto_and_rings_the_bell(
    cloud_server: CloudServer, seller: httpx.Client, tmp_path: Path
):
    """The whole way: a node linked over a real broker with the shipped ACL sells, a manager closes the
    till short, and the report reaches the seller's list and bell through the cloud's sync service."""
    store = seller.post("/stores", json={"name": "西門店"}).json()["storeId"]
    product = make_product(seller)
    variant = product["variants"][0]["variantId"]
    restock(seller, store, variant, 10)
    with running_rig(cloud_server, seller, tmp_path, [store]) as rig:
        node = rig.start_node(0)
        wait_for(lambda: node.level(product["productId"], variant) == 10, what="the node's catalog")
        node.sell(variant, 2, "end-of-day")
        closed = node.kiosk.post(
            "/end-of-day", json={"openingFloat": 1000, "countedCash": 1800}, headers=node.manager
        )
        assert closed.status_code == 201, closed.text
        report = closed.json()
        assert report["figures"]["overShort"] == 1800 - (1000 + 2 * 450)
        wait_for(lambda: node.pending() == 0, what="the outbox drained")
        wait_for(lambda: seller.get(f"/stores/{store}/z-reports").json()["items"] != [], what="the report")
    [kept] = seller.get(f"/stores/{store}/z-reports").json()["items"]
    assert ZReport.model_validate(kept) == ZReport.model_validate(report)
    [short] = [n for n in seller.get("/notifications").json()["items"] if n["kind"] == "cashShort"]
    assert short["title"] == "西門店 日結 #1 現金短少 NT$100"
