"""Edge-to-cloud sync drain benchmark: a store node's queued orders drain to Postgres through Mosquitto.

What it does, in order (every server a real subprocess on loopback, in a temporary dir):

1. starts the cloud (``edgestore cloud serve``, embedded PostgreSQL through pgserver because
   ``EDGESTORE_DATABASE_URL`` is unset) without MQTT, and through its HTTP API registers a seller, a store,
   ``--products`` products with two variants each, restocks every variant, registers the store node as a
   device (its MQTT credentials come back once) and fetches the store's catalog snapshot; stops the cloud;
2. writes the broker's configuration with ``edgestore cloud broker-config`` (ACL, password file with the
   device and the cloud's account) and adds three lines for the bench only (``user`` so a root run keeps
   Mosquitto's files readable, ``sys_interval 1``, and a read-only ``bench-observer`` account in the
   password file and ACL: ``$SYS`` counters and a copy of every uplink and ack); starts ``mosquitto -c``;
3. starts the cloud again, now with ``EDGESTORE_CLOUD_MQTT_URL``, and waits until the broker counts it
   connected;
4. prepares the node: ``edgestore edge load-catalog`` of the snapshot, then sets its device id to the
   cloud's (what provisioning does: there is no CLI for it yet); starts ``edgestore edge serve`` WITHOUT
   ``EDGESTORE_MQTT_URL`` and queues ``--orders`` checkouts over HTTP from ``--clients`` threads (1-3
   distinct variants each, so each order brings 1-3 stock deltas); stops the node;
5. plans the uplink: on a copy of the node's SQLite file, packs the outbox exactly as the sync agent does
   (``edge.sync_uplink.pending_batches``, deleting each round as if acknowledged) and encodes every batch
   as version-1 JSON (``sync_protocol.encoding.encode``) and as the node sends it
   (``encode_batch``, content encoding ``compact2+zstd``): the minimum number of MQTT messages, and the
   payload bytes raw and on the wire;
6. starts the node WITH ``EDGESTORE_MQTT_URL`` (the device's credentials) and times from that moment until
   ``GET /sync/status`` at the node shows an empty backlog AND ``GET /orders`` at the cloud counts every
   order. Progress goes to stderr; the observer records every uplink publish (with its seqs) and every ack;
7. checks: Postgres holds exactly the orders, lines and seq marks the node made and no dead letters; the
   cloud's order total and revenue equal the node's; every variant's stock is the same at the node, in the
   cloud and in the bench's own count; the node's outbox is empty and it stopped cleanly. Prints the figures
   (plain and Markdown) and ``result: PASS`` or ``FAIL`` (exit 1);
8. stops everything and removes the temporary dir, also after an error, Ctrl-C or SIGTERM (exit 130).

Run from the repository root::

    .venv/bin/python bench/sync_drain.py                  # 10,000 orders
    .venv/bin/python bench/sync_drain.py --orders 200     # a smoke test in about half a minute

The node, the cloud, PostgreSQL, Mosquitto and this process (the observer) share the machine's cores.
"""

import argparse
import json
import os
import random
import secrets
import shutil
import sqlite3
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import paho.mqtt.client as mqtt
import psycopg
from benchkit import (
    API,
    HOST,
    Served,
    add_staff_argv,
    api_client,
    bench_env,
    cloud_argv,
    code_line,
    cpu_seconds,
    edgestore_cmd,
    expect,
    filesystem_of,
    host_lines,
    log,
    machine_cpu_seconds,
    mosquitto_version,
    node_staff_client,
    percentile,
    postmaster_pid,
    process_tree_cpu,
    run_cli,
    run_main,
    served,
    stop_on_signals,
    tree_cpu_delta,
)
from edge_checkout import LevelResult, RunningNode, progress_printer, run_level
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import delete

from cloud.broker_credentials import hash_password
from cloud.db import EmbeddedPostgres
from cloud.runtime import EMBEDDED_DATABASE
from edge.db import Database
from edge.sync_uplink import pending_batches
from edge.tables import outbox
from models.ids import new_id
from plumbing import Mosquitto, free_port, wait_until
from sync_protocol.encoding import batch_document, encode, encode_batch
from sync_protocol.envelope import Batch
from sync_protocol.errors import MessageRejected
from sync_protocol.sequence import DEFAULT_SEND_WINDOW, DEFAULT_WINDOW
from sync_protocol.topics import CLOUD_USERNAME

POLL_S = 0.2
PASSWORD = "bench-password-1"  # a throwaway account in a throwaway database
OBSERVER = "bench-observer"
INITIAL_STOCK = 100_000  # per variant: never runs out, whatever the carts
UPLINK_FILTER = "edgestore/v1/stores/+/up/+/+"
ACK_FILTER = "edgestore/v1/stores/+/ack/+"
STORED = "$SYS/broker/store/messages/count"  # messages the broker holds: queued for clients, and retained
SYS_TOPICS = ("$SYS/broker/bytes/+", STORED, "$SYS/broker/clients/connected")


# ---------------------------------------------------------------------------------------------- processes


def node_argv(data_dir: Path, port: int) -> list[str]:
    return [*edgestore_cmd(), "edge", "serve", "--data-dir", str(data_dir), "--port", str(port)]


# ---------------------------------------------------------------------------------------------- the cloud


