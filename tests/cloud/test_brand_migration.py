"""Migration 0004 on a cloud that already has brands sellers added to the one shared list: each is sorted
into curated, one seller's own, still shared (several sellers use it) or gone (nobody uses it)."""

import itertools
from datetime import UTC, datetime

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from cloud.db import MIGRATIONS_DIR, CloudDatabase
from tests.cloud.conftest import PostgresForTests

_names = itertools.count()
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def migrate_to(db: CloudDatabase, revision: str, *, back: bool = False) -> None:
    """Up to ``revision`` (or, with ``back``, down to it) with the cloud's own migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if back else command.upgrade)(cfg, revision)


def add_seller(conn, seller_id: str) -> None:
    conn.execute(
        text(
            "INSERT INTO sellers (seller_id, account, password_hash, name, created_at) "
            "VALUES (:id, :id, 'x', :id, :now)"
        ),
        {"id": seller_id, "now": NOW},
    )


def add_product(conn, seller_id: str, brand_id: str) -> None:
    conn.execute(
        text(
            "INSERT INTO products (product_id, seller_id, name, brand_id, metadata_id, shipping, "
            "catalog_version, created_at, updated_at) "
            "VALUES (:pid, :sid, 'p', :bid, 'm', '[]', 1, :now, :now)"
        ),
        {"pid": f"p{next(_names)}", "sid": seller_id, "bid": brand_id, "now": NOW},
    )


def test_brands_added_before_are_sorted_out(postgres: PostgresForTests):
    name = f"brandmig{next(_names)}"
    postgres.server.create_database(name)
    db = CloudDatabase(postgres.server.url(name))
    try:
        migrate_to(db, "0003")
        with db.engine.begin() as conn:
            for seller_id in ("alice", "bob"):
                add_seller(conn, seller_id)
            conn.execute(
                text("INSERT INTO brands (brand_id, name, name_en) VALUES (:id, :name, :en)"),
                [
                    {"id": "b-xiaomi", "name": "XIAOMI", "en": ""},  # a seller's Xiaomi, now curated
                    {"id": "b-alice", "name": "阿里山茶園", "en": "Alishan Tea Garden"},
                    {"id": "b-both", "name": "台灣好茶", "en": ""},
                    {"id": "b-unused", "name": "沒人用", "en": ""},
                ],
            )
            add_product(conn, "alice", "b-alice")
            add_product(conn, "alice", "b-both")
            add_product(conn, "bob", "b-both")
            add_product(conn, "bob", "b-xiaomi")
        migrate_to(db, "head")
        with db.read() as conn:
            rows = {
                r.brand_id: r.seller_id for r in conn.execute(text("SELECT brand_id, seller_id FROM brands"))
            }
    finally:
        db.dispose()
    assert rows["b-alice"] == "alice"  # only alice's products name it: hers now
    assert rows["b-both"] is None  # two sellers use it: it stays shared
    assert "b-unused" not in rows  # nobody uses it, nobody to give it to
    assert rows["b-xiaomi"] is None  # named like a curated brand: it is that brand,
    assert "xiaomi" not in rows  # and the curated copy is not seeded beside it
    for curated in ("apple", "samsung", "oppo", "vivo", "motorola", "nokia", "htc", "hey-song"):
        assert rows[curated] is None
