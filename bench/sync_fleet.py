"""Cloud ingest throughput for 1, 2 and 4 ingest workers and 1, 10 and 50 store nodes draining at once.

A load generator that speaks the real protocol with real device logins, not a shortcut into the database.
For each (workers W, nodes N) of the matrix, in a fresh temporary dir (every server a real subprocess on
loopback):

1. starts the cloud (``edgestore cloud serve``, embedded PostgreSQL) without MQTT and, over its HTTP API,
   registers two sellers (one when N is 1; stores alternate between them: workers on one seller's stores
   contend on that seller's rollup rows, on two sellers' they do not, and a fleet has both), ``--products``
   products per seller (two variants each), N stores, a restock of every variant in every store, and one
   device per store (its MQTT username and password come back once), plus a warm-up store with its device
   for every worker partition; stops the cloud;
2. writes the broker's configuration with ``edgestore cloud broker-config --ingest-workers W`` (plus a
   read-only ``bench-observer`` account for ``$SYS``: ``sync_drain.write_broker_config``), starts Mosquitto;
3. starts the cloud again with ``EDGESTORE_CLOUD_MQTT_URL`` and ``EDGESTORE_INGEST_PARTITION=0/W``, and
   W-1 ``edgestore cloud ingest --partition k/W`` processes on the same Postgres, each on its own broker
   account; connects N simulated nodes (``MqttLink`` with the device's own username, password and client
   id, subscribed to its ack topic) and waits until the broker counts every subscription; drains the
   warm-up stores, untimed, so that no worker's first batches (its pool, its statement cache) are timed;
4. the drain, timed from the first publish to the last ack of all nodes: each node publishes its orders
   (valid for its store: real variants, prices and totals, 1-3 lines, one sale stock delta per line) as the
   real node does, two streams (``orders``, ``stockDeltas``) of ``compact2+zstd`` batches
   (``encode_batch``) of ``--batch`` envelopes with seqs 1..M, at most ``--window`` batches per stream in
   flight; on an ack (``decode_ack``) it moves its mark, on an ack that reports a gap it sends again from the
   mark, and when a stream has heard nothing for ``--resend-after`` seconds (the node's 10 s) it sends its
   oldest unacknowledged batch again (``edge.sync_agent``'s rules);
5. checks in Postgres that every order of every store landed exactly once with its lines, that every
   device's stream marks are at its last seq, and that nothing was dead-lettered; and over HTTP that each
   seller's ``GET /orders`` total is its stores' orders;
6. stops everything and removes the temporary dir, also after an error, Ctrl-C or SIGTERM (exit 130).

Prints per combination: orders/s, envelopes/s, batches resent, p50/p95 batch -> ack latency (at the node:
first publish of a batch to the ack covering it), CPU of each cloud process, Postgres, Mosquitto, this
process (the nodes) and what else the machine ran, the load average, and PASS/FAIL, as a Markdown table.
Progress goes to stderr.

Run from the repository root::

    .venv/bin/python bench/sync_fleet.py                                   # the full matrix, 2,000 orders each
    .venv/bin/python bench/sync_fleet.py --workers 1 --nodes 2 --orders 40  # a smoke test

Everything (nodes, broker, cloud processes, Postgres) shares the machine's cores: on a 2-core machine more
workers can only show how the work splits, not more cores.
"""

import argparse
import bisect
import os
import random
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
import paho.mqtt.client as mqtt
import psycopg
from benchkit import (
    API,
    HOST,
    Served,
    SoldLine,
    api_client,
    bench_env,
    cash_sale,
    cloud_argv,
    code_line,
    cpu_seconds,
    edgestore_cmd,
    expect,
    host_lines,
    log,
    machine_cpu_seconds,
    mosquitto_version,
    percentile,
    postmaster_pid,
    process_tree_cpu,
    run_main,
    served,
    stop_on_signals,
    tree_cpu_delta,
)
from paho.mqtt.enums import CallbackAPIVersion
from sync_drain import INITIAL_STOCK, OBSERVER, PASSWORD, write_broker_config

