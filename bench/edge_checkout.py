"""Store node checkout benchmark: carts and checkouts against a real ``edgestore edge serve`` on loopback.

What it does, in order:

1. makes a temporary data dir, writes a synthetic catalog (``edgestore edge demo-catalog --products N``) and
   loads it (``edgestore edge load-catalog``), then starts ``edgestore edge serve`` on a free port bound to
   127.0.0.1 with ``EDGESTORE_SQLITE_SYNCHRONOUS`` set, and waits for ``GET /api/v1/health``;
2. for each concurrency level, runs a fixed number of checkouts from a thread pool: one checkout is
   ``POST /carts`` with 1-3 distinct random variants (``pNNNNNN-1``, quantity 1) then
   ``POST /carts/{cartId}/checkout`` with a unique ``idempotencyKey``;
3. prints progress to stderr and a table to stdout: throughput, p50/p99 latency of the checkout call alone
   and of cart + checkout, and errors;
4. checks the result: the ``orders`` and ``stockDeltas`` backlog in ``GET /sync/status`` grew by exactly the
   successful checkouts and their lines, ``GET /orders`` pages through exactly that many orders, and, once
   the node is stopped, the SQLite file passes ``PRAGMA integrity_check`` and holds that many orders;
5. stops the node with SIGTERM and removes the temporary dir.

Beside the node, in the same run:

- ``--drain``: a real Mosquitto broker and an acking cloud (``bench/checkout_drain.py``), so the node's own
  sync agent drains the outbox while the shoppers buy. The correctness checks then count what the cloud
  received and acknowledged (every sale and delta, once) and that the node's backlog emptied;
- ``--rate R``: an open loop instead of the closed one. Checkout i is due ``i / R`` seconds after the level
  starts and is taken by the next free client thread; a thread still busy makes it late, and the lateness
  counts in its cart + checkout time (no coordinated omission). What a store's shoppers do: they do not
  start the next sale the instant one ends;
- the bare SQLite floor (on unless ``--no-bare``, ``bench/checkout_bare.py``): after each level, the same
  rows per checkout written by the ``sqlite3`` module alone into a copy of the node's database, from as
  many threads, one transaction per checkout.

Run from the repository root::

    .venv/bin/python bench/edge_checkout.py                       # 10,000 products, 2,000 checkouts x 1,4,8,16
    .venv/bin/python bench/edge_checkout.py --drain               # with the sync agent draining meanwhile
    .venv/bin/python bench/edge_checkout.py --synchronous NORMAL
    .venv/bin/python bench/edge_checkout.py --drain --concurrency 8 --rate 50   # 8 clients, 50 checkouts/s
    .venv/bin/python bench/edge_checkout.py --quick               # a few seconds: a smoke test

The load generator runs in this process, on the same machine as the node: on a small machine the two share
the CPU, so the figures are for the node *and* its client, as on a Pi with the kiosk on the same box.
"""

import argparse
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from benchkit import (
    add_staff_argv,
    count_orders,
    cpu_seconds,
    edgestore_cmd,
    filesystem_of,
    host_lines,
    log,
    node_staff_client,
    percentile,
    run_main,
    stop_on_signals,
)
from checkout_bare import BareResult, BareWriter, print_bare_table, run_bare_level
from checkout_drain import AckingCloud, start_broker

from plumbing import free_port, freeze_startup_heap, wait_for_url
from plumbing.mosquitto import Mosquitto

HOST = "127.0.0.1"  # loopback only: the node is never reachable from outside during a run
API = "/api/v1"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
REQUEST_TIMEOUT_S = 30.0
WARMUP_CHECKOUTS = 20


# ---------------------------------------------------------------------------------------------- helpers