@dataclass
class Shop:
    token: str = ""
    store_id: str = ""
    device_id: str = ""
    mqtt_password: str = ""
    variants: list[str] = field(default_factory=list)
    product_of: dict[str, str] = field(default_factory=dict)  # variant -> product
    snapshot_json: str = ""


def set_up_shop(base_url: str, products: int) -> Shop:
    """A seller, one store, products with two variants each, stock for all, a device, the catalog snapshot."""
    shop = Shop()
    with api_client(base_url) as client:
        body = {"account": "bench-drain", "password": PASSWORD, "name": "同步測試小舖"}
        expect(client.post("/sellers", json=body), 201)
        login = {"account": "bench-drain", "password": PASSWORD}
        shop.token = expect(client.post("/auth/login", json=login), 200)["token"]
        client.headers["Authorization"] = f"Bearer {shop.token}"
        shop.store_id = expect(client.post("/stores", json={"name": "信義店"}), 201)["storeId"]
        for n in range(products):
            product = {
                "name": f"凍頂烏龍茶 {n + 1:03d}",
                "nameEn": f"Dongding oolong {n + 1:03d}",
                "categoryId": "drinks",
                "subCategoryId": "tea",
                "variants": [
                    {"name": "150g", "price": 300 + 10 * (n % 30)},
                    {"name": "300g", "price": 550 + 10 * (n % 30), "isDefault": True},
                ],
            }
            made = expect(client.post("/products", json=product), 201)
            for variant in made["variants"]:
                shop.variants.append(variant["variantId"])
                shop.product_of[variant["variantId"]] = made["productId"]
        for variant_id in shop.variants:
            adjustment = {"variantId": variant_id, "kind": "restock", "quantity": INITIAL_STOCK}
            expect(client.post(f"/stores/{shop.store_id}/stock/adjustments", json=adjustment), 201)
        device = expect(client.post(f"/stores/{shop.store_id}/devices", json={"name": "Pi"}), 201)
        shop.device_id = device["deviceId"]
        if device["mqtt"]["username"] != shop.device_id:
            raise RuntimeError("the device's MQTT username is not its device id")
        shop.mqtt_password = device["mqtt"]["password"]
        snapshot = client.get(f"/stores/{shop.store_id}/catalog-snapshot")
        snapshot.raise_for_status()
        shop.snapshot_json = snapshot.text
    return shop


def cloud_order_total(client: httpx.Client, store_id: str) -> int:
    body = expect(client.get("/orders", params={"storeId": store_id, "limit": 1}), 200)
    return int(body["totals"]["orders"])


# ---------------------------------------------------------------------------------------------- the broker


def write_broker_config(
    work: Path,
    cloud_env: dict[str, str],
    port: int,
    cloud_password: str,
    observer_password: str,
    *,
    ingest_workers: int = 1,
) -> Path:
    """``edgestore cloud broker-config`` (with an account per ingest worker), plus the bench's own lines (see
    the module docstring)."""
    folder = work / "broker"
    run_cli(
        [
            "cloud",
            "broker-config",
            "--out",
            str(folder),
            "--port",
            str(port),
            "--bind",
            HOST,
            "--cloud-password",
            cloud_password,
            "--ingest-workers",
            str(ingest_workers),
        ],
        cloud_env,
        work,
    )
    with (folder / "passwords").open("a") as f:
        f.write(f"{OBSERVER}:{hash_password(observer_password)}\n")
    with (folder / "acl").open("a") as f:
        f.write(f"\n# bench only\nuser {OBSERVER}\ntopic read $SYS/#\n")
        f.write(f"topic read {UPLINK_FILTER}\ntopic read {ACK_FILTER}\n")
    with (folder / "mosquitto.conf").open("a") as f:
        # broker-config's `user` line (the user running it) keeps the 0600 files readable when run as root.
        f.write("# bench only\nsys_interval 1\n")
    return folder / "mosquitto.conf"


@dataclass(frozen=True)
class Uplink:
    """A batch the observer saw, kept as it came: it is read only when the figures are made, after the drain,
    so that the bench's own decoding (inflating and parsing each batch) takes no CPU from the node and the
    cloud while they drain."""

    at: float  # perf_counter when the observer got it
    stream: str
    topic_bytes: int
    payload: bytes

    @property
    def payload_bytes(self) -> int:
        return len(self.payload)

    @cached_property
    def _seqs(self) -> tuple[int, int, int]:
        return uplink_seqs(self.payload)

    @property
    def first_seq(self) -> int:
        return self._seqs[0]

    @property
    def last_seq(self) -> int:
        return self._seqs[1]

    @property
    def messages(self) -> int:
        return self._seqs[2]

    @property
    def publish_packet_bytes(self) -> int:
        """The MQTT 5 PUBLISH packet as the node sends it at QoS 1 without properties: fixed header (type byte
        and the variable-length remaining length), topic (2-byte length + name), packet id, properties length
        (1 byte, 0) and the payload."""
        remaining = 2 + self.topic_bytes + 2 + 1 + self.payload_bytes
        length_bytes = (
            1 if remaining < 128 else 2 if remaining < 16_384 else 3 if remaining < 2_097_152 else 4
        )
        return 1 + length_bytes + remaining


@dataclass(frozen=True)
class AckSeen:
    at: float
    stream: str
    high_water: int
    payload_bytes: int


