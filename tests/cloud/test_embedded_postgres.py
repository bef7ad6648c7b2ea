"""The embedded PostgreSQL outlives a cloud killed outright (pg_ctl runs it as a daemon): the next start must
deal with it, and the next clean stop must leave no server behind. Real processes, real SIGKILL."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[2]

# A cloud process's hold on its database: open the embedded server, use it, then wait to be killed
# ("hold") or let go of it cleanly ("stop").
HOLDER = """
import sys, time
from pathlib import Path
from cloud.db import CloudDatabase, EmbeddedPostgres

pg = EmbeddedPostgres(Path(sys.argv[1]))
pg.create_database("edgestore")
db = CloudDatabase(pg.url("edgestore"))
assert db.ping()
db.dispose()
print("ready", flush=True)
if sys.argv[2] == "hold":
    time.sleep(600)
pg.stop()
"""


def running(process: psutil.Process) -> bool:
    """Alive and not a zombie (an exited server whose parent, maybe this container's init, has not reaped it)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def servers_on(data_dir: Path) -> list[psutil.Process]:
    """Every running postgres process (the postmaster and its children) working in ``data_dir``."""
    found = []
    for process in psutil.process_iter(["name"]):
        try:
            if process.info["name"] == "postgres" and Path(process.cwd()).resolve() == data_dir.resolve():
                found.append(process)
        except psutil.Error:
            continue
    return [p for p in found if running(p)]


def postmaster(data_dir: Path) -> psutil.Process | None:
    """The server process ``postmaster.pid`` names (its first line), if it is a postgres."""
    try:
        process = psutil.Process(int((data_dir / "postmaster.pid").read_text().split()[0]))
        return process if process.name() == "postgres" else None
    except (OSError, ValueError, psutil.Error):
        return None


def no_server_left(data_dir: Path, timeout_s: float = 15) -> bool:
    deadline = time.monotonic() + timeout_s
    while servers_on(data_dir):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def run_holder(data_dir: Path, mode: str) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data_dir), mode],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert holder.stdout is not None
    line = holder.stdout.readline().strip()
    holder.stdout.close()  # nothing more is read from it
    assert line == "ready", "the embedded server did not start"
    return holder


@pytest.fixture
def data_dir(reachable_tmp: Path) -> Iterator[Path]:
    folder = reachable_tmp / "postgres"
    yield folder
    for process in servers_on(folder):  # whatever the test left: never leak a server into the machine
        with contextlib.suppress(psutil.Error):
            process.kill()


@pytest.mark.slow
def test_a_server_left_by_a_killed_cloud_is_stopped_by_the_next_clean_stop(data_dir: Path):
    killed = run_holder(data_dir, "hold")
    left = postmaster(data_dir)
    assert left is not None
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    time.sleep(0.5)
    assert running(left), "the premise: a SIGKILLed cloud leaves its postgres running"

    again = run_holder(data_dir, "stop")
    assert again.wait(timeout=120) == 0
    assert not running(left), "the stale server was stopped when the next cloud started"
    assert no_server_left(data_dir), [p.pid for p in servers_on(data_dir)]


@pytest.mark.slow
def test_a_postmaster_pid_naming_another_process_is_stale(data_dir: Path):
    """After a power cut the pid in postmaster.pid may belong to any process of the next boot."""
    first = run_holder(data_dir, "stop")
    assert first.wait(timeout=120) == 0
    assert no_server_left(data_dir)
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        (data_dir / "postmaster.pid").write_text(
            f"{stranger.pid}\n{data_dir}\n{int(time.time())}\n5432\n{data_dir}\n\n  0 0\nready\n"
        )
        again = run_holder(data_dir, "stop")
        assert again.wait(timeout=120) == 0
        assert stranger.poll() is None, "the stranger was left alone"
        assert no_server_left(data_dir)
    finally:
        stranger.kill()
        stranger.wait()
