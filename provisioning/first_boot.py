"""Preparing a Raspberry Pi OS card so the Pi provisions itself on its first boot.

The card's boot partition (FAT, mounted at ``/boot/firmware`` on the Pi) gets a folder ``edgestore/`` with
the edgestore wheel, ``first-boot.env`` (the cloud's address, the claim code, more ``provision`` options)
and three files that do the work in two halves:

1. ``install-first-boot.sh``, offline: installs ``edgestore-first-boot.service`` (a copy of the one in the
   folder) and enables it. What runs it once:
   - ``cloud-init`` (Raspberry Pi OS from late 2025, trixie, reads ``user-data`` on the boot partition, as
     Raspberry Pi Imager writes it): the script and a start of the service are added to ``runcmd`` of the
     ``user-data`` there, keeping everything else in it (the Imager's user, SSH key, Wi-Fi);
   - ``cmdline`` (bookworm and earlier): ``systemd.run=`` on ``cmdline.txt``, as Imager's ``firstrun.sh``
     is run; it removes itself from ``cmdline.txt`` and the Pi reboots. That boot reaches no network
     (systemd boots into the script alone), which is why the script does nothing that needs one.
2. ``edgestore-first-boot.service`` then runs ``first-boot.sh`` on an ordinary boot, once the network and
   the clock are up: it installs edgestore into ``/opt/edgestore`` and runs ``edgestore provision``. It
   tries again every two minutes until provisioning succeeds, and never after.

The claim code leaves the card as soon as the device has claimed its place (its login is then in
``/etc/edgestore/edgestore.toml``), whether or not the later steps succeeded. A code lasts a day at most, so a
card is prepared the day it is used, with a code made for a day (the store page offers 1, 8 or 24 hours).
"""

import shutil
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

FOLDER = "edgestore"
SCRIPT = "first-boot.sh"
INSTALLER = "install-first-boot.sh"
SERVICE = "edgestore-first-boot.service"
ENV = "first-boot.env"
DONE = "/etc/edgestore/.first-boot-done"
BOOT_ON_PI = "/boot/firmware"
CLOUD_CONFIG = "#cloud-config"


class Method(StrEnum):
    CLOUD_INIT = "cloud-init"
    CMDLINE = "cmdline"


@dataclass(frozen=True)
class FirstBoot:
    cloud: str
    claim_code: str
    wheel: Path
    lang: str = "zh-TW"
    extra_args: tuple[str, ...] = ()  # more ``edgestore provision`` options (--pir, --no-kiosk...)


def _quoted(value: str) -> str:
    """A value for the env file, read by bash's ``source``: single quotes, with any quote in it closed and
    reopened."""
    return "'" + value.replace("'", "'\\''") + "'"


def env_text(plan: FirstBoot) -> str:
    args = " ".join(_quoted(arg) for arg in plan.extra_args)
    return (
        "# Read by first-boot.sh; deleted once this Pi has claimed its place.\n"
        f"EDGESTORE_FIRST_BOOT_CLOUD={_quoted(plan.cloud)}\n"
        f"EDGESTORE_FIRST_BOOT_CODE={_quoted(plan.claim_code)}\n"
        f"EDGESTORE_FIRST_BOOT_LANG={_quoted(plan.lang)}\n"
        f"EDGESTORE_FIRST_BOOT_ARGS=({args})\n"
    )


def script_text(wheel_name: str) -> str:
    """The half that needs the network, run by ``edgestore-first-boot.service``."""
    here = f"{BOOT_ON_PI}/{FOLDER}"
    return f"""#!/bin/bash
# edgestore first boot: install edgestore and provision this Pi (written by `edgestore prepare-image`).
# Run by edgestore-first-boot.service until it succeeds; its output goes to /var/log/edgestore-first-boot.log.
set -uo pipefail
exec >>/var/log/edgestore-first-boot.log 2>&1
echo "== edgestore first boot: $(date -Is)"
EDGESTORE_FIRST_BOOT_CLOUD=""
EDGESTORE_FIRST_BOOT_CODE=""
EDGESTORE_FIRST_BOOT_LANG="zh-TW"
EDGESTORE_FIRST_BOOT_ARGS=()
if [ -r {here}/{ENV} ]; then source {here}/{ENV}; fi
# The Pi's clock starts where it stopped; TLS and the claim code's expiry need the real time.
timedatectl set-ntp true || true
for i in $(seq 1 60); do
    [ "$(timedatectl show -p NTPSynchronized --value 2>/dev/null)" = yes ] && break
    sleep 2
done
if [ ! -x /opt/edgestore/bin/edgestore ]; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \\
        python3-venv fonts-noto-cjk || echo "apt failed: continuing with what is there"
    python3 -m venv --system-site-packages /opt/edgestore  # picamera2 comes from apt (python3-picamera2)
    /opt/edgestore/bin/pip install -q "{here}/{wheel_name}[kiosk,pi,ble]" || {{ rm -rf /opt/edgestore; exit 1; }}
fi
claim=()
if [ -n "$EDGESTORE_FIRST_BOOT_CODE" ]; then
    claim=(--cloud "$EDGESTORE_FIRST_BOOT_CLOUD" --claim-code "$EDGESTORE_FIRST_BOOT_CODE")
fi
/opt/edgestore/bin/edgestore provision "${{claim[@]}}" --lang "$EDGESTORE_FIRST_BOOT_LANG" \\
    "${{EDGESTORE_FIRST_BOOT_ARGS[@]}}"
status=$?
echo "== provision exited $status"
# Claimed: the code is spent and the login is on the Pi; the code leaves the card whatever failed after.
if grep -q '^device_id' /etc/edgestore/edgestore.toml 2>/dev/null; then rm -f {here}/{ENV}; fi
if [ "$status" -eq 0 ]; then touch {DONE}; fi
exit "$status"
"""


