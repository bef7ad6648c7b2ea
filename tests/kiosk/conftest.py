"""A virtual display for the kiosk's real Kivy window: the test starts its own Xvfb on a free display
number, and each kiosk run is a process of its own on it (tests/kiosk/kiosk_driver.py)."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk_ui.hardware.payment import SimulatedTerminal
from kiosk_ui.viewmodels.kiosk import Kiosk
from node_client import NodeClient
from plumbing.xvfb import virtual_display
from tests.conftest import FakeClock
from tests.edge.conftest import EdgeServer, edge

__all__ = ["edge"]  # the real node of tests/edge, served per test


@pytest.fixture
def node(edge: EdgeServer) -> Iterator[NodeClient]:
    """The real node's client, as the kiosk holds it."""
    with NodeClient(edge.base_url) as client:
        yield client


@pytest.fixture
def kiosk(node: NodeClient, clock: FakeClock) -> Kiosk:
    """The kiosk's view-models on that node, with a simulated payment terminal and no printer."""
    return Kiosk(node=node, terminal=SimulatedTerminal(), printer=None, now=clock)


ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def display(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with virtual_display() as name:
        # The kiosk's font, taken out of the collection once for every run of the session.
        os.environ["EDGESTORE_TEST_FONT_CACHE"] = str(tmp_path_factory.mktemp("xdg-cache"))
        yield name


def run_kiosk(display: str, script: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Run one scripted kiosk session in its own process on ``display``; what it saw."""
    folder.mkdir(parents=True, exist_ok=True)
    script = {"out": str(folder), **script}
    path = folder / "script.json"
    path.write_text(json.dumps(script, ensure_ascii=False))
    env = {**os.environ, "DISPLAY": display, "XDG_CACHE_HOME": os.environ["EDGESTORE_TEST_FONT_CACHE"]}
    env.pop("WAYLAND_DISPLAY", None)
    done = subprocess.run(
        [sys.executable, "-m", "tests.kiosk.kiosk_driver", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    result_file = folder / "result.json"
    if not result_file.exists():
        raise AssertionError(f"the kiosk did not finish (exit {done.returncode}):\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(result_file.read_text())
    assert result["error"] is None, result["error"]
    return result