def uplink_seqs(payload: bytes) -> tuple[int, int, int]:
    """An uplink batch's first and last seq and its number of envelopes, in either content encoding (read,
    not validated: the observer only looks); zeros for what is not a batch."""
    try:
        messages = batch_document(payload)["messages"]
        seqs = [int(m["seq"]) for m in messages]
    except (MessageRejected, KeyError, TypeError, ValueError):
        return 0, 0, 0
    return (seqs[0], seqs[-1], len(seqs)) if seqs else (0, 0, 0)


class Observer:
    """A read-only MQTT client of the bench: ``$SYS`` counters, and a copy of every uplink batch and ack."""

    def __init__(self, port: int, password: str) -> None:
        self.port = port
        self.uplinks: list[Uplink] = []
        self.acks: list[AckSeen] = []
        self.sys: dict[str, float] = {}
        self.stored_max = 0.0  # the most messages the broker held (queued for clients, retained)
        self.lock = threading.Lock()
        self._subscribed = threading.Event()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=OBSERVER, protocol=mqtt.MQTTv5)
        client.username_pw_set(OBSERVER, password)
        client.on_connect = self._connected
        client.on_subscribe = self._subscribed_cb
        client.on_message = self._message
        self._client = client

    def start(self, timeout_s: float = 15.0) -> None:
        """Connect and subscribe; the broker already listens (``plumbing.Mosquitto.start`` waited)."""
        self._client.connect(HOST, self.port, keepalive=30)
        self._client.loop_start()
        if not self._subscribed.wait(timeout_s):
            raise RuntimeError("the observer could not subscribe")

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _connected(self, client: mqtt.Client, _u: object, _f: object, reason: Any, _p: object) -> None:
        if reason.is_failure:
            log(f"  observer refused by the broker: {reason}")
            return
        client.subscribe([(t, 0) for t in (*SYS_TOPICS, UPLINK_FILTER, ACK_FILTER)])

    def _subscribed_cb(self, _c: mqtt.Client, _u: object, _m: int, reasons: Any, _p: object) -> None:
        if any(r.is_failure for r in reasons):
            log(f"  observer subscription refused: {[str(r) for r in reasons]}")
        self._subscribed.set()

    def _message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        now = time.perf_counter()
        topic, payload = message.topic, bytes(message.payload)
        if topic.startswith("$SYS/"):
            with suppress(ValueError), self.lock:
                self.sys[topic] = float(payload)
                if topic == STORED:
                    self.stored_max = max(self.stored_max, self.sys[topic])
            return
        parts = topic.split("/")
        if len(parts) == 7 and parts[4] == "up":  # edgestore/v1/stores/S/up/D/stream
            with self.lock:
                self.uplinks.append(Uplink(now, parts[6], len(topic.encode()), payload))
        elif len(parts) == 6 and parts[4] == "ack":
            with suppress(ValueError, KeyError):
                body = json.loads(payload)
                with self.lock:
                    self.acks.append(AckSeen(now, body["stream"], int(body["highWaterSeq"]), len(payload)))

    def sys_value(self, name: str) -> float:
        with self.lock:
            return self.sys.get(f"$SYS/broker/{name}", float("nan"))

    def sys_snapshot(self) -> dict[str, float]:
        with self.lock:
            return dict(self.sys)

    def settle_sys(self) -> dict[str, float]:
        """The counters once the broker has published them again (every second with ``sys_interval 1``)."""
        time.sleep(2.2)
        return self.sys_snapshot()


# ---------------------------------------------------------------------------------------------- the node


def provision_node(work: Path, data_dir: Path, shop: Shop) -> None:
    """Load the cloud's snapshot with the CLI, as the device the cloud registered (EDGESTORE_DEVICE_ID: the
    node remembers it)."""
    snapshot = work / "snapshot.json"
    snapshot.write_text(shop.snapshot_json, encoding="utf-8")
    env = bench_env(EDGESTORE_DEVICE_ID=shop.device_id)
    out = run_cli(["edge", "load-catalog", str(snapshot), "--data-dir", str(data_dir)], env, work)
    log(f"  {out.strip()}")
    run_cli(add_staff_argv(data_dir), env, work)  # the node's sync status is staff only


def plan_carts(rng: random.Random, variants: list[str], count: int) -> list[list[str]]:
    return [rng.sample(variants, rng.randint(1, 3)) for _ in range(count)]


@dataclass
class Plan:
    batches: list[Batch]
    payload_bytes: Counter[str]  # as version-1 JSON
    wire_bytes: Counter[str]  # as the node sends them (compact2+zstd)
    envelopes: Counter[str]
    batch_count: Counter[str]


def plan_uplink(database: Path, work: Path, store_id: str, device_id: str) -> Plan:
    """The batches the sync agent sends when every batch is acknowledged before its next round: rounds of
    ``pending_batches`` on a copy of the node's file, deleting what each round packed."""
    copy = work / "plan.sqlite3"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    db = Database(copy, synchronous="NORMAL")
    plan = Plan([], Counter(), Counter(), Counter(), Counter())
    try:
        while True:
            with db.write() as conn:
                batches = pending_batches(conn, store_id=store_id, device_id=device_id, new_batch_id=new_id)
                for b in batches:
                    seqs = [m.seq for m in b.messages]
                    conn.execute(
                        delete(outbox).where(
                            outbox.c.stream == b.stream.value, outbox.c.stream_seq.between(seqs[0], seqs[-1])
                        )
                    )
            if not batches:
                return plan
            for b in batches:
                plan.batches.append(b)
                plan.payload_bytes[b.stream.value] += len(encode(b))
                plan.wire_bytes[b.stream.value] += len(encode_batch(b))
                plan.envelopes[b.stream.value] += len(b.messages)
                plan.batch_count[b.stream.value] += 1
    finally:
        db.dispose()
        copy.unlink(missing_ok=True)


