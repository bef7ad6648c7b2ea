"""Footfall end to end (issue 21), over a real Mosquitto with the shipped ACL and a real cloud on Postgres: door
crossings recorded at a running node (``record_crossing``, as the door counter records them) reach the cloud
on the footfall stream exactly once, also when the cloud's acks are lost and the node sends them again,
and the seller's dashboard counts the ins as the store's visitors for the day."""

import threading

import httpx
import pytest
from sqlalchemy import func, select

from cloud.tables import footfall_events
from edge.api.app import create_app as create_edge_app
from edge.footfall.events import record_crossing
from edge.node import Node
from models.business_days import business_day
from models.footfall import Direction, FootfallSource
from plumbing import serve_in_thread
from sync_protocol.encoding import decode_ack
from sync_protocol.streams import Stream
from tests.cloud.conftest import (
    CloudServer,
    provisioned_node,
    store_on_a_broker,
)
from tests.cloud.test_sync_end_to_end import wait_for

pytestmark = pytest.mark.slow


def test_crossings_reach_the_cloud_once_and_count_as_visitors(
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

    # Every footfall ack is lost on its way until the cloud has acked all N events once (acks are cumulative:
    # a later one would cover an earlier loss): the node hears nothing and must send them all again.
    n = 6
    footfall_acks: list[int] = []
    lost = threading.Event()
    real_publish = service.link.publish

    def lose_footfall_acks_until_all_were_taken(topic: str, payload: bytes, **kwargs) -> bool:
        if topic.endswith(f"/ack/{device['deviceId']}"):
            ack = decode_ack(payload)
            if ack.stream is Stream.FOOTFALL:
                footfall_acks.append(ack.high_water_seq)
                if not lost.is_set():
                    if ack.high_water_seq == n:
                        lost.set()
                    return True  # as if sent: it never reaches the node
        return real_publish(topic, payload, **kwargs)

    service.link.publish = lose_footfall_acks_until_all_were_taken  # type: ignore[method-assign]
    settings = provisioned_node(device, broker, tmp_path / "node", store, snapshot)
    assert service.start()
    app = create_edge_app(settings)
    served = serve_in_thread(app, settings.port)
    kiosk = httpx.Client(base_url=f"http://127.0.0.1:{settings.port}/api/v1", timeout=30)

    def cloud_events() -> list[tuple[str, str]]:
        with cloud_server.cloud.db.read() as conn:
            return sorted(
                conn.execute(
                    select(footfall_events.c.event_id, footfall_events.c.direction).where(
                        footfall_events.c.store_id == store
                    )
                ).all()
            )

    try:
        wait_for(lambda: kiosk.get("/health").json()["online"], what="the node to connect")
        node: Node = app.state.node  # the running node, as the door counter in its process holds it
        directions = [Direction.IN, Direction.IN, Direction.OUT, Direction.IN, Direction.IN, Direction.OUT]
        recorded = [record_crossing(node, d, FootfallSource.CAMERA) for d in directions]
        ins = directions.count(Direction.IN)
        assert len(recorded) == n
        for i in range(2):  # two sales the same day: the conversion is orders over visitors
            cart = kiosk.post("/carts", json={"items": [{"variantId": variant, "quantity": 1}]}).json()
            r = kiosk.post(
                f"/carts/{cart['cartId']}/checkout",
                json={"paymentMethod": "card", "idempotencyKey": f"footfall-{i}-sale"},
            )
            assert r.status_code == 201, r.text

        assert lost.wait(60), "the cloud never took all the footfall events"
        assert len(cloud_events()) == n
        assert kiosk.get("/health").json()["pendingOutbox"] >= n  # the node never heard
        # the node hears nothing, sends again (its resend plan) and is acked: the outbox empties
        wait_for(lambda: kiosk.get("/health").json()["pendingOutbox"] == 0, timeout=90, what="the outbox")
        assert footfall_acks.count(n) >= 2  # the cloud took the events at least twice...
        assert cloud_events() == sorted((e.event_id, e.direction.value) for e in recorded)  # ...kept once
        with cloud_server.cloud.db.read() as conn:
            assert conn.execute(select(func.count()).select_from(footfall_events)).scalar_one() == n

        day = business_day(recorded[0].occurred_at).isoformat()
        summary = seller.get(
            "/dashboard/summary", params={"dateFrom": day, "dateTo": day, "storeId": store}
        ).json()
        assert summary["conversion"] == [
            {"storeId": store, "day": day, "visitors": ins, "orders": 2, "rate": round(2 / ins, 4)}
        ]
    finally:
        kiosk.close()
        served.stop(timeout_s=20)
        service.close()
        broker.stop()