import cloud
from cloud.db import EmbeddedPostgres
from cloud.runtime import EMBEDDED_DATABASE
from edge.sync_uplink import RESEND_AFTER_S
from models.ids import new_id
from plumbing import Mosquitto, free_port, wait_until
from sync_protocol.encoding import decode_ack, encode_batch
from sync_protocol.envelope import Batch, UplinkPayload, make_envelope
from sync_protocol.errors import MessageRejected
from sync_protocol.hlc import HLC
from sync_protocol.mqtt_link import MqttLink, MqttSettings
from sync_protocol.partition import store_partition
from sync_protocol.streams import Stream
from sync_protocol.topics import CLOUD_USERNAME, Topics

SUBSCRIPTIONS = "$SYS/broker/subscriptions/count"
CONNECTED = "$SYS/broker/clients/connected"
WARMUP_ORDERS = 20  # per worker, before the clock runs (``warm_up``)


# ---------------------------------------------------------------------------------------------- the fleet


@dataclass(frozen=True)
class Variant:
    variant_id: str
    product_id: str
    product_name: str
    name: str
    price: int


@dataclass
class Seller:
    account: str
    token: str
    variants: list[Variant] = field(default_factory=list)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass(frozen=True)
class Device:
    seller: int  # index into the fleet's sellers
    store_id: str
    device_id: str
    mqtt_password: str


@dataclass
class Fleet:
    sellers: list[Seller]
    devices: list[Device]
    warmups: list[Device]  # one store per ingest worker (seller 0's), drained before the timed drain


def make_seller(client: httpx.Client, s: int, products: int) -> Seller:
    """A seller account, logged in, with ``products`` products of two variants each."""
    account = f"bench-fleet-{s}"
    body = {"account": account, "password": PASSWORD, "name": f"車隊測試小舖 {s}"}
    expect(client.post("/sellers", json=body), 201)
    login = {"account": account, "password": PASSWORD}
    seller = Seller(account, expect(client.post("/auth/login", json=login), 200)["token"])
    for n in range(products):
        product = {
            "name": f"凍頂烏龍茶 {n + 1:03d}",
            "nameEn": f"Dongding oolong {n + 1:03d}",
            "categoryId": "drinks",
            "subCategoryId": "tea",
            "variants": [
                {"name": "150g", "price": 300 + 10 * n},
                {"name": "300g", "price": 550 + 10 * n, "isDefault": True},
            ],
        }
        made = expect(client.post("/products", json=product, headers=seller.headers()), 201)
        for v in made["variants"]:
            seller.variants.append(
                Variant(v["variantId"], made["productId"], made["name"], v["name"], int(v["price"]))
            )
    return seller


def add_store(client: httpx.Client, seller: Seller, name: str) -> str:
    return str(expect(client.post("/stores", json={"name": name}, headers=seller.headers()), 201)["storeId"])


def add_device(client: httpx.Client, sellers: list[Seller], s: int, store_id: str, name: str) -> Device:
    """Restock every variant at the store, register its node: the device's MQTT login comes back once."""
    headers = sellers[s].headers()
    for v in sellers[s].variants:
        adjustment = {"variantId": v.variant_id, "kind": "restock", "quantity": INITIAL_STOCK}
        expect(client.post(f"/stores/{store_id}/stock/adjustments", json=adjustment, headers=headers), 201)
    made = expect(client.post(f"/stores/{store_id}/devices", json={"name": name}, headers=headers), 201)
    if made["mqtt"]["username"] != made["deviceId"]:
        raise RuntimeError("the device's MQTT username is not its device id")
    return Device(s, store_id, made["deviceId"], made["mqtt"]["password"])


def register_fleet(base_url: str, nodes: int, products: int, workers: int) -> Fleet:
    """Sellers, products, stores, restocks and devices, all through the cloud's HTTP API (real credentials)."""
    with api_client(base_url) as client:
        sellers = [make_seller(client, s, products) for s in range(2 if nodes >= 2 else 1)]
        devices = []
        for n in range(nodes):
            s = n % len(sellers)  # stores alternate between the sellers
            devices.append(
                add_device(client, sellers, s, add_store(client, sellers[s], f"門市 {n + 1}"), f"Pi {n}")
            )
        # A warm-up store for every worker: a process's first batches pay for its connection pool and
        # SQLAlchemy's statement cache (about a second here), which is not the ingest's throughput. Store
        # ids are the cloud's, so stores are made until every partition has one (spare ones get no device).
        warmups: dict[int, Device] = {}
        for n in range(100 * workers):
            if len(warmups) == workers:
                break
            store_id = add_store(client, sellers[0], f"暖身 {n + 1}")
            k = store_partition(store_id, workers)
            if k not in warmups:
                warmups[k] = add_device(client, sellers, 0, store_id, f"warm-up {k}")
    return Fleet(sellers, devices, list(warmups.values()))


