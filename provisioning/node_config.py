"""The store node's config file as provisioning writes it: ``ROOT/etc/edgestore/edgestore.toml``.

The node reads it through ``EDGESTORE_CONFIG_FILE`` (the units set it; ``plumbing.settings_sources``): its
keys are the node's settings' names (``edge.settings.EdgeSettings``). It holds the broker password (inside
``mqtt_url``), so it is written owner-only (0600), whole or not at all (a temporary file renamed over it).

A second run of provisioning reads the file first and keeps every value in it: what someone set by hand
(a port, a flag) survives, and a device that has its login never claims again.
"""

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import tomli_w

CONFIG_DIR = "/etc/edgestore"
CONFIG_NAME = "edgestore.toml"
DATA_DIR = "/var/lib/edgestore"
HEADER = (
    "# The edgestore store node's settings (edge/settings.py has every key), written by `edgestore provision`.\n"
    "# Values set here by hand are kept when provisioning runs again. It holds the broker password: keep it\n"
    "# readable by its owner only.\n"
)


class ConfigUnreadable(ValueError):
    """The file is there but is not TOML: provisioning will not write over what it cannot read."""


def read_config(path: Path) -> dict[str, Any]:
    """The file's settings; empty when there is no file."""
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigUnreadable(f"{path} is not a TOML file: {exc}") from exc


def writable(path: Path) -> None:
    """Raise ``OSError`` unless a config can be written at ``path`` (checked before a claim: the login it
    brings exists nowhere else)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    probe = path.with_name(path.name + ".probe")
    probe.write_bytes(b"")
    probe.unlink()


def write_config(path: Path, values: Mapping[str, Any]) -> None:
    """Replace the file atomically, owner-only from its first byte and owned as the file it replaces (the
    services' account reads it: a repair run as root must not take it away from a running node), then make
    the rename durable (a power cut right after the first claim must not lose the file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        if path.is_file() and os.geteuid() == 0:
            old = path.stat()
            os.fchown(handle.fileno(), old.st_uid, old.st_gid)
        handle.write(HEADER + tomli_w.dumps(dict(values)))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


@dataclass(frozen=True)
class Claimed:
    """What the device got when it claimed its place (``models.cloud_api.DeviceClaimed``), as kept."""

    device_id: str
    store_id: str
    mqtt_url: str | None


def registration(config: Mapping[str, Any]) -> Claimed | None:
    """The device this config is for, when a claim was written into it (device, store and, when the cloud
    knows a broker, its login); None before the first successful claim."""
    device, store = config.get("device_id"), config.get("store_id")
    if not isinstance(device, str) or not isinstance(store, str):
        return None
    mqtt = config.get("mqtt_url")
    return Claimed(device, store, mqtt if isinstance(mqtt, str) else None)


def mqtt_url(broker_url: str, username: str, password: str) -> str:
    """The node's ``mqtt_url``: the broker's URL with the device's login in it (both quoted)."""
    parts = urlsplit(broker_url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError(f"the cloud gave a broker URL that is not mqtt:// or mqtts://: {broker_url!r}")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    netloc = f"{quote(username, safe='')}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, "", "", ""))


def with_defaults(config: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with each key it lacks taken from ``defaults``: what is in the file wins."""
    return {**defaults, **config}
