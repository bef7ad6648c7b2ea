"""The floor under the store node's checkout: the rows one cart + checkout writes, inserted with the
``sqlite3`` module alone, one transaction per checkout, from N threads (``bench/edge_checkout.py --bare``).

Per checkout, in one ``BEGIN IMMEDIATE`` transaction on the thread's own connection (WAL, the node's
``synchronous``, busy timeout 5 s), with writers queued first in, first out as the node queues them
(``edge.fifo_lock``): the cart and its lines, the order, its lines and payment, the till entry, the receipt
token, the cart closed, the idempotency key, a stock delta and a level upsert per line, and the outbox rows
(the order, a delta per line) with JSON payloads shaped like the node's. Values are made beforehand where
they do not depend on the database (ids, payloads); no reads, no checks, no HTTP: what is left is SQLite's
own cost for the same writes, on the same file layout and disk.
"""

import json
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchkit import percentile

from edge.fifo_lock import FifoLock
from models.ids import new_id

PRICE = 100  # the synthetic catalog's prices vary; the bytes written do not depend on them


@dataclass
class BareResult:
    concurrency: int
    attempted: int
    wall_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    cpu_s: float = 0.0  # CPU of this process during the level (the writer threads)

    def row(self) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)
        return {
            "concurrency": self.concurrency,
            "checkouts": len(ordered),
            "per_s": len(ordered) / self.wall_s if self.wall_s > 0 else float("nan"),
            "p50": percentile(ordered, 50),
            "p99": percentile(ordered, 99),
            "cpu_ms": self.cpu_s * 1000 / self.attempted if self.attempted else float("nan"),
        }


