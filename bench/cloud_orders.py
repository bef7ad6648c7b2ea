"""Cloud orders list and dashboard benchmark: a million orders in Postgres, read over HTTP.

What it does, in order:

1. starts an embedded PostgreSQL (``cloud.db.EmbeddedPostgres``, the ``pgserver`` wheel) in a temporary dir,
   or uses the server of ``--database-url``; creates a fresh database and migrates it
   (``CloudDatabase.migrate()``);
2. starts the real cloud (``edgestore cloud serve``: FastAPI under uvicorn, one worker) on a free port bound
   to 127.0.0.1 with ``EDGESTORE_DATABASE_URL`` pointing at that database, and makes two sellers through the
   HTTP API (``POST /sellers``, ``POST /auth/login``, ``POST /stores``): seller A with 50 stores and seller
   B with 2, so every query is really scoped;
3. bulk-loads the orders with ``COPY`` (psycopg ``cursor.copy``), one Taiwan business day per transaction:
   orders (ULID ids made here, 1-3 lines each, over 180 days, mostly ``completed``, some ``refunded``,
   ``returned``, ``cancelled``), their ``order_items``, ``payments``, the ``order_events`` row that ingest
   writes, and the ``daily_sales`` / ``daily_product_sales`` rollups summed in Python exactly as
   ``cloud.orders.ingest_order`` adds them up. Then ``VACUUM (ANALYZE)``. Then it ingests ``--ingest`` more
   orders (today's) through the real ``cloud.orders.ingest_order``, one transaction each;
4. warms up and measures ``GET /orders`` (first page and a deep page reached by following ``nextCursor``;
   unfiltered, by store, by status, by a 7-day range; ``limit=50``) and ``GET /dashboard/summary`` (30 days,
   all stores and one store), each ``--samples`` times, over one keep-alive httpx connection, and prints
   a table (plain and Markdown): p50/p95/max latency, rows and bytes returned, CPU per request of the app
   process and of Postgres (embedded server only);
5. checks: the unfiltered ``totals.orders`` equals seller A's orders, the per-store totals add up to it, the
   dashboard over every day equals the rollup sum and ``COUNT(*)`` (all stores and one store, in SQL), the
   rollup tables equal a recomputation from the orders, walks of the list are strictly decreasing in
   (createdAt, orderId) with no duplicates, a whole store's walk finds all its orders, and seller B sees
   none of seller A's orders. Prints ``result: PASS`` or ``FAIL`` (exit 1);
6. stops the cloud and Postgres and removes the temporary dir (or drops the database on ``--database-url``).

Run from the repository root::

    .venv/bin/python bench/cloud_orders.py                 # 1,000,000 orders, 200 samples: several minutes
    .venv/bin/python bench/cloud_orders.py --explain       # also EXPLAIN (ANALYZE, BUFFERS) the app's queries
    .venv/bin/python bench/cloud_orders.py --quick         # 20,000 orders, 20 samples: under a minute

The client runs on the same machine as the app and Postgres: on a small machine the three share the CPU.
"""

import argparse
import base64
import itertools
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import psycopg
from benchkit import (
    api_client,
    cpu_seconds,
    edgestore_cmd,
    expect,
    filesystem_of,
    host_lines,
    log,
    percentile,
    process_tree_cpu,
    run_main,
    stop_on_signals,
    tree_cpu_delta,
)
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url

from cloud import dashboard
from cloud import orders as cloud_orders
from cloud.db import CloudDatabase, EmbeddedPostgres, sqlalchemy_url
from models.business_days import business_day, day_start
from models.ids import new_id
from models.order_states import OrderStatus
from models.paging import encode_cursor
from models.sales import Channel, Order, OrderItem, Payment, PaymentMethod, PaymentStatus
from plumbing import free_port, wait_for_url

HOST = "127.0.0.1"  # loopback only: the cloud is never reachable from outside during a run
API = "/api/v1"
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 20.0
PASSWORD = "bench-password-1"  # a throwaway account in a throwaway database
# Shops sell 07:00-23:30 Taiwan time; 07:00-08:00 Taiwan is still the day before in UTC.
OPEN_S, CLOSE_S = 7 * 3600, 23 * 3600 + 1800


# ---------------------------------------------------------------------------------------------- helpers


def taiwan_today() -> date:
    return business_day(datetime.now(UTC))


# ---------------------------------------------------------------------------------------------- machine


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def machine_lines(work: Path, postgres: dict[str, str], embedded: bool) -> list[str]:
    software = ", ".join(
        f"{p} {_version(p)}" for p in ("fastapi", "uvicorn", "sqlalchemy", "psycopg", "pydantic", "httpx")
    )
    settings = ", ".join(
        f"{k}={postgres[k]}"
        for k in (
            "shared_buffers",
            "work_mem",
            "effective_cache_size",
            "max_parallel_workers_per_gather",
            "jit",
        )
        if k in postgres
    )
    where = "embedded (pgserver), Unix socket" if embedded else "--database-url"
    return [
        *host_lines(),
        f"postgres:      {postgres.get('server_version', '?')} ({where})",
        f"pg settings:   {settings}",
        f"software:      {software}",
        f"temp dir fs:   {filesystem_of(work)}",
    ]


# ---------------------------------------------------------------------------------------------- ids

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_B32_TO_CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _CROCKFORD.encode())


