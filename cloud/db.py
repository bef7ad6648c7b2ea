"""The cloud's Postgres: an engine on ``EDGESTORE_DATABASE_URL`` or on an embedded server, and migrations.

With no URL the cloud starts its own PostgreSQL from the ``pgserver`` wheel in its data folder (a real
Postgres 16, reached over a Unix socket), so ``edgestore demo`` and a laptop need no installed database.
"""

import fcntl
import json
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psutil  # comes with pgserver: imported where the embedded server is used

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


_HANDLES = ".handle_pids.json"  # pgserver's list of the processes using the server in a data folder
_STOP_TIMEOUT_S = 60


def _holds(pid: int) -> bool:
    """Whether ``pid`` may still use the server: a live Python process (every user of pgserver is one; a
    pid reused by anything else after the holder died, or by another user's process, is not counted)."""
    import psutil

    try:
        process = psutil.Process(pid)
        # Case-insensitive: macOS framework builds run as "Python", some distributions as "python3.11".
        return process.status() != psutil.STATUS_ZOMBIE and Path(process.exe()).name.lower().startswith(
            "python"
        )
    except psutil.Error:
        return False


def _forget_dead_handles(data_dir: Path) -> list[int]:
    """Drop from pgserver's list the processes that died without letting go of the server; the live ones."""
    path = data_dir / _HANDLES
    try:
        pids = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    except ValueError:
        pids = []  # unreadable: nobody can be counted on to stop the server, so count nobody
    live = [pid for pid in pids if isinstance(pid, int) and _holds(pid)] if isinstance(pids, list) else []
    if live != pids:
        path.write_text(json.dumps(live))
    return live


def _postmaster(data_dir: Path) -> "psutil.Process | None":
    """The server running on ``data_dir``: the process ``postmaster.pid`` names if it is a live postgres
    working in that folder, else None (after a reboot the pid may be anyone's; one whose folder we may not
    read belongs to another user, so it is no server we started)."""
    import psutil

    try:
        process = psutil.Process(int((data_dir / "postmaster.pid").read_text().split()[0]))
        if (
            process.status() != psutil.STATUS_ZOMBIE
            and process.name() == "postgres"
            and Path(process.cwd()).resolve() == data_dir.resolve()
        ):
            return process
    except (OSError, IndexError, ValueError, psutil.Error):
        pass
    return None


def _stop_stale_server(data_dir: Path) -> None:
    """Stop a server that no live process uses: one left running by a process killed outright.

    pgserver starts the server as a daemon (pg_ctl), counts its users in ``.handle_pids.json`` and lets the
    last one to clean up stop it. A process killed by SIGKILL or a power cut never cleans up: its server
    keeps running and its dead pid stays counted, so the next process would reuse the server and, at its
    own clean stop, leave it running for the dead one. Stopping it here (``pg_ctl stop -m fast``: open
    transactions roll back, the data is checkpointed) lets pgserver start a fresh one this process owns,
    from the binaries installed now and with a socket folder that exists."""
    server = _postmaster(data_dir)
    if server is None:
        # No server, so nobody uses one: forget the list (after a reboot its pids may be anyone's, and one
        # counted would keep our clean stop from stopping the server we start), and a postmaster.pid that
        # names a dead process or somebody else's, which pgserver and postgres would take for a server.
        (data_dir / _HANDLES).unlink(missing_ok=True)
        (data_dir / "postmaster.pid").unlink(missing_ok=True)
        return
    if _forget_dead_handles(data_dir):
        return  # another process of ours uses it: pgserver shares it, and the last one stops it
    import pgserver  # imported (with its warning silenced) by the caller

    # As root, pgserver runs the server as its own user, and pg_ctl refuses to run as root.
    user = server.username() if os.geteuid() == 0 else None
    # pgserver.pg_ctl: the wrapper pgserver makes at import for the pg_ctl binary it ships (-D data_dir).
    pgserver.pg_ctl(  # type: ignore[attr-defined]  # made at import time: no static type
        ["-w", "-m", "fast", "stop"], pgdata=data_dir, user=user, timeout=_STOP_TIMEOUT_S
    )


@contextmanager
def _folder_lock(data_dir: Path) -> Iterator[None]:
    """Serialise starting and stopping the server of one data folder across processes, so a process that
    is starting is never taken for a stale user, and two starts do not both stop or start a server."""
    with (data_dir.parent / f".{data_dir.name}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class EmbeddedPostgres:
    """A PostgreSQL server in ``data_dir``, shared by the processes that open it and stopped when the last
    one lets go; a server left running by a process that was killed is stopped before starting."""

    def __init__(self, data_dir: Path) -> None:
        with warnings.catch_warnings():
            # platformdirs warns, at pgserver's import, that it falls back to /tmp when XDG_RUNTIME_DIR is
            # unset (services and CI); pgserver keeps only lock files there.
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
            import pgserver.postgres_server  # only needed when no URL is configured

        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir.resolve()
        with _folder_lock(self.data_dir):
            _stop_stale_server(self.data_dir)
            self._server: Any = pgserver.postgres_server.get_server(self.data_dir, cleanup_mode="stop")

    def url(self, database: str = "postgres") -> str:
        uri: str = self._server.get_uri(database)
        return uri

    def create_database(self, name: str, *, template: str | None = None) -> None:
        """Create database ``name`` unless it exists; with ``template``, as a copy of that database (which
        must have no open connections: how the tests make a migrated database per test in milliseconds)."""
        exists = self._server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")
        if "(1 row)" not in exists:
            copy = f' TEMPLATE "{template}"' if template else ""
            self._server.psql(f'CREATE DATABASE "{name}"{copy};')

    def stop(self) -> None:
        """Let go of the server; pgserver stops it if no other live process uses it (dead ones that were
        killed are not counted, or the server would outlive everyone)."""
        with _folder_lock(self.data_dir):
            _forget_dead_handles(self.data_dir)
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
