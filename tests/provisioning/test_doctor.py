"""``edgestore doctor`` against a real node (tests/edge's, served on a free port with its SQLite file), with
the machine's /dev, /sys and /etc/os-release read under a temporary folder (``--root``) so nothing depends
on this machine's hardware."""

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgestore.cli import app
from models.sales import PaymentMethod
from node_client import API_PREFIX, NodeClient
from plumbing import free_port, utcnow
from provisioning.checks import cloud_date_skew
from tests.edge.conftest import edge as edge  # the real node of tests/edge, served per test

runner = CliRunner()
BOOKWORM = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
# The machine facts and settings doctor reads from the environment, set to known values per run.
QUIET = {
    "DISPLAY": "",
    "WAYLAND_DISPLAY": "",
    "EDGESTORE_MQTT_URL": None,
    "EDGESTORE_CAMERA_ENABLED": None,
    "EDGESTORE_PIR_ENABLED": None,
    "EDGESTORE_BLE_ENABLED": None,
    "EDGESTORE_KIOSK_ENABLED": None,
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A Pi's filesystem as doctor reads it: Raspberry Pi OS bookworm, no camera, no GPIO, no Bluetooth."""
    folder = tmp_path / "machine"
    (folder / "etc").mkdir(parents=True)
    (folder / "etc" / "os-release").write_text(BOOKWORM, encoding="utf-8")
    (folder / "dev").mkdir()
    return folder


def doctor(edge, root: Path, *args: str, env: dict[str, str | None] | None = None):
    address = edge.base_url.removesuffix(API_PREFIX)
    argv = ["doctor", "--edge-url", address, "--data-dir", str(edge.settings.data_dir), "--root", str(root)]
    return runner.invoke(app, [*argv, *args], env={**QUIET, **(env or {})})


def test_a_healthy_node_passes_in_zh_tw_and_exits_0(edge, root):
    result = doctor(edge, root)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("✓ 店機服務：運作中（版本 ")
    assert "– 雲端連線（MQTT）：未設定雲端連線，店機離線營業" in lines
    assert "✓ 待上傳資料：沒有待上傳的資料" in lines
    assert "✓ 作業系統：Debian GNU/Linux 12 (bookworm)" in lines
    assert "– 攝影機：此店機未設定" in lines
    assert "– 系統服務 edgestore-node.service：此機未安裝" in lines  # commands are not run under --root
    assert lines[-1].startswith("通過 ")


def test_the_outbox_backlog_and_its_age_read_from_the_nodes_database(edge, root):
    edge.clock.now = utcnow() - timedelta(hours=2)  # the sale was made two hours ago
    with NodeClient(edge.base_url.removesuffix(API_PREFIX)) as client:
        client.checkout(client.create_cart([("latte-1", 1), ("tissues-1", 2)]).cart_id, PaymentMethod.CASH)
    result = doctor(edge, root, "--lang", "en")
    assert result.exit_code == 0, result.output  # no cloud link configured: kept on purpose, a warning
    lines = result.stdout.splitlines()
    outbox = next(line for line in lines if line.startswith("! Waiting to upload: "))
    assert re.fullmatch(r"! Waiting to upload: 3 waiting, the oldest for 2h0[0-1]m", outbox), outbox
    assert lines[lines.index(outbox) + 1] == "    → The node has no cloud link configured: it keeps its data"


def test_json_is_a_list_of_id_status_detail_advice(edge, root):
    result = doctor(edge, root, "--json", "--lang", "en")
    assert result.exit_code == 0, result.output
    checks = json.loads(result.stdout)
    assert all(set(check) == {"id", "status", "detail", "advice"} for check in checks)
    by_id = {check["id"]: check for check in checks}
    assert list(by_id) == [
        *["node", "service.edgestore-node", "broker", "outbox", "model"],
        *["os", "python", "disk", "ntp", "clock", "camera", "pir", "ble", "display"],
    ]
    assert by_id["node"]["status"] == "pass"
    assert by_id["camera"] == {
        "id": "camera",
        "status": "absent",
        "detail": "Not configured for this node",
        "advice": None,
    }
    assert {check["status"] for check in checks} <= {"pass", "warn", "absent"}


def test_a_configured_camera_that_is_missing_exits_1(edge, root):
    result = doctor(edge, root, "--lang", "en", env={"EDGESTORE_CAMERA_ENABLED": "true"})
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    camera = lines.index("✗ Camera: A camera is configured but none was found")
    assert lines[camera + 1].startswith("    → Reseat the camera's ribbon or USB cable")
    (root / "dev" / "video0").touch()  # plugged in
    assert doctor(edge, root, env={"EDGESTORE_CAMERA_ENABLED": "true"}).exit_code == 0


def test_a_node_that_does_not_answer_fails(tmp_path, root):
    address = f"http://127.0.0.1:{free_port()}"
    argv = ["doctor", "--edge-url", address, "--data-dir", str(tmp_path / "none"), "--root", str(root)]
    result = runner.invoke(app, [*argv, "--json", "--timeout", "1"], env=QUIET)
    assert result.exit_code == 1, result.output
    by_id = {check["id"]: check for check in json.loads(result.stdout)}
    assert by_id["node"]["status"] == "fail"
    assert address in by_id["node"]["detail"]
    assert by_id["outbox"]["status"] == "fail"  # no database at that data dir
    assert by_id["model"]["status"] == "warn"  # cannot tell without the node


def test_an_unknown_language_is_refused(edge, root):
    result = doctor(edge, root, "--lang", "fr")
    assert result.exit_code == 2
    assert "--lang" in result.output


def test_clock_skew_from_a_real_servers_date_header(edge):
    address = edge.base_url.removesuffix(API_PREFIX)
    assert abs(cloud_date_skew(address, utcnow) or 99.0) < 2.0
    ahead = cloud_date_skew(address, lambda: utcnow() + timedelta(minutes=2))
    assert ahead is not None
    assert 118.0 < ahead < 122.0
    assert cloud_date_skew(f"http://127.0.0.1:{free_port()}", utcnow, timeout_s=1) is None


def test_on_a_provisioned_pi_doctor_reads_the_nodes_own_config(edge, root):
    """No EDGESTORE_CONFIG_FILE in a shell: the config provisioning wrote is read (its cloud, its hardware)."""
    config = root / "etc/edgestore/edgestore.toml"
    config.parent.mkdir(parents=True)
    cloud = f"http://127.0.0.1:{free_port()}"
    config.write_text(f'cloud_url = "{cloud}"\ncamera_enabled = true\n')
    result = doctor(edge, root, "--json", "--timeout", "1", env={"EDGESTORE_CONFIG_FILE": None})
    by_id = {check["id"]: check for check in json.loads(result.stdout)}
    assert cloud in by_id["clock"]["detail"]  # the cloud it was provisioned for, asked for the time
    assert by_id["camera"]["status"] == "fail"  # configured there, not plugged in here
    assert result.exit_code == 1