# ---------------------------------------------------------------------------------------------- the uplink


@dataclass(frozen=True)
class Planned:
    first_seq: int
    last_seq: int
    data: bytes


@dataclass
class NodeLoad:
    orders: int
    lines: int
    revenue: int
    streams: dict[Stream, list[Planned]]


def make_load(
    device: Device, variants: list[Variant], count: int, batch: int, rng: random.Random
) -> NodeLoad:
    """``count`` in-store sales of ``device``'s store (the cloud's trust checks refuse any whose store, device,
    prices or totals are not the sender's and the catalog's), one sale delta per line, encoded as the node
    encodes them."""
    start = datetime.now(UTC) - timedelta(hours=2)
    sales: list[UplinkPayload] = []
    deltas: list[UplinkPayload] = []
    lines = revenue = 0
    for n in range(count):
        at = start + timedelta(seconds=n)
        lines_sold = [
            SoldLine(v.product_id, v.variant_id, v.product_name, v.name, v.price, rng.randint(1, 2))
            for v in rng.sample(variants, rng.randint(1, 3))
        ]
        order, sold = cash_sale(device.store_id, device.device_id, lines_sold, at)
        lines += len(order.items)
        revenue += order.total
        sales.append(order)
        deltas.extend(sold)
    return NodeLoad(
        count,
        lines,
        revenue,
        {
            Stream.ORDERS: encoded(device, sales, batch),
            Stream.STOCK_DELTAS: encoded(device, deltas, batch),
        },
    )


def encoded(device: Device, payloads: list[UplinkPayload], size: int) -> list[Planned]:
    envelopes = [
        make_envelope(
            message_id=new_id(),
            store_id=device.store_id,
            device_id=device.device_id,
            seq=n + 1,
            hlc=HLC(1_800_000_000_000 + n, 0, device.device_id),
            payload=p,
        )
        for n, p in enumerate(payloads)
    ]
    out: list[Planned] = []
    for start in range(0, len(envelopes), size):
        chunk = tuple(envelopes[start : start + size])
        batch = Batch(
            batch_id=new_id(),
            store_id=device.store_id,
            device_id=device.device_id,
            stream=chunk[0].stream,
            messages=chunk,
        )
        out.append(Planned(chunk[0].seq, chunk[-1].seq, encode_batch(batch)))
    return out


class StreamState:
    """One stream of one node: its batches, the cloud's mark, what is out, and when it was first sent."""

    def __init__(self, topic: str, batches: list[Planned]) -> None:
        self.topic = topic
        self.batches = batches
        self.lasts = [b.last_seq for b in batches]
        self.end = batches[-1].last_seq if batches else 0
        self.acked = 0  # the ack's highWaterSeq
        self.next = 0  # index of the next batch never sent in this round
        self.last_publish = 0.0
        self.gap = False  # an ack reported a gap: send again from the mark
        self.first_sent: dict[int, float] = {}
        self.latencies_ms: list[float] = []
        self.resent = 0
        self.done_at: float | None = None if batches else 0.0

    def oldest(self) -> int:
        """Index of the first batch the cloud has not covered."""
        return bisect.bisect_right(self.lasts, self.acked)


