"""Running a Mosquitto broker on a config folder: the demo's, the tests' and the benchmarks' one way to
start, reload and stop it. What goes in the folder is the caller's (``edgestore cloud broker-config`` writes
a deployment's, see ``sync_protocol.broker_config``); this module only runs the process."""

import contextlib
import ctypes
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Self

from plumbing.ports import free_port
from plumbing.processes import stop_process
from plumbing.serving import client_host, wait_for_port

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"  # Debian's; /usr/sbin is not on every PATH
STOP_TIMEOUT_S = 10.0


@dataclass
class Mosquitto:
    """Mosquitto on ``folder/mosquitto.conf``, which must make it listen on ``host``:``port``.

    The broker logs to its standard error (the config names no ``log_dest``), which goes to
    ``folder/mosquitto.log``: the tail is in the error when it does not start. It runs in a session of its
    own, so a terminal's Ctrl-C reaches only its starter, which stops it when it chooses; and it dies with
    the thread that started it, so a starter killed outright leaves no broker behind (start it from a thread
    that lives as long as the broker: the main thread in practice)."""

    folder: Path
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    start_timeout_s: float = 15.0
    process: "subprocess.Popen[bytes] | None" = field(default=None, init=False, repr=False)
    _log: IO[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def config_path(self) -> Path:
        return self.folder / "mosquitto.conf"

    @property
    def log_path(self) -> Path:
        return self.folder / "mosquitto.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> Self:
        """Start the broker; returns once it accepts connections (a persisted queue is loaded by then)."""
        self._log = self.log_path.open("ab")
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child only calls it

        def die_with_the_starter() -> None:  # runs in the child, between fork and exec
            prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

        self.process = subprocess.Popen(  # noqa: S603 (a fixed binary and the caller's config)
            [MOSQUITTO, "-c", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_the_starter,  # one C call in the child: safe after fork in a threaded process
        )
        try:
            wait_for_port(
                client_host(self.host),
                self.port,
                what="mosquitto",
                timeout_s=self.start_timeout_s,
                watch=self.process,
                details=self.log_tail,
            )
        except RuntimeError:
            self.stop()
            raise
        return self

    def reload(self) -> None:
        """SIGHUP: Mosquitto re-reads its password file and ACL (the cloud does this after credential
        changes, through the pid file)."""
        assert self.process is not None, "the broker is not running"
        self.process.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        """SIGTERM, so the broker saves its state (queued QoS 1 messages included); SIGKILL if it hangs."""
        if self.running:
            assert self.process is not None
            stop_process(self.process, STOP_TIMEOUT_S)
        self._ended()

    def kill(self) -> None:
        """SIGKILL: whatever the broker had not saved is gone, as after a power cut."""
        if self.running:
            assert self.process is not None
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT_S)
        self._ended()

    def restart(self) -> Self:
        self.stop()
        return self.start()

    def _ended(self) -> None:
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""
