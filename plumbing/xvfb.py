"""A virtual display (Xvfb) on a free display number, for the kiosk's real Kivy window where there is no
screen: the tests and ``make screenshots`` start one, and stop it when done."""

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from plumbing.serving import wait_until

X_SOCKETS = Path("/tmp/.X11-unix")  # noqa: S108 (where every X server puts its socket)


def free_display() -> int:
    for number in range(90, 200):
        lock = Path(f"/tmp/.X{number}-lock")  # noqa: S108 (X's own lock files)
        if not lock.exists() and not (X_SOCKETS / f"X{number}").exists():
            return number
    raise RuntimeError("no free X display number between :90 and :199")


@contextlib.contextmanager
def virtual_display(size: tuple[int, int] = (1280, 800)) -> Iterator[str]:
    """Xvfb running on a free display: yields its ``DISPLAY`` value (``:93``)."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise RuntimeError("Xvfb is not installed: apt install xvfb (scripts/bootstrap does)")
    number = free_display()
    server = subprocess.Popen(  # noqa: S603 (the X server binary, with fixed arguments)
        [xvfb, f":{number}", "-screen", "0", f"{size[0]}x{size[1]}x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: (X_SOCKETS / f"X{number}").exists(), timeout_s=20, what="Xvfb", watch=server)
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)
