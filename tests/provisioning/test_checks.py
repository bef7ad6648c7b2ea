"""The checks provisioning and doctor share, each path driven by a machine made of a temporary folder (its
/dev, /sys and /etc/os-release), an environment and the commands' answers: nothing here depends on the
hardware of the machine running the tests."""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from models.node_api import StreamBacklog
from plumbing.message_catalogs import extract, problems
from provisioning.checks import (
    GIB,
    Check,
    Hardware,
    Status,
    check_ble,
    check_camera,
    check_clock_skew,
    check_disk,
    check_display,
    check_ntp,
    check_os,
    check_pir,
    check_python,
    failed,
    machine_checks,
)
from provisioning.i18n import translator
from provisioning.machine import Machine
from provisioning.message_sources import SOURCES
from provisioning.node_checks import check_model, check_outbox, check_service

BOOKWORM = (
    'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n'
)
UBUNTU = 'PRETTY_NAME="Ubuntu 24.04 LTS"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID="24.04"\n'
BULLSEYE = 'PRETTY_NAME="Raspbian GNU/Linux 11 (bullseye)"\nID=raspbian\nID_LIKE=debian\nVERSION_ID="11"\n'


def commands(answers: Mapping[str, str]):
    """A machine's commands: the answer given for a command line, None (not installed) for any other."""

    def run(args: Sequence[str]) -> str | None:
        return answers.get(" ".join(args))

    return run


def machine(root: Path, *, files: Mapping[str, str] = {}, environ=None, answers=None, **facts) -> Machine:
    for name, text in files.items():
        path = root / name.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return Machine(root=root, environ=environ or {}, run=commands(answers or {}), **facts)


def said(check: Check, locale: str = "en") -> str:
    return check.detail(translator(locale))


def test_every_key_the_checks_ask_for_has_words_in_both_languages():
    assert problems(SOURCES) == []
    assert {"title.camera", "camera.missing", "status.absent", "line"} <= extract(SOURCES).keys()


@pytest.mark.parametrize(
    ("release", "status"), [(BOOKWORM, Status.PASS), (UBUNTU, Status.WARN), (BULLSEYE, Status.WARN)]
)
def test_os_bookworm_or_later_passes_any_other_linux_warns(tmp_path, release, status):
    check = check_os(machine(tmp_path, files={"/etc/os-release": release}))
    assert check.status is status
    assert check.id == "os"
    if status is Status.WARN:
        assert check.advice is not None
    assert said(check).startswith(release.split('"')[1])


def test_os_without_os_release_or_not_linux_warns(tmp_path):
    assert check_os(machine(tmp_path)).status is Status.WARN
    other = check_os(machine(tmp_path, files={"/etc/os-release": BOOKWORM}, system="Darwin"))
    assert other.status is Status.WARN
    assert "Darwin" in said(other)


def test_python_311_or_later(tmp_path):
    assert check_python(machine(tmp_path, python=(3, 11, 2))).status is Status.PASS
    old = check_python(machine(tmp_path, python=(3, 9, 2)))
    assert old.status is Status.FAIL
    assert said(old, "zh-TW") == "Python 3.9.2 太舊"


