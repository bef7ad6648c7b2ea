"""The e-invoice choice from the kiosk to the seller (issue 17): a real node sells with each kind, its outbox
drains through the sync protocol into the cloud's ingest (batches straight into ``handle_uplink``, as in
test_edge_to_cloud), and the cloud's order API and order page show the choice, in zh-TW and English."""

import re

import httpx

from cloud.sync_uplink import handle_uplink
from edge import node_state
from edge.api.app import create_app as create_edge_app
from edge.catalog import load_snapshot
from edge.node import Node
from edge.settings import EdgeSettings
from edge.sync_uplink import apply_ack, pending_batches
from models.catalog import CatalogSnapshot
from models.ids import new_id
from plumbing import free_port, serve_in_thread
from sync_protocol.encoding import encode
from sync_protocol.topics import Topics
from tests.cloud.conftest import CloudServer, register_and_login, restock
from tests.cloud.test_cloud_catalog import make_product

CHOICES = {
    "none": {"kind": "none"},
    "carrier": {"kind": "carrier", "value": "/ABC1234"},
    "donation": {"kind": "donation", "value": "8585"},
    "taxId": {"kind": "taxId", "value": "22099131"},
    "unasked": None,
}
PASSWORD = "correct horse 1"


def _sell(settings: EdgeSettings, variant: str) -> dict[str, str]:
    """One sale per choice at the node's kiosk API; their order ids."""
    sold = {}
    served = serve_in_thread(create_edge_app(settings), settings.port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{settings.port}/api/v1", timeout=30) as kiosk:
            for name, choice in CHOICES.items():
                cart = kiosk.post("/carts", json={"items": [{"variantId": variant, "quantity": 1}]}).json()
                body = {"paymentMethod": "card"} | ({"einvoice": choice} if choice else {})
                r = kiosk.post(f"/carts/{cart['cartId']}/checkout", json=body)
                assert r.status_code == 201, r.text
                sold[name] = r.json()["orderId"]
    finally:
        served.stop(timeout_s=20)
    return sold


def _drain(cloud_server: CloudServer, settings: EdgeSettings, store: str, device: str) -> None:
    node = Node.open(settings)
    try:
        with node.db.read() as conn:
            batches = pending_batches(conn, store_id=store, device_id=device, new_batch_id=new_id)
        for batch in batches:
            topic = str(Topics.uplink(store, device, batch.stream))
            ack = handle_uplink(cloud_server.cloud.db, topic, encode(batch), cloud_server.clock())
            assert ack is not None
            assert ack.dead_lettered == ()
            with node.db.write() as conn:
                apply_ack(conn, ack, node.now())
        with node.db.read() as conn:
            assert pending_batches(conn, store_id=store, device_id=device, new_batch_id=new_id) == []
    finally:
        node.close()


def _web_login(web: httpx.Client, account: str) -> None:
    page = web.get("/login").text
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert csrf
    r = web.post("/login", data={"csrf": csrf.group(1), "account": account, "password": PASSWORD})
    assert r.status_code == 303, r.text


def test_each_choice_reaches_the_cloud_and_its_order_page(cloud_server: CloudServer, tmp_path):
    with cloud_server.client() as seller:
        register_and_login(seller, "einvoice", PASSWORD)
        store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
        device = seller.post(f"/stores/{store}/devices", json={"name": "Pi"}).json()["deviceId"]
        product = make_product(seller)
        variant = product["variants"][0]["variantId"]
        restock(seller, store, variant, 20)
        snapshot = CatalogSnapshot.model_validate(seller.get(f"/stores/{store}/catalog-snapshot").json())

        settings = EdgeSettings(data_dir=tmp_path / "node", port=free_port(), store_id=store)
        node = Node.open(settings)
        with node.db.write() as conn:
            node_state.put(conn, node_state.DEVICE_ID, device)
            load_snapshot(conn, snapshot, node.now())
        node.close()
        sold = _sell(settings, variant)
        _drain(cloud_server, settings, store, device)

        # the order API: the choice as the shopper made it, absent when none was asked for
        for name, choice in CHOICES.items():
            order = seller.get(f"/orders/{sold[name]}").json()
            assert order.get("einvoice") == ({"value": None} | choice if choice else None), name
        listed = {o["orderId"]: o for o in seller.get("/orders").json()["items"]}
        assert listed[sold["taxId"]]["einvoice"] == {"kind": "taxId", "value": "22099131"}

    with httpx.Client(base_url=f"http://127.0.0.1:{cloud_server.settings.cloud_port}", timeout=30) as web:
        _web_login(web, "einvoice")
        expected_zh = {
            "none": "不使用載具（列印證明聯）",
            "carrier": "手機條碼載具 /ABC1234",
            "donation": "捐贈，愛心碼 8585",
            "taxId": "統一編號 22099131",
        }
        for name, words in expected_zh.items():
            page = web.get(f"/orders/{sold[name]}").text
            assert "電子發票" in page
            assert f'<dd id="order-einvoice">{words}</dd>' in page, name
        assert 'id="order-einvoice"' not in web.get(f"/orders/{sold['unasked']}").text
        web.get("/lang/en", params={"next": "/"})
        english = web.get(f"/orders/{sold['carrier']}").text
        assert "E-invoice" in english
        assert '<dd id="order-einvoice">Mobile barcode carrier /ABC1234</dd>' in english
        assert "Donated, donation code 8585" in web.get(f"/orders/{sold['donation']}").text