class SimNode:
    """A store node's uplink, simulated with the node's rules (``edge.sync_agent``, ``edge.sync_uplink``) over
    its own ``MqttLink``, logged in with its device's own username, password and client id."""

    def __init__(self, device: Device, load: NodeLoad, port: int, window: int, resend_after_s: float) -> None:
        self.device = device
        self.window = window
        self.resend_after_s = resend_after_s
        self.streams = {
            s: StreamState(str(Topics.uplink(device.store_id, device.device_id, s)), batches)
            for s, batches in load.streams.items()
        }
        self.cond = threading.Condition()
        self.bad_acks = 0
        self.first_publish: float | None = None
        settings = MqttSettings(
            host=HOST,
            port=port,
            client_id=device.device_id,
            username=device.device_id,
            password=device.mqtt_password,
        )
        self.link = MqttLink(settings, self._on_ack)
        self.link.subscribe(str(Topics.ack(device.store_id, device.device_id)))

    def done(self) -> bool:
        return all(st.done_at is not None for st in self.streams.values())

    def finished_at(self) -> float:
        return max(st.done_at or 0.0 for st in self.streams.values())

    def run(self, go: threading.Event, stop: threading.Event) -> None:
        go.wait()
        with self.cond:
            while not self.done() and not stop.is_set():
                now = time.perf_counter()
                for st in self.streams.values():
                    if st.done_at is None:
                        self._pump(st, now)
                self.cond.wait(0.25)

    def _pump(self, st: StreamState, now: float) -> None:
        oldest = st.oldest()
        if st.gap:  # the cloud asks again: everything from the mark goes now
            st.gap, st.next = False, oldest
        elif st.next > oldest and now - st.last_publish >= self.resend_after_s:
            self._publish(st, oldest, now)  # overdue: only the oldest again (a slow cloud is not sent all)
            return
        st.next = max(st.next, oldest)
        while st.next < len(st.batches) and st.next - oldest < self.window:
            self._publish(st, st.next, now)
            st.next += 1

    def _publish(self, st: StreamState, index: int, now: float) -> None:
        # wait=False: the network thread delivers it (QoS 1, paho queues it while the PUBACK is out); the
        # node's loop holds the lock the ack handler needs, so it must not block on the broker here.
        self.link.publish(st.topic, st.batches[index].data, wait=False)
        st.last_publish = now
        if self.first_publish is None:
            self.first_publish = now
        if index in st.first_sent:
            st.resent += 1
        else:
            st.first_sent[index] = now

    def _on_ack(self, _topic: str, data: bytes) -> None:
        now = time.perf_counter()
        try:
            ack = decode_ack(data)
        except MessageRejected:
            self.bad_acks += 1
            return
        with self.cond:
            st = self.streams.get(ack.stream)
            if st is None:
                return
            if ack.high_water_seq > st.acked:
                for index in range(st.oldest(), bisect.bisect_right(st.lasts, ack.high_water_seq)):
                    sent = st.first_sent.get(index)
                    if sent is not None:
                        st.latencies_ms.append((now - sent) * 1000)
                st.acked = ack.high_water_seq
                if st.acked >= st.end and st.done_at is None:
                    st.done_at = now
            if ack.missing:
                st.gap = True
            self.cond.notify()


class SysWatcher:
    """The broker's ``$SYS`` counters, read with the bench's read-only observer account."""

    def __init__(self, port: int, password: str) -> None:
        self.values: dict[str, float] = {}
        self._lock = threading.Lock()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=OBSERVER, protocol=mqtt.MQTTv5)
        client.username_pw_set(OBSERVER, password)
        client.on_connect = lambda c, *_: c.subscribe([(SUBSCRIPTIONS, 0), (CONNECTED, 0)])
        client.on_message = self._message
        client.connect(HOST, port, keepalive=30)
        client.loop_start()
        self._client = client

    def _message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        with suppress(ValueError), self._lock:
            self.values[message.topic] = float(message.payload)

    def get(self, topic: str) -> float:
        with self._lock:
            return self.values.get(topic, float("nan"))

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


# ---------------------------------------------------------------------------------------------- one run