def service_text() -> str:
    return f"""# edgestore first boot (written by `edgestore prepare-image`): provision this Pi once the network is up.
[Unit]
Description=edgestore first boot: install edgestore and provision this Pi
Wants=network-online.target time-sync.target
After=network-online.target time-sync.target
ConditionPathExists=!{DONE}

[Service]
Type=oneshot
ExecStart=/bin/bash {BOOT_ON_PI}/{FOLDER}/{SCRIPT}
Restart=on-failure
RestartSec=120
TimeoutStartSec=3600

[Install]
WantedBy=multi-user.target
"""


def installer_text() -> str:
    """The offline half: install and enable the service, leave the kernel command line as it was."""
    here = f"{BOOT_ON_PI}/{FOLDER}"
    return f"""#!/bin/bash
# edgestore first boot, offline part (written by `edgestore prepare-image`): enables {SERVICE}.
set -eu
install -m 0644 {here}/{SERVICE} /etc/systemd/system/{SERVICE}
mkdir -p /etc/systemd/system/multi-user.target.wants
ln -sf /etc/systemd/system/{SERVICE} /etc/systemd/system/multi-user.target.wants/{SERVICE}
sed -i 's| systemd.run=[^ ]*||g; s| systemd.run_success_action=[^ ]*||g; s| systemd.unit=kernel-command-line.target||g' \\
    {BOOT_ON_PI}/cmdline.txt
"""


def _user_data(existing: str | None) -> str:
    """``user-data`` with the first-boot script in ``runcmd``, everything else kept."""
    data: dict[str, Any] = {}
    if existing and existing.strip():
        loaded = yaml.safe_load(existing)
        if not isinstance(loaded, dict):
            raise ValueError("the boot partition's user-data is not a cloud-config mapping")
        data = loaded
    commands = [["bash", f"{BOOT_ON_PI}/{FOLDER}/{INSTALLER}"], ["systemctl", "start", "--no-block", SERVICE]]
    runcmd = [step for step in data.get("runcmd") or [] if step not in commands]
    data["runcmd"] = [*runcmd, *commands]
    return CLOUD_CONFIG + "\n" + yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _cmdline(existing: str) -> str:
    words = [w for w in existing.split() if not w.startswith(("systemd.run=", "systemd.run_success_action="))]
    words += [f"systemd.run={BOOT_ON_PI}/{FOLDER}/{INSTALLER}", "systemd.run_success_action=reboot"]
    return " ".join(words) + "\n"


def prepare(boot: Path, plan: FirstBoot, method: Method) -> list[Path]:
    """Write the first-boot files onto a mounted boot partition; returns what was written."""
    if not plan.wheel.is_file() or plan.wheel.suffix != ".whl":
        raise ValueError(f"{plan.wheel} is not a wheel: build one with `pip wheel --no-deps -w dist .`")
    if not boot.is_dir():
        raise ValueError(f"{boot} is not a folder: mount the card's boot partition and name it")
    folder = boot / FOLDER
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.whl"):
        old.unlink()
    written = [folder / plan.wheel.name]
    shutil.copyfile(plan.wheel, written[0])
    for name, text in (
        (SCRIPT, script_text(plan.wheel.name)),
        (INSTALLER, installer_text()),
        (SERVICE, service_text()),
        (ENV, env_text(plan)),
    ):
        (folder / name).write_text(text, encoding="utf-8", newline="\n")
        written.append(folder / name)
    if method is Method.CLOUD_INIT:
        user_data = boot / "user-data"
        user_data.write_text(
            _user_data(user_data.read_text(encoding="utf-8") if user_data.exists() else None),
            encoding="utf-8",
        )
        written.append(user_data)
    else:
        cmdline = boot / "cmdline.txt"
        if not cmdline.is_file():
            raise ValueError(f"{cmdline} is missing: is {boot} a Raspberry Pi OS boot partition?")
        cmdline.write_text(_cmdline(cmdline.read_text(encoding="utf-8")), encoding="utf-8")
        written.append(cmdline)
    return written