def node_env(
    data_dir: Path, synchronous: str, port: int | None = None, mqtt_url: str | None = None
) -> dict[str, str]:
    """The environment for the CLI: inherited, minus any EDGESTORE_* that would change the run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGESTORE_")}
    if mqtt_url is not None:
        env["EDGESTORE_MQTT_URL"] = mqtt_url
    env["EDGESTORE_DATA_DIR"] = str(data_dir)
    env["EDGESTORE_SQLITE_SYNCHRONOUS"] = synchronous
    env["EDGESTORE_CONFIG_FILE"] = str(data_dir.parent / "no-such-edgestore.toml")  # no stray TOML file
    env["EDGESTORE_HOST"] = HOST
    if port is not None:
        env["EDGESTORE_PORT"] = str(port)
    return env


# ---------------------------------------------------------------------------------------------- machine


def machine_lines(data_dir: Path, synchronous: str) -> list[str]:
    return [
        *host_lines(),
        f"sqlite:        {sqlite3.sqlite_version} (the node runs on this interpreter's sqlite3)",
        f"synchronous:   {synchronous} (journal_mode=WAL, BEGIN IMMEDIATE writers)",
        f"data dir fs:   {filesystem_of(data_dir)}",
    ]


# ---------------------------------------------------------------------------------------------- the node


def prepare_catalog(work: Path, data_dir: Path, products: int, synchronous: str) -> None:
    catalog = work / "catalog.json"
    env = node_env(data_dir, synchronous)
    started = time.perf_counter()
    for argv in (
        ["edge", "demo-catalog", "--products", str(products), "-o", str(catalog)],
        ["edge", "load-catalog", str(catalog), "--data-dir", str(data_dir)],
        add_staff_argv(data_dir),  # the checks read the node's orders and sync status: staff only
    ):
        done = subprocess.run(
            [*edgestore_cmd(), *argv], env=env, cwd=work, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"`edgestore {' '.join(argv)}` failed:\n{done.stdout}{done.stderr}")
        log(f"  {done.stdout.strip()}")
    log(f"  catalog ready in {time.perf_counter() - started:.1f} s")


@dataclass
class RunningNode:
    base_url: str
    pid: int
    clean_shutdown: bool | None = None  # set once stopped: uvicorn logged a complete graceful shutdown

    def cpu_seconds(self) -> float | None:
        """User + system CPU the node process used so far (Linux /proc), or None where unavailable."""
        return cpu_seconds(self.pid)


@contextmanager
def running_node(
    work: Path, data_dir: Path, synchronous: str, mqtt_url: str | None = None
) -> Iterator[RunningNode]:
    """Start ``edgestore edge serve`` on loopback, yield it once /health answers, stop it with SIGTERM."""
    port = free_port(HOST)
    log_path = work / "node.log"
    with log_path.open("wb") as node_log:
        proc = subprocess.Popen(
            [*edgestore_cmd(), "edge", "serve", "--data-dir", str(data_dir), "--port", str(port)],
            env=node_env(data_dir, synchronous, port, mqtt_url),
            cwd=work,
            stdout=node_log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://{HOST}:{port}{API}"
    node: RunningNode | None = None
    try:
        wait_for_url(
            f"{base_url}/health",
            what="the node",
            timeout_s=START_TIMEOUT_S,
            watch=proc,
            details=lambda: log_path.read_text(errors="replace"),
        )
        log(f"  node up on {base_url} (pid {proc.pid})")
        node = RunningNode(base_url, proc.pid)
        yield node
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                log("  the node ignored SIGTERM; killing it")
                proc.kill()
                proc.wait()
        # uvicorn shuts down gracefully on SIGTERM, then re-raises it: exit status -15 is the normal end.
        clean = "Application shutdown complete" in log_path.read_text(errors="replace")
        if node is not None:
            node.clean_shutdown = clean
        log(
            f"  node stopped (exit status {proc.returncode}, {'clean shutdown' if clean else 'NO clean shutdown'})"
        )


# ---------------------------------------------------------------------------------------------- the load


@dataclass(frozen=True)
class Outcome:
    ok: bool
    lines: int
    checkout_ms: float | None  # the checkout call alone
    total_ms: float | None  # cart + checkout
    error: str | None = None


@dataclass
class LevelResult:
    concurrency: int
    attempted: int
    wall_s: float
    outcomes: list[Outcome] = field(default_factory=list)
    node_cpu_s: float | None = None  # CPU the node process used during the level
    client_cpu_s: float | None = None  # CPU this (load generator) process used during the level

    @property
    def succeeded(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.ok]

    @property
    def errors(self) -> Counter[str]:
        return Counter(o.error or "?" for o in self.outcomes if not o.ok)

    def row(self) -> dict[str, Any]:
        ok = self.succeeded
        checkout_ms = sorted(o.checkout_ms for o in ok if o.checkout_ms is not None)
        total_ms = sorted(o.total_ms for o in ok if o.total_ms is not None)
        return {
            "concurrency": self.concurrency,
            "checkouts": len(ok),
            "per_s": len(ok) / self.wall_s if self.wall_s > 0 else float("nan"),
            "co_p50": percentile(checkout_ms, 50),
            "co_p99": percentile(checkout_ms, 99),
            "tot_p50": percentile(total_ms, 50),
            "tot_p99": percentile(total_ms, 99),
            "errors": sum(self.errors.values()),
            "node_cpu_ms": self._per_attempt_ms(self.node_cpu_s),
            "client_cpu_ms": self._per_attempt_ms(self.client_cpu_s),
        }

    def _per_attempt_ms(self, seconds: float | None) -> float:
        return seconds * 1000 / self.attempted if seconds is not None and self.attempted else float("nan")


def plan_carts(rng: random.Random, products: int, count: int) -> list[list[str]]:
    """``count`` carts of 1-3 distinct variant ids ``pNNNNNN-1`` (every synthetic product has a ``-1``)."""
    return [
        [f"p{n:06d}-1" for n in rng.sample(range(products), rng.randint(1, min(3, products)))]
        for _ in range(count)
    ]


def _error_name(response: httpx.Response) -> str:
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = "?"
    return (
        f"{response.request.method} {response.request.url.path.split('/')[-1]}: {response.status_code} {code}"
    )


class Shopper:
    """One checkout at a time per thread, each thread with its own keep-alive HTTP connection."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._local = threading.local()
        self._clients: list[httpx.Client] = []
        self._lock = threading.Lock()

    def _client(self) -> httpx.Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(base_url=self.base_url, timeout=REQUEST_TIMEOUT_S)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def checkout(self, variant_ids: list[str], key: str, due: float | None = None) -> Outcome:
        """``due``: when the checkout was scheduled to start (``--rate``); a late start counts in its
        cart + checkout time, as a shopper kept waiting would (no coordinated omission)."""
        client = self._client()
        items = [{"variantId": v, "quantity": 1} for v in variant_ids]
        try:
            t0 = time.perf_counter()
            if due is not None:
                t0 = min(t0, due)
            cart = client.post("/carts", json={"items": items})
            if cart.status_code != 201:
                return Outcome(False, len(items), None, None, _error_name(cart))
            t1 = time.perf_counter()
            sale = client.post(
                f"/carts/{cart.json()['cartId']}/checkout",
                json={"paymentMethod": "cash", "idempotencyKey": key},
            )
            t2 = time.perf_counter()
        except httpx.HTTPError as exc:
            return Outcome(False, len(items), None, None, f"transport: {type(exc).__name__}")
        if sale.status_code != 201:
            return Outcome(False, len(items), None, None, _error_name(sale))
        return Outcome(True, len(items), (t2 - t1) * 1000, (t2 - t0) * 1000)

    def close(self) -> None:
        with self._lock:
            for client in self._clients:
                client.close()
            self._clients.clear()


