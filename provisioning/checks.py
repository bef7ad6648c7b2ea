"""What provisioning and ``edgestore doctor`` check on a store's machine, as pure results.

A ``Check`` is a result, not words: its title, detail and advice are message keys with their fields
(``Words``), put in the reader's language when shown (``provisioning.i18n``, zh-TW and English). Status:

- ``pass``: as it should be;
- ``warn``: works, but worth a look (an older OS, little disk left, a clock not synchronised);
- ``fail``: something this node is set up to have is missing or broken: the one status that makes the
  command exit non-zero;
- ``absent``: not part of this node (no camera configured), or nothing to ask (no systemd here).

Each check is a function of its environment (a ``Machine``, a folder, a flag saying whether the node is
configured to have the part), so tests drive every path without this machine's hardware.
"""

import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from pathlib import Path

from plumbing.i18n import N_, Translator
from provisioning.machine import Machine

GIB = 1024**3
DISK_FAIL_BYTES = 1 * GIB
DISK_WARN_BYTES = 4 * GIB
DEBIAN_BOOKWORM = 12
PYTHON_MIN = (3, 11)
# Clock skew against the cloud, in seconds: the cloud's Date header has whole seconds.
SKEW_WARN_S = 5.0
SKEW_FAIL_S = 60.0


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 - a status, not a password
    FAIL = "fail"
    WARN = "warn"
    ABSENT = "absent"


@dataclass(frozen=True)
class Words:
    """A message key and its fields, put in words by a ``Translator``."""

    key: str
    params: Mapping[str, object] = field(default_factory=dict)

    def __call__(self, t: Translator) -> str:
        return t(self.key, **self.params)


def words(key: str, **params: object) -> Words:
    return Words(key, params)


@dataclass(frozen=True)
class Check:
    id: str
    status: Status
    title: Words
    detail: Words
    advice: Words | None = None

    def as_dict(self, t: Translator) -> dict[str, str | None]:
        """The ``--json`` shape: ``{id, status, detail, advice}`` in the reader's language."""
        return {
            "id": self.id,
            "status": self.status.value,
            "detail": self.detail(t),
            "advice": self.advice(t) if self.advice is not None else None,
        }


def line(
    check_id: str, status: Status, title: str, detail: str, advice: str | None = None, **params: object
) -> Check:
    """A check from message keys: the detail and the advice take the same fields."""
    return Check(
        check_id, status, words(title), words(detail, **params), words(advice, **params) if advice else None
    )


def failed(checks: list[Check]) -> bool:
    """True when a check that applies to this node failed (warn and absent do not count)."""
    return any(check.status is Status.FAIL for check in checks)


# --- the machine ---------------------------------------------------------------------------------------


def _os_release(text: str) -> dict[str, str]:
    fields = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() and not name.startswith("#"):
            fields[name.strip()] = value.strip().strip('"').strip("'")
    return fields


def check_os(machine: Machine) -> Check:
    """Debian or Raspberry Pi OS 12 (bookworm) or later passes; any other system is a warning."""
    title = words(N_("title.os"))
    release = machine.path("/etc/os-release")
    if machine.system != "Linux" or not release.is_file():
        return line(
            "os", Status.WARN, N_("title.os"), N_("os.unknown"), N_("os.advice"), system=machine.system
        )
    info = _os_release(release.read_text(encoding="utf-8", errors="replace"))
    name = info.get("PRETTY_NAME") or info.get("NAME") or info.get("ID", "Linux")
    version = re.match(r"\d+", info.get("VERSION_ID", ""))
    if info.get("ID") in {"debian", "raspbian"} and version and int(version.group()) >= DEBIAN_BOOKWORM:
        return Check("os", Status.PASS, title, words(N_("os.pass"), name=name))
    return line("os", Status.WARN, N_("title.os"), N_("os.other"), N_("os.advice"), name=name)


def check_python(machine: Machine) -> Check:
    title = words(N_("title.python"))
    version = ".".join(str(part) for part in machine.python)
    if machine.python[:2] >= PYTHON_MIN:
        return Check("python", Status.PASS, title, words(N_("python.pass"), version=version))
    return line(
        "python", Status.FAIL, N_("title.python"), N_("python.fail"), N_("python.advice"), version=version
    )


