"""Two cloud ingest workers on a real Mosquitto and Postgres, splitting the uplink by store
(``sync_protocol.partition``): each takes only its own stores' streams and presence, each stream keeps one
writer, a store made after they started is taken up by its worker, and every sale lands exactly once."""

import contextlib
import os
import queue
import signal
import subprocess
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
from sync_protocol.topics import CLOUD_USERNAME, Topics
from tests.cloud.conftest import (
    CLOUD_BROKER_PASSWORD,
    CloudServer,
    cloud_broker,
    cloud_mqtt,
    device_mqtt,
    sale,
)
from tests.cloud.test_cloud_catalog import make_product
from tests.conftest import EDGESTORE

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

        # a store made while the workers run: its worker takes it up within a look at the stores, and a
        # batch of its device (logged in once the broker re-read its files, as the cloud has it do) is acked
        new_store, new_device = store_in(seller, 0, made)
        fresh = cloud_broker(cloud_server, tmp_path / "broker", cloud_workers=2)
        broker.password_file_text, broker.acl_text = fresh.password_file_text, fresh.acl_text
        broker.reload()
        deadline = time.monotonic() + 10
        while new_store not in services[0]._owned and time.monotonic() < deadline:
            time.sleep(0.1)
        assert new_store in services[0]._owned
        assert new_store not in services[1]._owned
        late_acks: queue.Queue[int] = queue.Queue()
        late = MqttLink(
            device_mqtt(broker, new_device), lambda _t, data: late_acks.put(decode_ack(data).high_water_seq)
        )
        links.append(late)
        late.subscribe(str(Topics.ack(new_store, new_device["deviceId"])))
        assert late.start()
        time.sleep(0.3)
        batch = batch_of(new_store, new_device["deviceId"], product, now, 1, 2)
        assert late.publish(
            str(Topics.uplink(new_store, new_device["deviceId"], Stream.ORDERS)), encode(batch)
        )
        assert late_acks.get(timeout=15) == 2
        assert set(taken[0]) == {stores[0][0], new_store}
    finally:
        for link in links:
            link.close()
        for service in services:
            service.close()
        broker.stop()


def test_cloud_ingest_runs_a_worker_in_its_own_process(
    cloud_server: CloudServer, seller: httpx.Client, tmp_path
):
    """`edgestore cloud ingest --partition 1/2` as a deployment runs it: its own process, the cloud's database,
    its own broker account; a store of its partition gets its batch applied and acked, and SIGTERM ends it."""
    product = make_product(seller)
    store_id, device = store_in(seller, 1, [])
    broker = cloud_broker(cloud_server, tmp_path / "broker", cloud_workers=2).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGESTORE_")} | {
        "EDGESTORE_CLOUD_DATA_DIR": str(tmp_path / "worker"),
        "EDGESTORE_DATABASE_URL": str(cloud_server.settings.database_url),
        "EDGESTORE_CLOUD_MQTT_URL": f"mqtt://{CLOUD_USERNAME}:{CLOUD_BROKER_PASSWORD}@127.0.0.1:{broker.port}",
    }
    worker = subprocess.Popen(
        [*EDGESTORE, "cloud", "ingest", "--partition", "1/2"], env=env, stdout=subprocess.PIPE, text=True
    )
    acks: queue.Queue[int] = queue.Queue()
    link = MqttLink(
        device_mqtt(broker, device), lambda _topic, data: acks.put(decode_ack(data).high_water_seq)
    )
    try:
        assert worker.stdout is not None
        assert "cloud ingest: partition 1/2" in worker.stdout.readline()
        link.subscribe(str(Topics.ack(store_id, device["deviceId"])))
        assert link.start()
        batch = batch_of(store_id, device["deviceId"], product, cloud_server.clock(), 1, 2)
        topic = str(Topics.uplink(store_id, device["deviceId"], Stream.ORDERS))
        deadline = time.monotonic() + 30
        got = None
        while got is None and time.monotonic() < deadline:  # until the worker has connected and subscribed
            assert link.publish(topic, encode(batch))
            with contextlib.suppress(queue.Empty):
                got = acks.get(timeout=1)
        assert got == 2
        assert seller.get("/orders").json()["totals"]["orders"] == 2
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0
    finally:
        link.close()
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=10)
        if worker.stdout is not None:
            worker.stdout.close()
        broker.stop()


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (["--partition", "2/2"], {"EDGESTORE_CLOUD_MQTT_URL": "mqtt://x:y@127.0.0.1:1"}, "INDEX < COUNT"),
        ([], {}, "EDGESTORE_CLOUD_MQTT_URL is not set"),
    ],
)
def test_cloud_ingest_says_what_is_wrong(tmp_path, args: list[str], env: dict[str, str], says: str):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EDGESTORE_")}
    done = subprocess.run(
        [*EDGESTORE, "cloud", "ingest", *args],
        env=clean | env | {"EDGESTORE_CLOUD_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert says in done.stderr


def test_a_process_with_fewer_workers_keeps_every_workers_broker_rights(
    cloud_server: CloudServer, seller: httpx.Client
):
    """`cloud migrate`, or a `cloud serve` started without EDGESTORE_INGEST_PARTITION, rewrites the broker's
    files when a device comes: the other workers' accounts (made by broker-config --ingest-workers) keep
    their ACL lines, or they would silently receive nothing."""
    cloud = cloud_server.cloud
    cloud.broker_password_path.parent.mkdir(parents=True, exist_ok=True)
    cloud.broker_password_path.write_text(
        "edgestore-cloud:$7$x\nedgestore-cloud-1:$7$x\nedgestore-cloud-2:$7$x\n"
    )
    assert cloud.settings.partition.count == 1
    store_in(seller, 0, [])  # a device registered: the files are rewritten
    acl = cloud.broker_acl_path.read_text()
    for user in ("edgestore-cloud", "edgestore-cloud-1", "edgestore-cloud-2"):
        assert f"user {user}\n" in acl
    assert "edgestore-cloud-1:" in cloud.broker_password_path.read_text()