@dataclass
class Result:
    workers: int
    nodes: int
    sellers: int
    stores_per_worker: list[int] = field(default_factory=list)  # how the stores' hashes split them
    orders: int = 0
    envelopes: int = 0
    batches: int = 0
    seconds: float = float("nan")
    resent: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)
    checks: list[tuple[str, object, object]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(got == want for _, got, want in self.checks)


@contextmanager
def attached_postgres(work: Path) -> Iterator[str]:
    """The URL of the cloud's embedded Postgres (attached to, not started: the cloud holds the server)."""
    server = EmbeddedPostgres(work / "cloud" / "postgres")
    try:
        yield server.url(EMBEDDED_DATABASE)
    finally:
        server.stop()  # detaches


def run_one(args: argparse.Namespace, workers: int, nodes: int, per_node: int, rng: random.Random) -> Result:
    work = Path(tempfile.mkdtemp(prefix=f"edgestore-fleet-w{workers}-n{nodes}-", dir=args.tmp_parent))
    work.chmod(0o755)  # as root, pgserver runs postgres as its own user, which must reach the data folder
    try:
        return _run_in(args, work, workers, nodes, per_node, rng)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        log(f"  removed {work}")


def _run_in(
    args: argparse.Namespace, work: Path, workers: int, nodes: int, per_node: int, rng: random.Random
) -> Result:
    log(f"== {workers} worker(s), {nodes} node(s), {per_node} orders each; temp dir {work}")
    cloud_port, broker_port = free_port(HOST), free_port(HOST)
    cloud_url = f"http://{HOST}:{cloud_port}{API}"
    cloud_env = bench_env(
        EDGESTORE_CLOUD_DATA_DIR=str(work / "cloud"),
        EDGESTORE_CLOUD_HOST=HOST,
        EDGESTORE_CLOUD_PORT=str(cloud_port),
    )
    started = time.perf_counter()
    with served(
        cloud_argv(cloud_port),
        cloud_env,
        what="the cloud (setup)",
        health_url=f"{cloud_url}/openapi.json",
        log_path=work / "cloud-setup.log",
        cwd=work,
    ):
        fleet = register_fleet(cloud_url, nodes, args.products, workers)
    log(
        f"  registered {len(fleet.sellers)} seller(s), {nodes} stores and devices ({time.perf_counter() - started:.1f} s)"
    )
    loads = [make_load(d, fleet.sellers[d.seller].variants, per_node, args.batch, rng) for d in fleet.devices]
    warm_loads = [make_load(d, fleet.sellers[0].variants, WARMUP_ORDERS, 10, rng) for d in fleet.warmups]
    result = Result(workers, nodes, len(fleet.sellers))
    owners = [store_partition(d.store_id, workers) for d in fleet.devices]
    result.stores_per_worker = [owners.count(k) for k in range(workers)]
    result.orders = sum(x.orders for x in loads)
    result.envelopes = sum(x.orders + x.lines for x in loads)
    result.batches = sum(len(b) for x in loads for b in x.streams.values())
    log(f"  planned {result.orders} orders, {result.envelopes} envelopes, {result.batches} batches")

    cloud_password, observer_password = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
    write_broker_config(
        work, cloud_env, broker_port, cloud_password, observer_password, ingest_workers=workers
    )
    broker = Mosquitto(work / "broker", port=broker_port, host=HOST).start()
    with ExitStack() as stack:
        stack.callback(broker.stop)
        assert broker.process is not None
        broker_pid = broker.process.pid
        watcher = SysWatcher(broker_port, observer_password)
        stack.callback(watcher.close)
        wait_until(lambda: watcher.get(SUBSCRIPTIONS) >= 1, what="the broker's $SYS", timeout_s=20)
        base_subs = watcher.get(SUBSCRIPTIONS)
        mqtt_url = f"mqtt://{CLOUD_USERNAME}:{quote(cloud_password, safe='')}@{HOST}:{broker_port}"
        partition = {"EDGESTORE_INGEST_PARTITION": f"0/{workers}"} if workers > 1 else {}
        the_cloud = stack.enter_context(
            served(
                cloud_argv(cloud_port),
                {**cloud_env, "EDGESTORE_CLOUD_MQTT_URL": mqtt_url, **partition},
                what="the cloud (with MQTT)",
                health_url=f"{cloud_url}/openapi.json",
                log_path=work / "cloud.log",
                cwd=work,
            )
        )
        procs: dict[str, Served] = {"cloud serve (worker 0)": the_cloud}
        database_url = stack.enter_context(attached_postgres(work))
        for k in range(1, workers):
            worker_env = bench_env(
                EDGESTORE_CLOUD_DATA_DIR=str(work / f"worker-{k}"),
                EDGESTORE_DATABASE_URL=database_url,
                EDGESTORE_CLOUD_MQTT_URL=mqtt_url,
            )
            procs[f"cloud ingest {k}/{workers}"] = stack.enter_context(
                served(
                    [*edgestore_cmd(), "cloud", "ingest", "--partition", f"{k}/{workers}"],
                    worker_env,
                    what=f"ingest worker {k}/{workers}",
                    health_url=None,
                    log_path=work / f"worker-{k}.log",
                    cwd=work,
                )
            )
        sims = [
            SimNode(d, x, broker_port, args.window, args.resend_after)
            for d, x in zip(fleet.devices, loads, strict=True)
        ]
        warm = [
            SimNode(d, x, broker_port, args.window, args.resend_after)
            for d, x in zip(fleet.warmups, warm_loads, strict=True)
        ]
        for sim in [*sims, *warm]:
            stack.callback(sim.link.close)
            if not sim.link.start(wait_s=30):
                raise RuntimeError(f"node {sim.device.device_id} could not log in to the broker")
        # Every worker subscribes to two filters per store it owns (one worker without a partition: two
        # wildcards), every node to its ack topic: a batch published before its worker subscribed is lost.
        links = nodes + len(warm)
        want = base_subs + links + (2 if workers == 1 else 2 * links)
        wait_until(
            lambda: watcher.get(SUBSCRIPTIONS) >= want,
            what=f"{want:.0f} subscriptions at the broker",
            timeout_s=60,
            details=lambda: f"{watcher.get(SUBSCRIPTIONS)} now; " + the_cloud.log_text()[-2000:],
            interval_s=0.2,
        )
        log(f"  {workers} worker(s) and {nodes} node(s) connected and subscribed; warming up")
        warm_up(warm)
        result.seconds, result.cpu = drain(args, sims, procs, work, broker_pid)
        result.load = os.getloadavg()
        result.resent = sum(st.resent for s in sims for st in s.streams.values())
        result.latencies_ms = sorted(x for s in sims for st in s.streams.values() for x in st.latencies_ms)
        result.checks = check(database_url, cloud_url, fleet, loads, sims, WARMUP_ORDERS * len(warm))
    return result


def warm_up(warm: list[SimNode]) -> None:
    """Drain the warm-up stores (one per worker) untimed, so every worker has ingested before the clock runs."""
    go, stop = threading.Event(), threading.Event()
    threads = [threading.Thread(target=s.run, args=(go, stop), daemon=True) for s in warm]
    for t in threads:
        t.start()
    go.set()
    try:
        wait_until(
            lambda: all(s.done() for s in warm), what="the warm-up drain", timeout_s=120, interval_s=0.05
        )
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=5)