def node_backlog(client: httpx.Client) -> tuple[int, dict[str, int]]:
    body = expect(client.get("/sync/status"), 200)
    return int(body["pendingTotal"]), {s["stream"]: int(s["pending"]) for s in body["streams"]}


def node_file_facts(database: Path) -> dict[str, Any]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        orders, revenue = conn.execute("SELECT count(*), coalesce(sum(total), 0) FROM orders").fetchone()
        lines = conn.execute("SELECT count(*) FROM order_items").fetchone()[0]
        outbox_left = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
        stock = dict(conn.execute("SELECT variant_id, quantity FROM stock_levels").fetchall())
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    return {
        "orders": int(orders),
        "revenue": int(revenue),
        "lines": int(lines),
        "outbox": int(outbox_left),
        "stock": {str(k): int(v) for k, v in stock.items()},
        "integrity": str(integrity),
    }


# ---------------------------------------------------------------------------------------------- the drain


@dataclass
class Drain:
    seconds: float = float("nan")
    node_up_s: float = float("nan")  # node start -> /health answers
    first_uplink_s: float = float("nan")  # node start -> first batch seen at the broker
    committed_s: float = float("nan")  # node start -> the ack that covers the last seq of every stream
    done: bool = False
    cpu: dict[str, float] = field(default_factory=dict)
    sys_before: dict[str, float] = field(default_factory=dict)
    sys_after: dict[str, float] = field(default_factory=dict)
    started: float = float("nan")  # perf_counter at node start
    uplinks_from: int = 0  # the observer's first uplink of the drain


def write_timeline(path: Path, observer: Observer, drain: Drain) -> None:
    """``--timeline``: every uplink batch and ack the observer saw during the drain, in time order, one per
    line: seconds since the node started, ``uplink`` or ``ack``, the stream, and the batch's first and last
    seq or the ack's high-water mark. Shows what the figures sum up: batch sizes, runts, waits for acks."""
    with observer.lock:
        ups, acks = observer.uplinks[drain.uplinks_from :], list(observer.acks)
    lines = [(u.at - drain.started, f"uplink {u.stream} {u.first_seq}-{u.last_seq}") for u in ups]
    lines += [(a.at - drain.started, f"ack {a.stream} {a.high_water}") for a in acks if a.at >= drain.started]
    path.write_text("".join(f"{at:9.4f} {what}\n" for at, what in sorted(lines)))
    log(f"timeline of {len(lines)} uplink batches and acks written to {path}")


def measure_drain(
    work: Path,
    data_dir: Path,
    shop: Shop,
    cloud: Served,
    observer: Observer,
    broker_pid: int,
    broker_port: int,
    cloud_url: str,
    last_seqs: dict[str, int],
    orders: int,
    timeout_s: float,
    on_node_up: Callable[[str], None],
    window: int | None = None,
) -> Drain:
    """Start the node with MQTT, time it until both sides agree everything arrived; ``on_node_up(node_url)``
    runs (untimed) after that, while the node still runs."""
    drain = Drain()
    port = free_port(HOST)
    node_url = f"http://{HOST}:{port}{API}"
    mqtt_url = f"mqtt://{quote(shop.device_id)}:{quote(shop.mqtt_password, safe='')}@{HOST}:{broker_port}"
    env = bench_env(
        EDGESTORE_DATA_DIR=str(data_dir),
        EDGESTORE_HOST=HOST,
        EDGESTORE_MQTT_URL=mqtt_url,
        **({"EDGESTORE_SYNC_WINDOW": str(window)} if window is not None else {}),
    )
    drain.sys_before = observer.settle_sys()
    observer.stored_max = 0.0
    pg_pid = postmaster_pid(work / "cloud" / "postgres")
    pg_before = process_tree_cpu(pg_pid) if pg_pid else {}
    cloud_before, broker_before = cpu_seconds(cloud.pid), cpu_seconds(broker_pid)
    bench_before = time.process_time()
    busy_before, steal_before = machine_cpu_seconds()
    uplinks_before = len(observer.uplinks)
    t0 = time.perf_counter()
    drain.started, drain.uplinks_from = t0, uplinks_before
    with (
        served(
            node_argv(data_dir, port),
            env,
            what="the node (with MQTT)",
            health_url=f"{node_url}/health",
            log_path=work / "node-drain.log",
            cwd=work,
        ) as node,
        node_staff_client(node_url) as kiosk,
        api_client(cloud_url, shop.token) as seller,
    ):
        drain.node_up_s = time.perf_counter() - t0
        log(f"  node up with MQTT in {drain.node_up_s:.2f} s (pid {node.pid})")
        last_log, cloud_orders = 0.0, 0
        while True:
            elapsed = time.perf_counter() - t0
            pending, per_stream = node_backlog(kiosk)
            # The cloud's order list is asked only to log progress and to confirm the end: five dashboard
            # queries a second would take the cloud's CPU from the drain being measured.
            logging_now = elapsed - last_log >= 2.0
            if pending == 0 or logging_now:
                cloud_orders = cloud_order_total(seller, shop.store_id)
            if pending == 0 and cloud_orders == orders:
                drain.seconds, drain.done = elapsed, True
                break
            if logging_now:
                last_log = elapsed
                log(
                    f"  drained {cloud_orders}/{orders} orders at {elapsed:5.1f} s (node outbox: "
                    + ", ".join(f"{s} {n}" for s, n in per_stream.items() if n)
                    + f"; {len(observer.uplinks) - uplinks_before} uplink publishes seen)"
                )
            if elapsed > timeout_s:
                cloud_orders = cloud_order_total(seller, shop.store_id)
                log(f"  gave up after {timeout_s:.0f} s: {cloud_orders}/{orders} orders, {pending} pending")
                drain.seconds = elapsed
                break
            time.sleep(POLL_S)
        node_cpu = cpu_seconds(node.pid)
        drain.cpu = {
            "node": node_cpu if node_cpu is not None else float("nan"),
            "cloud": _delta(cloud_before, cpu_seconds(cloud.pid)),
            "postgres": tree_cpu_delta(pg_before, process_tree_cpu(pg_pid)) if pg_pid else float("nan"),
            "mosquitto": _delta(broker_before, cpu_seconds(broker_pid)),
            "bench (poll + observer)": time.process_time() - bench_before,
        }
        busy_after, steal_after = machine_cpu_seconds()
        # Anything else running on the machine (other jobs, tests) competes for the cores: it should be ~0.
        drain.cpu["other processes and the kernel (machine busy minus the above)"] = (
            busy_after - busy_before
        ) - sum(drain.cpu.values())
        drain.cpu["stolen by the hypervisor"] = steal_after - steal_before
        log(f"  drained {cloud_orders}/{orders} orders in {drain.seconds:.2f} s")
        drain.sys_after = observer.settle_sys()  # also lets late duplicates show up before the counts
        ups = observer.uplinks[uplinks_before:]
        if ups:
            drain.first_uplink_s = ups[0].at - t0
        last_ack = {
            s: next((a.at for a in observer.acks if a.stream == s and a.high_water >= n), None)
            for s, n in last_seqs.items()
        }
        if all(v is not None for v in last_ack.values()) and last_ack:
            drain.committed_s = max(v for v in last_ack.values() if v is not None) - t0
        on_node_up(node_url)
    return drain


