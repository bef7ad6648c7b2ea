"""Preparing a Raspberry Pi OS card so the Pi provisions itself on its first boot.

The card's boot partition (FAT, mounted at ``/boot/firmware`` on the Pi) gets a folder ``edgestore/`` with
the edgestore wheel, a ``first-boot.sh`` that installs it into ``/opt/edgestore`` and runs
``edgestore provision``, and ``first-boot.env`` with the cloud's address and the claim code. What starts the
script at first boot:

- ``cloud-init`` (Raspberry Pi OS from late 2025, trixie, reads ``user-data`` on the boot partition, as
  Raspberry Pi Imager writes it): the script is added to ``runcmd`` of the ``user-data`` there, keeping
  everything else in it (the Imager's user, SSH key, Wi-Fi);
- ``cmdline`` (bookworm and earlier): ``systemd.run=`` on ``cmdline.txt``, the mechanism Imager's
  ``firstrun.sh`` uses, removed by the script once it has run.

The claim code is good for at most 24 hours, so a card is prepared the day it is used. The script removes
the code from the card when it is done; provisioning keeps the device's login on the Pi.
"""

import shutil
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

FOLDER = "edgestore"
SCRIPT = "first-boot.sh"
ENV = "first-boot.env"
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
    return (
        "# Read by first-boot.sh; deleted when provisioning has run.\n"
        f"EDGESTORE_FIRST_BOOT_CLOUD={_quoted(plan.cloud)}\n"
        f"EDGESTORE_FIRST_BOOT_CODE={_quoted(plan.claim_code)}\n"
        f"EDGESTORE_FIRST_BOOT_LANG={_quoted(plan.lang)}\n"
        f"EDGESTORE_FIRST_BOOT_ARGS={_quoted(' '.join(plan.extra_args))}\n"
    )


def script_text(wheel_name: str) -> str:
    here = f"{BOOT_ON_PI}/{FOLDER}"
    return f"""#!/bin/bash
# edgestore first boot: install edgestore and provision this Pi (written by `edgestore prepare-image`).
# Its output goes to /var/log/edgestore-first-boot.log. Safe to run again: provisioning is idempotent.
set -uo pipefail
exec >>/var/log/edgestore-first-boot.log 2>&1
echo "== edgestore first boot: $(date -Is)"
source {here}/{ENV}
# The Pi's clock starts where it stopped; TLS and the claim code's expiry need the real time.
timedatectl set-ntp true || true
for i in $(seq 1 60); do
    [ "$(timedatectl show -p NTPSynchronized --value 2>/dev/null)" = yes ] && break
    sleep 2
done
apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \\
    python3-venv python3-dev libsqlite3-0 fonts-noto-cjk || echo "apt failed: continuing with what is there"
if [ ! -x /opt/edgestore/bin/edgestore ]; then
    python3 -m venv --system-site-packages /opt/edgestore  # picamera2 comes from apt (python3-picamera2)
    /opt/edgestore/bin/pip install -q "{here}/{wheel_name}[kiosk,pi]" || exit 1
fi
/opt/edgestore/bin/edgestore provision --cloud "$EDGESTORE_FIRST_BOOT_CLOUD" \\
    --claim-code "$EDGESTORE_FIRST_BOOT_CODE" --lang "$EDGESTORE_FIRST_BOOT_LANG" $EDGESTORE_FIRST_BOOT_ARGS
status=$?
echo "== provision exited $status"
if [ "$status" -eq 0 ]; then
    rm -f {here}/{ENV}  # the code is spent; the login is in /etc/edgestore now
    sed -i 's| systemd.run=[^ ]*first-boot.sh[^ ]*||; s| systemd.run_success_action=[^ ]*||' \\
        {BOOT_ON_PI}/cmdline.txt 2>/dev/null || true
fi
exit "$status"
"""


def _user_data(existing: str | None) -> str:
    """``user-data`` with the first-boot script in ``runcmd``, everything else kept."""
    data: dict[str, Any] = {}
    if existing and existing.strip():
        loaded = yaml.safe_load(existing)
        if not isinstance(loaded, dict):
            raise ValueError("the boot partition's user-data is not a cloud-config mapping")
        data = loaded
    command = ["bash", f"{BOOT_ON_PI}/{FOLDER}/{SCRIPT}"]
    runcmd = [step for step in data.get("runcmd") or [] if step != command]
    data["runcmd"] = [*runcmd, command]
    return CLOUD_CONFIG + "\n" + yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _cmdline(existing: str) -> str:
    words = [w for w in existing.split() if not w.startswith(("systemd.run=", "systemd.run_success_action="))]
    words += [f"systemd.run={BOOT_ON_PI}/{FOLDER}/{SCRIPT}", "systemd.run_success_action=reboot"]
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
    written = [folder / plan.wheel.name, folder / SCRIPT, folder / ENV]
    shutil.copyfile(plan.wheel, written[0])
    written[1].write_text(script_text(plan.wheel.name), encoding="utf-8", newline="\n")
    written[2].write_text(env_text(plan), encoding="utf-8", newline="\n")
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
