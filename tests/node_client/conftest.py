"""The client against real nodes: the `edge` fixture's node, a node whose busy timeout is short (to meet a
real ``databaseBusy`` quickly), and a fault injector around the real server for the retry tests."""

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from edge.demo_catalog import demo_catalog
from edge.settings import EdgeSettings
from models.staff import StaffRole
from node_client import NodeClient
from plumbing import free_port
from tests.conftest import FakeClock
from tests.edge.conftest import edge, load_catalog, start_server
from tests.edge.helpers import add_staff

__all__ = ["edge"]  # the real node of tests/edge, served per test

QUICK = {"backoff": 0.01, "max_backoff": 0.05}
"""Retry waits short enough for tests; the policy's own figures are tested in test_retries."""


MANAGER, PIN = "店長 Manager", "2468"


@pytest.fixture
def node(edge) -> Iterator[NodeClient]:
    """A client logged in as a manager: orders, returns and the sync status are staff only."""
    add_staff(edge.settings, MANAGER, StaffRole.MANAGER, PIN)
    with NodeClient(edge.base_url, **QUICK) as client:
        client.staff_login(MANAGER, PIN)
        yield client


class Injector:
    """Fails requests as planned, one fault per request in order, then forwards each to the real node.

    ``refuse``: a connection error before anything reaches the node. ``lose``: the node gets the request
    and answers, and the answer is lost (a read timeout), the case where a retry could sell twice.
    ``after``, when given, sees every real answer (to release a lock once the node said it is busy)."""

    def __init__(self, *faults: str, after: Callable[[httpx.Response], None] | None = None) -> None:
        self.faults = list(faults)
        self.after = after
        self.seen: list[httpx.Request] = []
        self.real = httpx.HTTPTransport()
        self.transport = httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        fault = self.faults.pop(0) if self.faults else None
        if fault == "refuse":
            raise httpx.ConnectError("injected: connection refused", request=request)
        response = self.real.handle_request(request)
        response.read()
        if self.after is not None:
            self.after(response)
        if fault == "lose":
            raise httpx.ReadTimeout("injected: the answer was lost", request=request)
        return response

    def attempts(self, method: str, path_end: str) -> int:
        return sum(1 for r in self.seen if r.method == method and r.url.path.endswith(path_end))


@pytest.fixture
def injected() -> Iterator[Callable[..., tuple[NodeClient, Injector]]]:
    """``injected(base_url, *faults, after=None, retries=2, token=None)``: a client of that node through an
    Injector (``token``: a staff login's, for the staff-only calls)."""
    made: list[tuple[NodeClient, Injector]] = []

    def make(
        base_url: str,
        *faults: str,
        after: Callable[[httpx.Response], None] | None = None,
        retries: int = 2,
        token: str | None = None,
    ) -> tuple[NodeClient, Injector]:
        injector = Injector(*faults, after=after)
        client = NodeClient(base_url, retries=retries, transport=injector.transport, token=token, **QUICK)
        made.append((client, injector))
        return client, injector

    yield make
    for client, injector in made:
        client.close()
        injector.real.close()


class HeldLock:
    """The node's SQLite write lock held by another connection, as a second writer would hold it."""

    def __init__(self, database: Path) -> None:
        self.conn = sqlite3.connect(database, isolation_level=None)
        self.conn.execute("BEGIN IMMEDIATE")
        self.held = True

    def release(self) -> None:
        if self.held:
            self.conn.execute("ROLLBACK")
            self.held = False

    def close(self) -> None:
        self.release()
        self.conn.close()


@pytest.fixture
def busy_node(tmp_path: Path, clock: FakeClock) -> Iterator[tuple[str, Path]]:
    """A real node whose writers give up on the lock after 100 ms: ``(base_url, database path)``."""
    settings = EdgeSettings(data_dir=tmp_path / "busy", port=free_port(), sqlite_busy_timeout_ms=100)
    load_catalog(settings, demo_catalog(now=clock()), clock())
    add_staff(settings, MANAGER, StaffRole.MANAGER, PIN)
    served = start_server(settings, clock)
    yield f"http://127.0.0.1:{settings.port}", settings.database_path
    served.stop(timeout_s=20)
