"""Fixtures shared by every test level: free ports and the project's CLI."""

import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from edgestore.ports import free_port

REPO = Path(__file__).resolve().parent.parent
EDGESTORE = [sys.executable, "-m", "edgestore"]


@pytest.fixture
def port() -> int:
    return free_port()


@dataclass
class FakeClock:
    """Wall time that tests can move, e.g. past a discount's end."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


def serve_in_thread(app: FastAPI, port: int, **options: Any) -> tuple[uvicorn.Server, threading.Thread]:
    """The real app behind real uvicorn on 127.0.0.1:port, in a daemon thread; returns once it listens.
    ``options``: more of uvicorn's settings (the proxy-header options a cloud is served with, say)."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.01)
    return server, thread


@pytest.fixture
def reachable_tmp() -> Iterator[Path]:
    """A temporary folder other users can reach. pytest's own is private (0700); as root, an embedded
    PostgreSQL runs as its own 'pgserver' user and must be able to reach its data folder."""
    root = Path(tempfile.mkdtemp(prefix="edgestore-test-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)