def batch_latencies_ms(uplinks: list[Uplink], acks: list[AckSeen]) -> list[float]:
    """For each distinct batch: from its first copy at the broker to the first ack covering its last seq."""
    first_seen: dict[tuple[str, int, int], float] = {}
    for u in uplinks:
        first_seen.setdefault((u.stream, u.first_seq, u.last_seq), u.at)
    out = []
    for (stream, _first, last), seen in first_seen.items():
        acked = next(
            (a.at for a in acks if a.stream == stream and a.high_water >= last and a.at >= seen), None
        )
        if acked is not None:
            out.append((acked - seen) * 1000)
    return out


def _delta(before: float | None, after: float | None) -> float:
    return after - before if before is not None and after is not None else float("nan")


# ---------------------------------------------------------------------------------------------- checks


def postgres_facts(work: Path, store_id: str, device_id: str) -> dict[str, Any]:
    """Straight from Postgres (attaching to the cloud's embedded server, which keeps running)."""
    server = EmbeddedPostgres(work / "cloud" / "postgres")
    try:
        with psycopg.connect(server.url(EMBEDDED_DATABASE)) as conn:

            def one(sql: str, *params: object) -> Any:
                row = conn.execute(sql, params).fetchone()
                return row[0] if row else None

            streams: dict[str, int] = dict(
                conn.execute(
                    "SELECT stream, high_water FROM sync_streams WHERE device_id = %s", (device_id,)
                ).fetchall()
            )
            return {
                "orders": one("SELECT count(*) FROM orders WHERE store_id = %s", store_id),
                "distinct_orders": one(
                    "SELECT count(DISTINCT order_id) FROM orders WHERE store_id = %s", store_id
                ),
                "revenue": one("SELECT coalesce(sum(total), 0) FROM orders WHERE store_id = %s", store_id),
                "lines": one(
                    "SELECT count(*) FROM order_items i JOIN orders o USING (order_id) WHERE o.store_id = %s",
                    store_id,
                ),
                "dead_letters": one("SELECT count(*) FROM dead_letters"),
                "streams": streams,
                "version": one("SHOW server_version"),
            }
    finally:
        server.stop()  # detaches; the cloud still holds the server


def cloud_stock(client: httpx.Client, store_id: str) -> dict[str, int]:
    return {s["variantId"]: int(s["level"]) for s in expect(client.get(f"/stores/{store_id}/stock"), 200)}


# ---------------------------------------------------------------------------------------------- report


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def machine_lines(work: Path, pg_version: str) -> list[str]:
    import cloud  # the checkout whose cloud this run imports

    software = ", ".join(
        f"{p} {_version(p)}" for p in ("fastapi", "uvicorn", "sqlalchemy", "psycopg", "pydantic", "paho-mqtt")
    )
    return [
        *host_lines(),
        f"sqlite:        {sqlite3.sqlite_version} (node, synchronous=FULL)",
        f"postgres:      {pg_version} (embedded, pgserver, Unix socket)",
        f"mosquitto:     {mosquitto_version()}",
        f"software:      {software}",
        f"temp dir fs:   {filesystem_of(work)}",
        f"code:          {code_line(Path(cloud.__file__).resolve().parent.parent)}",
        f"load average:  {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min, at the end of the run)",
    ]


