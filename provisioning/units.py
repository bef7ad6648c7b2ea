"""The systemd units of a store node, as text, and their installation under a root.

Four services, each ``edgestore`` run by the Python that ran provisioning (``python -m edgestore``, so the
units follow the install they were made by), each reading the node's config through
``EDGESTORE_CONFIG_FILE``:

- ``edgestore-node``: the node's API and sync (``edgestore edge serve``); always enabled.
- ``edgestore-footfall``: the door counter (``edgestore footfall run``), enabled when a camera or PIR sensor
  is set up and this edgestore has the command.
- ``edgestore-ble``: the shoppers' phones over Bluetooth LE (``edgestore ble serve``), likewise with an
  adapter.
- ``edgestore-kiosk``: the self-checkout full screen on the Pi's display, started on tty1 in a login
  session of the node's user (``PAMName=login``: the auto-login a kiosk needs, with no desktop), with Kivy
  straight on KMS/DRM. Enabled when the node has a display.

Enabling is what ``systemctl enable`` does for ``WantedBy=``: a link in ``<target>.wants/``. Doing it by
hand works on a folder that is not the running system (an image, a test); on the running system
provisioning then asks systemd to reload and start them.

The services' account and the ownership of their files are systemd's declarations, not commands run once:
``sysusers.d`` makes the ``edgestore`` account (and its group) and ``tmpfiles.d`` gives it the data folder
(0750, recursively, never following a symlink planted in it) and the config (0600). systemd applies both at
every boot, so an image gets them on its first; on the running system provisioning applies them at once.
"""

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

UNIT_DIR = "/etc/systemd/system"
SYSUSERS_FILE = "/etc/sysusers.d/edgestore.conf"
TMPFILES_FILE = "/etc/tmpfiles.d/edgestore.conf"
TARGET = "multi-user.target"
USER = "edgestore"
NODE = "edgestore-node.service"
FOOTFALL = "edgestore-footfall.service"
BLE = "edgestore-ble.service"
HCI0_DEVICE = "sys-subsystem-bluetooth-devices-hci0.device"
KIOSK = "edgestore-kiosk.service"


@dataclass(frozen=True)
class Unit:
    name: str
    text: str
    enabled: bool
    masks: tuple[str, ...] = ()
    """Services masked while this one is enabled (a link to /dev/null, as ``systemctl mask`` makes)."""


@dataclass(frozen=True)
class UnitPlan:
    """What the units run: paths as the running system will see them."""

    python: str  # an absolute path: systemd runs no shell and searches no PATH
    config_file: str
    data_dir: str
    node_port: int
    user: str = USER
    groups: frozenset[str] = frozenset()  # the groups the system has: a unit naming a missing one fails

    def supplementary(self, *wanted: str) -> list[str]:
        present = [group for group in wanted if group in self.groups]
        return [f"SupplementaryGroups={' '.join(present)}"] if present else []


def _service(
    plan: UnitPlan,
    *,
    description: str,
    command: str,
    after: Sequence[str] = ("network-online.target",),
    extra_unit: Sequence[str] = (),
    extra_service: Sequence[str] = (),
) -> str:
    unit = [
        "[Unit]",
        f"Description={description}",
        f"After={' '.join(after)}",
        *(f"Wants={name}" for name in after if name.endswith(".target")),
        *extra_unit,
        "",
        "[Service]",
        "Type=simple",
        f"User={plan.user}",
        f"Environment=EDGESTORE_CONFIG_FILE={plan.config_file}",
        "Environment=PYTHONUNBUFFERED=1",
        f"WorkingDirectory={plan.data_dir}",
        f"ExecStart={plan.python} -m edgestore {command}",
        "Restart=always",
        "RestartSec=5",
        *extra_service,
        "",
        "[Install]",
        f"WantedBy={TARGET}",
    ]
    return "# Written by `edgestore provision`; provisioning again rewrites it.\n" + "\n".join(unit) + "\n"


def _hardened(plan: UnitPlan) -> list[str]:
    # The node writes only its data folder; a stolen or buggy process cannot touch the rest of the system.
    return [
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        f"ReadWritePaths={plan.data_dir}",
    ]


