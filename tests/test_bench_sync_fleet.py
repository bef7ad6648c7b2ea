"""bench/sync_fleet.py end to end at its smallest: one worker, two nodes (two sellers), 20 orders; the whole
way (cloud serve on embedded Postgres, the broker, real device logins, the checks) in about 20 s."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def test_sync_fleet_smoke_run_passes(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "sync_fleet.py"),
            *("--workers", "1", "--nodes", "2", "--orders", "20", "--batch", "5", "--window", "2"),
            *("--tmp-parent", str(tmp_path)),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},  # this checkout's code, in the bench and its servers
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "result: PASS" in done.stdout
    assert "| 1 | 2 | 2 | 2 | 20 |" in done.stdout  # workers, nodes, sellers, stores per worker, orders
    assert list(tmp_path.iterdir()) == []  # the temp dir is gone
