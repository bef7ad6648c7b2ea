"""A real store node per test: a fresh SQLite file, the real FastAPI app, served by uvicorn on a free port."""

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn

from edge.api.app import create_app
from edge.catalog import load_snapshot
from edge.demo_catalog import demo_catalog
from edge.node import Node
from edge.settings import EdgeSettings
from models.catalog import CatalogSnapshot
from tests.conftest import free_port


@dataclass
class FakeClock:
    """Wall time that tests can move, e.g. past a discount's end."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass
class EdgeServer:
    settings: EdgeSettings
    client: httpx.Client
    clock: FakeClock
    base_url: str

    @property
    def database_path(self) -> Path:
        return self.settings.database_path

    def load(self, snapshot: CatalogSnapshot) -> None:
        load_catalog(self.settings, snapshot, self.clock())

    def new_client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30)


def load_catalog(settings: EdgeSettings, snapshot: CatalogSnapshot, at: datetime) -> None:
    """Load a catalog the way the CLI does, through a second connection to the same file."""
    node = Node.open(settings)
    try:
        with node.db.write() as conn:
            load_snapshot(conn, snapshot, at)
    finally:
        node.close()


def start_server(settings: EdgeSettings, clock: FakeClock) -> tuple[uvicorn.Server, threading.Thread]:
    config = uvicorn.Config(
        create_app(settings, clock), host="127.0.0.1", port=settings.port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("store node did not start")
        time.sleep(0.01)
    return server, thread


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def edge(tmp_path: Path, clock: FakeClock) -> Iterator[EdgeServer]:
    """A running node with the demo catalog loaded."""
    settings = EdgeSettings(data_dir=tmp_path / "node", port=free_port())
    load_catalog(settings, demo_catalog(now=clock()), clock())
    server, thread = start_server(settings, clock)
    base_url = f"http://127.0.0.1:{settings.port}/api/v1"
    with httpx.Client(base_url=base_url, timeout=30) as client:
        yield EdgeServer(settings, client, clock, base_url)
    server.should_exit = True
    thread.join(timeout=20)
