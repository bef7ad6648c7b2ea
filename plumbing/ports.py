"""Free TCP ports for the servers this machine starts for itself: the demo, the tests and the benchmarks.

Asking the kernel for port 0 hands out a port from its ephemeral range, the same range outgoing connections
take their local ports from. Between choosing such a port and the server binding it, a client connection
(to Postgres, to Mosquitto, to another test server) can be given the same number, and the server then fails
with "address already in use" (CI saw exactly this for a node restarted on its port). So the ports chosen
here lie below the ephemeral range, where the kernel never assigns one by itself; the only way to lose one
is another process choosing the same number, which the bind check and the random choice make rare.
"""

import random
import socket
import threading
from pathlib import Path

EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LINUX_EPHEMERAL_START = 32768  # the kernel's default when the file cannot be read
LOWEST = 10000  # below this live the well-known and commonly configured service ports
ATTEMPTS = 500

_handed_out: set[int] = set()
_lock = threading.Lock()


def _ephemeral_start() -> int:
    try:
        return int(EPHEMERAL_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return LINUX_EPHEMERAL_START


def _bindable(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now and no outgoing connection will take; never the same one twice per process."""
    top = _ephemeral_start()
    with _lock:
        if top - LOWEST >= ATTEMPTS:  # a machine with the usual range: choose below it
            for _ in range(ATTEMPTS):
                port = random.randrange(LOWEST, top)  # noqa: S311 (spreading choices, not a secret)
                if port not in _handed_out and _bindable(host, port):
                    _handed_out.add(port)
                    return port
        # An unusual range (or a crowded machine): let the kernel choose, as before.
        with socket.socket() as s:
            s.bind((host, 0))
            port = int(s.getsockname()[1])
        _handed_out.add(port)
        return port
