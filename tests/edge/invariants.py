"""What must hold in a node's database after anything, a SIGKILL included."""

import sqlite3
from pathlib import Path


def check_node_database(path: Path) -> dict[str, int]:
    """Assert the node's invariants on the file at ``path``; return a few counts for the caller."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        orders = conn.execute("SELECT order_id, total, coupon_discount FROM orders").fetchall()
        for order_id, total, coupon_discount in orders:
            items = conn.execute(
                "SELECT variant_id, quantity, line_total FROM order_items WHERE order_id=?", (order_id,)
            ).fetchall()
            assert items, f"order {order_id} has no items"
            assert sum(i[2] for i in items) - coupon_discount == total
            paid = conn.execute("SELECT amount FROM payments WHERE order_id=?", (order_id,)).fetchall()
            assert paid == [(total,)], f"order {order_id} payments {paid}"
            deltas = sorted(
                conn.execute(
                    "SELECT variant_id, quantity FROM stock_deltas WHERE ref_id=? AND reason='sale'",
                    (order_id,),
                ).fetchall()
            )
            assert deltas == sorted((v, -q) for v, q, _ in items), f"order {order_id} deltas {deltas}"
            queued = conn.execute(
                "SELECT count(*) FROM outbox WHERE stream='orders' AND aggregate_id=?", (order_id,)
            ).fetchone()[0]
            assert queued == 1, f"order {order_id} is not in the outbox exactly once"
            entered = conn.execute(
                "SELECT count(*) FROM till_entries WHERE kind='sale' AND order_id=?", (order_id,)
            ).fetchone()[0]
            assert entered == 1, f"order {order_id} is not in the till's journal exactly once"
        unqueued = conn.execute(
            "SELECT count(*) FROM stock_deltas d LEFT JOIN outbox o "
            "ON o.stream='stockDeltas' AND o.aggregate_id=d.delta_id WHERE o.seq IS NULL "
            "AND d.reason <> 'count'"  # counts from a loaded catalog are the cloud's: they are not sent back
        ).fetchone()[0]
        assert unqueued == 0, f"{unqueued} stock deltas made here have no outbox message"
        drift = conn.execute(
            "SELECT l.variant_id, l.quantity, s.total FROM stock_levels l "
            "JOIN (SELECT variant_id, sum(quantity) AS total FROM stock_deltas GROUP BY variant_id) s "
            "USING (variant_id) WHERE l.quantity <> s.total"
        ).fetchall()
        assert drift == [], f"stock levels differ from the sum of deltas: {drift}"
        orphans = conn.execute(
            "SELECT count(*) FROM carts c LEFT JOIN orders o USING (order_id) "
            "WHERE c.status='checkedOut' AND o.order_id IS NULL"
        ).fetchone()[0]
        assert orphans == 0
        return {
            "orders": len(orders),
            "outbox": conn.execute("SELECT count(*) FROM outbox").fetchone()[0],
            "negativeLevels": conn.execute("SELECT count(*) FROM stock_levels WHERE quantity < 0").fetchone()[
                0
            ],
        }
    finally:
        conn.close()