def node_units(plan: UnitPlan, *, footfall: bool, ble: bool, kiosk: bool) -> list[Unit]:
    edge_url = f"http://127.0.0.1:{plan.node_port}/api/v1"
    node = _service(
        plan,
        description="edgestore store node (API, checkout, sync)",
        command="edge serve",
        extra_service=_hardened(plan),
    )
    door = _service(
        plan,
        description="edgestore door counter (camera and PIR footfall)",
        command="footfall run",
        after=("network-online.target", NODE),
        extra_service=[*_hardened(plan), *plan.supplementary("video", "gpio")],
    )
    phones = _service(
        plan,
        description="edgestore Bluetooth LE service for shoppers' phones",
        command=f"ble serve --transport hci-socket:0 --edge-url {edge_url}",
        # The Pi's own adapter comes up late, through hciuart, as the device hci0.
        after=("bluetooth.service", "hciuart.service", f"{HCI0_DEVICE}", NODE),
        # The bridge is the adapter's host (bumble on the kernel's HCI user channel): BlueZ's bluetoothd
        # would claim the adapter back, so it is masked while this unit is enabled (else its start, pulled
        # in by the adapter appearing, would stop this unit through the conflict) and stopped when this
        # starts; the adapter is powered down first, as a user channel opens only on a controller that is.
        extra_unit=["Conflicts=bluetooth.service", f"Wants={HCI0_DEVICE}"],
        extra_service=[
            "ExecStartPre=+-/usr/bin/btmgmt --index 0 power off",
            # The HCI user channel asks for CAP_NET_ADMIN; nothing else of root.
            "AmbientCapabilities=CAP_NET_ADMIN",
            "CapabilityBoundingSet=CAP_NET_ADMIN",
            *_hardened(plan),
            *plan.supplementary("bluetooth"),
        ],
    )
    screen = _service(
        plan,
        description="edgestore self-checkout kiosk, full screen on tty1",
        command=f"kiosk --fullscreen --edge-url {edge_url}",
        after=("systemd-user-sessions.service", NODE),
        # Given up after 5 failed starts in 2 minutes (a kiosk that cannot start): tty1 gets its login back.
        extra_unit=[
            "Conflicts=getty@tty1.service",
            "OnFailure=getty@tty1.service",
            "StartLimitIntervalSec=120",
        ],
        extra_service=[
            "PAMName=login",  # a login session on tty1: the seat, the display and input belong to it
            "TTYPath=/dev/tty1",
            "TTYReset=yes",
            "TTYVHangup=yes",
            "TTYVTDisallocate=yes",
            "StandardInput=tty",
            "StandardOutput=journal",
            *plan.supplementary("video", "render", "input"),
            "Environment=KIVY_WINDOW=sdl2 SDL_VIDEODRIVER=kmsdrm KIVY_NO_ARGS=1",
        ],
    )
    return [
        Unit(NODE, node, True),
        Unit(FOOTFALL, door, footfall),
        Unit(BLE, phones, ble, masks=("bluetooth.service",)),
        Unit(KIOSK, screen, kiosk),
    ]


def account_files(plan: UnitPlan) -> dict[str, str]:
    """``sysusers.d`` and ``tmpfiles.d`` lines for the services' account and what it owns."""
    return {
        SYSUSERS_FILE: (
            "# Written by `edgestore provision`: the account the store node's services run as.\n"
            f'u {plan.user} - "edgestore store node" {plan.data_dir} /usr/sbin/nologin\n'
        ),
        TMPFILES_FILE: (
            "# Written by `edgestore provision`: what the store node's account owns (Z: recursively, no symlink\n"
            "# followed).\n"
            f"d {plan.data_dir} 0750 {plan.user} {plan.user} -\n"
            f"Z {plan.data_dir} - {plan.user} {plan.user} -\n"
            f"z {plan.config_file} 0600 {plan.user} {plan.user} -\n"
        ),
    }


def write_files(root: Path, files: dict[str, str]) -> list[Path]:
    """Write each file (an absolute path, under ``root``) whose text differs; returns those written."""
    changed = []
    for absolute, text in files.items():
        path = root / absolute.lstrip("/")
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.chmod(0o644)
        os.replace(tmp, path)
        changed.append(path)
    return changed


def install(root: Path, units: Sequence[Unit]) -> list[Path]:
    """Write each unit under ``root`` and link the enabled ones into the target's wants (removing a link of
    one no longer enabled); returns the files whose text changed."""
    folder = root / UNIT_DIR.lstrip("/")
    wants = folder / f"{TARGET}.wants"
    wants.mkdir(parents=True, exist_ok=True)
    changed = write_files(root, {f"{UNIT_DIR}/{unit.name}": unit.text for unit in units})
    for unit in units:
        link = wants / unit.name
        if unit.enabled:
            if link.is_symlink() and os.readlink(link) != f"{UNIT_DIR}/{unit.name}":
                link.unlink()
            if not link.is_symlink():
                link.symlink_to(f"{UNIT_DIR}/{unit.name}")  # as systemctl links it: the running system's path
        elif link.is_symlink():
            link.unlink()
        for masked in unit.masks:
            _mask(folder / masked, unit.enabled)
    return changed


def _mask(path: Path, masked: bool) -> None:
    """Mask a service (a link to /dev/null in /etc/systemd/system) or take the mask away again."""
    is_mask = path.is_symlink() and os.readlink(path) == "/dev/null"
    if masked and not is_mask and not path.exists():
        path.symlink_to("/dev/null")
    elif not masked and is_mask:
        path.unlink()