def run_level(
    node: RunningNode,
    concurrency: int,
    carts: list[list[str]],
    tag: str,
    progress: Callable[[int, int], None] | None = None,
    rate: float | None = None,
) -> LevelResult:
    """Run ``len(carts)`` checkouts with ``concurrency`` threads: as fast as they go (closed loop), or with
    ``rate`` the i-th checkout is due ``i / rate`` seconds after the start (open loop: what a store's
    shoppers do; a thread still busy makes the next checkout late, and the lateness counts)."""
    shopper = Shopper(node.base_url)
    result = LevelResult(concurrency=concurrency, attempted=len(carts), wall_s=0.0)
    done_lock = threading.Lock()
    done = 0
    run_id = uuid.uuid4().hex[:12]

    def one(index: int) -> Outcome:
        nonlocal done
        due = None
        if rate is not None:
            due = started + index / rate
            time.sleep(max(0.0, due - time.perf_counter()))
        outcome = shopper.checkout(carts[index], f"bench-{run_id}-{tag}-{index:06d}", due)
        with done_lock:
            done += 1
            if progress is not None:
                progress(done, len(carts))
        return outcome

    started = time.perf_counter()  # set again just before the first checkout; ``one`` reads it
    try:
        node_cpu_before, client_cpu_before = node.cpu_seconds(), time.process_time()
        started = time.perf_counter()
        pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"shopper{concurrency}")
        try:
            result.outcomes = list(pool.map(one, range(len(carts))))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # on Ctrl-C: drop the queued checkouts
        result.wall_s = time.perf_counter() - started
        node_cpu_after = node.cpu_seconds()
        result.client_cpu_s = time.process_time() - client_cpu_before
        if node_cpu_before is not None and node_cpu_after is not None:
            result.node_cpu_s = node_cpu_after - node_cpu_before
    finally:
        shopper.close()
    return result