def drain(
    args: argparse.Namespace, sims: list[SimNode], procs: dict[str, Served], work: Path, broker_pid: int
) -> tuple[float, dict[str, float]]:
    go, stop = threading.Event(), threading.Event()
    threads = [threading.Thread(target=s.run, args=(go, stop), daemon=True) for s in sims]
    for t in threads:
        t.start()
    pg_pid = postmaster_pid(work / "cloud" / "postgres")
    pg_before = process_tree_cpu(pg_pid) if pg_pid else {}
    before = {name: cpu_seconds(p.pid) for name, p in procs.items()}
    broker_before, bench_before = cpu_seconds(broker_pid), time.process_time()
    busy_before, steal_before = machine_cpu_seconds()
    total = sum(st.end for s in sims for st in s.streams.values())
    t_start = time.perf_counter()
    go.set()
    last_log = t_start
    try:
        while not all(s.done() for s in sims):
            now = time.perf_counter()
            if now - t_start > args.timeout:
                log(f"  gave up after {args.timeout:.0f} s")
                break
            if now - last_log >= 5:
                acked = sum(st.acked for s in sims for st in s.streams.values())
                log(f"  {acked}/{total} envelopes acknowledged at {now - t_start:5.1f} s")
                last_log = now
            time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=5)
    cpu: dict[str, float] = {}
    for name, p in procs.items():
        after = cpu_seconds(p.pid)
        b = before[name]
        cpu[name] = after - b if after is not None and b is not None else float("nan")
    cpu["postgres"] = tree_cpu_delta(pg_before, process_tree_cpu(pg_pid)) if pg_pid else float("nan")
    broker_after = cpu_seconds(broker_pid)
    cpu["mosquitto"] = (
        broker_after - broker_before
        if broker_after is not None and broker_before is not None
        else float("nan")
    )
    cpu["bench (the nodes)"] = time.process_time() - bench_before
    busy_after, steal_after = machine_cpu_seconds()
    # What else ran on the machine (other jobs share its cores): the busy time of all cores less the above.
    cpu["other processes and the kernel"] = (busy_after - busy_before) - sum(cpu.values())
    cpu["stolen by the hypervisor"] = steal_after - steal_before
    firsts = [s.first_publish for s in sims if s.first_publish is not None]
    if not all(s.done() for s in sims) or not firsts:
        return float("nan"), cpu
    seconds = max(s.finished_at() for s in sims) - min(firsts)
    log(f"  drained in {seconds:.2f} s")
    return seconds, cpu


