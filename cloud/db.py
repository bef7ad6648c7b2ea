"""The cloud's Postgres: an engine on ``EDGESTORE_DATABASE_URL`` or on an embedded server, and migrations.

With no URL the cloud starts its own PostgreSQL from the ``pgserver`` wheel in its data folder (a real
Postgres 16, reached over a Unix socket), so ``edgestore demo`` and a laptop need no installed database.
"""

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, text

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def sqlalchemy_url(url: str) -> str:
    """Use psycopg 3 whatever the URL's scheme says (postgres://, postgresql://)."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url.split('@')[-1]}")


class EmbeddedPostgres:
    """A PostgreSQL server owned by this process, in ``data_dir``; stopped when the process lets go of it."""

    def __init__(self, data_dir: Path) -> None:
        with warnings.catch_warnings():
            # platformdirs warns, at pgserver's import, that it falls back to /tmp when XDG_RUNTIME_DIR is
            # unset (services and CI); pgserver keeps only lock files there.
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
            import pgserver  # only needed when no URL is configured

        data_dir.mkdir(parents=True, exist_ok=True)
        self._server: Any = pgserver.get_server(data_dir, cleanup_mode="stop")

    def url(self, database: str = "postgres") -> str:
        uri: str = self._server.get_uri(database)
        return uri

    def create_database(self, name: str) -> None:
        exists = self._server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")
        if "(1 row)" not in exists:
            self._server.psql(f'CREATE DATABASE "{name}";')

    def stop(self) -> None:
        self._server.cleanup()


class CloudDatabase:
    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = sqlalchemy_url(url)
        self.engine: Engine = create_engine(
            self.url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True, future=True
        )

    def conninfo(self) -> str:
        """The URL as psycopg itself takes it (for the bell's LISTEN connection)."""
        return self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One READ COMMITTED transaction: commits on success, rolls back on any error."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def migrate(self) -> None:
        """Bring the schema to the newest version. A transaction-scoped advisory lock lets several cloud
        processes start at once without racing each other's migrations."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self.engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(7310541)"))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def schema_version(self) -> str | None:
        with self.read() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()

    def ping(self) -> bool:
        try:
            with self.read() as conn:
                return conn.execute(text("SELECT 1")).scalar() == 1
        except Exception:
            return False

    def dispose(self) -> None:
        self.engine.dispose()