def progress_printer(label: str) -> Callable[[int, int], None]:
    """Logs at every 10 % of the run (called under the caller's lock)."""
    last = [0]

    def report(done: int, total: int) -> None:
        tenth = done * 10 // total
        if tenth > last[0]:
            last[0] = tenth
            log(f"  {label}: {done}/{total} ({tenth * 10} %)")

    return report


# ---------------------------------------------------------------------------------------------- checks


def sync_backlog(client: httpx.Client) -> dict[str, int]:
    status = client.get("/sync/status")
    status.raise_for_status()
    return {s["stream"]: int(s["pending"]) for s in status.json()["streams"]}


def check_file(database: Path) -> tuple[str, int]:
    """After the node stopped: integrity check and the orders table's row count, read-only."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        integrity = str(conn.execute("PRAGMA integrity_check").fetchone()[0])
        orders = int(conn.execute("SELECT count(*) FROM orders").fetchone()[0])
    return integrity, orders


# ---------------------------------------------------------------------------------------------- report


def print_table(results: list[LevelResult]) -> None:
    header = (
        f"{'concurrency':>11}  {'checkouts':>9}  {'checkouts/s':>11}  "
        f"{'checkout p50':>12}  {'checkout p99':>12}  {'cart+co p50':>11}  {'cart+co p99':>11}  {'errors':>6}  "
        f"{'node CPU':>9}  {'client CPU':>10}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        row = r.row()
        print(
            f"{row['concurrency']:>11}  {row['checkouts']:>9}  {row['per_s']:>11.1f}  "
            f"{row['co_p50']:>9.1f} ms  {row['co_p99']:>9.1f} ms  "
            f"{row['tot_p50']:>8.1f} ms  {row['tot_p99']:>8.1f} ms  {row['errors']:>6}  "
            f"{row['node_cpu_ms']:>6.1f} ms  {row['client_cpu_ms']:>7.1f} ms"
        )
    print("(node CPU / client CPU: CPU time of the node process / of this load generator per cart+checkout)")
    for r in results:
        for error, n in r.errors.most_common():
            print(f"  concurrency {r.concurrency}: {n} x {error}")
    print()
    print("Markdown:")
    print()
    print(
        "| concurrency | checkouts | checkouts/s | checkout p50 (ms) | checkout p99 (ms) "
        "| cart+checkout p50 (ms) | cart+checkout p99 (ms) | errors | node CPU / checkout (ms) "
        "| client CPU / checkout (ms) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        row = r.row()
        print(
            f"| {row['concurrency']} | {row['checkouts']} | {row['per_s']:.1f} | {row['co_p50']:.1f} "
            f"| {row['co_p99']:.1f} | {row['tot_p50']:.1f} | {row['tot_p99']:.1f} | {row['errors']} "
            f"| {row['node_cpu_ms']:.1f} | {row['client_cpu_ms']:.1f} |"
        )


# ---------------------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark carts + checkouts against a store node on loopback.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--products", type=int, default=10_000, help="synthetic catalog size")
    parser.add_argument("--checkouts", type=int, default=2_000, help="checkouts per concurrency level")
    parser.add_argument("--concurrency", default="1,4,8,16", help="comma-separated client thread counts")
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="open loop: start checkouts at this many per second in all (each level's threads take them in "
        "turn; a late start counts in the latency); default: closed loop, each thread as fast as it goes",
    )
    parser.add_argument(
        "--drain", action="store_true", help="run a broker and an acking cloud: the node's sync agent drains"
    )
    parser.add_argument(
        "--no-bare", dest="bare", action="store_false", help="skip the bare-SQLite floor after each level"
    )
    parser.add_argument("--synchronous", default="FULL", choices=["FULL", "NORMAL"], type=str.upper)
    parser.add_argument("--seed", type=int, default=2026, help="seed for the random carts")
    parser.add_argument(
        "--tmp-parent", type=Path, default=None, help="where to make the temp data dir (default: system temp)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny run in seconds: 200 products, 100 checkouts, 1,4"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.products, args.checkouts, args.concurrency = 200, 100, "1,8"
    try:
        args.levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    except ValueError:
        parser.error(f"--concurrency must be integers separated by commas, not {args.concurrency!r}")
    if not args.levels or min(args.levels) < 1 or max(args.levels) > 256:
        parser.error("--concurrency levels must be between 1 and 256")
    if args.rate is not None and args.rate <= 0:
        parser.error("--rate must be positive")
    if args.products < 1 or args.checkouts < 1:
        parser.error("--products and --checkouts must be at least 1")
    return args


def print_header(args: argparse.Namespace, work: Path) -> None:
    print("Store node checkout benchmark (bench/edge_checkout.py)")
    print(f"date:          {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}")
    for line in machine_lines(work, args.synchronous):
        print(line)
    print(
        f"load average:  {' '.join(Path('/proc/loadavg').read_text().split()[:3])} (1, 5, 15 min, at the end)"
    )
    print(
        f"run:           {args.products} products, {args.checkouts} checkouts per level, "
        f"1-3 lines per cart, seed {args.seed}, client threads in this process over loopback"
    )
    print(
        "load:          "
        + (
            f"open loop: {args.rate:g} checkouts/s offered in all, from each level's threads; "
            "cart+checkout times count from when each was due"
            if args.rate
            else "closed loop: each client thread starts its next checkout as soon as one ends"
        )
    )
    print(
        "sync drain:    "
        + (
            "on: the node's sync agent sends to a Mosquitto broker, an acking cloud in this process answers"
            if args.drain
            else "off (no broker: the outbox only grows)"
        )
    )
    print()


def start_drain(work: Path) -> tuple[Mosquitto, AckingCloud]:
    broker = start_broker(work)
    cloud = AckingCloud(broker.port)
    cloud.start()
    log(f"  broker and acking cloud up on 127.0.0.1:{broker.port}")
    return broker, cloud


def stop_drain(broker: Mosquitto | None, cloud: AckingCloud | None) -> None:
    if cloud is not None:
        cloud.stop()
    if broker is not None:
        broker.stop()


def run_levels(
    node: RunningNode, args: argparse.Namespace, rng: random.Random, bare_writer: BareWriter | None
) -> tuple[list[LevelResult], list[BareResult]]:
    """Each level on the node, then (unless ``--no-bare``) the same carts' rows on bare SQLite."""
    results: list[LevelResult] = []
    bare_results: list[BareResult] = []
    for level in args.levels:
        label = f"concurrency {level}"
        log(f"{label}: {args.checkouts} checkouts")
        carts = plan_carts(rng, args.products, args.checkouts)
        results.append(run_level(node, level, carts, f"c{level}", progress_printer(label), args.rate))
        if bare_writer is not None:
            bare_results.append(run_bare_level(bare_writer, level, carts, f"c{level}"))
            log(f"  bare SQLite: {bare_results[-1].row()['per_s']:.0f} checkouts/s")
    return results, bare_results