def _stamp(at: datetime) -> tuple[str, str]:
    """How SQLAlchemy stores the node's UTC timestamps in SQLite, and how the payloads write them."""
    return at.strftime("%Y-%m-%d %H:%M:%S.%f"), at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class BareWriter:
    """Writes checkouts into a copy of the node's database file (schema and catalog as the node's)."""

    def __init__(self, database: Path, synchronous: str, store_id: str, device_id: str) -> None:
        self.database = database
        self.synchronous = synchronous
        self.store_id = store_id
        self.device_id = device_id
        self._lock = FifoLock()
        self._seq = {"orders": 0, "stockDeltas": 0}
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        with self._connect() as conn:
            for stream in self._seq:
                found = conn.execute(
                    "SELECT max(stream_seq) FROM outbox WHERE stream = ?", (stream,)
                ).fetchone()
                self._seq[stream] = int(found[0] or 0)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.database, isolation_level=None, check_same_thread=False, timeout=5.0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        return conn

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            self._connections.append(conn)
        return conn

    def close(self) -> None:
        for conn in self._connections:
            conn.close()

    def checkout(self, variant_ids: list[str], key: str) -> float:
        """One cart + checkout's rows in one transaction; returns its latency in ms (with the queueing)."""
        t0 = time.perf_counter()
        at = datetime.now(UTC)
        stored, shown = _stamp(at)
        cart_id, order_id, payment_id = new_id(), new_id(), new_id()
        lines = [(new_id(), new_id(), new_id(), v) for v in variant_ids]  # cart item, order item, delta ids
        total = PRICE * len(lines)
        items = [
            {
                "itemId": item_id,
                "orderId": order_id,
                "productId": v.rsplit("-", 1)[0],
                "variantId": v,
                "name": "synthetic product",
                "variantName": "規格1",
                "quantity": 1,
                "unitPrice": PRICE,
                "unitDiscount": 0,
                "unitFinalPrice": PRICE,
                "lineTotal": PRICE,
                "discountId": None,
            }
            for _c, item_id, _d, v in lines
        ]
        order_payload = json.dumps(
            {
                "orderId": order_id,
                "storeId": self.store_id,
                "deviceId": self.device_id,
                "channel": "inStore",
                "status": "completed",
                "currency": "TWD",
                "subtotal": total,
                "discountTotal": 0,
                "couponCode": None,
                "couponDiscount": 0,
                "total": total,
                "items": items,
                "payments": [
                    {
                        "paymentId": payment_id,
                        "orderId": order_id,
                        "method": "cash",
                        "amount": total,
                        "status": "captured",
                        "createdAt": shown,
                    }
                ],
                "catalogVersion": 1,
                "createdAt": shown,
                "updatedAt": shown,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        conn = self._conn()
        with self._lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._write(
                    conn, cart_id, order_id, payment_id, key, lines, total, stored, shown, order_payload
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return (time.perf_counter() - t0) * 1000

    def _write(
        self,
        conn: sqlite3.Connection,
        cart_id: str,
        order_id: str,
        payment_id: str,
        key: str,
        lines: list[tuple[str, str, str, str]],
        total: int,
        stored: str,
        shown: str,
        order_payload: str,
    ) -> None:
        conn.execute(
            "INSERT INTO carts (cart_id, status, order_id, created_at, updated_at) VALUES (?, 'open', NULL, ?, ?)",
            (cart_id, stored, stored),
        )
        conn.executemany(
            "INSERT INTO cart_items (item_id, cart_id, variant_id, quantity, added_at) VALUES (?, ?, ?, 1, ?)",
            [(c, cart_id, v, stored) for c, _i, _d, v in lines],
        )
        conn.execute(
            "INSERT INTO orders (order_id, store_id, device_id, channel, status, currency, subtotal, "
            "discount_total, coupon_code, coupon_discount, total, catalog_version, einvoice, created_at, "
            "updated_at) VALUES (?, ?, ?, 'inStore', 'completed', 'TWD', ?, 0, NULL, 0, ?, 1, NULL, ?, ?)",
            (order_id, self.store_id, self.device_id, total, total, stored, stored),
        )
        conn.executemany(
            "INSERT INTO order_items (item_id, order_id, product_id, variant_id, name, variant_name, quantity, "
            "unit_price, unit_discount, unit_final_price, line_total, discount_id) "
            "VALUES (?, ?, ?, ?, 'synthetic product', '規格1', 1, ?, 0, ?, ?, NULL)",
            [(i, order_id, v.rsplit("-", 1)[0], v, PRICE, PRICE, PRICE) for _c, i, _d, v in lines],
        )
        conn.execute(
            "INSERT INTO payments (payment_id, order_id, method, amount, status, created_at) "
            "VALUES (?, ?, 'cash', ?, 'captured', ?)",
            (payment_id, order_id, total, stored),
        )
        conn.execute(
            "INSERT INTO till_entries (entry_id, kind, order_id, at) VALUES (?, 'sale', ?, ?)",
            (f"sale:{order_id}", order_id, stored),
        )
        conn.execute("INSERT INTO receipt_tokens (order_id, token) VALUES (?, 'ABCDEFGH')", (order_id,))
        conn.execute(
            "UPDATE carts SET status='checkedOut', order_id=?, updated_at=? WHERE cart_id=?",
            (order_id, stored, cart_id),
        )
        conn.execute(
            "INSERT INTO checkout_keys (idempotency_key, cart_id, order_id, created_at) VALUES (?, ?, ?, ?)",
            (key, cart_id, order_id, stored),
        )
        conn.executemany(
            "INSERT INTO stock_deltas (delta_id, store_id, variant_id, quantity, reason, ref_id, note, created_at) "
            "VALUES (?, ?, ?, -1, 'sale', ?, NULL, ?)",
            [(d, self.store_id, v, order_id, stored) for _c, _i, d, v in lines],
        )
        conn.executemany(
            "INSERT INTO stock_levels (variant_id, quantity) VALUES (?, -1) "
            "ON CONFLICT (variant_id) DO UPDATE SET quantity = stock_levels.quantity + excluded.quantity",
            [(v,) for *_ids, v in lines],
        )
        self._seq["orders"] += 1
        outbox = [(new_id(), "orders", self._seq["orders"], order_id, order_payload, stored)]
        for _c, _i, delta_id, v in lines:
            self._seq["stockDeltas"] += 1
            payload = json.dumps(
                {
                    "deltaId": delta_id,
                    "storeId": self.store_id,
                    "variantId": v,
                    "quantity": -1,
                    "reason": "sale",
                    "refId": order_id,
                    "note": None,
                    "createdAt": shown,
                },
                separators=(",", ":"),
            )
            outbox.append((new_id(), "stockDeltas", self._seq["stockDeltas"], delta_id, payload, stored))
        conn.executemany(
            "INSERT INTO outbox (message_id, stream, stream_seq, aggregate_id, payload, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            outbox,
        )


def run_bare_level(writer: BareWriter, concurrency: int, carts: list[list[str]], tag: str) -> BareResult:
    """``len(carts)`` checkouts' rows from ``concurrency`` threads, as ``run_level`` drives the node."""
    result = BareResult(concurrency=concurrency, attempted=len(carts))
    cpu_before = time.process_time()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"bare{concurrency}") as pool:
        result.latencies_ms = list(
            pool.map(lambda i: writer.checkout(carts[i], f"bare-{tag}-{i:06d}"), range(len(carts)))
        )
    result.wall_s = time.perf_counter() - started
    result.cpu_s = time.process_time() - cpu_before
    return result


def print_bare_table(results: list[BareResult], node_per_s: dict[int, float]) -> None:
    print(
        "Bare SQLite: the same rows per checkout, one sqlite3 transaction each (no HTTP, no reads, no checks)"
    )
    header = f"{'concurrency':>11}  {'checkouts':>9}  {'checkouts/s':>11}  {'p50':>9}  {'p99':>9}  {'CPU':>8}  {'node/bare':>9}"
    print(header)
    print("-" * len(header))
    for r in results:
        row = r.row()
        ratio = node_per_s.get(r.concurrency, float("nan")) / row["per_s"] if row["per_s"] else float("nan")
        print(
            f"{row['concurrency']:>11}  {row['checkouts']:>9}  {row['per_s']:>11.1f}  {row['p50']:>6.2f} ms  "
            f"{row['p99']:>6.2f} ms  {row['cpu_ms']:>5.2f} ms  {ratio:>9.3f}"
        )
    print(
        "(p50/p99: one checkout's transaction with its wait for the writer lock; CPU: this process per checkout;"
    )
    print(" node/bare: the node's checkouts/s at that level over the bare transaction's)")
    print()
    print(
        "| concurrency | checkouts | checkouts/s | p50 (ms) | p99 (ms) | CPU / checkout (ms) | node / bare |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        row = r.row()
        ratio = node_per_s.get(r.concurrency, float("nan")) / row["per_s"] if row["per_s"] else float("nan")
        print(
            f"| {row['concurrency']} | {row['checkouts']} | {row['per_s']:.1f} | {row['p50']:.2f} | "
            f"{row['p99']:.2f} | {row['cpu_ms']:.2f} | {ratio:.3f} |"
        )
