"""Ending a child process: SIGTERM, so it can clean up; SIGKILL if it does not end in time."""

import subprocess
from typing import Any


def stop_process(process: "subprocess.Popen[Any]", timeout_s: float = 10.0) -> None:
    """End ``process`` (if still running) and reap it, killing it after ``timeout_s`` of SIGTERM."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout_s)