def _gib(size: int) -> str:
    return f"{size / GIB:.1f}"


def check_disk(data_dir: Path, usage: Callable[[Path], int] | None = None) -> Check:
    """Free space where the node keeps its data (the nearest folder that exists, before the first start)."""
    title = words(N_("title.disk"))
    free_bytes = usage or (lambda path: shutil.disk_usage(path).free)
    folder = data_dir.resolve()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    free = free_bytes(folder)
    detail = words(N_("disk.free"), free=_gib(free), folder=str(data_dir))
    if free < DISK_FAIL_BYTES:
        return Check("disk", Status.FAIL, title, detail, words(N_("disk.advice.fail")))
    if free < DISK_WARN_BYTES:
        return Check("disk", Status.WARN, title, detail, words(N_("disk.advice.warn")))
    return Check("disk", Status.PASS, title, detail)


def check_ntp(machine: Machine) -> Check:
    """Whether the system clock is synchronised (systemd's ``timedatectl``); absent without it."""
    title = words(N_("title.ntp"))
    answer = machine.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
    if answer is None or answer.strip() not in {"yes", "no"}:
        return Check("ntp", Status.ABSENT, title, words(N_("ntp.unknown")))
    if answer.strip() == "yes":
        return Check("ntp", Status.PASS, title, words(N_("ntp.pass")))
    return line("ntp", Status.WARN, N_("title.ntp"), N_("ntp.no"), N_("ntp.advice"))


def check_clock_skew(cloud_url: str | None, skew_s: float | None) -> Check:
    """This machine's clock against the cloud's (its ``Date`` header, ``cloud_date_skew``): ``skew_s`` is
    ours minus the cloud's, None when the cloud did not answer."""
    title = words(N_("title.clock"))
    if cloud_url is None:
        return Check("clock", Status.ABSENT, title, words(N_("clock.noCloud")))
    if skew_s is None:
        return line(
            "clock",
            Status.FAIL,
            N_("title.clock"),
            N_("clock.unreachable"),
            N_("clock.advice.unreachable"),
            url=cloud_url,
        )
    detail = words(N_("clock.skew"), seconds=f"{skew_s:+.0f}")
    if abs(skew_s) > SKEW_FAIL_S:
        return Check("clock", Status.FAIL, title, detail, words(N_("clock.advice")))
    if abs(skew_s) > SKEW_WARN_S:
        return Check("clock", Status.WARN, title, detail, words(N_("clock.advice")))
    return Check("clock", Status.PASS, title, detail)


def cloud_date_skew(cloud_url: str, now: Callable[[], datetime], timeout_s: float = 5.0) -> float | None:
    """Seconds this machine's clock is ahead of the cloud's (negative: behind), from the ``Date`` header of
    its answer to ``cloud_url`` (any answer: every one carries the date); None when the cloud cannot be
    asked. The request's midpoint is compared."""
    import httpx  # only this check talks to the network

    try:
        before = now()
        response = httpx.get(cloud_url, timeout=timeout_s)
        after = now()
        said = response.headers.get("date")
        if said is None:
            return None
        theirs = parsedate_to_datetime(said)
    except (httpx.HTTPError, ValueError, TypeError):
        return None
    ours = before + (after - before) / 2
    return (ours - theirs).total_seconds()


def _hardware(
    check_id: str, configured: bool, found: str | None, *, title: Words, missing: Words, advice: Words
) -> Check:
    if not configured:
        return Check(check_id, Status.ABSENT, title, words(N_("hardware.notConfigured")))
    if found is None:
        return Check(check_id, Status.FAIL, title, missing, advice)
    return Check(check_id, Status.PASS, title, words(N_("hardware.found"), device=found))


def _pi_camera(machine: Machine) -> str | None:
    """The first camera libcamera lists (``rpicam-hello``, or ``libcamera-hello`` before bookworm)."""
    for program in ("rpicam-hello", "libcamera-hello"):
        listing = machine.run([program, "--list-cameras"])
        if listing is None:
            continue
        for line in listing.splitlines():
            camera = re.match(r"\s*\d+\s*:\s*(\S+)", line)
            if camera:
                return f"{program}: {camera.group(1)}"
    return None


