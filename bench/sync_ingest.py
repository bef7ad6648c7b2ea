"""The cloud's uplink ingest on its own: ``cloud.sync_uplink.handle_uplink`` over pre-encoded batches.

``bench/sync_drain.py`` times the whole way from a node's outbox to Postgres, node, broker and round trips
included; this one times only what the cloud does with a batch once it has its bytes, so the cloud's figure
is visible apart from the node's and the network's.

What it does, in order:

1. starts an embedded PostgreSQL (``cloud.db.EmbeddedPostgres``) in a temporary dir, migrates a fresh
   database, and writes with plain inserts a seller, a store, ``--products`` products with two variants
   each, a restock of every variant (``cloud.stock.write_deltas``) and a registered device;
2. makes ``--orders`` in-store sales (1-3 distinct variants each, seeded), with one sale stock delta per
   line, and encodes them as a node sends them: batches of ``--batch`` envelopes (the node's maximum, 500),
   orders stream then stock deltas stream;
3. times ``handle_uplink`` over every batch, one transaction each, counting the SQL statements sent to
   Postgres (a SQLAlchemy ``before_cursor_execute`` event);
4. checks: every ack covers its batch with nothing dead-lettered, Postgres holds every order, line and
   delta, and each variant's level is the restock less what was sold. Prints the figures (plain and
   Markdown) and ``result: PASS`` or ``FAIL`` (exit 1).

Run from the repository root::

    .venv/bin/python bench/sync_ingest.py                 # 10,000 orders
    .venv/bin/python bench/sync_ingest.py --orders 2000

Run it with ``PYTHONPATH`` at another checkout to measure that checkout's ingest with the same batches.
"""

import argparse
import os
import random
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchkit import (
    SoldLine,
    cash_sale,
    code_line,
    host_lines,
    log,
    postmaster_pid,
    process_tree_cpu,
    run_main,
    stop_on_signals,
    tree_cpu_delta,
)
from sqlalchemy import event, func, insert, select

import cloud
from cloud import stock
from cloud.db import CloudDatabase, EmbeddedPostgres
from cloud.sync_uplink import handle_uplink
from cloud.tables import (
    catalog_versions,
    dead_letters,
    devices,
    order_items,
    orders,
    products,
    sellers,
    stock_deltas,
    stores,
    variants,
)
from models.ids import new_id
from models.sales import Order
from models.stock import StockDelta, StockReason
from sync_protocol.encoding import DEFAULT_MAX_BATCH_BYTES, encode
from sync_protocol.envelope import Batch, make_envelope
from sync_protocol.hlc import HLC
from sync_protocol.streams import Stream
from sync_protocol.topics import Topics

INITIAL_STOCK = 1_000_000  # per variant: never runs out
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Shop:
    seller_id: str
    store_id: str
    device_id: str
    variants: list[tuple[str, str, str, str, int]]  # variant id, product id, product name, name, price


def set_up_shop(db: CloudDatabase, products_n: int) -> Shop:
    seller_id, store_id, device_id = new_id(), new_id(), new_id()
    with db.transaction() as conn:
        conn.execute(
            insert(sellers).values(
                seller_id=seller_id, account="bench-ingest", password_hash="-", name="同步小舖", created_at=T0
            )
        )
        conn.execute(insert(catalog_versions).values(seller_id=seller_id, version=1))
        conn.execute(
            insert(stores).values(
                store_id=store_id,
                seller_id=seller_id,
                name="信義店",
                shop_type="physical",
                created_at=T0,
                updated_at=T0,
            )
        )
        conn.execute(
            insert(devices).values(
                device_id=device_id,
                store_id=store_id,
                seller_id=seller_id,
                kind="node",
                mqtt_password_hash="-",
                created_at=T0,
            )
        )
        found: list[tuple[str, str, str, str, int]] = []
        for n in range(products_n):
            product_id, name = new_id(), f"凍頂烏龍茶 {n + 1:03d}"
            conn.execute(
                insert(products).values(
                    product_id=product_id,
                    seller_id=seller_id,
                    name=name,
                    name_en=f"Dongding oolong {n + 1:03d}",
                    metadata_id=new_id(),
                    shipping=[],
                    catalog_version=1,
                    created_at=T0,
                    updated_at=T0,
                )
            )
            for position, (weight, price) in enumerate((("150g", 300 + n % 30), ("300g", 550 + n % 30))):
                variant_id = new_id()
                conn.execute(
                    insert(variants).values(
                        variant_id=variant_id,
                        product_id=product_id,
                        seller_id=seller_id,
                        name=weight,
                        price=price,
                        position=position,
                    )
                )
                found.append((variant_id, product_id, name, weight, price))
        restocks = [
            StockDelta(
                delta_id=new_id(),
                store_id=store_id,
                variant_id=v[0],
                quantity=INITIAL_STOCK,
                reason=StockReason.RESTOCK,
                created_at=T0,
            )
            for v in found
        ]
        stock.write_deltas(conn, seller_id, restocks, T0, 5)
    return Shop(seller_id, store_id, device_id, found)