def print_checks(checks: list[tuple[str, int, int]], integrity: str, clean_shutdown: bool) -> bool:
    all_ok = integrity == "ok"
    for name, got, want in checks:
        good = got == want
        all_ok &= good
        print(f"  {name}: {got} (expected {want}) {'ok' if good else 'MISMATCH'}")
    print(f"  PRAGMA integrity_check after stop: {integrity}")
    print(f"  node shut down cleanly on SIGTERM: {'yes' if clean_shutdown else 'NO'}")
    all_ok &= clean_shutdown
    print(f"  result: {'PASS' if all_ok else 'FAIL'}")
    return all_ok


def correctness_checks(
    runs: list[LevelResult],
    listed: int,
    in_file: int,
    backlog_before: dict[str, int],
    backlog_after: dict[str, int],
    cloud: AckingCloud | None,
) -> list[tuple[str, int, int]]:
    """(what, got, expected) for the run: with a drain, what the cloud received and that the backlog
    emptied; without, that the backlog grew by exactly the sales and their lines."""
    ok_checkouts = sum(len(r.succeeded) for r in runs)
    ok_lines = sum(o.lines for r in runs for o in r.succeeded)
    failed = sum(sum(r.errors.values()) for r in runs)
    checks: list[tuple[str, int, int]] = [
        (f"failed checkouts (of {sum(r.attempted for r in runs)}, incl. warm-up)", failed, 0),
        ("GET /orders paged through (new orders)", listed, ok_checkouts),
        ("orders table rows in the file after stop (new orders)", in_file, ok_checkouts),
    ]
    if cloud is not None:
        received_orders, received_deltas = cloud.distinct("orders"), cloud.distinct("stockDeltas")
        return [
            *checks,
            (
                "distinct 'orders' seqs the cloud received in the run",
                received_orders - cloud.before[0],
                ok_checkouts,
            ),
            (
                "distinct 'stockDeltas' seqs the cloud received in the run (one per line)",
                received_deltas - cloud.before[1],
                ok_lines,
            ),
            ("sync/status 'orders' pending after the drain", backlog_after.get("orders", 0), 0),
            ("sync/status 'stockDeltas' pending after the drain", backlog_after.get("stockDeltas", 0), 0),
            ("batches the cloud could not decode", len(cloud.rejected), 0),
        ]
    return [
        *checks,
        (
            "sync/status 'orders' pending grew by",
            backlog_after.get("orders", 0) - backlog_before.get("orders", 0),
            ok_checkouts,
        ),
        (
            "sync/status 'stockDeltas' pending grew by (one per line)",
            backlog_after.get("stockDeltas", 0) - backlog_before.get("stockDeltas", 0),
            ok_lines,
        ),
    ]


