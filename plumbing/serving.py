"""Serving an app in a thread, and waiting until something answers: one way for the demo, the tests and the
benchmarks, instead of a polling loop of their own each.

uvicorn and httpx are imported where they are used: the ``edgestore`` CLI imports this module (for the
demo) on every command, and a Pi should not pay for them on ``edgestore edge load-catalog``.
"""

import socket
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any, Self

HTTP_PARSER = "h11"
"""The HTTP parser every server of ours runs (``uvicorn.Config(http=...)``), named rather than left to
uvicorn, which would take httptools whenever it is installed (``uvicorn[standard]`` installs it). h11 answers
400 once more than 16 KiB of a request head waits unparsed (uvicorn's ``h11_max_incomplete_event_size``:
headers sent a line at a time were cut off at 18 KB when tried); uvicorn on httptools buffers headers
without any limit (2 MB of them were answered 200), and a node's API is open to everything on the shop's
network. httptools and uvloop together saved about 12 % of the node's CPU per checkout, uvloop alone nothing
measurable (docs/performance.md, the checkout's third round): not worth that hole. Only the parser is named
here: the event loop is uvicorn's choice (asyncio, as nothing installs uvloop)."""


def client_host(host: str) -> str:
    """The address a client on this machine dials for a server bound to ``host``."""
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104 (compared, not bound)


def wait_until(
    ready: Callable[[], bool],
    *,
    what: str,
    timeout_s: float,
    watch: "subprocess.Popen[Any] | threading.Thread | None" = None,
    details: Callable[[], str] | None = None,
    interval_s: float = 0.05,
) -> None:
    """Poll ``ready`` until it holds. Fails (RuntimeError) as soon as ``watch``, the process or thread that
    should get ready, has ended, and at the deadline; ``details`` (a log's tail, say) ends the message."""
    deadline = time.monotonic() + timeout_s
    while True:
        # The watched one first: a port that answers while our server has died is someone else's.
        problem = _ended(watch, what)
        if problem is None:
            if ready():
                return
            if time.monotonic() > deadline:
                problem = f"{what} was not ready within {timeout_s:.0f} s"
        if problem is not None:
            more = details() if details is not None else ""
            raise RuntimeError(f"{problem}:\n{more}" if more else problem)
        time.sleep(interval_s)


def _ended(watch: "subprocess.Popen[Any] | threading.Thread | None", what: str) -> str | None:
    if isinstance(watch, subprocess.Popen) and watch.poll() is not None:
        return f"{what} exited with status {watch.returncode}"
    if isinstance(watch, threading.Thread) and not watch.is_alive():
        return f"{what} stopped before it was ready (its error is logged above)"
    return None


def port_answers(host: str, port: int) -> bool:
    """True when something accepts TCP connections on ``host``:``port``."""
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


def url_answers(url: str) -> bool:
    """True when ``url`` answers 200."""
    import httpx

    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def wait_for_port(
    host: str,
    port: int,
    *,
    what: str,
    timeout_s: float,
    watch: "subprocess.Popen[Any] | threading.Thread | None" = None,
    details: Callable[[], str] | None = None,
) -> None:
    wait_until(lambda: port_answers(host, port), what=what, timeout_s=timeout_s, watch=watch, details=details)


def wait_for_url(
    url: str,
    *,
    what: str,
    timeout_s: float,
    watch: "subprocess.Popen[Any] | threading.Thread | None" = None,
    details: Callable[[], str] | None = None,
) -> None:
    wait_until(
        lambda: url_answers(url), what=what, timeout_s=timeout_s, watch=watch, details=details, interval_s=0.1
    )


class ServedApp:
    """An ASGI app behind real uvicorn in a daemon thread of its own (with its own event loop), so that the
    thread that starts it keeps the signals and stops its servers in the order it chooses.

    ``options`` are more of uvicorn's settings (the proxy-header options a cloud is served with, say)."""

    def __init__(
        self, app: Any, port: int, *, host: str = "127.0.0.1", name: str = "server", **options: Any
    ) -> None:
        import uvicorn

        self.app = app
        self.name = name
        self.host = host
        self.port = port
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            **{"log_level": "warning", "lifespan": "on", "http": HTTP_PARSER, **options},
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=name, daemon=True)

    def start(self, timeout_s: float = 60) -> Self:
        """Returns once the server listens (the app's lifespan startup has run)."""
        self.thread.start()
        wait_until(
            lambda: self.server.started,
            what=self.name,
            timeout_s=timeout_s,
            watch=self.thread,
            interval_s=0.01,
        )
        return self

    @property
    def running(self) -> bool:
        return self.thread.is_alive()

    def stop(self, timeout_s: float = 60) -> None:
        """Ask uvicorn to shut down (the app's lifespan closes what it opened) and wait for the thread."""
        if self.thread.is_alive():
            self.server.should_exit = True
            self.thread.join(timeout=timeout_s)


def serve_in_thread(
    app: Any,
    port: int,
    *,
    host: str = "127.0.0.1",
    name: str = "server",
    timeout_s: float = 60,
    **options: Any,
) -> ServedApp:
    """``ServedApp(...).start()``: the app served on ``host``:``port``, returned once it listens."""
    return ServedApp(app, port, host=host, name=name, **options).start(timeout_s)