def check(
    database_url: str,
    cloud_url: str,
    fleet: Fleet,
    loads: list[NodeLoad],
    sims: list[SimNode],
    warmup_orders: int,
) -> list[tuple[str, object, object]]:
    stores = [d.store_id for d in fleet.devices]
    with psycopg.connect(database_url) as conn:

        def per_store(sql: str) -> dict[str, int]:
            rows = conn.execute(sql, (stores,)).fetchall()
            return {str(r[0]): int(r[1]) for r in rows}

        orders = per_store("SELECT store_id, count(*) FROM orders WHERE store_id = ANY(%s) GROUP BY 1")
        distinct = per_store(
            "SELECT store_id, count(DISTINCT order_id) FROM orders WHERE store_id = ANY(%s) GROUP BY 1"
        )
        lines = per_store(
            "SELECT o.store_id, count(*) FROM order_items i JOIN orders o USING (order_id) "
            "WHERE o.store_id = ANY(%s) GROUP BY 1"
        )
        revenue = per_store("SELECT store_id, sum(total) FROM orders WHERE store_id = ANY(%s) GROUP BY 1")
        row = conn.execute("SELECT count(*) FROM dead_letters").fetchone()
        dead = int(row[0]) if row else -1
        marks = {
            (str(r[0]), str(r[1])): int(r[2])
            for r in conn.execute("SELECT device_id, stream, high_water FROM sync_streams").fetchall()
        }
    http_totals: list[int] = []
    for seller in fleet.sellers:
        with api_client(cloud_url, seller.token) as client:
            body = expect(client.get("/orders", params={"limit": 1}), 200)
            http_totals.append(int(body["totals"]["orders"]))
    want_http = [
        sum(x.orders for d, x in zip(fleet.devices, loads, strict=True) if d.seller == s)
        for s in range(len(fleet.sellers))
    ]
    want_http[0] += warmup_orders  # the warm-up stores are seller 0's

    def wrong(got: dict[str, int], want: list[int]) -> int:
        return sum(got.get(sid, 0) != w for sid, w in zip(stores, want, strict=True))

    mark_wrong = sum(
        marks.get((d.device_id, stream.value), 0) != (x.orders if stream is Stream.ORDERS else x.lines)
        for d, x in zip(fleet.devices, loads, strict=True)
        for stream in (Stream.ORDERS, Stream.STOCK_DELTAS)
    )
    return [
        ("every node's streams acknowledged to their last seq", all(s.done() for s in sims), True),
        ("orders in Postgres", sum(orders.values()), sum(x.orders for x in loads)),
        ("stores whose order count is wrong", wrong(orders, [x.orders for x in loads]), 0),
        ("stores with an order twice", wrong(distinct, [x.orders for x in loads]), 0),
        ("stores whose line count is wrong", wrong(lines, [x.lines for x in loads]), 0),
        ("stores whose revenue is wrong", wrong(revenue, [x.revenue for x in loads]), 0),
        ("device streams whose mark is not the last seq", mark_wrong, 0),
        ("dead letters", dead, 0),
        ("GET /orders totals per seller", http_totals, want_http),
        ("acks the nodes could not decode", sum(s.bad_acks for s in sims), 0),
    ]


# ---------------------------------------------------------------------------------------------- report


def cpu_text(r: Result) -> str:
    if r.seconds != r.seconds:  # NaN: no drain time
        return ", ".join(f"{k} {v:.1f} s" for k, v in r.cpu.items())
    return ", ".join(f"{k} {v:.1f} s ({v / r.seconds * 100:.0f} %)" for k, v in r.cpu.items())


