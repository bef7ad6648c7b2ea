"""The parts of ``edgestore provision`` that need no cloud: the Pi's identity, the config file, the units,
what hardware is found, and the command's answers when it cannot claim."""

import json
import os
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

from edgestore.provision import AlreadyRunning, Layout, Progress, _hardware, _only_run, _units
from models.device_keys import ed25519_public_key
from provisioning import units
from provisioning.checks import Hardware, Status, detect_hardware
from provisioning.i18n import translator
from provisioning.identity import device_public_key, hardware_id
from provisioning.machine import Machine
from provisioning.node_config import ConfigUnreadable, mqtt_url, read_config, registration, write_config
from tests.conftest import EDGESTORE


def machine(root: Path, answers: dict[str, str] | None = None) -> Machine:
    said = answers or {}
    return Machine(root=root, run=lambda args: said.get(" ".join(args)))


def test_the_hardware_id_is_the_pis_serial_else_the_machine_id_else_one_made_and_kept(tmp_path: Path):
    config = tmp_path / "etc/edgestore"
    made = hardware_id(machine(tmp_path), config)
    assert made.startswith("made-")
    assert hardware_id(machine(tmp_path), config) == made  # kept

    (tmp_path / "etc/machine-id").write_text("0123456789abcdef0123456789abcdef\n")
    assert hardware_id(machine(tmp_path), config) == "machine-0123456789abcdef0123456789abcdef"

    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/cpuinfo").write_text(
        "processor\t: 0\nModel\t: Raspberry Pi 5\nSerial\t\t: 10000000ABCDEF01\n"
    )
    assert hardware_id(machine(tmp_path), config) == "rpi-10000000abcdef01"
    (tmp_path / "proc/cpuinfo").write_text("Serial\t\t: 0000000000000000\n")  # not a real serial
    assert hardware_id(machine(tmp_path), config).startswith("machine-")


def test_the_device_key_is_made_once_owner_only_and_the_cloud_can_read_it(tmp_path: Path):
    public = device_public_key(tmp_path)
    assert len(ed25519_public_key(public)) == 32
    assert stat.S_IMODE((tmp_path / "device-key.pem").stat().st_mode) == 0o600
    assert device_public_key(tmp_path) == public  # the same key on every run

    other = generate_private_key(SECP256R1())
    (tmp_path / "device-key.pem").write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(ValueError, match="not Ed25519"):
        device_public_key(tmp_path)


def test_the_config_is_owner_only_whole_and_a_claim_is_read_back(tmp_path: Path):
    path = tmp_path / "etc/edgestore/edgestore.toml"
    assert read_config(path) == {}
    assert registration({}) is None
    values = {
        "device_id": "01DEV",
        "store_id": "01STORE",
        "mqtt_url": "mqtt://01DEV:p%40ss@broker:1883",
        "port": 8080,
    }
    write_config(path, values)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_config(path) == values
    kept = registration(read_config(path))
    assert kept is not None
    assert (kept.device_id, kept.store_id) == ("01DEV", "01STORE")
    assert not list(path.parent.glob("*.tmp"))

    path.write_text("device_id = [unclosed")
    with pytest.raises(ConfigUnreadable):
        read_config(path)


def test_the_nodes_broker_url_carries_its_login_quoted():
    assert (
        mqtt_url("mqtts://mqtt.example.tw", "01DEV", "a/b:c@d")
        == "mqtts://01DEV:a%2Fb%3Ac%40d@mqtt.example.tw"
    )
    assert mqtt_url("mqtt://127.0.0.1:1884", "d", "p") == "mqtt://d:p@127.0.0.1:1884"
    assert mqtt_url("mqtt://[::1]:1883", "d", "p") == "mqtt://d:p@[::1]:1883"
    with pytest.raises(ValueError, match="not mqtt"):
        mqtt_url("http://broker", "d", "p")


def plan(**overrides: object) -> units.UnitPlan:
    values: dict[str, object] = {
        "python": "/opt/edgestore/bin/python",
        "config_file": "/etc/edgestore/edgestore.toml",
        "data_dir": "/var/lib/edgestore",
        "node_port": 8080,
        **overrides,
    }
    return units.UnitPlan(**values)  # type: ignore[arg-type]