@pytest.mark.parametrize(
    ("free", "status"),
    [(10 * GIB, Status.PASS), (3 * GIB, Status.WARN), (GIB // 2, Status.FAIL)],
)
def test_disk_fails_under_1_gib_and_warns_under_4(tmp_path, free, status):
    check = check_disk(tmp_path / "not-made-yet", usage=lambda _path: free)
    assert check.status is status
    assert (check.advice is None) == (status is Status.PASS)


def test_disk_reads_the_nearest_folder_that_exists(tmp_path):
    seen: list[Path] = []
    check_disk(tmp_path / "a" / "b", usage=lambda path: seen.append(path) or 10 * GIB)
    assert seen == [tmp_path.resolve()]
    assert check_disk(tmp_path).status in set(Status)  # this machine's real disk answers


@pytest.mark.parametrize(
    ("answer", "status"), [("yes\n", Status.PASS), ("no\n", Status.WARN), (None, Status.ABSENT)]
)
def test_ntp_from_timedatectl_absent_without_it(tmp_path, answer, status):
    answers = {} if answer is None else {"timedatectl show -p NTPSynchronized --value": answer}
    assert check_ntp(machine(tmp_path, answers=answers)).status is status


@pytest.mark.parametrize(
    ("skew", "status"),
    [(0.4, Status.PASS), (-12.0, Status.WARN), (300.0, Status.FAIL), (None, Status.FAIL)],
)
def test_clock_skew_against_the_cloud(skew, status):
    check = check_clock_skew("https://cloud.example", skew)
    assert check.status is status
    if skew is not None:
        assert f"{skew:+.0f}" in said(check)


def test_clock_skew_is_absent_without_a_cloud():
    assert check_clock_skew(None, None).status is Status.ABSENT


def test_camera_absent_unless_configured_even_when_one_is_plugged_in(tmp_path):
    with_video = machine(tmp_path, files={"/dev/video0": ""})
    assert check_camera(with_video, configured=False).status is Status.ABSENT
    found = check_camera(with_video, configured=True)
    assert found.status is Status.PASS
    assert said(found) == "Found /dev/video0"


def test_a_configured_camera_that_is_missing_fails_with_advice(tmp_path):
    check = check_camera(machine(tmp_path), configured=True)
    assert check.status is Status.FAIL
    assert check.advice is not None
    assert "rpicam-hello" in check.advice(translator("en"))


def test_the_pi_camera_is_found_through_libcamera(tmp_path):
    listing = "Available cameras\n-----------------\n0 : imx708 [4608x2592 10-bit RGGB] (/base/soc/i2c0mux/i2c@1/imx708@1a)\n"
    pi = machine(tmp_path, answers={"rpicam-hello --list-cameras": listing})
    check = check_camera(pi, configured=True)
    assert check.status is Status.PASS
    assert "imx708" in said(check)
    none = machine(tmp_path, answers={"rpicam-hello --list-cameras": "No cameras available!\n"})
    assert check_camera(none, configured=True).status is Status.FAIL


def test_pir_needs_a_gpio_chip(tmp_path):
    bare = machine(tmp_path / "bare")
    assert check_pir(bare, configured=False).status is Status.ABSENT
    assert check_pir(bare, configured=True).status is Status.FAIL
    pi = machine(tmp_path / "pi", files={"/dev/gpiochip0": ""})
    assert check_pir(pi, configured=True).status is Status.PASS


def test_ble_needs_an_hci_adapter(tmp_path):
    bare = machine(tmp_path / "bare")
    assert check_ble(bare, configured=False).status is Status.ABSENT
    assert check_ble(bare, configured=True).status is Status.FAIL
    pi = machine(tmp_path / "pi", files={"/sys/class/bluetooth/hci0/address": "b8:27:eb:00:00:01"})
    check = check_ble(pi, configured=True)
    assert check.status is Status.PASS
    assert said(check) == "Found hci0"


def test_display_from_the_session_or_a_drm_card(tmp_path):
    bare = machine(tmp_path / "bare")
    assert check_display(bare, configured=False).status is Status.ABSENT
    assert check_display(bare, configured=True).status is Status.FAIL
    wayland = machine(tmp_path / "bare", environ={"WAYLAND_DISPLAY": "wayland-0"})
    assert said(check_display(wayland, configured=True)) == "Found WAYLAND_DISPLAY=wayland-0"
    card = machine(tmp_path / "card", files={"/dev/dri/card0": ""})
    assert check_display(card, configured=True).status is Status.PASS


def test_machine_checks_in_order_and_only_fail_counts(tmp_path):
    pi = machine(tmp_path, files={"/etc/os-release": BOOKWORM, "/dev/video0": ""})
    checks = machine_checks(pi, tmp_path, Hardware(camera=True))
    assert " ".join(c.id for c in checks) == "os python disk ntp clock camera pir ble display"
    assert not failed(checks)
    missing = machine_checks(pi, tmp_path, Hardware(camera=True, ble=True))
    assert failed(missing)
    asked: list[str] = []
    with_cloud = machine_checks(
        pi, tmp_path, Hardware(), cloud_url="https://cloud.example", skew=lambda url: asked.append(url) or 1.0
    )
    assert asked == ["https://cloud.example"]
    assert next(c for c in with_cloud if c.id == "clock").status is Status.PASS


def test_json_shape_of_a_check(tmp_path):
    check = check_camera(machine(tmp_path), configured=True)
    assert check.as_dict(translator("zh-TW")) == {
        "id": "camera",
        "status": "fail",
        "detail": "已設定攝影機，但找不到",
        "advice": check.advice(translator("zh-TW")) if check.advice else None,
    }


NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def backlog(*oldest: datetime | None) -> list[StreamBacklog]:
    return [
        StreamBacklog(
            stream=f"s{i}",
            pending=0 if at is None else 2,
            oldest_pending_at=at,
            acked_seq=0,
            last_ack_at=None,
        )
        for i, at in enumerate(oldest)
    ]


def test_outbox_backlog_and_its_oldest_age():
    assert check_outbox(backlog(None, None), NOW, mqtt_configured=True).status is Status.PASS
    fresh = check_outbox(backlog(NOW - timedelta(minutes=5), None), NOW, mqtt_configured=True)
    assert fresh.status is Status.PASS
    assert said(fresh) == "2 waiting, the oldest for 5m"
    hours = check_outbox(backlog(NOW - timedelta(minutes=30), NOW - timedelta(hours=3)), NOW, True)
    assert hours.status is Status.WARN
    assert said(hours) == "4 waiting, the oldest for 3h00m"
    days = check_outbox(backlog(NOW - timedelta(days=2)), NOW, mqtt_configured=True)
    assert days.status is Status.FAIL
    # A node with no cloud link keeps its sales on purpose: an old backlog is only a warning.
    assert check_outbox(backlog(NOW - timedelta(days=2)), NOW, mqtt_configured=False).status is Status.WARN
    assert check_outbox(None, NOW, mqtt_configured=True).status is Status.FAIL


def test_model_absent_when_recognition_is_off():
    assert check_model(None, recognition_enabled=False).status is Status.ABSENT
    assert check_model(None, recognition_enabled=True).status is Status.WARN  # the node did not answer


def test_service_active_inactive_or_not_installed(tmp_path):
    unit = "edgestore-node.service"
    show = f"systemctl show -p LoadState --value {unit}"
    active = machine(tmp_path, answers={show: "loaded\n", f"systemctl is-active {unit}": "active\n"})
    assert check_service(active, unit).status is Status.PASS
    assert check_service(active, unit).id == "service.edgestore-node"
    stopped = machine(tmp_path, answers={show: "loaded\n", f"systemctl is-active {unit}": "failed\n"})
    check = check_service(stopped, unit)
    assert check.status is Status.FAIL
    assert said(check) == "Not running (failed)"
    assert check.advice is not None
    assert "journalctl -u edgestore-node.service" in check.advice(translator("en"))
    assert check_service(machine(tmp_path, answers={show: "not-found\n"}), unit).status is Status.ABSENT
    assert check_service(machine(tmp_path), unit).status is Status.ABSENT  # no systemd