def report(args: argparse.Namespace, results: list[Result]) -> int:
    print("Cloud ingest with several workers and many nodes (bench/sync_fleet.py)")
    print(f"date:          {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}")
    for line in host_lines():
        print(line)
    print(f"mosquitto:     {mosquitto_version()}")
    print(f"code:          {code_line(Path(cloud.__file__).resolve().parent.parent)}")
    print(
        f"run:           {f'{args.orders_per_node} orders per node' if args.orders_per_node else f'{args.orders} orders per combination split over its nodes'}, 1-3 lines each, batches "
        f"of {args.batch} envelopes, window {args.window} batches per stream, resend after "
        f"{args.resend_after:.0f} s, {args.products} products (2 variants) per seller, seed {args.seed}"
    )
    print()
    header = (
        "| workers | nodes | sellers | stores per worker | orders | envelopes | seconds | orders/s "
        "| envelopes/s | batches | resent "
        "| batch->ack p50 / p95 ms | load avg 1/5/15 | result |"
    )
    print(header)
    print("|" + "---:|" * 13 + "---|")
    for r in results:
        lat = r.latencies_ms
        print(
            f"| {r.workers} | {r.nodes} | {r.sellers} | {'/'.join(map(str, r.stores_per_worker))} "
            f"| {r.orders:,} | {r.envelopes:,} | {r.seconds:.1f} "
            f"| {r.orders / r.seconds:,.0f} | {r.envelopes / r.seconds:,.0f} | {r.batches} | {r.resent} "
            f"| {percentile(lat, 50):.0f} / {percentile(lat, 95):.0f} "
            f"| {' / '.join(f'{x:.2f}' for x in r.load)} | {'PASS' if r.passed else 'FAIL'} |"
        )
    print()
    print("CPU during each drain (seconds, and % of one core over the drain):")
    for r in results:
        print(f"- {r.workers} worker(s), {r.nodes} node(s): {cpu_text(r)}")
    print()
    all_ok = True
    for r in results:
        print(f"Correctness, {r.workers} worker(s), {r.nodes} node(s):")
        for name, got, want in r.checks:
            print(f"  {name}: {got} (expected {want}) {'ok' if got == want else 'MISMATCH'}")
        print(f"  result: {'PASS' if r.passed else 'FAIL'}")
        all_ok &= r.passed
    print(f"result: {'PASS' if all_ok else 'FAIL'}")
    return 0 if all_ok else 1


# ---------------------------------------------------------------------------------------------- main


def int_list(text: str) -> list[int]:
    values = [int(x) for x in text.split(",") if x.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of positive integers")
    return values


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Cloud ingest throughput for several ingest workers and many store nodes at once.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--nodes", type=int_list, default=[1, 10, 50], help="simulated nodes, per run")
    parser.add_argument("--workers", type=int_list, default=[1, 2, 4], help="ingest workers, per run")
    parser.add_argument(
        "--orders", type=int, default=2000, help="orders per run, split evenly over its nodes"
    )
    parser.add_argument("--orders-per-node", type=int, default=None, help="instead of --orders: per node")
    parser.add_argument("--batch", type=int, default=100, help="envelopes per batch (at most 500)")
    parser.add_argument(
        "--window", type=int, default=5, help="batches in flight per stream (the node: 500 rows)"
    )
    parser.add_argument("--resend-after", type=float, default=RESEND_AFTER_S, help="seconds before a resend")
    parser.add_argument("--products", type=int, default=5, help="products per seller (2 variants each)")
    parser.add_argument("--seed", type=int, default=2026, help="seed for the carts")
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="give up a drain after this many seconds"
    )
    parser.add_argument("--tmp-parent", type=Path, default=None, help="where to make the temp dirs")
    args = parser.parse_args(argv)
    if not 1 <= args.batch <= 500 or args.window < 1 or args.products < 2:
        parser.error("--batch must be 1..500, --window at least 1, --products at least 2")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_signals()
    rng = random.Random(args.seed)
    results: list[Result] = []
    for workers in args.workers:
        for nodes in args.nodes:
            per_node = args.orders_per_node or max(1, args.orders // nodes)
            results.append(run_one(args, workers, nodes, per_node, rng))
            r = results[-1]
            log(
                f"  -> {r.orders / r.seconds:,.0f} orders/s, {r.resent} resent, "
                f"{'PASS' if r.passed else 'FAIL'}; load {os.getloadavg()[0]:.2f}"
            )
    return report(args, results)


if __name__ == "__main__":
    run_main(main, "servers stopped, temp dirs removed")
