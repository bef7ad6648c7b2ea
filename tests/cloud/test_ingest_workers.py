"""Two cloud ingest workers on a real Mosquitto and Postgres, splitting the uplink by store
(``sync_protocol.partition``): each takes only its own stores' streams and presence, each stream keeps one
writer, a store made after they started is taken up by its worker, and every sale lands exactly once."""

import queue
import time
from dataclasses import replace

import httpx
import pytest

from cloud.sync_service import SyncService
from models.ids import new_id
from sync_protocol.encoding import decode_ack, encode
from sync_protocol.envelope import Batch, make_envelope
from sync_protocol.hlc import HLC
from sync_protocol.mqtt_link import MqttLink
from sync_protocol.partition import Partition, store_partition
from sync_protocol.streams import Stream
from sync_protocol.topics import Topics
from tests.cloud.conftest import CloudServer, cloud_broker, cloud_mqtt, device_mqtt, sale
from tests.cloud.test_cloud_catalog import make_product

pytestmark = pytest.mark.slow


def store_in(seller: httpx.Client, worker: int, made: list[str]) -> tuple[str, dict]:
    """A new store (with its device) whose id hashes to ``worker`` of 2 (store ids are random: a few tries)."""
    for _ in range(40):
        store_id = seller.post("/stores", json={"name": f"店 {len(made)}"}).json()["storeId"]
        made.append(store_id)
        if store_partition(store_id, 2) == worker:
            device = seller.post(f"/stores/{store_id}/devices", json={"name": "Pi"}).json()
            return store_id, device
    raise AssertionError("no store hashed to that worker in 40 tries")


def batch_of(store_id: str, device_id: str, product: dict, at, first_seq: int, n: int) -> Batch:
    orders = [sale(store_id, product, [(0, 1)], at, device_id=device_id) for _ in range(n)]
    messages = tuple(
        make_envelope(
            message_id=new_id(),
            store_id=store_id,
            device_id=device_id,
            seq=first_seq + i,
            hlc=HLC(1_800_000_000_000 + first_seq + i, 0, device_id),
            payload=o,
        )
        for i, o in enumerate(orders)
    )
    return Batch(
        batch_id=new_id(), store_id=store_id, device_id=device_id, stream=Stream.ORDERS, messages=messages
    )


def test_two_workers_split_the_stores_and_every_sale_lands_once(
    cloud_server: CloudServer, seller: httpx.Client, tmp_path
):
    product = make_product(seller)
    made: list[str] = []
    # one store for worker 0, two for worker 1 (their devices in the broker's password file from the start)
    stores = [store_in(seller, 0, made), store_in(seller, 1, made), store_in(seller, 1, made)]
    broker = cloud_broker(cloud_server, tmp_path / "broker", cloud_workers=2).start()
    services: list[SyncService] = []
    taken: dict[int, list[str]] = {0: [], 1: []}  # the stores each worker ingested a batch of
    links: list[MqttLink] = []
    try:
        for k in (0, 1):
            mqtt = replace(cloud_mqtt(broker), client_id=f"edgestore-cloud-test-{k}")
            service = SyncService(
                cloud_server.cloud, mqtt, cloud_server.clock, partition=Partition(k, 2), stores_every_s=0.2
            )
            ingest = service._ingest

            def recorded(topic: str, data: bytes, k: int = k, ingest=ingest):
                taken[k].append(topic.split("/")[3])
                return ingest(topic, data)

            service._ingest = recorded  # type: ignore[method-assign]
            services.append(service)
        assert all(s.start() for s in services)
        # each on its own broker account: one account's client id is its login, and two would fight over it
        assert [s.link.settings.username for s in services] == ["edgestore-cloud", "edgestore-cloud-1"]
        # every store made before the workers (those tried on the way too) is taken at the start, by one
        assert services[0]._owned == {s for s in made if store_partition(s, 2) == 0}
        assert services[1]._owned == {s for s in made if store_partition(s, 2) == 1}
        assert {stores[0][0]} <= services[0]._owned
        assert {stores[1][0], stores[2][0]} <= services[1]._owned

        acks: queue.Queue[tuple[str, int]] = queue.Queue()
        for store_id, device in stores:
            link = MqttLink(
                device_mqtt(broker, device),
                lambda topic, data: acks.put((topic.split("/")[3], decode_ack(data).high_water_seq)),
            )
            link.subscribe(str(Topics.ack(store_id, device["deviceId"])))
            assert link.start()
            links.append(link)
        time.sleep(0.3)  # the subscriptions settle before the first ack
        now = cloud_server.clock()
        for (store_id, device), link in zip(stores, links, strict=True):
            for first in (1, 4, 1):  # the third is the first again: the node never saw its ack
                batch = batch_of(store_id, device["deviceId"], product, now, first, 3)
                assert link.publish(
                    str(Topics.uplink(store_id, device["deviceId"], Stream.ORDERS)), encode(batch)
                )
        got = [acks.get(timeout=15) for _ in range(9)]
        assert sorted(got) == sorted([(s, 3) for s, _ in stores] + [(s, 6) for s, _ in stores] * 2)
        assert set(taken[0]) == {stores[0][0]}
        assert set(taken[1]) == {stores[1][0], stores[2][0]}
        totals = seller.get("/orders").json()["totals"]
        assert totals["orders"] == 3 * 6  # three stores, six sales each, the resent batch applied once

        # a store made while the workers run: its worker takes it up within a look at the stores
        new_store, _ = store_in(seller, 0, made)
        deadline = time.monotonic() + 10
        while new_store not in services[0]._owned and time.monotonic() < deadline:
            time.sleep(0.1)
        assert new_store in services[0]._owned
        assert new_store not in services[1]._owned
    finally:
        for link in links:
            link.close()
        for service in services:
            service.close()
        broker.stop()
