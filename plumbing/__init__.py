"""Service plumbing that the store node, the cloud, the CLI, the demo, the tests and the benchmarks share:
where settings come from, the API's error shape, the control-character guard, the clock, the version,
serving an app in a thread and waiting until something answers, free ports, running Mosquitto.

It may import ``models`` and third-party libraries, never another part of the project (an import-linter
contract keeps it so): ``edge`` and ``cloud`` both build on it and must still never meet.

The names below are loaded on first use, so that ``from plumbing import utcnow`` does not import FastAPI,
uvicorn and httpx into a process that only needs the clock (the CLI starts faster on a Pi).
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from plumbing.clock import Clock, utcnow
    from plumbing.errors import install_error_handlers
    from plumbing.heap import freeze_startup_heap
    from plumbing.mosquitto import MOSQUITTO, Mosquitto
    from plumbing.ports import free_port
    from plumbing.processes import stop_process
    from plumbing.serving import (
        ServedApp,
        client_host,
        serve_in_thread,
        wait_for_port,
        wait_for_url,
        wait_until,
    )
    from plumbing.settings_sources import EdgestoreSettings
    from plumbing.text_guard import RefuseControlCharacters
    from plumbing.version import VERSION

_HOMES = {
    "Clock": "plumbing.clock",
    "utcnow": "plumbing.clock",
    "install_error_handlers": "plumbing.errors",
    "freeze_startup_heap": "plumbing.heap",
    "MOSQUITTO": "plumbing.mosquitto",
    "Mosquitto": "plumbing.mosquitto",
    "free_port": "plumbing.ports",
    "stop_process": "plumbing.processes",
    "ServedApp": "plumbing.serving",
    "client_host": "plumbing.serving",
    "serve_in_thread": "plumbing.serving",
    "wait_for_port": "plumbing.serving",
    "wait_for_url": "plumbing.serving",
    "wait_until": "plumbing.serving",
    "EdgestoreSettings": "plumbing.settings_sources",
    "RefuseControlCharacters": "plumbing.text_guard",
    "VERSION": "plumbing.version",
}

__all__ = [
    "MOSQUITTO",
    "VERSION",
    "Clock",
    "EdgestoreSettings",
    "Mosquitto",
    "RefuseControlCharacters",
    "ServedApp",
    "client_host",
    "free_port",
    "freeze_startup_heap",
    "install_error_handlers",
    "serve_in_thread",
    "stop_process",
    "utcnow",
    "wait_for_port",
    "wait_for_url",
    "wait_until",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'plumbing' has no attribute {name!r}")
    value = getattr(import_module(_HOMES[name]), name)
    globals()[name] = value  # once loaded, an ordinary attribute
    return value