def make_sales(shop: Shop, count: int, rng: random.Random) -> tuple[list[Order], list[StockDelta]]:
    sales: list[Order] = []
    deltas: list[StockDelta] = []
    for n in range(count):
        at = T0 + timedelta(seconds=7 * n)
        lines = [
            SoldLine(product_id, variant_id, name, variant_name, price, rng.randint(1, 2))
            for variant_id, product_id, name, variant_name, price in rng.sample(
                shop.variants, rng.randint(1, 3)
            )
        ]
        order, sold = cash_sale(shop.store_id, shop.device_id, lines, at, catalog_version=1)
        sales.append(order)
        deltas.extend(sold)
    return sales, deltas


def encoded_batches(
    shop: Shop, stream: Stream, payloads: list[Any], size: int
) -> list[tuple[str, bytes, int]]:
    """(topic, bytes, envelopes) per batch, seqs from 1: at most ``size`` envelopes and at most the bytes the
    cloud takes (``DEFAULT_MAX_BATCH_BYTES``), as the node's sync agent packs them."""
    topic = str(Topics.uplink(shop.store_id, shop.device_id, stream))
    envelopes = [
        make_envelope(
            message_id=new_id(),
            store_id=shop.store_id,
            device_id=shop.device_id,
            seq=n + 1,
            hlc=HLC(1_800_000_000_000 + n, 0, shop.device_id),
            payload=p,
        )
        for n, p in enumerate(payloads)
    ]
    out: list[tuple[str, bytes, int]] = []
    start = 0
    while start < len(envelopes):
        take = min(size, len(envelopes) - start)
        while True:
            batch = Batch(
                batch_id=new_id(),
                store_id=shop.store_id,
                device_id=shop.device_id,
                stream=stream,
                messages=tuple(envelopes[start : start + take]),
            )
            data = encode(batch)
            if len(data) <= DEFAULT_MAX_BATCH_BYTES or take == 1:
                break
            take = max(1, take * DEFAULT_MAX_BATCH_BYTES // len(data) * 9 // 10)
        out.append((topic, data, take))
        start += take
    return out


class StatementCounter:
    """SQL statements sent to Postgres, counted by SQLAlchemy's ``before_cursor_execute`` event: it sees the
    Core statements and the ones sent with ``exec_driver_sql`` (``cloud.bulk``) alike."""

    def __init__(self, db: CloudDatabase) -> None:
        self.count = 0
        event.listen(db.engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: object) -> None:
        self.count += 1

    def total(self) -> int:
        return self.count


@dataclass
class Timed:
    stream: str
    batches: int
    envelopes: int
    seconds: float
    statements: int
    dead: int
    cpu_s: float  # this process (the ingest)
    postgres_cpu_s: float  # the postmaster and its backends


def run_stream(
    db: CloudDatabase,
    counter: StatementCounter,
    stream: Stream,
    batches: list[tuple[str, bytes, int]],
    postmaster: int | None,
) -> Timed:
    dead = 0
    statements_before = counter.total()
    pg_before = process_tree_cpu(postmaster) if postmaster else {}
    cpu_before = time.process_time()
    started = time.perf_counter()
    for topic, data, _ in batches:
        ack = handle_uplink(db, topic, data, datetime.now(UTC))
        if ack is None:
            raise RuntimeError(f"no ack for a batch of {stream.value}")
        dead += sum(r.last - r.first + 1 for r in ack.dead_lettered)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    pg_cpu = tree_cpu_delta(pg_before, process_tree_cpu(postmaster)) if postmaster else float("nan")
    return Timed(
        stream.value,
        len(batches),
        sum(n for _, _, n in batches),
        seconds,
        counter.total() - statements_before,
        dead,
        cpu,
        pg_cpu,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark the cloud's uplink ingest (handle_uplink) over pre-encoded batches.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--orders", type=int, default=10_000, help="orders to ingest")
    parser.add_argument("--products", type=int, default=50, help="products (2 variants each)")
    parser.add_argument("--batch", type=int, default=500, help="envelopes per batch (1..500)")
    parser.add_argument("--seed", type=int, default=2026, help="seed for the random carts")
    args = parser.parse_args(argv)
    if args.orders < 1 or args.products < 2 or not 1 <= args.batch <= 500:
        parser.error("--orders at least 1, --products at least 2, --batch 1..500")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_signals()
    work = Path(tempfile.mkdtemp(prefix="edgestore-ingest-"))
    work.chmod(0o755)  # as root, pgserver runs postgres as its own user, which must reach the data folder
    server = EmbeddedPostgres(work / "postgres")
    try:
        server.create_database("ingest")
        db = CloudDatabase(server.url("ingest"))
        db.migrate()
        log(f"sync ingest benchmark: {args.orders} orders in batches of {args.batch}, temp dir {work}")
        shop = set_up_shop(db, args.products)
        sales, deltas = make_sales(shop, args.orders, random.Random(args.seed))
        plan = {
            Stream.ORDERS: encoded_batches(shop, Stream.ORDERS, sales, args.batch),
            Stream.STOCK_DELTAS: encoded_batches(shop, Stream.STOCK_DELTAS, deltas, args.batch),
        }
        counter = StatementCounter(db)
        results = []
        for stream, batches in plan.items():
            log(f"  {stream.value}: {len(batches)} batches")
            results.append(run_stream(db, counter, stream, batches, postmaster_pid(work / "postgres")))
        with db.read() as conn:
            got_orders = conn.execute(select(func.count()).select_from(orders)).scalar_one()
            got_lines = conn.execute(select(func.count()).select_from(order_items)).scalar_one()
            got_deltas = conn.execute(
                select(func.count()).select_from(stock_deltas).where(stock_deltas.c.reason == "sale")
            ).scalar_one()
            got_dead = conn.execute(select(func.count()).select_from(dead_letters)).scalar_one()
            levels = stock.levels(conn, shop.store_id)
            version = conn.exec_driver_sql("SHOW server_version").scalar_one()
        db.dispose()
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    sold = Counter[str]()
    for d in deltas:
        sold[d.variant_id] -= d.quantity
    wrong_levels = sum(1 for v in shop.variants if levels.get(v[0]) != INITIAL_STOCK - sold[v[0]])

    print("Cloud uplink ingest benchmark (bench/sync_ingest.py)")
    print(f"date:          {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}")
    for line in host_lines():
        print(line)
    print(f"postgres:      {version} (embedded, pgserver, Unix socket)")
    print(f"code:          {code_line(Path(cloud.__file__).resolve().parent.parent)}")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average:  {load} (1, 5, 15 min, at the end of the run; other work shares the machine)")
    print(
        f"run:           {args.orders} orders ({len(deltas)} lines and stock deltas), batches of {args.batch}"
    )
    print()
    orders_s = results[0].seconds
    both_s = sum(r.seconds for r in results)
    rows: list[tuple[str, str]] = []
    for r in results:
        rows += [
            (f"{r.stream}: {r.envelopes} envelopes in {r.batches} batches", f"{r.seconds:.2f} s"),
            (f"  {r.stream} envelopes/s", f"{r.envelopes / r.seconds:,.0f}"),
            (f"  {r.stream} SQL statements per batch", f"{r.statements / r.batches:,.1f}"),
            (
                f"  {r.stream} CPU: ingest (this process) / Postgres",
                f"{r.cpu_s:.2f} s / {r.postgres_cpu_s:.2f} s",
            ),
        ]
    rows += [
        ("orders/s, orders stream alone", f"{args.orders / orders_s:,.0f}"),
        ("orders/s, both streams (an order and its stock deltas)", f"{args.orders / both_s:,.0f}"),
        (
            "row changes/s (orders, lines, payments, stock deltas)",
            f"{(2 * args.orders + 2 * len(deltas)) / both_s:,.0f}",
        ),
        ("SQL statements per order, both streams", f"{sum(r.statements for r in results) / args.orders:.2f}"),
        (
            "CPU per order, both streams: ingest + Postgres",
            f"{sum(r.cpu_s + r.postgres_cpu_s for r in results) / args.orders * 1e6:,.0f} us",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print()
    print("| measure | value |")
    print("|---|---:|")
    for name, value in rows:
        print(f"| {'&emsp;' if name.startswith('  ') else ''}{name.strip()} | {value} |")
    print()
    checks: list[tuple[str, object, object]] = [
        ("envelopes dead-lettered", sum(r.dead for r in results), 0),
        ("dead letters in Postgres", got_dead, 0),
        ("orders in Postgres", got_orders, args.orders),
        ("order lines in Postgres", got_lines, len(deltas)),
        ("sale stock deltas in Postgres", got_deltas, len(deltas)),
        ("variants whose level is not the restock less the sales", wrong_levels, 0),
    ]
    print("Correctness")
    ok = True
    for name, got, want in checks:
        ok &= got == want
        print(f"  {name}: {got} (expected {want}) {'ok' if got == want else 'MISMATCH'}")
    print(f"  result: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    run_main(main, "Postgres stopped, temp dir removed")
