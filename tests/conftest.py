"""Fixtures shared by every test level: free ports, a clock tests can move, and the project's CLI."""

import gc
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from plumbing import free_port, utcnow
from tests.fake_picamera2 import fake_picamera2, no_picamera2

__all__ = ["fake_picamera2", "no_picamera2"]  # picamera2's stand-in, for every test that starts a Pi camera

REPO = Path(__file__).resolve().parent.parent
EDGESTORE = [sys.executable, "-m", "edgestore"]


def pytest_configure(config: pytest.Config) -> None:
    # A run stopped with SIGTERM (a CI job's timeout, ``timeout``) ends as Ctrl-C does: pytest tears the
    # session's fixtures down, so the embedded Postgres and the brokers they started stop with the run instead
    # of outliving it. Left alone when something else already handles SIGTERM.
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupted)


def _interrupted(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"stopped by signal {signum}")


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """A test that freezes the heap (``plumbing.freeze_startup_heap``) starts and leaves it unfrozen, so the
    rest of the session collects as usual."""
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.fixture
def port() -> int:
    return free_port()


@dataclass
class FakeClock:
    """Wall time that tests can move, e.g. past a discount's end."""

    now: datetime = field(default_factory=utcnow)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> FakeClock:
    """The clock a test's servers and stores are given (a ``plumbing.Clock``)."""
    return FakeClock()


@pytest.fixture
def reachable_tmp() -> Iterator[Path]:
    """A temporary folder other users can reach. pytest's own is private (0700); as root, an embedded
    PostgreSQL runs as its own 'pgserver' user and must be able to reach its data folder."""
    root = Path(tempfile.mkdtemp(prefix="edgestore-test-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)
