"""The node's one SQLite file: connection pragmas, read and write transactions, migrations on start.

Writers take the database lock at BEGIN (``BEGIN IMMEDIATE``), so a checkout reads stock and writes the sale
under one lock and two racing checkouts can never both see the last unit. Readers use plain deferred
transactions and, in WAL mode, never wait for writers.

Writers in this process also queue on one first-in-first-out lock (``edge.fifo_lock``) before BEGIN.
SQLite's busy handler does not queue: a waiting writer sleeps and retries, and a newcomer often wins, so
under load a few checkouts waited seconds (p99 1.5 s at 16 clients, docs/performance.md). A plain
``threading.Lock`` promises no order either; the FIFO makes in-process waiting fair. The busy timeout
still covers other processes (the CLI loading a catalog, say).
"""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text

from edge.fifo_lock import FifoLock

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class Database:
    def __init__(self, path: Path, *, busy_timeout_ms: int = 5000, synchronous: str = "FULL") -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(
            f"sqlite+pysqlite:///{path}",
            connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
            pool_size=8,
            max_overflow=32,
        )
        self._writer_lock = FifoLock()
        busy, sync = int(busy_timeout_ms), synchronous

        @event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
            # Take transaction control away from the driver; we emit BEGIN ourselves (see _on_begin).
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={busy}")
            cursor.execute(f"PRAGMA synchronous={sync}")
            cursor.close()

        @event.listens_for(self.engine, "begin")
        def _on_begin(conn: Connection) -> None:
            mode = "IMMEDIATE" if conn.get_execution_options().get("edgestore_write") else "DEFERRED"
            conn.exec_driver_sql(f"BEGIN {mode}")

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction holding the database lock from its first statement; commits or rolls back."""
        with (
            self._writer_lock,
            self.engine.connect().execution_options(edgestore_write=True) as conn,
            conn.begin(),
        ):
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A consistent read snapshot."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def migrate(self) -> None:
        """Bring the schema to the newest version (Alembic, batch mode for SQLite)."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self.engine.connect() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def schema_version(self) -> str | None:
        with self.read() as conn:
            try:
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()
            except Exception:
                return None

    def integrity_ok(self) -> bool:
        with self.engine.connect() as conn:
            return conn.exec_driver_sql("PRAGMA quick_check").scalar() == "ok"

    def dispose(self) -> None:
        self.engine.dispose()
