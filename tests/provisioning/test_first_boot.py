"""Preparing a Pi's card for first-boot provisioning: the files on the boot partition, the Imager's
cloud-init settings kept, bookworm's cmdline.txt, and a first-boot script bash can read."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from provisioning.first_boot import FirstBoot, Method, env_text, prepare
from tests.conftest import EDGESTORE


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    path = tmp_path / "edgestore-0.1.0-py3-none-any.whl"
    path.write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip: only copied here
    return path


def plan(wheel: Path, **overrides: object) -> FirstBoot:
    values: dict[str, object] = {
        "cloud": "https://cloud.example.tw",
        "claim_code": "7KQ4-M2XP-9RTD",
        "wheel": wheel,
        **overrides,
    }
    return FirstBoot(**values)  # type: ignore[arg-type]


def test_cloud_init_runs_the_script_and_keeps_what_the_imager_wrote(tmp_path: Path, wheel: Path):
    boot = tmp_path / "bootfs"
    boot.mkdir()
    imager = (
        "#cloud-config\nhostname: shop-pi\nusers:\n- name: field\n  ssh_authorized_keys: [ssh-ed25519 AAAA]\n"
    )
    (boot / "user-data").write_text(imager)
    written = prepare(boot, plan(wheel, extra_args=("--pir",)), Method.CLOUD_INIT)
    assert {p.name for p in written} == {
        wheel.name,
        "first-boot.sh",
        "install-first-boot.sh",
        "edgestore-first-boot.service",
        "first-boot.env",
        "user-data",
    }
    text = (boot / "user-data").read_text()
    assert text.startswith("#cloud-config\n")
    data = yaml.safe_load(text)
    assert data["hostname"] == "shop-pi"
    assert data["users"][0]["name"] == "field"
    steps = [
        ["bash", "/boot/firmware/edgestore/install-first-boot.sh"],
        ["systemctl", "start", "--no-block", "edgestore-first-boot.service"],
    ]
    assert data["runcmd"] == steps
    prepare(boot, plan(wheel), Method.CLOUD_INIT)  # again: still those two steps
    assert yaml.safe_load((boot / "user-data").read_text())["runcmd"] == steps
    env = (boot / "edgestore/first-boot.env").read_text()
    assert "EDGESTORE_FIRST_BOOT_CODE='7KQ4-M2XP-9RTD'" in env
    script = (boot / "edgestore/first-boot.sh").read_text()
    assert f"/boot/firmware/edgestore/{wheel.name}[kiosk,pi,ble]" in script
    assert '/opt/edgestore/bin/edgestore provision "${claim[@]}"' in script
    assert "rm -f /boot/firmware/edgestore/first-boot.env" in script  # the code leaves the card once claimed


def test_bookworm_starts_it_from_cmdline_once(tmp_path: Path, wheel: Path):
    boot = tmp_path / "bootfs"
    boot.mkdir()
    (boot / "cmdline.txt").write_text(
        "console=tty1 root=PARTUUID=1234-02 rootfstype=ext4 fsck.repair=yes rootwait\n"
    )
    prepare(boot, plan(wheel), Method.CMDLINE)
    prepare(boot, plan(wheel), Method.CMDLINE)
    cmdline = (boot / "cmdline.txt").read_text()
    assert cmdline.count("systemd.run=") == 1
    assert cmdline.endswith(
        "systemd.run=/boot/firmware/edgestore/install-first-boot.sh systemd.run_success_action=reboot\n"
    )
    assert cmdline.startswith("console=tty1 root=PARTUUID=1234-02")


def test_the_script_is_bash_and_quotes_survive_the_env_file(tmp_path: Path, wheel: Path):
    boot = tmp_path / "bootfs"
    boot.mkdir()
    prepare(boot, plan(wheel, cloud="https://it's.example"), Method.CLOUD_INIT)
    bash = shutil.which("bash")
    assert bash is not None
    checked = subprocess.run(
        [bash, "-n", str(boot / "edgestore/first-boot.sh")], capture_output=True, check=False
    )
    assert checked.returncode == 0, checked.stderr
    read = subprocess.run(
        [bash, "-c", f'source {boot / "edgestore/first-boot.env"}; printf %s "$EDGESTORE_FIRST_BOOT_CLOUD"'],
        capture_output=True,
        text=True,
        check=False,
    )
    assert read.stdout == "https://it's.example"
    for script in ("first-boot.sh", "install-first-boot.sh"):
        checked = subprocess.run(
            [bash, "-n", str(boot / "edgestore" / script)], capture_output=True, check=False
        )
        assert checked.returncode == 0, checked.stderr


def test_extra_options_survive_as_separate_words(tmp_path: Path, wheel: Path):
    boot = tmp_path / "bootfs"
    boot.mkdir()
    prepare(boot, plan(wheel, extra_args=("--sync-timeout", "300", "--lang=a b*")), Method.CLOUD_INIT)
    env = boot / "edgestore/first-boot.env"
    said = subprocess.run(
        ["bash", "-c", f'source {env}; printf "<%s>" "${{EDGESTORE_FIRST_BOOT_ARGS[@]}}"'],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert said.stdout == "<--sync-timeout><300><--lang=a b*>"


def test_the_first_boot_service_is_a_valid_unit_that_runs_until_done(tmp_path: Path, wheel: Path):
    boot = tmp_path / "bootfs"
    boot.mkdir()
    prepare(boot, plan(wheel), Method.CLOUD_INIT)
    unit = (boot / "edgestore/edgestore-first-boot.service").read_text()
    assert "After=network-online.target time-sync.target" in unit
    assert "ConditionPathExists=!/etc/edgestore/.first-boot-done" in unit
    assert "Restart=on-failure" in unit
    if shutil.which("systemd-analyze"):
        verified = subprocess.run(
            ["systemd-analyze", "verify", str(boot / "edgestore/edgestore-first-boot.service")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert verified.returncode == 0, verified.stderr
    assert "'\\''" in env_text(plan(wheel, cloud="'"))


def test_what_is_not_a_wheel_or_a_boot_partition_is_refused(tmp_path: Path, wheel: Path):
    with pytest.raises(ValueError, match="not a wheel"):
        prepare(tmp_path, plan(tmp_path / "nothing.whl"), Method.CLOUD_INIT)
    with pytest.raises(ValueError, match="not a folder"):
        prepare(tmp_path / "missing", plan(wheel), Method.CLOUD_INIT)
    with pytest.raises(ValueError, match=r"cmdline\.txt is missing"):
        prepare(tmp_path, plan(wheel), Method.CMDLINE)
    (tmp_path / "user-data").write_text("- just a list\n")
    with pytest.raises(ValueError, match="not a cloud-config mapping"):
        prepare(tmp_path, plan(wheel), Method.CLOUD_INIT)


def test_the_command_writes_the_card_or_says_why_not(tmp_path: Path, wheel: Path):
    boot = tmp_path / "bootfs"
    boot.mkdir()
    args = ["--cloud", "https://cloud.example.tw", "--claim-code", "7KQ4-M2XP-9RTD", "--wheel", str(wheel)]
    edgestore = [*EDGESTORE, "prepare-image"]
    done = subprocess.run(
        [*edgestore, "--boot", str(boot), *args, "--", "--pir"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "first-boot.log" in done.stdout
    assert "EDGESTORE_FIRST_BOOT_ARGS=('--pir')" in (boot / "edgestore/first-boot.env").read_text()
    missing = subprocess.run(
        [*edgestore, "--boot", str(tmp_path / "nope"), *args], capture_output=True, text=True, check=False
    )
    assert missing.returncode == 2
    assert "mount the card's boot partition" in missing.stderr
