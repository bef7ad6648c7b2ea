"""The cloud's migrations build exactly the schema the code declares (cloud/tables.py)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from cloud.db import CloudDatabase
from cloud.tables import metadata
from tests.cloud.conftest import PostgresForTests
from tests.cloud.test_brand_migration import migrate_to


def test_migrations_match_the_declared_tables(postgres: PostgresForTests):
    postgres.server.create_database("schemacheck")
    db = CloudDatabase(postgres.server.url("schemacheck"))
    try:
        migrate_to(db, "head")
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        db.dispose()
    assert diff == []


def test_the_einvoice_column_comes_and_goes(postgres: PostgresForTests):
    """0009 (issue 17) adds orders.einvoice and takes it away again."""
    postgres.server.create_database("einvoicecheck")
    db = CloudDatabase(postgres.server.url("einvoicecheck"))
    try:
        migrate_to(db, "head")
        migrate_to(db, "0008", back=True)
        assert "einvoice" not in _order_columns(db)
        migrate_to(db, "0009")
        assert "einvoice" in _order_columns(db)
    finally:
        db.dispose()


def _order_columns(db: CloudDatabase) -> set[str]:
    with db.engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns("orders")}


def test_the_partial_returns_tables_come_and_go(postgres: PostgresForTests):
    """0010 (issue 17) adds the partial returns and their lines, and takes them away again."""
    postgres.server.create_database("returnscheck")
    db = CloudDatabase(postgres.server.url("returnscheck"))
    try:
        migrate_to(db, "head")
        migrate_to(db, "0009", back=True)
        assert {"order_returns", "order_return_items"}.isdisjoint(_tables(db))
        migrate_to(db, "0010")
        assert {"order_returns", "order_return_items"} <= _tables(db)
    finally:
        db.dispose()


def _tables(db: CloudDatabase) -> set[str]:
    with db.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def test_the_device_health_columns_come_and_go(postgres: PostgresForTests):
    """0015 (issue 19) adds what a device's last status said (online, health, when) and takes it away again."""
    postgres.server.create_database("devicehealthcheck")
    db = CloudDatabase(postgres.server.url("devicehealthcheck"))
    try:
        migrate_to(db, "head")
        migrate_to(db, "0014", back=True)
        assert {"online", "health", "health_at"}.isdisjoint(_device_columns(db))
        migrate_to(db, "0015")
        assert {"online", "health", "health_at"} <= _device_columns(db)
    finally:
        db.dispose()


def _device_columns(db: CloudDatabase) -> set[str]:
    with db.engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns("devices")}


def test_the_stock_levels_come_with_the_levels_so_far_and_follow_every_insert(postgres: PostgresForTests):
    """0017 (issue 22) keeps each variant's level at each store in a row: it starts from the deltas held (their
    sums, store by store), and the database adds every delta inserted after, by any code (a process of the
    version before, during a rolling deploy), but never one skipped as already held; it goes again on the way
    back, trigger and all."""
    postgres.server.create_database("stocklevelscheck")
    db = CloudDatabase(postgres.server.url("stocklevelscheck"))

    def insert(rows: list[tuple[str, str, str, int]], conflict: str = "") -> None:
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO stock_deltas (delta_id, store_id, variant_id, quantity, reason, created_at) "
                    "SELECT d, s, v, q, 'restock', now() "
                    f"FROM unnest(CAST(:ids AS text[]), CAST(:stores AS text[]), CAST(:variants AS text[]), "
                    f"CAST(:quantities AS int[])) AS u(d, s, v, q) {conflict}"
                ),
                {
                    "ids": [r[0] for r in rows],
                    "stores": [r[1] for r in rows],
                    "variants": [r[2] for r in rows],
                    "quantities": [r[3] for r in rows],
                },
            )

    def held() -> set[tuple[str, str, int]]:
        with db.engine.connect() as conn:
            return {
                tuple(r) for r in conn.execute(text("SELECT store_id, variant_id, level FROM stock_levels"))
            }

    try:
        migrate_to(db, "0016")
        insert([("d0", "s1", "v1", 10), ("d1", "s1", "v1", -3), ("d2", "s1", "v2", 4), ("d3", "s2", "v1", 7)])
        insert([("d4", "s2", "v1", -7)])
        migrate_to(db, "head")
        assert held() == {("s1", "v1", 7), ("s1", "v2", 4), ("s2", "v1", 0)}
        # One statement, two variants and a new one, a delta held already (skipped) and one twice.
        insert(
            [("d1", "s1", "v1", -3), ("d5", "s1", "v1", -2), ("d6", "s1", "v3", 5), ("d7", "s1", "v3", 1)],
            "ON CONFLICT (delta_id) DO NOTHING",
        )
        insert([("d8", "s1", "v3", -1), ("d8", "s1", "v3", -1)], "ON CONFLICT (delta_id) DO NOTHING")
        assert held() == {("s1", "v1", 5), ("s1", "v2", 4), ("s1", "v3", 5), ("s2", "v1", 0)}
        migrate_to(db, "0016", back=True)
        with db.engine.connect() as conn:
            assert "stock_levels" not in inspect(conn).get_table_names()
        insert([("d9", "s1", "v1", 1)])  # no trigger left behind to fail it
    finally:
        db.dispose()