def sys_delta(drain: Drain, name: str) -> float:
    key = f"$SYS/broker/{name}"
    return drain.sys_after.get(key, float("nan")) - drain.sys_before.get(key, float("nan"))


# ---------------------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark a store node's outbox draining to the cloud's Postgres through Mosquitto.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--orders", type=int, default=10_000, help="orders to queue at the node, then drain")
    parser.add_argument("--products", type=int, default=50, help="products in the cloud (2 variants each)")
    parser.add_argument("--clients", type=int, default=4, help="client threads that queue the checkouts")
    parser.add_argument("--seed", type=int, default=2026, help="seed for the random carts")
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="give up the drain after this many seconds (default: 60 + 0.5 s per order)",
    )
    parser.add_argument(
        "--window",
        type=int,
        default=None,
        help="the node's uplink window (EDGESTORE_SYNC_WINDOW: rows per stream out unacknowledged); "
        "default: the node's own",
    )
    parser.add_argument(
        "--tmp-parent", type=Path, default=None, help="where to make the temp dir (default: system temp)"
    )
    parser.add_argument(
        "--timeline",
        type=Path,
        default=None,
        help="write every uplink batch and ack of the drain, with its time, to this file",
    )
    args = parser.parse_args(argv)
    if args.orders < 1 or args.products < 2 or not 1 <= args.clients <= 64:
        parser.error("--orders must be at least 1, --products at least 2, --clients 1..64")
    if args.window is not None and not 1 <= args.window <= DEFAULT_WINDOW:
        parser.error(f"--window must be 1..{DEFAULT_WINDOW} (the cloud's sequence window)")
    if args.timeout is None:
        args.timeout = 60 + 0.5 * args.orders
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_signals()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="edgestore-drain-", dir=args.tmp_parent))
    work.chmod(0o755)  # as root, pgserver runs postgres as its own user, which must reach the data folder
    node_dir = work / "node"
    database = node_dir / "edge.sqlite3"
    try:
        log(f"sync drain benchmark: {args.orders} orders, temp dir {work}")
        cloud_port, broker_port = free_port(HOST), free_port(HOST)
        cloud_url = f"http://{HOST}:{cloud_port}{API}"
        cloud_env = bench_env(
            EDGESTORE_CLOUD_DATA_DIR=str(work / "cloud"),
            EDGESTORE_CLOUD_HOST=HOST,
            EDGESTORE_CLOUD_PORT=str(cloud_port),
        )

        log("1. the cloud, without MQTT: seller, store, products, stock, device, snapshot")
        started = time.perf_counter()
        with served(
            cloud_argv(cloud_port),
            cloud_env,
            what="the cloud",
            health_url=f"{cloud_url}/openapi.json",
            log_path=work / "cloud.log",
            cwd=work,
        ):
            shop = set_up_shop(cloud_url, args.products)
        log(
            f"  store {shop.store_id}, device {shop.device_id}, {len(shop.variants)} variants "
            f"({time.perf_counter() - started:.1f} s)"
        )

        log("2. the broker: edgestore cloud broker-config, mosquitto -c")
        cloud_password, observer_password = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
        write_broker_config(work, cloud_env, broker_port, cloud_password, observer_password)
        broker = Mosquitto(work / "broker", port=broker_port, host=HOST).start()
        try:
            assert broker.process is not None
            broker_pid = broker.process.pid
            observer = Observer(broker_port, observer_password)
            observer.start()
            log(f"  mosquitto up on {HOST}:{broker_port} (pid {broker_pid})")
            try:
                log("3. the cloud again, with EDGESTORE_CLOUD_MQTT_URL")
                mqtt_env = {
                    **cloud_env,
                    "EDGESTORE_CLOUD_MQTT_URL": f"mqtt://{CLOUD_USERNAME}:{quote(cloud_password, safe='')}"
                    f"@{HOST}:{broker_port}",
                }
                with served(
                    cloud_argv(cloud_port),
                    mqtt_env,
                    what="the cloud (with MQTT)",
                    health_url=f"{cloud_url}/openapi.json",
                    log_path=work / "cloud.log",
                    cwd=work,
                ) as cloud:
                    wait_until(
                        lambda: observer.sys_value("clients/connected") >= 2,  # the observer and the cloud
                        what="the cloud's connection to the broker",
                        timeout_s=30,
                        details=cloud.log_text,
                        interval_s=0.1,
                    )
                    log(f"  cloud up and connected to the broker (pid {cloud.pid})")
                    return run_node_side(
                        args,
                        rng,
                        work,
                        node_dir,
                        database,
                        shop,
                        cloud,
                        cloud_url,
                        observer,
                        broker_pid,
                        broker_port,
                    )
            finally:
                observer.stop()
        finally:
            broker.stop()
            log("  mosquitto stopped")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        log(f"removed {work}")