def test_units_run_edgestore_with_the_config_and_join_only_groups_the_system_has():
    planned = {
        u.name: u
        for u in units.node_units(plan(groups=frozenset({"video"})), footfall=True, ble=False, kiosk=True)
    }
    node = planned[units.NODE].text
    assert "ExecStart=/opt/edgestore/bin/python -m edgestore edge serve" in node
    assert "Environment=EDGESTORE_CONFIG_FILE=/etc/edgestore/edgestore.toml" in node
    assert "ReadWritePaths=/var/lib/edgestore" in node
    assert "User=edgestore" in node
    assert "SupplementaryGroups=video\n" in planned[units.FOOTFALL].text  # no gpio group here
    assert "SupplementaryGroups" not in planned[units.BLE].text
    kiosk = planned[units.KIOSK].text
    assert "kiosk --fullscreen --edge-url http://127.0.0.1:8080/api/v1" in kiosk
    assert "TTYPath=/dev/tty1" in kiosk
    assert "Conflicts=getty@tty1.service" in kiosk
    assert [u.enabled for u in planned.values()] == [True, True, False, True]


def test_installing_units_enables_by_links_and_a_second_install_changes_nothing(tmp_path: Path):
    planned = units.node_units(plan(), footfall=False, ble=False, kiosk=True)
    changed = units.install(tmp_path, planned)
    assert len(changed) == 4
    wants = tmp_path / "etc/systemd/system/multi-user.target.wants"
    assert sorted(p.name for p in wants.iterdir()) == [units.KIOSK, units.NODE]
    assert os.readlink(wants / units.NODE) == "/etc/systemd/system/edgestore-node.service"
    assert units.install(tmp_path, planned) == []

    without_kiosk = units.node_units(plan(), footfall=False, ble=False, kiosk=False)
    assert units.install(tmp_path, without_kiosk) == []  # same texts; only the link goes
    assert [p.name for p in wants.iterdir()] == [units.NODE]


def test_what_hardware_is_found_on_a_pi(tmp_path: Path):
    assert detect_hardware(machine(tmp_path)) == Hardware()
    # A Pi has /dev/video* (its codecs) and GPIO chips with nothing attached: neither counts.
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev/video19").touch()
    (tmp_path / "dev/gpiochip0").touch()
    drm = tmp_path / "sys/class/drm/card1-HDMI-A-1"
    drm.mkdir(parents=True)
    (drm / "status").write_text("disconnected\n")
    assert detect_hardware(machine(tmp_path)) == Hardware()

    (drm / "status").write_text("connected\n")
    (tmp_path / "sys/class/bluetooth/hci0").mkdir(parents=True)
    (tmp_path / "dev/v4l/by-id").mkdir(parents=True)
    (tmp_path / "dev/v4l/by-id/usb-Logitech_C270-video-index0").touch()
    assert detect_hardware(machine(tmp_path)) == Hardware(camera=True, pir=False, ble=True, display=True)

    (tmp_path / "dev/v4l/by-id/usb-Logitech_C270-video-index0").unlink()
    pi_camera = machine(
        tmp_path, {"rpicam-hello --list-cameras": "Available cameras\n0 : imx708 [4608x2592]\n"}
    )
    assert detect_hardware(pi_camera).camera


def test_a_flag_wins_over_the_config_which_wins_over_what_was_found():
    found = Hardware(camera=True, ble=True, display=True)
    asked: dict[str, bool | None] = {"camera": None, "pir": True, "ble": None, "display": False}
    chosen, keys = _hardware({"ble_enabled": False}, found, asked)
    assert chosen == Hardware(camera=True, pir=True, ble=False, display=False)
    assert keys == {"camera_enabled": True, "pir_enabled": True, "ble_enabled": False, "kiosk_enabled": False}


# In English, against a cloud nobody answers for, with a code that could be one.
UNREACHABLE_CLOUD = ("--lang", "en", "--cloud", "http://127.0.0.1:9", "--claim-code", "2222-3333-4444")