class IdMaker:
    """ULIDs (48-bit millisecond time + 80 random bits, Crockford base32) from a seeded generator: about ten
    times faster than ``models.ids.new_id`` and reproducible. Ids of one millisecond are not monotonic,
    which the list does not need: it orders on (created_at, order_id)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._ms = -1
        self._prefix = ""

    def at(self, ms: int) -> str:
        if ms != self._ms:
            self._ms = ms
            self._prefix = "".join(_CROCKFORD[(ms >> shift) & 31] for shift in range(45, -1, -5))
        return self._prefix + base64.b32encode(self._rng.randbytes(10)).translate(_B32_TO_CROCKFORD).decode()


# ---------------------------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Variant:
    variant_id: str
    name: str
    price: int


@dataclass(frozen=True)
class Product:
    product_id: str
    name: str
    variants: tuple[Variant, ...]


@dataclass
class Seller:
    label: str
    account: str
    seller_id: str = ""
    token: str = ""
    store_ids: list[str] = field(default_factory=list)
    device_ids: list[str] = field(default_factory=list)
    store_cum_weights: list[float] = field(default_factory=list)
    products: list[Product] = field(default_factory=list)
    bulk_orders: int = 0  # how many the plan gives it
    loaded: Counter[str] = field(default_factory=Counter)  # orders written, per store
    revenue: int = 0

    @property
    def orders(self) -> int:
        return sum(self.loaded.values())


@dataclass(slots=True)
class Line:
    item_id: str
    product: Product
    variant: Variant
    quantity: int
    unit_discount: int

    @property
    def unit_final_price(self) -> int:
        return self.variant.price - self.unit_discount

    @property
    def line_total(self) -> int:
        return self.unit_final_price * self.quantity


@dataclass(slots=True)
class PlannedOrder:
    order_id: str
    seller: Seller
    store_index: int
    channel: str
    status: str
    created_at: datetime
    updated_at: datetime
    received_at: datetime
    lines: list[Line]
    payment_id: str | None
    payment_method: str
    payment_status: str
    event_id: str

    @property
    def store_id(self) -> str:
        return self.seller.store_ids[self.store_index]

    @property
    def subtotal(self) -> int:
        return sum(li.variant.price * li.quantity for li in self.lines)

    @property
    def discount_total(self) -> int:
        return sum(li.unit_discount * li.quantity for li in self.lines)

    @property
    def total(self) -> int:
        return sum(li.line_total for li in self.lines)


def make_products(rng: random.Random, ids: IdMaker, count: int, prefix: str) -> list[Product]:
    ms = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)
    out = []
    for n in range(count):
        variants = tuple(
            Variant(ids.at(ms + n), name, rng.randrange(30, 2000, 5))
            for name in ("標準", "大份", "禮盒")[: rng.randint(1, 3)]
        )
        out.append(Product(ids.at(ms + n), f"{prefix}商品{n:04d}", variants))
    return out


class OrderFactory:
    """Orders as a store node sends them: 1-3 distinct products (popular ones more often), mostly one unit,
    15 % of lines 10 % off; in-store sales (90 %) are completed, some later refunded or returned; online
    orders (10 %) are completed, some cancelled (no payment) or returned."""

    def __init__(self, rng: random.Random, ids: IdMaker) -> None:
        self.rng = rng
        self.ids = ids

    def pick_status(self) -> tuple[str, str]:
        r = self.rng.random()
        if self.rng.random() < 0.9:
            status = "completed" if r < 0.96 else "refunded" if r < 0.985 else "returned"
            return Channel.IN_STORE.value, status
        status = "completed" if r < 0.85 else "cancelled" if r < 0.95 else "returned"
        return Channel.ONLINE.value, status

    def make(
        self, seller: Seller, created: datetime, now: datetime, id_for: Callable[[int], str] | None = None
    ) -> PlannedOrder:
        rng = self.rng
        ms = int(created.timestamp() * 1000)
        new = id_for or self.ids.at
        store_index = rng.choices(range(len(seller.store_ids)), cum_weights=seller.store_cum_weights)[0]
        n_products = len(seller.products)
        picked: list[Product] = []
        for _ in range(rng.choices((1, 2, 3), weights=(45, 35, 20))[0]):
            product = seller.products[int(n_products * rng.random() ** 2)]  # skewed: top sellers exist
            if product not in picked:
                picked.append(product)
        lines = []
        for product in picked:
            variant = product.variants[rng.randrange(len(product.variants))]
            quantity = rng.choices((1, 2, 3), weights=(80, 15, 5))[0]
            discount = variant.price // 10 if rng.random() < 0.15 else 0
            lines.append(Line(new(ms), product, variant, quantity, discount))
        channel, status = self.pick_status()
        updated = created
        if status in ("refunded", "returned"):
            updated = min(created + timedelta(seconds=rng.randint(3600, 72 * 3600)), now)
        paid = status != "cancelled"  # a cancelled online order was never paid
        return PlannedOrder(
            order_id=new(ms),
            seller=seller,
            store_index=store_index,
            channel=channel,
            status=status,
            created_at=created,
            updated_at=updated,
            received_at=min(created + timedelta(seconds=rng.randint(1, 30)), now),
            lines=lines,
            payment_id=new(ms) if paid else None,
            payment_method="cash" if rng.random() < 0.6 else "card",
            payment_status="refunded" if status in ("refunded", "returned") else "captured",
            event_id=new(ms),
        )


def day_counts(rng: random.Random, total: int, days: list[date]) -> list[int]:
    """Split ``total`` orders over ``days``: weekends busier, a slow upward trend, exact sum."""
    weights = []
    for n, day in enumerate(days):
        weekday = {4: 1.15, 5: 1.35, 6: 1.35}.get(day.weekday(), 1.0)
        weights.append(weekday * (0.85 + 0.3 * n / max(1, len(days) - 1)) * rng.uniform(0.95, 1.05))
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    by_remainder = sorted(range(len(days)), key=lambda i: weights[i] * scale - counts[i], reverse=True)
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


# ---------------------------------------------------------------------------------------------- Postgres


def libpq_url(url: str) -> str:
    """The URL as psycopg itself takes it (``postgresql://``, password kept)."""
    return make_url(sqlalchemy_url(url)).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class BenchPostgres:
    url: str  # the bench database
    embedded: EmbeddedPostgres | None
    postmaster_pid: int | None


@contextmanager
def bench_postgres(work: Path, database_url: str | None) -> Iterator[BenchPostgres]:
    """An embedded server in ``work`` (stopped after), or a fresh database on ``database_url`` (dropped after)."""
    name = f"edgestore_bench_{uuid.uuid4().hex[:10]}"
    if database_url is None:
        started = time.perf_counter()
        # As root, pgserver runs postgres as its own user, which must be able to reach the data folder.
        work.chmod(0o755)
        server = EmbeddedPostgres(work / "postgres")
        try:
            server.create_database(name)
            pid = server._server.get_pid()
            log(f"  embedded Postgres up in {time.perf_counter() - started:.1f} s (pid {pid})")
            yield BenchPostgres(server.url(name), server, pid)
        finally:
            server.stop()
            log("  embedded Postgres stopped")
        return
    admin = libpq_url(database_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(sqlalchemy_url(database_url)).set(database=name)
    log(f"  created database {name} on {url.render_as_string(hide_password=True).split('@')[-1]}")
    try:
        yield BenchPostgres(url.render_as_string(hide_password=False), None, None)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        log(f"  dropped database {name}")


def postgres_facts(db: CloudDatabase) -> dict[str, str]:
    names = (
        "server_version",
        "shared_buffers",
        "work_mem",
        "effective_cache_size",
        "max_parallel_workers_per_gather",
        "jit",
    )
    with db.read() as conn:
        return {n: str(conn.execute(text(f"SHOW {n}")).scalar_one()) for n in names}


# ---------------------------------------------------------------------------------------------- the cloud


@dataclass
class RunningCloud:
    base_url: str
    pid: int


def cloud_env(data_dir: Path, database_url: str, port: int) -> dict[str, str]:
    """The environment for the CLI: inherited, minus any EDGESTORE_* that would change the run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGESTORE_")}
    env["EDGESTORE_CLOUD_DATA_DIR"] = str(data_dir)
    env["EDGESTORE_DATABASE_URL"] = database_url
    env["EDGESTORE_CONFIG_FILE"] = str(data_dir.parent / "no-such-edgestore.toml")  # no stray TOML file
    env["EDGESTORE_CLOUD_HOST"] = HOST
    env["EDGESTORE_CLOUD_PORT"] = str(port)
    return env


@contextmanager
def running_cloud(work: Path, database_url: str) -> Iterator[RunningCloud]:
    """Start ``edgestore cloud serve`` on loopback, yield it once it answers, stop it with SIGTERM."""
    port = free_port(HOST)
    log_path = work / "cloud.log"
    with log_path.open("wb") as cloud_log:
        proc = subprocess.Popen(
            [*edgestore_cmd(), "cloud", "serve", "--port", str(port)],
            env=cloud_env(work / "cloud", database_url, port),
            cwd=work,
            stdout=cloud_log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://{HOST}:{port}{API}"
    try:
        wait_for_url(
            f"{base_url}/openapi.json",
            what="the cloud",
            timeout_s=START_TIMEOUT_S,
            watch=proc,
            details=lambda: log_path.read_text(errors="replace"),
        )
        log(f"  cloud up on {base_url} (pid {proc.pid})")
        yield RunningCloud(base_url, proc.pid)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                log("  the cloud ignored SIGTERM; killing it")
                proc.kill()
                proc.wait()
        log(f"  cloud stopped (exit status {proc.returncode})")


def create_seller(base_url: str, seller: Seller, stores: int, rng: random.Random) -> None:
    """Register, log in and open ``stores`` stores, all through the API."""
    with api_client(base_url) as client:
        body = {"account": seller.account, "password": PASSWORD, "name": f"{seller.label} 小舖"}
        seller.seller_id = expect(client.post("/sellers", json=body), 201)["sellerId"]
        login = {"account": seller.account, "password": PASSWORD}
        seller.token = expect(client.post("/auth/login", json=login), 200)["token"]
        client.headers["Authorization"] = f"Bearer {seller.token}"
        for n in range(stores):
            store = expect(client.post("/stores", json={"name": f"{seller.label} 門市 {n + 1:02d}"}), 201)
            seller.store_ids.append(store["storeId"])
            seller.device_ids.append(new_id())
    weights = [1.0 + (n % 5) * 0.5 * rng.uniform(0.8, 1.2) for n in range(stores)]  # busy and quiet stores
    seller.store_cum_weights = [sum(weights[: n + 1]) for n in range(stores)]


# ---------------------------------------------------------------------------------------------- the load


def _ts(value: datetime) -> str:
    return value.isoformat(sep=" ")


class CopyLoader:
    """Writes one Taiwan day of orders per transaction with six ``COPY ... FROM STDIN``: orders, lines,
    payments, creation events and that day's two rollups (complete, as the day is)."""

    ORDERS = (
        "order_id, store_id, device_id, channel, status, currency, subtotal, discount_total, coupon_code, "
        "coupon_discount, total, catalog_version, created_at, updated_at, seller_id, received_at"
    )
    ITEMS = (
        "item_id, order_id, product_id, variant_id, name, variant_name, quantity, unit_price, unit_discount, "
        "unit_final_price, line_total, discount_id"
    )
    PAYMENTS = "payment_id, order_id, method, amount, status, created_at"
    EVENTS = "event_id, order_id, from_status, to_status, actor, note, at"
    DAILY = "store_id, day, status, seller_id, orders, revenue, items"
    DAILY_PRODUCTS = "seller_id, day, product_id, name, quantity, revenue"
    DAILY_STORE_PRODUCTS = "store_id, day, product_id, seller_id, name, quantity, revenue"

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.rows = 0

    def write_day(self, day: date, planned: list[PlannedOrder]) -> None:
        orders, items, pays, events = [], [], [], []
        daily: dict[tuple[str, str, str], list[int]] = {}
        daily_products: dict[tuple[str, str], list[Any]] = {}
        store_products: dict[tuple[str, str, str], list[Any]] = {}
        for o in planned:
            seller, store_id, total = o.seller, o.store_id, o.total
            created = _ts(o.created_at)
            orders.append(
                f"{o.order_id}\t{store_id}\t{seller.device_ids[o.store_index]}\t{o.channel}\t{o.status}\tTWD\t"
                f"{o.subtotal}\t{o.discount_total}\t\\N\t0\t{total}\t1\t{created}\t{_ts(o.updated_at)}\t"
                f"{seller.seller_id}\t{_ts(o.received_at)}\n"
            )
            units = 0
            for li in o.lines:
                v = li.variant
                items.append(
                    f"{li.item_id}\t{o.order_id}\t{li.product.product_id}\t{v.variant_id}\t{li.product.name}\t"
                    f"{v.name}\t{li.quantity}\t{v.price}\t{li.unit_discount}\t{li.unit_final_price}\t"
                    f"{li.line_total}\t\\N\n"
                )
                units += li.quantity
                for per in (
                    daily_products.setdefault(
                        (seller.seller_id, li.product.product_id), [li.product.name, 0, 0]
                    ),
                    store_products.setdefault(
                        (store_id, seller.seller_id, li.product.product_id), [li.product.name, 0, 0]
                    ),
                ):
                    per[1] += li.quantity
                    per[2] += li.line_total
            if o.payment_id is not None:
                pays.append(
                    f"{o.payment_id}\t{o.order_id}\t{o.payment_method}\t{total}\t{o.payment_status}\t{created}\n"
                )
            actor = "store" if o.channel == Channel.IN_STORE.value else "buyer"
            events.append(f"{o.event_id}\t{o.order_id}\t\\N\t{o.status}\t{actor}\t\\N\t{created}\n")
            per_day = daily.setdefault((store_id, o.status, seller.seller_id), [0, 0, 0])
            per_day[0] += 1
            per_day[1] += total
            per_day[2] += units
            seller.loaded[store_id] += 1
            seller.revenue += total
        iso = day.isoformat()
        daily_rows = [
            f"{s}\t{iso}\t{st}\t{sid}\t{n}\t{rev}\t{units}\n"
            for (s, st, sid), (n, rev, units) in daily.items()
        ]
        product_rows = [
            f"{sid}\t{iso}\t{pid}\t{name}\t{qty}\t{rev}\n"
            for (sid, pid), (name, qty, rev) in daily_products.items()
        ]
        store_product_rows = [
            f"{store}\t{iso}\t{pid}\t{sid}\t{name}\t{qty}\t{rev}\n"
            for (store, sid, pid), (name, qty, rev) in store_products.items()
        ]
        with self.conn.cursor() as cur:
            for table, columns, rows in (
                ("orders", self.ORDERS, orders),
                ("order_items", self.ITEMS, items),
                ("payments", self.PAYMENTS, pays),
                ("order_events", self.EVENTS, events),
                ("daily_sales", self.DAILY, daily_rows),
                ("daily_product_sales", self.DAILY_PRODUCTS, product_rows),
                ("daily_store_product_sales", self.DAILY_STORE_PRODUCTS, store_product_rows),
            ):
                if rows:
                    with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                        copy.write("".join(rows))
                    self.rows += len(rows)
        self.conn.commit()


def bulk_load(
    db_url: str, sellers: list[Seller], factory: OrderFactory, days: list[date], now: datetime
) -> dict[str, float]:
    """Plan and COPY every seller's orders, day by day; returns timings."""
    rng = factory.rng
    per_seller = [day_counts(rng, s.bulk_orders, days) for s in sellers]
    total = sum(s.bulk_orders for s in sellers)
    started = time.perf_counter()
    done, next_report = 0, 0.05
    with psycopg.connect(libpq_url(db_url)) as conn:
        loader = CopyLoader(conn)
        for d, day in enumerate(days):
            start = day_start(day)
            slots = [
                (rng.randrange(OPEN_S, CLOSE_S), seller)
                for seller, counts in zip(sellers, per_seller, strict=True)
                for _ in range(counts[d])
            ]
            slots.sort(key=lambda slot: slot[0])
            planned = [factory.make(seller, start + timedelta(seconds=s), now) for s, seller in slots]
            loader.write_day(day, planned)
            done += len(planned)
            if total and done / total >= next_report:
                elapsed = time.perf_counter() - started
                log(
                    f"  loaded {done:,}/{total:,} orders ({done * 100 // total} %), day {d + 1}/{len(days)}: "
                    f"{done / elapsed:,.0f} orders/s, {loader.rows / elapsed:,.0f} rows/s"
                )
                next_report = done / total + 0.05
        copy_s = time.perf_counter() - started
        conn.autocommit = True
        vacuum_started = time.perf_counter()
        log("  VACUUM (ANALYZE) ...")
        conn.execute("VACUUM (ANALYZE)")
        vacuum_s = time.perf_counter() - vacuum_started
    log(f"  {done:,} orders, {loader.rows:,} rows in {copy_s:.1f} s; VACUUM (ANALYZE) {vacuum_s:.1f} s")
    return {"copy_s": copy_s, "vacuum_s": vacuum_s, "rows": float(loader.rows), "orders": float(done)}


def to_order(o: PlannedOrder) -> Order:
    """The planned order as ``models.sales.Order``, the shape a store node syncs to the cloud."""
    items = [
        OrderItem(
            item_id=li.item_id,
            order_id=o.order_id,
            product_id=li.product.product_id,
            variant_id=li.variant.variant_id,
            name=li.product.name,
            variant_name=li.variant.name,
            quantity=li.quantity,
            unit_price=li.variant.price,
            unit_discount=li.unit_discount,
            unit_final_price=li.unit_final_price,
            line_total=li.line_total,
        )
        for li in o.lines
    ]
    payments = []
    if o.payment_id is not None:
        payments.append(
            Payment(
                payment_id=o.payment_id,
                order_id=o.order_id,
                method=PaymentMethod(o.payment_method),
                amount=o.total,
                status=PaymentStatus(o.payment_status),
                created_at=o.created_at,
            )
        )
    return Order(
        order_id=o.order_id,
        store_id=o.store_id,
        device_id=o.seller.device_ids[o.store_index],
        channel=Channel(o.channel),
        status=OrderStatus(o.status),
        subtotal=o.subtotal,
        discount_total=o.discount_total,
        total=o.total,
        items=items,
        payments=payments,
        catalog_version=1,
        created_at=o.created_at,
        updated_at=o.updated_at,
    )


def ingest_through_app(
    db: CloudDatabase, seller: Seller, factory: OrderFactory, count: int
) -> dict[str, Any]:
    """``count`` of today's orders through ``cloud.orders.ingest_order``, one transaction each (as sync
    delivers them), then one redelivery that must be a no-op."""
    now = datetime.now(UTC)
    since = max(day_start(business_day(now)), now - timedelta(hours=2))
    span = max(1, int((now - since).total_seconds()) - 1)
    moments = sorted(since + timedelta(seconds=factory.rng.randrange(span)) for _ in range(count))
    timings: list[float] = []
    first: Order | None = None
    for at in moments:
        order = to_order(factory.make(seller, at, now, id_for=lambda _ms: new_id()))
        t0 = time.perf_counter()
        with db.transaction() as conn:
            written = cloud_orders.ingest_order(conn, order, now)
        timings.append((time.perf_counter() - t0) * 1000)
        if not written:
            raise RuntimeError(f"ingest_order refused new order {order.order_id}")
        seller.loaded[order.store_id] += 1
        seller.revenue += order.total
        first = first or order
    redelivered = None
    if first is not None:
        with db.transaction() as conn:
            redelivered = cloud_orders.ingest_order(conn, first, now)
    timings.sort()
    return {
        "count": count,
        "p50_ms": percentile(timings, 50),
        "p95_ms": percentile(timings, 95),
        "again": redelivered,
    }


# ---------------------------------------------------------------------------------------------- queries


@dataclass
class Query:
    name: str
    path: str
    params: dict[str, Any]


@dataclass
class Measured:
    query: Query
    latencies_ms: list[float]
    rows: int
    bytes: int
    app_cpu_s: float | None
    db_cpu_s: float | None

    def row(self) -> dict[str, Any]:
        ms = sorted(self.latencies_ms)
        n = len(ms)
        return {
            "name": self.query.name,
            "samples": n,
            "p50": percentile(ms, 50),
            "p95": percentile(ms, 95),
            "max": ms[-1] if ms else float("nan"),
            "rows": self.rows,
            "kib": self.bytes / 1024,
            "app_cpu": self.app_cpu_s * 1000 / n if self.app_cpu_s is not None and n else float("nan"),
            "db_cpu": self.db_cpu_s * 1000 / n if self.db_cpu_s is not None and n else float("nan"),
        }


def rows_of(body: dict[str, Any]) -> int:
    """Orders on a list page; (day, store) rows of a dashboard summary (whose ``items`` is a unit count)."""
    return len(body["salesByDay"]) if "salesByDay" in body else len(body["items"])


def walk(
    client: httpx.Client, params: dict[str, Any], pages: int | None
) -> tuple[list[tuple[datetime, str, dict[str, Any]]], str | None, int]:
    """Follow ``nextCursor`` for ``pages`` pages (None: to the end). Returns the orders seen as
    ((createdAt, orderId), order), the cursor for the next page, and the first page's totals.orders."""
    seen: list[tuple[datetime, str, dict[str, Any]]] = []
    cursor: str | None = None
    totals = -1
    count = 0
    while pages is None or count < pages:
        body = expect(client.get("/orders", params={**params, **({"cursor": cursor} if cursor else {})}), 200)
        if totals < 0:
            totals = int(body["totals"]["orders"])
        seen.extend((datetime.fromisoformat(o["createdAt"]), o["orderId"], o) for o in body["items"])
        cursor = body.get("nextCursor")
        count += 1
        if not cursor:
            break
    return seen, cursor, totals


def measure(
    client: httpx.Client,
    query: Query,
    samples: int,
    warmup: int,
    app_pid: int,
    postmaster_pid: int | None,
) -> Measured:
    """``warmup`` untimed requests, then ``samples`` timed ones; CPU of the app and Postgres over the block."""
    body: dict[str, Any] = {}
    for _ in range(warmup):
        expect(client.get(query.path, params=query.params), 200)
    app_before = cpu_seconds(app_pid)
    db_before = process_tree_cpu(postmaster_pid) if postmaster_pid else {}
    latencies: list[float] = []
    size = 0
    for _ in range(samples):
        t0 = time.perf_counter()
        response = client.get(query.path, params=query.params)
        latencies.append((time.perf_counter() - t0) * 1000)
        body = expect(response, 200)
        size = len(response.content)
    app_after = cpu_seconds(app_pid)
    db_after = process_tree_cpu(postmaster_pid) if postmaster_pid else {}
    return Measured(
        query,
        latencies,
        rows_of(body) if body else 0,
        size,
        app_after - app_before if app_before is not None and app_after is not None else None,
        tree_cpu_delta(db_before, db_after) if postmaster_pid else None,
    )


# ---------------------------------------------------------------------------------------------- EXPLAIN


def explain(db: CloudDatabase, title: str, call: Callable[[Connection], object]) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) every statement the app's own function issues, with its parameters:
    the statements are captured from a real call, not rewritten here."""
    captured: list[tuple[str, Any]] = []

    def capture(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        captured.append((statement, parameters))

    out = [f"=== {title}"]
    with db.read() as conn:
        call(conn)  # warm
        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            call(conn)
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)
        for statement, parameters in captured:
            out.append("--- " + _condense(" ".join(statement.split())))
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).scalars().all()
            out.extend(f"    {_condense(line)}" for line in plan)
    return out


def _condense(sql: str) -> str:
    """Shorten what EXPLAIN output repeats 50 times: IN lists of bound ids, arrays of ids, column lists."""
    sql = re.sub(r"IN \((%\(\w+\)s::VARCHAR(, )?)+\)", "IN (...ids...)", sql)
    sql = re.sub(r"'\{[0-9A-Z,]{60,}\}'", "'{...ids...}'", sql)
    return re.sub(r"^SELECT (\w+)\.\w+, (\1\.\w+, )+\1\.\w+ FROM", r"SELECT \1.* FROM", sql)


# ---------------------------------------------------------------------------------------------- report


def print_table(results: list[Measured]) -> None:
    header = (
        f"{'query':<58}  {'samples':>7}  {'p50 ms':>7}  {'p95 ms':>7}  {'max ms':>7}  {'rows':>5}  "
        f"{'KiB':>6}  {'app CPU ms':>10}  {'db CPU ms':>9}"
    )
    print(header)
    print("-" * len(header))
    for m in results:
        r = m.row()
        print(
            f"{r['name']:<58}  {r['samples']:>7}  {r['p50']:>7.1f}  {r['p95']:>7.1f}  {r['max']:>7.1f}  "
            f"{r['rows']:>5}  {r['kib']:>6.1f}  {r['app_cpu']:>10.1f}  {r['db_cpu']:>9.1f}"
        )
    print("(app CPU / db CPU: CPU time per request of the cloud process / of all Postgres processes)")
    print()
    print("Markdown:")
    print()
    print(
        "| query | samples | p50 (ms) | p95 (ms) | max (ms) | rows | response (KiB) "
        "| app CPU / request (ms) | Postgres CPU / request (ms) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for m in results:
        r = m.row()
        print(
            f"| {r['name']} | {r['samples']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['max']:.1f} | {r['rows']} "
            f"| {r['kib']:.1f} | {r['app_cpu']:.1f} | {r['db_cpu']:.1f} |"
        )


# ---------------------------------------------------------------------------------------------- checks


def strictly_newest_first(seen: list[tuple[datetime, str, dict[str, Any]]]) -> tuple[bool, int]:
    """(every key strictly below the one before, number of duplicate order ids)."""
    keys = [(at, oid) for at, oid, _ in seen]
    ordered = all(a > b for a, b in itertools.pairwise(keys))
    return ordered, len(keys) - len({oid for _, oid in keys})


def sql_one(db: CloudDatabase, sql: str, **params: Any) -> Any:
    with db.read() as conn:
        return conn.execute(text(sql), params).scalar_one()


ROLLUP_DIFF = """
WITH o AS (
  SELECT o.store_id, (o.created_at AT TIME ZONE 'UTC' + interval '8 hours')::date AS day, o.status,
         o.seller_id, count(*) AS orders, sum(o.total) AS revenue, sum(i.units) AS items
  FROM orders o
  JOIN (SELECT order_id, sum(quantity) AS units FROM order_items GROUP BY order_id) i USING (order_id)
  GROUP BY 1, 2, 3, 4)
SELECT (SELECT count(*) FROM (SELECT * FROM o EXCEPT SELECT store_id, day, status, seller_id, orders, revenue,
                              items FROM daily_sales WHERE orders <> 0) a)
     + (SELECT count(*) FROM (SELECT store_id, day, status, seller_id, orders, revenue, items FROM daily_sales
                              WHERE orders <> 0 EXCEPT SELECT * FROM o) b)
"""

PRODUCT_ROLLUP_DIFF = """
WITH p AS (
  SELECT o.seller_id, (o.created_at AT TIME ZONE 'UTC' + interval '8 hours')::date AS day, i.product_id,
         sum(i.quantity) AS quantity, sum(i.line_total) AS revenue
  FROM order_items i JOIN orders o ON o.order_id = i.order_id GROUP BY 1, 2, 3),
s AS (
  SELECT o.store_id, (o.created_at AT TIME ZONE 'UTC' + interval '8 hours')::date AS day, i.product_id,
         sum(i.quantity) AS quantity, sum(i.line_total) AS revenue
  FROM order_items i JOIN orders o ON o.order_id = i.order_id GROUP BY 1, 2, 3)
SELECT (SELECT count(*) FROM (SELECT * FROM p EXCEPT SELECT seller_id, day, product_id, quantity, revenue
                              FROM daily_product_sales) a)
     + (SELECT count(*) FROM (SELECT seller_id, day, product_id, quantity, revenue FROM daily_product_sales
                              EXCEPT SELECT * FROM p) b)
     + (SELECT count(*) FROM (SELECT * FROM s EXCEPT SELECT store_id, day, product_id, quantity, revenue
                              FROM daily_store_product_sales) c)
     + (SELECT count(*) FROM (SELECT store_id, day, product_id, quantity, revenue FROM daily_store_product_sales
                              EXCEPT SELECT * FROM s) d)
"""


def run_checks(
    base_url: str,
    db: CloudDatabase,
    a: Seller,
    b: Seller,
    first_day: date,
    today: date,
    deep_pages: int,
    ingest: dict[str, Any],
    far_checks: list[tuple[str, str, str]],
) -> bool:
    checks: list[tuple[str, Any, Any]] = [
        (f"{name}: first order = the next row in SQL", got, want) for name, want, got in far_checks
    ]
    notes: list[str] = []
    everything = {"dateFrom": first_day.isoformat(), "dateTo": today.isoformat()}
    with api_client(base_url, a.token) as client:
        listed = expect(client.get("/orders", params={"limit": 50}), 200)["totals"]
        checks.append(("A: unfiltered totals.orders = orders loaded for A", listed["orders"], a.orders))
        checks.append(("A: unfiltered totals.revenue = revenue loaded for A", listed["revenue"], a.revenue))
        per_store = [
            int(expect(client.get("/orders", params={"storeId": s, "limit": 1}), 200)["totals"]["orders"])
            for s in a.store_ids
        ]
        checks.append(
            (f"A: per-store totals.orders summed over {len(a.store_ids)} stores", sum(per_store), a.orders)
        )
        checks.append(
            (
                "A: per-store totals.orders equal the stores' loaded counts",
                per_store,
                [a.loaded[s] for s in a.store_ids],
            )
        )
        summary = expect(client.get("/dashboard/summary", params=everything), 200)
        rollup = sql_one(
            db, "SELECT coalesce(sum(orders), 0) FROM daily_sales WHERE seller_id = :s", s=a.seller_id
        )
        counted = sql_one(db, "SELECT count(*) FROM orders WHERE seller_id = :s", s=a.seller_id)
        checks.append(
            ("A: dashboard orders over every day = rollup SUM(daily_sales.orders)", summary["orders"], rollup)
        )
        checks.append(
            ("A: dashboard orders over every day = SQL COUNT(*) of A's orders", summary["orders"], counted)
        )
        store = a.store_ids[0]
        one = expect(client.get("/dashboard/summary", params={**everything, "storeId": store}), 200)
        store_count = sql_one(db, "SELECT count(*) FROM orders WHERE store_id = :s", s=store)
        checks.append(
            ("A: dashboard orders for one store = SQL COUNT(*) for that store", one["orders"], store_count)
        )
        for status in ("refunded", "cancelled"):
            got = expect(client.get("/orders", params={"status": status, "limit": 1}), 200)["totals"][
                "orders"
            ]
            want = sql_one(
                db,
                "SELECT count(*) FROM orders WHERE seller_id = :s AND status = :t",
                s=a.seller_id,
                t=status,
            )
            checks.append((f"A: status={status} totals.orders = SQL COUNT(*)", got, want))

        seen, _, _ = walk(client, {"limit": 50}, deep_pages + 1)
        ordered, dups = strictly_newest_first(seen)
        checks.append(
            (
                f"A: unfiltered walk of {deep_pages + 1} pages strictly decreasing (createdAt, orderId)",
                ordered,
                True,
            )
        )
        checks.append(("A: unfiltered walk: duplicate order ids", dups, 0))
        notes.append(
            f"the unfiltered walk crossed {len(seen) - len({at for at, _, _ in seen})} createdAt ties"
        )
        checks.append(("A: unfiltered walk: orders seen", len(seen), min(a.orders, 50 * (deep_pages + 1))))
        seen, _, _ = walk(client, {"storeId": store, "limit": 200}, None)
        ordered, dups = strictly_newest_first(seen)
        checks.append(("A: whole walk of one store (limit 200): orders seen", len(seen), a.loaded[store]))
        checks.append(("A: whole walk of one store: strictly decreasing (createdAt, orderId)", ordered, True))
        checks.append(("A: whole walk of one store: duplicate order ids", dups, 0))
        checks.append(
            (
                "A: whole walk of one store: all orders of that store",
                {o["storeId"] for *_, o in seen},
                {store},
            )
        )
        ties = len(seen) - len({at for at, _, _ in seen})
        notes.append(f"the store walk crossed {ties} createdAt ties (broken by orderId)")
        a_order = seen[0][1] if seen else ""

    with api_client(base_url, b.token) as client:
        seen, _, totals = walk(client, {"limit": 200}, None)
        ids = [oid for _, oid, _ in seen]
        checks.append(("B: totals.orders = orders loaded for B", totals, b.orders))
        checks.append(("B: whole walk: orders seen", len(seen), b.orders))
        checks.append(("B: whole walk: every order is B's", {o["sellerId"] for *_, o in seen}, {b.seller_id}))
        checks.append(
            ("B: whole walk: stores are B's", {o["storeId"] for *_, o in seen} <= set(b.store_ids), True)
        )
        foreign = sql_one(
            db,
            "SELECT count(*) FROM orders WHERE order_id = ANY(:ids) AND seller_id <> :s",
            ids=ids,
            s=b.seller_id,
        )
        checks.append(("B: orders listed to B that belong to someone else (SQL)", foreign, 0))
        other = expect(client.get("/orders", params={"storeId": a.store_ids[0]}), 200)
        checks.append(
            (
                "B: list filtered on one of A's stores: items, totals",
                (len(other["items"]), other["totals"]["orders"]),
                (0, 0),
            )
        )
        checks.append(("B: GET /orders/{an order of A}", client.get(f"/orders/{a_order}").status_code, 404))
        b_summary = expect(client.get("/dashboard/summary", params=everything), 200)
        checks.append(("B: dashboard orders over every day", b_summary["orders"], b.orders))

    checks.append(
        ("rollups: daily_sales rows differing from a recount of orders", sql_one(db, ROLLUP_DIFF), 0)
    )
    checks.append(
        (
            "rollups: daily_product_sales + daily_store_product_sales rows differing from a recount of lines",
            sql_one(db, PRODUCT_ROLLUP_DIFF),
            0,
        )
    )
    checks.append(("ingest_order: redelivering an ingested order writes nothing", ingest["again"], False))

    print("Correctness")
    all_ok = True
    for name, got, want in checks:
        good = got == want
        all_ok &= good
        shown = got if not isinstance(got, list) else f"{len(got)} values"
        wanted = want if not isinstance(want, list) else f"{len(want)} values"
        print(f"  {name}: {shown} (expected {wanted}) {'ok' if good else 'MISMATCH'}")
    for note in notes:
        print(f"  note: {note}")
    print(f"  result: {'PASS' if all_ok else 'FAIL'}")
    return all_ok


# ---------------------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark the cloud's orders list and dashboard over HTTP on a bulk-loaded Postgres.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders of seller A (bulk-loaded)")
    parser.add_argument("--stores", type=int, default=50, help="stores of seller A")
    parser.add_argument("--other-orders", type=int, default=2_000, help="orders of seller B (2 stores)")
    parser.add_argument("--days", type=int, default=180, help="days of history, ending yesterday (Taiwan)")
    parser.add_argument("--products", type=int, default=2_000, help="products of seller A (B has 100)")
    parser.add_argument("--ingest", type=int, default=100, help="today's orders sent through ingest_order")
    parser.add_argument("--samples", type=int, default=200, help="timed requests per query")
    parser.add_argument("--warmup", type=int, default=10, help="untimed requests per query before timing")
    parser.add_argument("--deep-pages", type=int, default=20, help="pages followed to reach the 'deep' page")
    parser.add_argument("--limit", type=int, default=50, help="page size of the measured list queries")
    parser.add_argument(
        "--far-percent", type=int, default=90, help="also measure a page this far into each list (0: no)"
    )
    parser.add_argument("--seed", type=int, default=2026, help="seed for the generated orders")
    parser.add_argument("--database-url", default=None, help="use this server (a fresh database on it)")
    parser.add_argument(
        "--tmp-parent", type=Path, default=None, help="where to make the temp dir (default: system temp)"
    )
    parser.add_argument(
        "--explain", action="store_true", help="print EXPLAIN (ANALYZE, BUFFERS) of the queries"
    )
    parser.add_argument(
        "--quick", action="store_true", help="small run: 20,000 orders, 200 for B, 20 samples, 3 deep pages"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.orders, args.other_orders, args.samples, args.warmup, args.deep_pages = 20_000, 200, 20, 3, 3
        args.products = min(args.products, 300)
    if args.orders < 1000 or args.other_orders < 1 or args.stores < 2 or args.days < 45 or args.products < 10:
        parser.error(
            "need --orders >= 1000, --other-orders >= 1, --stores >= 2, --days >= 45, --products >= 10"
        )
    if args.samples < 1 or args.deep_pages < 1 or not 1 <= args.limit <= 200 or args.ingest < 1:
        parser.error("--samples, --deep-pages and --ingest must be at least 1 and --limit 1-200")
    return args


def far_cursor(db: CloudDatabase, a: Seller, params: dict[str, Any], skip: int) -> tuple[str, str] | None:
    """A cursor as ``list_orders`` encodes it (``createdAt|orderId``) for the row ``skip`` rows into the
    filter's list, found in SQL, and the id of the row that must come next; None past the end. Following
    ``nextCursor`` that far would take thousands of requests."""
    where = ["seller_id = :seller"]
    bind: dict[str, Any] = {"seller": a.seller_id, "skip": skip - 1}
    if "storeId" in params:
        where.append("store_id = :store")
        bind["store"] = params["storeId"]
    if "status" in params:
        where.append("status = :status")
        bind["status"] = params["status"]
    if "dateFrom" in params:
        where.append("created_at >= :since AND created_at < :until")
        bind["since"] = day_start(date.fromisoformat(params["dateFrom"]))
        bind["until"] = day_start(date.fromisoformat(params["dateTo"]) + timedelta(days=1))
    sql = (
        f"SELECT created_at, order_id FROM orders WHERE {' AND '.join(where)} "
        "ORDER BY created_at DESC, order_id DESC OFFSET :skip LIMIT 2"
    )
    with db.read() as conn:
        rows = conn.execute(text(sql), bind).all()
    if len(rows) < 2:
        return None
    created, order_id = rows[0]
    return encode_cursor(f"{created.astimezone(UTC).isoformat()}|{order_id}"), str(rows[1][1])


def build_queries(
    client: httpx.Client, db: CloudDatabase, a: Seller, today: date, args: argparse.Namespace
) -> tuple[list[Query], list[tuple[str, str, str]]]:
    """The measured requests. "page N" follows ``nextCursor`` N-1 times; "% deep" uses a cursor made in SQL
    for the row that far into the filter's list. Also returns (query, expected first order id, got) for the
    far cursors, as a check that they are the cursors the API itself hands out."""
    mean = a.orders / len(a.store_ids)
    store = min(a.store_ids, key=lambda s: abs(a.loaded[s] - mean))  # a store of average size
    week = {
        "dateFrom": (today - timedelta(days=37)).isoformat(),
        "dateTo": (today - timedelta(days=31)).isoformat(),
    }
    filters: list[tuple[str, dict[str, Any]]] = [
        ("no filter", {}),
        (f"storeId (1 of {len(a.store_ids)})", {"storeId": store}),
        ("status=refunded", {"status": "refunded"}),
        ("status=completed", {"status": "completed"}),
        ("7 days (dateFrom..dateTo)", week),
    ]
    limit, deep = args.limit, args.deep_pages
    queries: list[Query] = []
    far_checks: list[tuple[str, str, str]] = []
    for label, params in filters:
        base = {**params, "limit": limit}
        queries.append(Query(f"orders, {label}, page 1", "/orders", base))
        _, cursor, total = walk(client, base, deep)
        if cursor:
            queries.append(Query(f"orders, {label}, page {deep + 1}", "/orders", {**base, "cursor": cursor}))
        else:
            log(f"  {label}: fewer than {deep + 1} pages, no deep page")
        pages_before = int(total * args.far_percent / 100) // limit
        if args.far_percent and pages_before > deep + 1:
            found = far_cursor(db, a, params, pages_before * limit)
            if found is not None:
                cursor, next_id = found
                name = f"orders, {label}, page {pages_before + 1:,} ({args.far_percent} % deep)"
                queries.append(Query(name, "/orders", {**base, "cursor": cursor}))
                page = expect(client.get("/orders", params={**base, "cursor": cursor}), 200)
                far_checks.append((name, next_id, page["items"][0]["orderId"] if page["items"] else ""))
    month = {"dateFrom": (today - timedelta(days=29)).isoformat(), "dateTo": today.isoformat()}
    queries.append(Query("dashboard, 30 days, all stores", "/dashboard/summary", month))
    queries.append(Query("dashboard, 30 days, one store", "/dashboard/summary", {**month, "storeId": store}))
    return queries, far_checks


def explain_all(db: CloudDatabase, a: Seller, queries: list[Query]) -> None:
    def listing(params: dict[str, Any]) -> Callable[[Connection], object]:
        return lambda conn: cloud_orders.list_orders(
            conn,
            a.seller_id,
            store_id=params.get("storeId"),
            status=OrderStatus(params["status"]) if "status" in params else None,
            date_from=date.fromisoformat(params["dateFrom"]) if "dateFrom" in params else None,
            date_to=date.fromisoformat(params["dateTo"]) if "dateTo" in params else None,
            cursor=params.get("cursor"),
            limit=int(params.get("limit", 50)),
        )

    def summarising(params: dict[str, Any]) -> Callable[[Connection], object]:
        return lambda conn: dashboard.summary(
            conn,
            a.seller_id,
            date.fromisoformat(params["dateFrom"]),
            date.fromisoformat(params["dateTo"]),
            store_id=params.get("storeId"),
        )

    print("EXPLAIN (ANALYZE, BUFFERS) of the statements list_orders / dashboard.summary issue")
    for q in queries:
        call = listing(q.params) if q.path == "/orders" else summarising(q.params)
        for line in explain(db, q.name, call):
            print(line)
        print()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_signals()
    rng = random.Random(args.seed)
    ids = IdMaker(rng)
    factory = OrderFactory(rng, ids)
    work = Path(tempfile.mkdtemp(prefix="edgestore-cloud-bench-", dir=args.tmp_parent))
    run_started = time.perf_counter()
    try:
        log(f"cloud orders benchmark: temp dir {work}")
        with bench_postgres(work, args.database_url) as pg:
            db = CloudDatabase(pg.url, pool_size=2)
            try:
                t0 = time.perf_counter()
                db.migrate()
                log(f"  migrated in {time.perf_counter() - t0:.1f} s (schema {db.schema_version()})")
                facts = postgres_facts(db)
                with running_cloud(work, pg.url) as cloud:
                    a = Seller("A", f"bench-a-{uuid.uuid4().hex[:6]}", bulk_orders=args.orders)
                    b = Seller("B", f"bench-b-{uuid.uuid4().hex[:6]}", bulk_orders=args.other_orders)
                    t0 = time.perf_counter()
                    create_seller(cloud.base_url, a, args.stores, rng)
                    create_seller(cloud.base_url, b, 2, rng)
                    setup_s = time.perf_counter() - t0
                    log(
                        f"  sellers A ({args.stores} stores) and B (2 stores) made over HTTP in {setup_s:.1f} s"
                    )
                    a.products = make_products(rng, ids, args.products, "")
                    b.products = make_products(rng, ids, 100, "B")

                    today = taiwan_today()
                    days = [today - timedelta(days=n) for n in range(args.days, 0, -1)]  # ends yesterday
                    log(
                        f"loading {args.orders + args.other_orders:,} orders over {days[0]}..{days[-1]} with COPY"
                    )
                    load = bulk_load(pg.url, [a, b], factory, days, datetime.now(UTC))
                    log(f"ingesting {args.ingest} orders of today through cloud.orders.ingest_order")
                    ingest = ingest_through_app(db, a, factory, args.ingest)
                    log(
                        f"  ingest_order: p50 {ingest['p50_ms']:.1f} ms, p95 {ingest['p95_ms']:.1f} ms per order"
                    )
                    sizes = {
                        t: sql_one(db, f"SELECT pg_size_pretty(pg_total_relation_size('{t}'))")
                        for t in (
                            "orders",
                            "order_items",
                            "payments",
                            "order_events",
                            "daily_sales",
                            "daily_product_sales",
                        )
                    }
                    db_size = sql_one(db, "SELECT pg_size_pretty(pg_database_size(current_database()))")

                    log("measuring")
                    results: list[Measured] = []
                    with api_client(cloud.base_url, a.token) as client:
                        queries, far_checks = build_queries(client, db, a, today, args)
                        for n, q in enumerate(queries, 1):
                            results.append(
                                measure(client, q, args.samples, args.warmup, cloud.pid, pg.postmaster_pid)
                            )
                            r = results[-1].row()
                            log(
                                f"  [{n}/{len(queries)}] {q.name}: p50 {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms"
                            )

                    print("Cloud orders list and dashboard benchmark (bench/cloud_orders.py)")
                    print(f"date:          {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}")
                    for line in machine_lines(work, facts, pg.embedded is not None):
                        print(line)
                    print(
                        f"data:          seller A {a.orders:,} orders in {len(a.store_ids)} stores "
                        f"({args.orders:,} by COPY + {args.ingest} by ingest_order), seller B {b.orders:,} in 2 "
                        f"stores; {args.days} Taiwan days {days[0]}..{days[-1]} + today {today}; "
                        f"{args.products} products; seed {args.seed}"
                    )
                    print(
                        f"load:          COPY {int(load['orders']):,} orders / {int(load['rows']):,} rows in "
                        f"{load['copy_s']:.1f} s ({load['orders'] / load['copy_s']:,.0f} orders/s, "
                        f"{load['rows'] / load['copy_s']:,.0f} rows/s); VACUUM (ANALYZE) {load['vacuum_s']:.1f} s; "
                        f"ingest_order p50 {ingest['p50_ms']:.1f} ms / p95 {ingest['p95_ms']:.1f} ms per order"
                    )
                    print(
                        f"sizes:         database {db_size}; "
                        + ", ".join(f"{t} {s}" for t, s in sizes.items())
                    )
                    print(
                        f"requests:      {args.warmup} warm-up + {args.samples} timed per query, one after the "
                        f"other on one keep-alive connection; deep page = after following nextCursor "
                        f"{args.deep_pages} times; limit {args.limit}"
                    )
                    print()
                    print_table(results)
                    print()
                    if args.explain:
                        explain_all(db, a, queries)
                    ok = run_checks(
                        cloud.base_url, db, a, b, days[0], today, args.deep_pages, ingest, far_checks
                    )
                    print(f"total run time: {time.perf_counter() - run_started:.0f} s")
                    return 0 if ok else 1
            finally:
                db.dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)
        log(f"removed {work}")


if __name__ == "__main__":
    run_main(main, "cloud and Postgres stopped, temp dir removed")
