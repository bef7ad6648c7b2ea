"""Fixtures shared by every test level: free ports and the project's CLI."""

import socket
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EDGESTORE = [sys.executable, "-m", "edgestore"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def port() -> int:
    return free_port()