def run_node_side(
    args: argparse.Namespace,
    rng: random.Random,
    work: Path,
    node_dir: Path,
    database: Path,
    shop: Shop,
    cloud: Served,
    cloud_url: str,
    observer: Observer,
    broker_pid: int,
    broker_port: int,
) -> int:
    log(
        f"4. the node, offline (no EDGESTORE_MQTT_URL): queue {args.orders} orders from {args.clients} clients"
    )
    provision_node(work, node_dir, shop)
    port = free_port(HOST)
    node_url = f"http://{HOST}:{port}{API}"
    offline_env = bench_env(EDGESTORE_DATA_DIR=str(node_dir), EDGESTORE_HOST=HOST)
    carts = plan_carts(rng, shop.variants, args.orders)
    with served(
        node_argv(node_dir, port),
        offline_env,
        what="the node (offline)",
        health_url=f"{node_url}/health",
        log_path=work / "node-queue.log",
        cwd=work,
    ) as node:
        queued: LevelResult = run_level(
            RunningNode(node_url, node.pid), args.clients, carts, "queue", progress_printer("queued")
        )
        with node_staff_client(node_url) as kiosk:
            _, backlog = node_backlog(kiosk)
    sold = Counter(
        v for outcome, cart in zip(queued.outcomes, carts, strict=True) if outcome.ok for v in cart
    )
    ok_orders = len(queued.succeeded)
    ok_lines = sum(o.lines for o in queued.succeeded)
    log(
        f"  queued {ok_orders}/{args.orders} orders ({ok_lines} lines) in {queued.wall_s:.1f} s "
        f"({ok_orders / queued.wall_s:.0f}/s); node outbox: {backlog}"
    )

    log("5. the plan: pending_batches + encode and encode_batch on a copy of the node's file")
    plan = plan_uplink(database, work, shop.store_id, shop.device_id)
    log(
        f"  {len(plan.batches)} batches ("
        + ", ".join(f"{s} {plan.batch_count[s]}" for s in plan.batch_count)
        + f"), {sum(plan.payload_bytes.values()):,} payload bytes as JSON, "
        + f"{sum(plan.wire_bytes.values()):,} as compact2+zstd"
    )
    last_seqs = {b.stream.value: b.messages[-1].seq for b in plan.batches}  # batches come in seq order

    log("6. the drain: the node restarts WITH EDGESTORE_MQTT_URL")
    after: dict[str, Any] = {}

    def while_up(url: str) -> None:
        with node_staff_client(url) as kiosk, api_client(cloud_url, shop.token) as seller:
            after["pending"], after["backlog"] = node_backlog(kiosk)
            after["cloud_orders"] = cloud_order_total(seller, shop.store_id)
            after["cloud_stock"] = cloud_stock(seller, shop.store_id)
        after["postgres"] = postgres_facts(work, shop.store_id, shop.device_id)

    drain = measure_drain(
        work,
        node_dir,
        shop,
        cloud,
        observer,
        broker_pid,
        broker_port,
        cloud_url,
        last_seqs,
        ok_orders,
        args.timeout,
        while_up,
        args.window,
    )
    if args.timeline is not None:
        write_timeline(args.timeline, observer, drain)
    node_clean = "Application shutdown complete" in (work / "node-drain.log").read_text(errors="replace")
    node_file = node_file_facts(database)
    return report(
        args,
        work,
        shop,
        queued,
        ok_orders,
        ok_lines,
        sold,
        plan,
        drain,
        observer,
        after,
        node_file,
        node_clean,
    )