def check_camera(machine: Machine, configured: bool) -> Check:
    devices = machine.glob("/dev", "video*")
    found = f"/dev/{devices[0].name}" if devices else (_pi_camera(machine) if configured else None)
    return _hardware(
        "camera",
        configured,
        found,
        title=words(N_("title.camera")),
        missing=words(N_("camera.missing")),
        advice=words(N_("camera.advice")),
    )


def check_pir(machine: Machine, configured: bool) -> Check:
    chips = machine.glob("/dev", "gpiochip*")
    return _hardware(
        "pir",
        configured,
        f"/dev/{chips[0].name}" if chips else None,
        title=words(N_("title.pir")),
        missing=words(N_("pir.missing")),
        advice=words(N_("pir.advice")),
    )


def check_ble(machine: Machine, configured: bool) -> Check:
    adapters = machine.glob("/sys/class/bluetooth", "hci*")
    return _hardware(
        "ble",
        configured,
        adapters[0].name if adapters else None,
        title=words(N_("title.ble")),
        missing=words(N_("ble.missing")),
        advice=words(N_("ble.advice")),
    )


def check_display(machine: Machine, configured: bool) -> Check:
    found = None
    for variable in ("WAYLAND_DISPLAY", "DISPLAY"):
        if machine.environ.get(variable):
            found = f"{variable}={machine.environ[variable]}"
            break
    if found is None:
        cards = machine.glob("/dev/dri", "card*")
        found = f"/dev/dri/{cards[0].name}" if cards else None
    return _hardware(
        "display",
        configured,
        found,
        title=words(N_("title.display")),
        missing=words(N_("display.missing")),
        advice=words(N_("display.advice")),
    )


@dataclass(frozen=True)
class Hardware:
    """What this node is set up to have (the node's settings: ``camera_enabled`` and the rest)."""

    camera: bool = False
    pir: bool = False
    ble: bool = False
    display: bool = False


def _usb_camera(machine: Machine) -> str | None:
    """A USB (UVC) camera: udev's ``/dev/v4l/by-id`` names only real cameras, not the Pi's codec and ISP
    nodes that make ``/dev/video*`` exist on every Pi."""
    cameras = machine.glob("/dev/v4l/by-id", "usb-*-video-index0")
    return cameras[0].name if cameras else None


def _connected_display(machine: Machine) -> str | None:
    """A display plugged in now: a DRM connector whose status is ``connected`` (a Pi has DRM cards with no
    screen attached)."""
    for status in machine.glob("/sys/class/drm", "card*-*/status"):
        try:
            if status.read_text(encoding="ascii", errors="replace").strip() == "connected":
                return status.parent.name
        except OSError:
            continue
    return None


def detect_hardware(machine: Machine) -> Hardware:
    """What provisioning finds attached, to set the node up with: a camera (the Pi camera or a USB one), a
    Bluetooth adapter, a connected display. A PIR sensor on the GPIO header cannot be detected (every Pi has
    GPIO chips): it is on only when asked for (``--pir``)."""
    return Hardware(
        camera=_pi_camera(machine) is not None or _usb_camera(machine) is not None,
        pir=False,
        ble=bool(machine.glob("/sys/class/bluetooth", "hci*")),
        display=_connected_display(machine) is not None,
    )


def machine_checks(
    machine: Machine,
    data_dir: Path,
    hardware: Hardware,
    *,
    cloud_url: str | None = None,
    skew: Callable[[str], float | None] | None = None,
) -> list[Check]:
    """The checks provisioning and doctor share, in the order a person reads them."""
    skew_s = (skew(cloud_url) if skew is not None else None) if cloud_url is not None else None
    return [
        check_os(machine),
        check_python(machine),
        check_disk(data_dir),
        check_ntp(machine),
        check_clock_skew(cloud_url, skew_s),
        check_camera(machine, hardware.camera),
        check_pir(machine, hardware.pir),
        check_ble(machine, hardware.ble),
        check_display(machine, hardware.display),
    ]
