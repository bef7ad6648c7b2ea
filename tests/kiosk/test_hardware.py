"""The kiosk's hardware behind its interfaces: the simulated payment terminal, the ESC/POS printer writing
real printer bytes to a file, the camera playing recorded stills, and the Traditional Chinese font."""

import threading
from pathlib import Path

import pytest
from escpos.constants import PAPER_FULL_CUT as CUT
from fontTools.ttLib import TTFont
from PIL import Image

from kiosk_ui.fonts import FAMILY, kiosk_fonts
from kiosk_ui.hardware.camera import FileCamera, NoImages
from kiosk_ui.hardware.payment import Outcome, SimulatedTerminal
from kiosk_ui.hardware.printer import (
    CHINESE_ON,
    PrinterAddressInvalid,
    Receipt,
    ReceiptLine,
    columns,
    receipt_printer,
    row,
)


def test_the_simulated_terminal_plays_its_script_then_approves():
    terminal = SimulatedTerminal([Outcome.DECLINED, Outcome.TIMED_OUT])
    assert terminal.charge(100).outcome is Outcome.DECLINED
    assert terminal.charge(100).outcome is Outcome.TIMED_OUT
    approved = terminal.charge(250)
    assert approved.approved
    assert approved.reference
    assert approved.amount == 250
    terminal.void(approved.reference)
    assert terminal.voided == [approved.reference]
    with pytest.raises(ValueError, match="positive"):
        terminal.charge(0)


def test_a_waiting_charge_can_be_cancelled_from_the_screen():
    terminal = SimulatedTerminal(delay_s=30)
    threading.Timer(0.05, terminal.cancel).start()
    assert terminal.charge(100).outcome is Outcome.CANCELLED


def test_widths_count_chinese_as_two_columns():
    assert columns("珍珠奶茶 x2") == 11
    assert row("珍珠奶茶", "NT$120", 20) == "珍珠奶茶      NT$120"
    assert columns(row("一個非常非常非常長的商品名稱", "NT$1,280", 32)) <= 32


def test_the_receipt_reaches_the_printer_as_escpos_bytes(tmp_path: Path):
    out = tmp_path / "printer.bin"
    printer = receipt_printer(f"file:{out}")
    printer.print_receipt(
        Receipt(
            "edgestore 信義門市",
            [ReceiptLine("珍珠奶茶 大杯 x2", "NT$120"), ReceiptLine("Cookies x1", "NT$80")],
            [ReceiptLine("合計 Total", "NT$200")],
            ["電子發票 手機條碼 /ABC1234"],
            qr="01JEXAMPLE0000000000ABCDEF",
        )
    )
    printer.device.close()
    sent = out.read_bytes()
    assert sent.startswith(b"\x1b")  # ESC/POS commands, not text
    assert CHINESE_ON + "珍珠奶茶 大杯 x2".encode("big5") in sent
    assert b"Cookies x1" in sent
    assert b"\x1dv0" in sent  # the QR code, as a raster image
    assert sent.endswith(CUT)


def test_printer_addresses():
    with pytest.raises(PrinterAddressInvalid):
        receipt_printer("lpt1")


def test_the_file_camera_plays_stills_in_turn(tmp_path: Path):
    for name, colour in [("b.png", "blue"), ("a.jpg", "red")]:
        Image.new("RGB", (8, 8), colour).save(tmp_path / name)
    camera = FileCamera(tmp_path)
    camera.start()
    first, second, third = camera.capture(), camera.capture(), camera.capture()
    assert first == (tmp_path / "a.jpg").read_bytes()
    assert second == (tmp_path / "b.png").read_bytes()
    assert third == first
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoImages):
        FileCamera(tmp_path / "empty").start()


def test_the_kiosk_font_is_the_traditional_chinese_face(tmp_path: Path):
    fonts = kiosk_fonts(tmp_path)
    for path in (fonts.regular, fonts.bold):
        assert TTFont(str(path))["name"].getDebugName(1) == FAMILY
    again = kiosk_fonts(tmp_path)  # taken out once, then reused
    assert again.regular.stat().st_mtime == fonts.regular.stat().st_mtime


def test_the_scan_view_model_previews_the_camera_and_waits_for_a_recogniser(tmp_path: Path):
    from kiosk_ui.viewmodels.scan import Scan

    Image.new("RGB", (8, 8), "green").save(tmp_path / "held-up.jpg")
    scan = Scan(FileCamera(tmp_path), recognizer=None)
    scan.start()
    assert scan.capture() == (tmp_path / "held-up.jpg").read_bytes()
    assert not scan.ready
    assert scan.look() == []
    scan.stop()
    assert not scan.looking


def test_the_camera_option_names_a_camera(tmp_path: Path):
    from kiosk_ui.hardware.camera import OpenCvCamera, PiCamera, camera_from

    assert isinstance(camera_from("pi"), PiCamera)
    opencv = camera_from("v4l2:2")
    assert isinstance(opencv, OpenCvCamera)
    assert opencv.device == 2
    assert camera_from("v4l2:/dev/video5").device == "/dev/video5"  # type: ignore[attr-defined]
    files = camera_from(f"files:{tmp_path}")
    assert isinstance(files, FileCamera)
    assert files.folder == tmp_path
    for wrong in ("", "usb", "files:", "pi:0"):
        with pytest.raises(ValueError, match="camera"):
            camera_from(wrong)


def test_an_opencv_camera_that_is_not_there_says_so(tmp_path: Path):
    from kiosk_ui.hardware.camera import CameraUnavailable, OpenCvCamera

    camera = OpenCvCamera(str(tmp_path / "no-such-video-device"))
    with pytest.raises(CameraUnavailable, match="no camera"):
        camera.start()
    camera.stop()