def run_provision(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGESTORE_")}
    return subprocess.run(
        [*EDGESTORE, "provision", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_without_a_code_or_a_cloud_it_says_what_to_run_in_both_languages(tmp_path: Path):
    zh = run_provision("--root", str(tmp_path))
    assert zh.returncode == 1
    assert "✗ 認領" in zh.stdout
    assert "edgestore provision --cloud 網址 --claim-code 認領碼" in zh.stdout
    en = run_provision("--root", str(tmp_path), "--lang", "en", "--json")
    assert en.returncode == 1
    lines = {line["id"]: line for line in json.loads(en.stdout)}
    assert lines["claim"]["status"] == "fail"
    assert lines["database"]["detail"] == "not done: a step before it failed"
    assert not (tmp_path / "etc/edgestore/edgestore.toml").exists()


def test_an_unreachable_cloud_fails_the_claim_and_changes_nothing(tmp_path: Path):
    done = run_provision("--root", str(tmp_path), *UNREACHABLE_CLOUD)
    assert done.returncode == 1
    assert "unreachable" in done.stdout
    assert "check the network cable or Wi-Fi" in done.stdout
    assert not (tmp_path / "etc/edgestore/edgestore.toml").exists()


def test_a_config_that_is_not_toml_is_left_alone(tmp_path: Path):
    config = tmp_path / "etc/edgestore/edgestore.toml"
    config.parent.mkdir(parents=True)
    config.write_text("this is = = not toml")
    done = run_provision("--root", str(tmp_path))
    assert done.returncode == 2
    assert "is not a TOML file" in done.stderr
    assert config.read_text() == "this is = = not toml"
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads(config.read_text())


def test_a_pi_that_cannot_keep_a_login_does_not_claim_one(tmp_path: Path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/edgestore").write_text("a file where the config folder goes")
    done = run_provision("--root", str(tmp_path), *UNREACHABLE_CLOUD)
    assert done.returncode == 1
    assert "✗ Config: cannot write" in done.stdout
    assert "claiming" not in done.stderr  # the cloud was never asked


def test_the_units_refuse_a_python_the_services_cannot_see():
    layout = Layout(Path("/"), image=False)
    plan = units.UnitPlan(
        python="/home/pi/venv/bin/python",
        config_file="/etc/edgestore/edgestore.toml",
        data_dir="/var/lib/edgestore",
        node_port=8080,
    )
    check = _units(layout, plan, Hardware(), Progress(translator("en"), quiet=True))
    assert check.status is Status.FAIL
    assert check.advice is not None
    assert "/opt/edgestore" in check.advice(translator("en"))


def test_one_provisioning_at_a_time(tmp_path: Path):
    layout = Layout(tmp_path, image=False)
    with _only_run(layout), pytest.raises(AlreadyRunning), _only_run(layout):
        pass


def test_the_ble_unit_owns_the_adapter_with_no_more_privilege_than_that():
    ble = next(
        u
        for u in units.node_units(
            plan(groups=frozenset({"bluetooth"})), footfall=False, ble=True, kiosk=False
        )
        if u.name == units.BLE
    )
    assert ble.enabled
    assert "ble serve --transport hci-socket:0 --edge-url http://127.0.0.1:8080/api/v1" in ble.text
    assert "Conflicts=bluetooth.service" in ble.text  # bluetoothd would take the adapter back
    assert "ExecStartPre=+-/usr/bin/btmgmt --index 0 power off" in ble.text
    assert "AmbientCapabilities=CAP_NET_ADMIN\n" in ble.text
    assert "CapabilityBoundingSet=CAP_NET_ADMIN\n" in ble.text
    assert "After=bluetooth.service hciuart.service sys-subsystem-bluetooth-devices-hci0.device" in ble.text
    assert ble.masks == ("bluetooth.service",)
    assert "ReadWritePaths=/var/lib/edgestore" in ble.text  # the cart tokens' key
    assert "SupplementaryGroups=bluetooth" in ble.text


def test_this_edgestore_has_the_ble_command_so_provisioning_enables_it_with_an_adapter():
    from edgestore.cli import _COMMANDS

    assert _COMMANDS["ble"] == ("edge.ble.cli", "app")


def test_bluetoothd_is_masked_while_the_ble_unit_is_enabled_and_unmasked_after(tmp_path: Path):
    mask = tmp_path / "etc/systemd/system/bluetooth.service"
    units.install(tmp_path, units.node_units(plan(), footfall=False, ble=True, kiosk=False))
    assert os.readlink(mask) == "/dev/null"
    units.install(
        tmp_path, units.node_units(plan(), footfall=False, ble=True, kiosk=False)
    )  # again: the same
    assert os.readlink(mask) == "/dev/null"
    units.install(tmp_path, units.node_units(plan(), footfall=False, ble=False, kiosk=False))
    assert not mask.is_symlink()


def test_this_edgestore_has_the_footfall_command_so_provisioning_enables_it_with_a_camera_or_pir(
    tmp_path: Path,
):
    from edgestore.cli import _COMMANDS

    assert _COMMANDS["footfall"] == ("edge.footfall.cli", "app")
    wanted = tmp_path / "etc/systemd/system/multi-user.target.wants" / units.FOOTFALL
    for hardware, enabled in ((Hardware(pir=True), True), (Hardware(), False), (Hardware(camera=True), True)):
        _units(Layout(tmp_path, image=False), plan(), hardware, Progress(translator("en"), quiet=True))
        assert wanted.is_symlink() is enabled
    assert (
        "ExecStart=/opt/edgestore/bin/python -m edgestore footfall run"
        in (tmp_path / "etc/systemd/system" / units.FOOTFALL).read_text()
    )
