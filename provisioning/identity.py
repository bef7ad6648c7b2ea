"""Who this Pi is when it claims its place in a store: its hardware id and the Ed25519 key it made.

The hardware id is the board's serial (``/proc/cpuinfo``'s ``Serial`` on a Raspberry Pi), else the OS's
``/etc/machine-id``, else an id made once and kept beside the node's config, so it stays the same on every
run of provisioning. The private key is made once and kept (mode 0600) in the config folder; the cloud
keeps the public half. Both are read under the machine's root, so provisioning a mounted image or a test
folder reads that system, not this one.
"""

import re
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from provisioning.machine import Machine

KEY_FILE = "device-key.pem"
HARDWARE_ID_FILE = "hardware-id"
_PI_SERIAL = re.compile(r"^Serial\s*:\s*([0-9a-fA-F]+)\s*$", re.MULTILINE)
_MACHINE_ID = re.compile(r"^[0-9a-f]{32}$")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii", errors="replace")
    except OSError:
        return None


def hardware_id(machine: Machine, config_dir: Path) -> str:
    """This board's id as the cloud records it (``rpi-<serial>``, ``machine-<id>`` or ``made-<random>``)."""
    cpuinfo = _read(machine.path("/proc/cpuinfo")) or ""
    serial = _PI_SERIAL.search(cpuinfo)
    if serial and serial.group(1).strip("0"):  # some boards print an all-zero serial
        return f"rpi-{serial.group(1).lower()}"
    machine_id = (_read(machine.path("/etc/machine-id")) or "").strip()
    if _MACHINE_ID.match(machine_id):
        return f"machine-{machine_id}"
    kept = config_dir / HARDWARE_ID_FILE
    made = (_read(kept) or "").strip()
    if not made:
        made = f"made-{secrets.token_hex(16)}"
        config_dir.mkdir(parents=True, exist_ok=True)
        kept.write_text(made + "\n", encoding="ascii")
    return made


def device_public_key(config_dir: Path) -> str:
    """The PEM public key of this device's Ed25519 key, made (and kept, owner-only) on first call."""
    path = config_dir / KEY_FILE
    if path.is_file():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} holds a key that is not Ed25519: move it away and run again")
    else:
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        config_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.touch(mode=0o600)
        tmp.chmod(0o600)
        tmp.write_bytes(pem)
        tmp.replace(path)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return public.decode("ascii")
