"""A store node sells; its outbox drains into the cloud through the sync protocol (without a broker here:
the batches the node builds go straight into the cloud's ingest, the acks straight back). Every order
arrives once, the node deletes only what the cloud committed, and both sides agree on stock."""

import httpx

from cloud.sync_uplink import handle_uplink
from edge import node_state
from edge.api.app import create_app as create_edge_app
from edge.catalog import load_snapshot
from edge.node import Node
from edge.settings import EdgeSettings
from edge.sync_uplink import apply_ack, pending_batches
from edge.tables import outbox
from models.catalog import CatalogSnapshot
from models.ids import new_id
from plumbing import free_port, serve_in_thread
from sync_protocol.encoding import encode
from sync_protocol.topics import Topics
from tests.cloud.conftest import CloudServer, restock
from tests.cloud.test_cloud_catalog import make_product


def test_sales_at_a_node_reach_the_cloud_exactly_once(
    cloud_server: CloudServer, seller: httpx.Client, tmp_path
):
    store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    device = seller.post(f"/stores/{store}/devices", json={"name": "Pi"}).json()["deviceId"]
    product = make_product(seller)
    variant = product["variants"][0]["variantId"]
    restock(seller, store, variant, 20)
    snapshot = CatalogSnapshot.model_validate(seller.get(f"/stores/{store}/catalog-snapshot").json())

    # A node set up the way provisioning will: the cloud's device id and store, the cloud's catalog.
    settings = EdgeSettings(data_dir=tmp_path / "node", port=free_port(), store_id=store)
    node = Node.open(settings)
    with node.db.write() as conn:
        node_state.put(conn, node_state.DEVICE_ID, device)
        load_snapshot(conn, snapshot, node.now())
    node.close()
    served = serve_in_thread(create_edge_app(settings), settings.port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{settings.port}/api/v1", timeout=30) as kiosk:
            for i in range(3):
                cart = kiosk.post("/carts", json={"items": [{"variantId": variant, "quantity": 2}]}).json()
                r = kiosk.post(
                    f"/carts/{cart['cartId']}/checkout",
                    json={"paymentMethod": "cash", "idempotencyKey": f"sale-{i}-xyz"},
                )
                assert r.status_code == 201, r.text
            assert kiosk.get("/health").json()["pendingOutbox"] > 0

        node = Node.open(settings)
        try:
            for _round in range(2):  # the second round resends nothing: all was acknowledged
                with node.db.read() as conn:
                    batches = pending_batches(conn, store_id=store, device_id=device, new_batch_id=new_id)
                for batch in batches:
                    topic = str(Topics.uplink(store, device, batch.stream))
                    ack = handle_uplink(cloud_server.cloud.db, topic, encode(batch), cloud_server.clock())
                    assert ack is not None
                    assert ack.missing == ()
                    assert ack.dead_lettered == ()
                    # the ack is lost once: the node sends the same batch again, the cloud changes nothing
                    again = handle_uplink(cloud_server.cloud.db, topic, encode(batch), cloud_server.clock())
                    assert again == ack
                    with node.db.write() as conn:
                        apply_ack(conn, ack, node.now())
            with node.db.read() as conn:
                assert conn.execute(outbox.select()).all() == []
        finally:
            node.close()
        with httpx.Client(base_url=f"http://127.0.0.1:{settings.port}/api/v1", timeout=30) as kiosk:
            assert kiosk.get("/health").json()["pendingOutbox"] == 0
            node_level = next(
                v["stock"]
                for v in kiosk.get(f"/catalog/products/{product['productId']}").json()["variants"]
                if v["variantId"] == variant
            )
    finally:
        served.stop(timeout_s=20)

    assert seller.get("/orders").json()["totals"]["orders"] == 3
    cloud_level = next(
        s["level"] for s in seller.get(f"/stores/{store}/stock").json() if s["variantId"] == variant
    )
    assert cloud_level == node_level == 20 - 3 * 2
