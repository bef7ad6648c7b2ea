"""Two Bluetooth controllers joined by a virtual link (bumble's ``controllers`` app), each behind a TCP port:
the bridge attaches to one and a client to the other, each in its own process, with no radio. The tests, the
demo and the benchmark start it here."""

import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from plumbing import free_port, stop_process


@dataclass
class VirtualRadio:
    bridge_port: int = field(default_factory=free_port)
    phone_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def bridge_transport(self) -> str:
        return f"tcp-client:127.0.0.1:{self.bridge_port}"

    @property
    def phone_transport(self) -> str:
        return f"tcp-client:127.0.0.1:{self.phone_port}"

    def start(self, timeout_s: float = 20.0) -> Self:
        command = [
            sys.executable,
            "-m",
            "bumble.apps.controllers",
            f"tcp-server:127.0.0.1:{self.bridge_port}",
            f"tcp-server:127.0.0.1:{self.phone_port}",
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
        deadline = time.monotonic() + timeout_s
        try:
            for port in (self.bridge_port, self.phone_port):
                while not _listening(port):
                    if self.process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"bumble's virtual controllers did not start on port {port}")
                    time.sleep(0.05)
        except BaseException:  # Ctrl-C or a failure while it starts: no controllers left behind
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, 5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


def _listening(port: int) -> bool:
    """Whether the app's server takes connections. The probe connects and closes at once: the app takes a
    host's connection per port, so only this probe's and then the real one's (it accepts again)."""
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0