DRAIN_TIMEOUT_S = 180.0


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of the node's file (SQLite's backup API: the WAL's pages too)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def node_identity(database: Path) -> tuple[str, str]:
    """The store id and device id the node holds (node_state), for the bare writer's rows."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        found = dict(conn.execute("SELECT key, value FROM node_state WHERE key IN ('storeId', 'deviceId')"))
    return str(found.get("storeId", "store")), str(found.get("deviceId", "device"))


def wait_drained(admin: httpx.Client, timeout_s: float = DRAIN_TIMEOUT_S) -> dict[str, int]:
    """Poll /sync/status until nothing waits in the orders and stockDeltas streams."""
    deadline = time.monotonic() + timeout_s
    while True:
        backlog = sync_backlog(admin)
        if backlog.get("orders", 0) == 0 and backlog.get("stockDeltas", 0) == 0:
            return backlog
        if time.monotonic() > deadline:
            log(f"  the drain did not finish in {timeout_s:.0f} s: {backlog}")
            return backlog
        time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_signals()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="edgestore-bench-", dir=args.tmp_parent))
    data_dir = work / "node"
    broker: Mosquitto | None = None
    cloud: AckingCloud | None = None
    try:
        log(f"edge checkout benchmark: temp dir {work}")
        prepare_catalog(work, data_dir, args.products, args.synchronous)
        bare_writer: BareWriter | None = None
        if args.bare:
            copy_database(data_dir / "edge.sqlite3", work / "bare.sqlite3")
        if args.drain:
            broker, cloud = start_drain(work)
        mqtt_url = f"mqtt://bench-node@127.0.0.1:{broker.port}" if broker is not None else None
        with running_node(work, data_dir, args.synchronous, mqtt_url) as node:
            base_url = node.base_url
            with node_staff_client(base_url, timeout_s=REQUEST_TIMEOUT_S) as admin:
                if cloud is not None:
                    wait_drained(admin)  # what the catalog load queued goes first: the levels start level
                    cloud.before = (cloud.distinct("orders"), cloud.distinct("stockDeltas"))
                backlog_before = sync_backlog(admin)
                orders_before = count_orders(admin)
            if args.bare:
                bare_writer = BareWriter(
                    work / "bare.sqlite3", args.synchronous, *node_identity(data_dir / "edge.sqlite3")
                )

            warmup = run_level(node, 1, plan_carts(rng, args.products, WARMUP_CHECKOUTS), "warmup")
            log(f"  warm-up: {len(warmup.succeeded)}/{warmup.attempted} checkouts (not in the table)")
            # The load generator's own full garbage collections (its imports, the acking cloud) would stall
            # every client thread at once and count as the node's latency: left out, as the node does.
            freeze_startup_heap()
            results, bare_results = run_levels(node, args, rng, bare_writer)
            runs = [warmup, *results]
            with node_staff_client(base_url, timeout_s=REQUEST_TIMEOUT_S) as admin:
                if args.drain:
                    log("  waiting for the drain to finish")
                    wait_drained(admin)
                backlog_after = sync_backlog(admin)
                orders_after = count_orders(admin)
        if bare_writer is not None:
            bare_writer.close()
        integrity, orders_in_file = check_file(data_dir / "edge.sqlite3")

        print_header(args, work)
        print_table(results)
        print()
        if bare_results:
            print_bare_table(bare_results, {r.concurrency: r.row()["per_s"] for r in results})
            print()

        checks = correctness_checks(
            runs,
            orders_after - orders_before,
            orders_in_file - orders_before,
            backlog_before,
            backlog_after,
            cloud,
        )
        print("Correctness")
        print(f"  sync/status pending after the run: {backlog_after}")
        if cloud is not None:
            print(f"  uplink batches the cloud acknowledged: {cloud.batches()}")
        return 0 if print_checks(checks, integrity, bool(node.clean_shutdown)) else 1
    finally:
        stop_drain(broker, cloud)
        shutil.rmtree(work, ignore_errors=True)
        log(f"removed {work}")


if __name__ == "__main__":
    run_main(main, "node stopped, temp dir removed")
