"""The cloud's sync service on a real Mosquitto with the shipped ACL and cloud-managed passwords: a store
node's batch becomes orders in Postgres and an ack on the node's own topic; its last will rings the bell."""

import queue
import time

import httpx
import pytest

from cloud.sync_service import SyncService
from models.ids import new_id
from sync_protocol.encoding import decode_ack, encode
from sync_protocol.envelope import Batch, DeviceStatus, make_envelope
from sync_protocol.hlc import HLC
from sync_protocol.mqtt_link import MqttLink, MqttSettings
from sync_protocol.streams import Stream
from sync_protocol.topics import Topics
from tests.broker import MosquittoBroker
from tests.cloud.conftest import CloudServer, cloud_broker, cloud_mqtt, device_mqtt, sale
from tests.cloud.test_cloud_catalog import make_product

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("ingest_threads", [1, 2])
def test_a_batch_over_mqtt_becomes_orders_and_an_ack(
    cloud_server: CloudServer, seller: httpx.Client, tmp_path, ingest_threads: int
):
    store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    device = seller.post(f"/stores/{store}/devices", json={"name": "櫃台 Pi"}).json()
    product = make_product(seller)
    broker = cloud_broker(cloud_server, tmp_path / "broker").start()
    service = SyncService(
        cloud_server.cloud, cloud_mqtt(broker), cloud_server.clock, ingest_threads=ingest_threads
    )
    acks: queue.Queue[bytes] = queue.Queue()
    node = MqttLink(
        device_mqtt(broker, device),
        lambda topic, data: acks.put(data),
    )
    try:
        assert service.start()
        node.subscribe(str(Topics.ack(store, device["deviceId"])))
        assert node.start()
        time.sleep(0.3)  # let the subscription settle before the first ack can come
        now = cloud_server.clock()
        orders = [sale(store, product, [(0, 1)], now, device_id=device["deviceId"]) for _ in range(2)]
        messages = tuple(
            make_envelope(
                message_id=new_id(),
                store_id=store,
                device_id=device["deviceId"],
                seq=i + 1,
                hlc=HLC(1_800_000_000_000 + i, 0, device["deviceId"]),
                payload=o,
            )
            for i, o in enumerate(orders)
        )
        batch = Batch(
            batch_id=new_id(),
            store_id=store,
            device_id=device["deviceId"],
            stream=Stream.ORDERS,
            messages=messages,
        )
        assert node.publish(str(Topics.uplink(store, device["deviceId"], Stream.ORDERS)), encode(batch))
        ack = decode_ack(acks.get(timeout=10))
        assert ack.high_water_seq == 2
        assert seller.get("/orders").json()["totals"]["orders"] == 2
        # published again (the node never saw the ack): the same answer, no new orders
        assert node.publish(str(Topics.uplink(store, device["deviceId"], Stream.ORDERS)), encode(batch))
        assert decode_ack(acks.get(timeout=10)).high_water_seq == 2
        assert seller.get("/orders").json()["totals"]["orders"] == 2
        # a clean goodbye does not ring the bell; the node's last will (what the broker publishes when it
        # vanishes) does, once
        goodbye = DeviceStatus(store_id=store, device_id=device["deviceId"], online=False, goodbye=True)
        assert node.publish(str(Topics.status(store, device["deviceId"])), encode(goodbye), retain=True)
        offline = DeviceStatus(store_id=store, device_id=device["deviceId"], online=False)
        assert node.publish(str(Topics.status(store, device["deviceId"])), encode(offline), retain=True)
        deadline = time.monotonic() + 10
        kinds: list[str] = []
        while "storeOffline" not in kinds and time.monotonic() < deadline:
            kinds = [n["kind"] for n in seller.get("/notifications").json()["items"]]
            time.sleep(0.1)
        assert kinds.count("storeOffline") == 1
    finally:
        node.close()
        service.close()
        broker.stop()


def test_cloud_serve_runs_the_sync_service_when_mqtt_is_configured(postgres, tmp_path):
    from cloud.api.app import create_app
    from plumbing import serve_in_thread
    from tests.cloud.conftest import cloud_settings, register_and_login
    from tests.conftest import FakeClock

    broker = MosquittoBroker(tmp_path / "broker").start()  # anonymous: this test is about the wiring
    settings = cloud_settings(
        tmp_path, postgres.fresh_database(), cloud_mqtt_url=f"mqtt://127.0.0.1:{broker.port}"
    )
    clock = FakeClock()
    served = serve_in_thread(create_app(settings, clock), settings.cloud_port)
    acks: queue.Queue[bytes] = queue.Queue()
    node = MqttLink(
        MqttSettings(host="127.0.0.1", port=broker.port, client_id="node-x"), lambda t, d: acks.put(d)
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{settings.cloud_port}/api/v1", timeout=30) as seller:
            register_and_login(seller)
            store = seller.post("/stores", json={"name": "店"}).json()["storeId"]
            device = seller.post(f"/stores/{store}/devices", json={}).json()["deviceId"]
            product = make_product(seller)
            node.subscribe(str(Topics.ack(store, device)))
            assert node.start()
            time.sleep(0.3)
            order = sale(store, product, [(0, 1)], clock(), device_id=device)
            env = make_envelope(
                message_id=new_id(),
                store_id=store,
                device_id=device,
                seq=1,
                hlc=HLC(1_800_000_000_000, 0, device),
                payload=order,
            )
            batch = Batch(
                batch_id=new_id(), store_id=store, device_id=device, stream=Stream.ORDERS, messages=(env,)
            )
            deadline = time.monotonic() + 15
            while True:  # the service connects in the background; the node's first publish may precede it
                assert node.publish(str(Topics.uplink(store, device, Stream.ORDERS)), encode(batch))
                try:
                    assert decode_ack(acks.get(timeout=2)).high_water_seq == 1
                    break
                except queue.Empty:
                    assert time.monotonic() < deadline, "no ack from the cloud"
            assert seller.get(f"/orders/{order.order_id}").status_code == 200
    finally:
        node.close()
        served.stop(timeout_s=20)
        broker.stop()
