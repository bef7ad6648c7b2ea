"""The machine facts the checks read, behind one small object so tests can hand in their own: the
filesystem root (``/dev``, ``/sys``, ``/etc/os-release`` are read under it), the environment, the
commands that may be run, and the Python running.

``Machine.this()`` is the real one. A test passes a temporary folder as ``root``, its own ``environ`` and a
``run`` that answers the commands it expects, so no check depends on the hardware of the machine running
the tests.
"""

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# A command's standard output, or None when it is not installed, fails or takes too long.
Runner = Callable[[Sequence[str]], str | None]
COMMAND_TIMEOUT_S = 5.0


def run_command(args: Sequence[str]) -> str | None:
    """Run a command of this machine without a shell; its output, or None when it cannot say."""
    program = shutil.which(args[0])
    if program is None:
        return None
    try:
        done = subprocess.run(  # noqa: S603 - fixed argument lists, no shell
            [program, *args[1:]], capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout


@dataclass(frozen=True)
class Machine:
    root: Path = Path("/")
    environ: Mapping[str, str] = field(default_factory=dict)
    run: Runner = run_command
    python: tuple[int, int, int] = (3, 11, 0)
    system: str = "Linux"

    @classmethod
    def this(cls) -> "Machine":
        major, minor, micro = sys.version_info[:3]
        return cls(
            root=Path("/"),
            environ=dict(os.environ),
            run=run_command,
            python=(major, minor, micro),
            system=os.uname().sysname if hasattr(os, "uname") else sys.platform,
        )

    def path(self, absolute: str) -> Path:
        """``/dev/video0`` under this machine's root."""
        return self.root / absolute.lstrip("/")

    def glob(self, folder: str, pattern: str) -> list[Path]:
        """The entries of ``folder`` (an absolute path, under the root) matching ``pattern``, sorted."""
        base = self.path(folder)
        return sorted(base.glob(pattern)) if base.is_dir() else []
