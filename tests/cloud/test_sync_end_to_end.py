"""End to end over a real Mosquitto with the shipped ACL and the cloud's passwords: a store node sells, its
outbox drains to the cloud and empties; the broker goes down, the node keeps selling, the broker comes back
and everything arrives exactly once; both sides agree on stock."""

import time

import httpx
import pytest

from edge.api.app import create_app as create_edge_app
from plumbing import serve_in_thread
from plumbing.version import VERSION
from tests.cloud.conftest import (
    CloudServer,
    provisioned_node,
    store_on_a_broker,
)

pytestmark = pytest.mark.slow


def wait_for(check, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_node_to_cloud_over_mqtt_with_the_broker_down_in_between(
    cloud_server: CloudServer, seller: httpx.Client, tmp_path
):
    at = store_on_a_broker(cloud_server, seller, tmp_path / "broker")
    store, device, variant, snapshot, broker, service = (
        at.store_id,
        at.device,
        at.variant_id,
        at.snapshot,
        at.broker,
        at.service,
    )
    settings = provisioned_node(device, broker, tmp_path / "node", store, snapshot)
    assert service.start()
    served = serve_in_thread(create_edge_app(settings), settings.port)
    kiosk = httpx.Client(base_url=f"http://127.0.0.1:{settings.port}/api/v1", timeout=30)

    def sell(n: int, tag: str) -> None:
        for i in range(n):
            cart = kiosk.post("/carts", json={"items": [{"variantId": variant, "quantity": 1}]}).json()
            r = kiosk.post(
                f"/carts/{cart['cartId']}/checkout",
                json={"paymentMethod": "card", "idempotencyKey": f"{tag}-{i}-sale"},
            )
            assert r.status_code == 201, r.text

    def cloud_orders() -> int:
        return seller.get("/orders").json()["totals"]["orders"]

    try:
        wait_for(lambda: kiosk.get("/health").json()["online"], what="the node to connect")
        # its status says how it is doing (issue 19): the seller's Devices page shows it
        wait_for(lambda: seller.get(f"/stores/{store}/devices").json()[0]["online"], what="its status")
        listed = seller.get(f"/stores/{store}/devices").json()[0]
        assert listed["softwareVersion"] == VERSION
        assert listed["ip"] == "127.0.0.1"  # the address it reaches the broker from
        assert listed["uptimeS"] is not None
        assert listed["syncLag"]["feedBehind"] == 0
        sell(3, "online")
        wait_for(lambda: cloud_orders() == 3, what="3 orders in the cloud")
        wait_for(lambda: kiosk.get("/health").json()["pendingOutbox"] == 0, what="the outbox to drain")

        broker.stop()  # the store loses the internet
        wait_for(lambda: not kiosk.get("/health").json()["online"], what="the node to notice")
        sell(20, "offline")
        assert kiosk.get("/health").json()["pendingOutbox"] >= 20
        assert cloud_orders() == 3

        broker.start()  # back
        wait_for(lambda: cloud_orders() == 23, timeout=60, what="the offline sales to arrive")
        wait_for(lambda: kiosk.get("/health").json()["pendingOutbox"] == 0, what="the outbox to drain again")
        node_level = next(
            v["stock"]
            for v in kiosk.get(f"/catalog/products/{at.product_id}").json()["variants"]
            if v["variantId"] == variant
        )
        cloud_level = next(
            s["level"] for s in seller.get(f"/stores/{store}/stock").json() if s["variantId"] == variant
        )
        assert node_level == cloud_level == 50 - 23
        assert seller.get("/orders", params={"limit": 200}).json()["totals"]["orders"] == 23
    finally:
        kiosk.close()
        served.stop(timeout_s=20)
        service.close()
        broker.stop()
