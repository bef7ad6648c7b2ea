"""A real store node per test: a fresh SQLite file, the real FastAPI app, served by uvicorn on a free port."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from edge.api.app import create_app
from edge.catalog import load_snapshot
from edge.demo_catalog import demo_catalog
from edge.node import Node
from edge.settings import EdgeSettings
from models.catalog import CatalogSnapshot
from plumbing import ServedApp, free_port, serve_in_thread
from tests.conftest import FakeClock


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


def start_server(settings: EdgeSettings, clock: FakeClock) -> ServedApp:
    return serve_in_thread(create_app(settings, clock), settings.port)


@pytest.fixture
def edge(tmp_path: Path, clock: FakeClock) -> Iterator[EdgeServer]:
    """A running node with the demo catalog loaded."""
    settings = EdgeSettings(data_dir=tmp_path / "node", port=free_port())
    load_catalog(settings, demo_catalog(now=clock()), clock())
    served = start_server(settings, clock)
    base_url = f"http://127.0.0.1:{settings.port}/api/v1"
    with httpx.Client(base_url=base_url, timeout=30) as client:
        yield EdgeServer(settings, client, clock, base_url)
    served.stop(timeout_s=20)
