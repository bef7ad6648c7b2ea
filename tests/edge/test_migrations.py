"""The migrations build exactly the schema the code declares, and a node migrates its file on start."""

import json
import sqlite3

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from edge.db import Database
from edge.tables import metadata


def test_migrations_match_the_declared_tables(tmp_path):
    db = Database(tmp_path / "edge.sqlite3")
    db.migrate()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    db.dispose()
    assert diff == []


def test_migrate_is_idempotent_and_sets_pragmas(tmp_path):
    db = Database(tmp_path / "edge.sqlite3")
    db.migrate()
    db.migrate()
    assert db.schema_version() == "0010"
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    assert db.integrity_ok()
    db.dispose()
    with sqlite3.connect(tmp_path / "edge.sqlite3") as raw:
        assert raw.execute("SELECT version_num FROM alembic_version").fetchall() == [("0010",)]


def test_text_stored_before_the_control_character_rule_is_cleaned(tmp_path):
    """Migration 0003: a name, a note and an outbox payload holding control characters (accepted before
    issue 15) lose them, so the node can show and send them; dead letters keep what was received."""
    from alembic import command
    from alembic.config import Config

    from edge.db import MIGRATIONS_DIR

    path = tmp_path / "edge.sqlite3"
    db = Database(path)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with db.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
    db.dispose()
    payload = '{"name":"珍珠\\u0007奶茶","note":"ok\\nline","n":1}'
    backspace = '{"name":"a\\bb"}'
    with sqlite3.connect(path) as raw:
        raw.execute(
            "INSERT INTO products (product_id, name, name_en, description, listed) "
            "VALUES ('p1', 'Tea' || char(7) || 'Time', 'ok', 'two' || char(10) || 'lines', 1)"
        )
        raw.execute(
            "INSERT INTO outbox (message_id, stream, stream_seq, aggregate_id, payload, created_at) "
            "VALUES ('m1', 'orders', 1, 'o1', ?, '2026-12-01 00:00:00')",
            (payload,),
        )
        raw.execute(
            "INSERT INTO outbox (message_id, stream, stream_seq, aggregate_id, payload, created_at) "
            "VALUES ('m2', 'orders', 2, 'o2', ?, '2026-12-01 00:00:00')",
            (backspace,),
        )
        raw.execute(
            "INSERT INTO dead_letters (dead_letter_id, received_at, topic, reason, detail, payload) "
            "VALUES ('d1', '2026-12-01 00:00:00', 't', 'malformed', 'x' || char(1), 'y' || char(1))"
        )
    db = Database(path)
    db.migrate()
    db.dispose()
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT name, description FROM products").fetchone() == ("TeaTime", "two\nlines")
        stored = dict(raw.execute("SELECT message_id, payload FROM outbox").fetchall())
        assert json.loads(stored["m1"]) == {"name": "珍珠奶茶", "note": "ok\nline", "n": 1}
        assert json.loads(stored["m2"]) == {"name": "ab"}
        assert raw.execute("SELECT detail FROM dead_letters").fetchone()[0] == "x\x01"


def test_the_einvoice_column_comes_and_goes(tmp_path):
    """0005 (issue 17) adds orders.einvoice and takes it away again, keeping the orders and their lines."""
    from alembic import command
    from alembic.config import Config

    from edge.db import MIGRATIONS_DIR

    db = Database(tmp_path / "edge.sqlite3")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))

    def columns() -> set[str]:
        with db.engine.connect() as conn:
            return {row[1] for row in conn.exec_driver_sql("PRAGMA table_info(orders)")}

    with db.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        assert "einvoice" in columns()
    with sqlite3.connect(db.path) as raw:
        raw.execute(
            "INSERT INTO orders (order_id, store_id, channel, status, currency, subtotal, discount_total, "
            "coupon_discount, total, einvoice, created_at, updated_at) VALUES ('o1', 's1', 'inStore', "
            "'completed', 'TWD', 55, 0, 0, 55, '{\"kind\":\"none\",\"value\":null}', '2026-12-04 00:00:00', "
            "'2026-12-04 00:00:00')"
        )
        raw.execute(
            "INSERT INTO order_items (item_id, order_id, product_id, variant_id, name, variant_name, quantity, "
            "unit_price, unit_discount, unit_final_price, line_total) "
            "VALUES ('i1', 'o1', 'p1', 'v1', '拿鐵', '中杯', 1, 55, 0, 55, 55)"
        )
    with db.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
        assert "einvoice" not in columns()
        command.upgrade(cfg, "head")
    assert "einvoice" in columns()
    db.dispose()
    with sqlite3.connect(db.path) as raw:  # the order and its line survive, the choice went with the column
        assert raw.execute("SELECT order_id, einvoice FROM orders").fetchall() == [("o1", None)]
        assert raw.execute("SELECT item_id FROM order_items").fetchall() == [("i1",)]


def test_what_the_till_did_before_the_journal_is_entered_open(tmp_path):
    """0007 (issue 17): the sales and the counter's refunds made before it are in the till's journal, open,
    so the node's first Z-report covers them; a refund the cloud made gave nothing back at this till."""
    from alembic import command
    from alembic.config import Config

    from edge.db import MIGRATIONS_DIR

    db = Database(tmp_path / "edge.sqlite3")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with db.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005")
    with sqlite3.connect(db.path) as raw:
        raw.execute("INSERT INTO node_state (key, value) VALUES ('deviceId', 'node-a')")
        for order_id in ("o1", "o2", "o3"):
            raw.execute(
                "INSERT INTO orders (order_id, store_id, device_id, channel, status, currency, subtotal, "
                "discount_total, coupon_discount, total, created_at, updated_at) VALUES (?, 's1', 'node-a', "
                "'inStore', 'completed', 'TWD', 55, 0, 0, 55, '2026-12-04 01:00:00', '2026-12-04 01:00:00')",
                (order_id,),
            )
        for order_id, device, status in (("o1", "node-a", "returned"), ("o2", "cloud", "refunded")):
            raw.execute(
                "INSERT INTO order_transitions (order_id, hlc, to_status, from_status, actor, device_id, "
                "received_at) VALUES (?, ?, ?, 'completed', ?, ?, '2026-12-04 02:00:00')",
                (order_id, f"h-{order_id}", status, "store" if device == "node-a" else "seller", device),
            )
    db.migrate()
    db.dispose()
    with sqlite3.connect(db.path) as raw:
        entries = raw.execute(
            "SELECT entry_id, kind, at, z_report_number FROM till_entries ORDER BY entry_id"
        ).fetchall()
    assert entries == [
        ("refund:o1", "refund", "2026-12-04 02:00:00", None),
        ("sale:o1", "sale", "2026-12-04 01:00:00", None),
        ("sale:o2", "sale", "2026-12-04 01:00:00", None),
        ("sale:o3", "sale", "2026-12-04 01:00:00", None),
    ]