def report(
    args: argparse.Namespace,
    work: Path,
    shop: Shop,
    queued: LevelResult,
    ok_orders: int,
    ok_lines: int,
    sold: Counter[str],
    plan: Plan,
    drain: Drain,
    observer: Observer,
    after: dict[str, Any],
    node_file: dict[str, Any],
    node_clean: bool,
) -> int:
    pg = after.get("postgres", {})
    ups = observer.uplinks
    acks = observer.acks
    envelopes = sum(plan.envelopes.values())
    payload = sum(plan.payload_bytes.values())
    wire = sum(plan.wire_bytes.values())
    seen_payload = sum(u.payload_bytes for u in ups)
    seen_packets = sum(u.publish_packet_bytes for u in ups)
    copies = sum(u.messages for u in ups)
    s = drain.seconds
    latency_ms = sorted(batch_latencies_ms(ups, acks))
    per_stream = Counter(u.stream for u in ups)

    print("Edge to cloud sync drain benchmark (bench/sync_drain.py)")
    print(f"date:          {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}")
    for line in machine_lines(work, str(pg.get("version", "?"))):
        print(line)
    print(
        f"run:           {args.orders} orders queued offline from {args.clients} client threads "
        f"({queued.wall_s:.1f} s, {ok_orders / queued.wall_s:.0f} orders/s), 1-3 lines each from "
        f"{len(shop.variants)} variants, seed {args.seed}; the node's uplink window "
        f"{args.window or DEFAULT_SEND_WINDOW} rows per stream"
    )
    print()
    rows: list[tuple[str, str]] = [
        ("orders drained", f"{ok_orders} ({ok_lines} lines, so {ok_lines} stock deltas)"),
        ("drain time (node start -> node outbox empty and cloud has all)", f"{s:.2f} s"),
        ("  node start -> /health answers", f"{drain.node_up_s:.2f} s"),
        ("  node start -> first batch at the broker", f"{drain.first_uplink_s:.2f} s"),
        ("  node start -> ack covering the last seq of every stream", f"{drain.committed_s:.2f} s"),
        ("orders/s (node start -> all in)", f"{ok_orders / s:.0f}"),
        (
            "orders/s, first batch at the broker -> last ack (the ingest rate)",
            f"{ok_orders / max(drain.committed_s - drain.first_uplink_s, 1e-9):.0f}",
        ),
        ("envelopes/s (orders + stock deltas)", f"{envelopes / s:.0f}"),
        (
            "MQTT messages needed (batches: "
            + ", ".join(f"{k} {v}" for k, v in plan.batch_count.items())
            + ")",
            f"{len(plan.batches)}",
        ),
        (
            "MQTT messages the node published (seen by the observer)",
            f"{len(ups)} ({len(ups) / max(len(plan.batches), 1):.1f} x needed; "
            + ", ".join(f"{k} {v}" for k, v in per_stream.items())
            + ")",
        ),
        (
            "envelopes in them (orders + stock deltas)",
            f"{copies} for {envelopes} ({copies / max(envelopes, 1):.1f} copies each)",
        ),
        ("uplink messages/s (published)", f"{len(ups) / s:.1f}"),
        ("acks published by the cloud", f"{len(acks)}"),
        (
            "batch first seen at the broker -> its ack, p50 / p95 / max",
            f"{percentile(latency_ms, 50):.0f} / {percentile(latency_ms, 95):.0f} / "
            f"{max(latency_ms, default=float('nan')):.0f} ms",
        ),
        (
            "most messages the broker held at once, above its idle count ($SYS)",
            f"{observer.stored_max - drain.sys_before.get(STORED, 0.0):.0f}",
        ),
        ("payload bytes per order as JSON (planned batches, both streams)", f"{payload / ok_orders:,.0f}"),
        ("  orders stream per order", f"{plan.payload_bytes['orders'] / ok_orders:,.0f}"),
        (
            "  stockDeltas stream per order (per delta)",
            f"{plan.payload_bytes['stockDeltas'] / ok_orders:,.0f} ({plan.payload_bytes['stockDeltas'] / max(ok_lines, 1):,.0f})",
        ),
        ("payload bytes per order on the wire, compact2+zstd (planned batches)", f"{wire / ok_orders:,.0f}"),
        ("  orders stream per order", f"{plan.wire_bytes['orders'] / ok_orders:,.0f}"),
        (
            "  stockDeltas stream per order (per delta)",
            f"{plan.wire_bytes['stockDeltas'] / ok_orders:,.0f} ({plan.wire_bytes['stockDeltas'] / max(ok_lines, 1):,.0f})",
        ),
        ("payload bytes per order actually published (with resends)", f"{seen_payload / ok_orders:,.0f}"),
        (
            "MQTT PUBLISH bytes per order actually published (payload + headers)",
            f"{seen_packets / ok_orders:,.0f}",
        ),
        (
            "bytes per order the broker read from all clients ($SYS bytes/received)",
            f"{sys_delta(drain, 'bytes/received') / ok_orders:,.0f}",
        ),
    ]
    for name, cpu in drain.cpu.items():
        rows.append((f"CPU during the drain: {name}", f"{cpu:.1f} s ({cpu / s * 100:.0f} % of one core)"))
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print()
    print("Markdown:")
    print()
    print("| measure | value |")
    print("|---|---:|")
    for name, value in rows:
        print(f"| {'&emsp;' if name.startswith('  ') else ''}{name.strip()} | {value} |")
    print()

    node_stock = node_file["stock"]
    cloud_levels = after.get("cloud_stock", {})
    stock_diff = [
        v
        for v in shop.variants
        if not (node_stock.get(v) == cloud_levels.get(v) == INITIAL_STOCK - sold.get(v, 0))
    ]
    checks: list[tuple[str, object, object]] = [
        ("checkouts that failed while queueing", sum(queued.errors.values()), 0),
        ("drain finished within the timeout", drain.done, True),
        ("node /sync/status pendingTotal after the drain", after.get("pending"), 0),
        ("cloud GET /orders totals for the store", after.get("cloud_orders"), ok_orders),
        ("Postgres: orders of the store (COUNT(*))", pg.get("orders"), ok_orders),
        ("Postgres: distinct order ids", pg.get("distinct_orders"), ok_orders),
        ("Postgres: order lines", pg.get("lines"), ok_lines),
        ("Postgres: sum of order totals = the node's", pg.get("revenue"), node_file["revenue"]),
        ("Postgres: dead letters", pg.get("dead_letters"), 0),
        ("Postgres: sync_streams high water, orders", pg.get("streams", {}).get("orders"), ok_orders),
        (
            "Postgres: sync_streams high water, stockDeltas",
            pg.get("streams", {}).get("stockDeltas"),
            ok_lines,
        ),
        ("variants whose stock differs (node, cloud, expected)", len(stock_diff), 0),
        ("node file: orders", node_file["orders"], ok_orders),
        ("node file: outbox rows left after stop", node_file["outbox"], 0),
        ("node file: PRAGMA integrity_check", node_file["integrity"], "ok"),
        ("node shut down cleanly on SIGTERM", node_clean, True),
    ]
    print("Correctness")
    all_ok = True
    for name, got, want in checks:
        good = got == want
        all_ok &= good
        print(f"  {name}: {got} (expected {want}) {'ok' if good else 'MISMATCH'}")
    for error, n in queued.errors.most_common():
        print(f"  queueing error: {n} x {error}")
    for v in stock_diff[:5]:
        print(
            f"  stock of {v}: node {node_stock.get(v)}, cloud {cloud_levels.get(v)}, "
            f"expected {INITIAL_STOCK - sold.get(v, 0)}"
        )
    print(f"  result: {'PASS' if all_ok else 'FAIL'}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    run_main(main, "servers stopped, temp dir removed")
