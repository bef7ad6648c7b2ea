"""The migrations build exactly the schema the code declares, and a node migrates its file on start."""

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
    assert db.schema_version() == "0002"
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    assert db.integrity_ok()
    db.dispose()
    with sqlite3.connect(tmp_path / "edge.sqlite3") as raw:
        assert raw.execute("SELECT version_num FROM alembic_version").fetchall() == [("0002",)]
