"""The door counter's hardware interfaces: a PIR on gpiozero's MockFactory, a scripted PIR, frames in memory,
OpenCV reading a video file, and the Pi camera on a stand-in for picamera2 (no camera and no picamera2
here: tests/fake_picamera2.py)."""

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.footfall.hardware import (
    FrameList,
    GpioPir,
    HardwareUnavailable,
    OpenCvSource,
    PiCamera,
    ScriptedPir,
    camera_from,
)


@pytest.fixture
def mock_factory():
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory

    factory = MockFactory()
    yield factory
    factory.reset()
    Device.pin_factory = None


def test_a_gpio_pir_follows_its_pin_and_calls_back_on_each_change(mock_factory):
    pir = GpioPir(17, pin_factory=mock_factory)
    changes: list[bool] = []
    seen = threading.Event()

    def changed(motion: bool) -> None:
        changes.append(motion)
        seen.set()

    pir.on_change(changed)
    pin = mock_factory.pin(17)
    assert not pir.motion
    pin.drive_high()
    assert seen.wait(2)
    assert pir.motion
    seen.clear()
    pin.drive_low()
    assert seen.wait(2)
    assert not pir.motion
    assert changes == [True, False]
    pir.close()


def test_a_pir_on_a_pin_in_use_is_unavailable(mock_factory):
    first = GpioPir(17, pin_factory=mock_factory)
    with pytest.raises(HardwareUnavailable, match="GPIO 17"):
        GpioPir(17, pin_factory=mock_factory)
    first.close()


def test_a_scripted_pir_replays_its_changes_on_a_clock():
    now = [0.0]
    pir = ScriptedPir([(1.0, True), (2.5, False), (4.0, True)], clock=lambda: now[0])
    changes: list[bool] = []
    pir.on_change(changes.append)
    states = []
    for t in (0.0, 0.99, 1.0, 2.0, 2.5, 3.9, 4.0, 9.0):
        now[0] = t
        states.append(pir.motion)
    assert states == [False, False, True, True, False, False, True, True]
    assert changes == [True, False, True]


def test_a_scripted_pir_plays_in_real_time_from_a_thread():
    pir = ScriptedPir([(0.05, True), (0.1, False)])
    changes: list[bool] = []
    done = threading.Event()

    def changed(motion: bool) -> None:
        changes.append(motion)
        if not motion:
            done.set()

    pir.on_change(changed)
    pir.start()
    pir.play()
    assert done.wait(2)
    pir.close()
    assert changes == [True, False]


def test_a_frame_list_reads_in_order_with_times_then_ends():
    frames = [np.full((4, 4), i, np.uint8) for i in range(3)]
    source = FrameList(frames, fps=10)
    assert not source.running
    assert source.read() is None  # not started
    source.start()
    first = source.read()
    assert first is not None
    assert first[0][0, 0] == 0
    assert first[1] == 0.0
    source.stop()
    source.start()  # resumes where it stopped, as a camera woken again sees what comes next
    second = source.read()
    assert second is not None
    assert second[1] == pytest.approx(0.1)
    assert source.read() is not None
    assert source.read() is None
    assert not source.running
    assert source.starts == 2


def write_video(path: Path, frames: list[np.ndarray], fps: float = 10.0) -> None:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (width, height))
    assert writer.isOpened()
    for frame in frames:
        writer.write(frame)
    writer.release()


def test_opencv_reads_a_video_file_with_its_times_and_ends(tmp_path: Path):
    frames = [np.full((48, 64, 3), 20 * i, np.uint8) for i in range(5)]
    video = tmp_path / "door.avi"
    write_video(video, frames)
    source = camera_from(f"file:{video}")
    assert isinstance(source, OpenCvSource)
    source.start()
    got = []
    while (read := source.read()) is not None:
        got.append(read)
    assert [t for _, t in got] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert got[0][0].shape == (48, 64, 3)
    assert not source.running


def test_a_missing_video_file_is_unavailable(tmp_path: Path):
    with pytest.raises(HardwareUnavailable, match="no video file"):
        OpenCvSource(tmp_path / "none.avi").start()


def test_camera_specs():
    assert isinstance(camera_from("pi"), PiCamera)
    usb = camera_from("v4l2:2")
    assert isinstance(usb, OpenCvSource)
    assert usb.where == 2
    dev = camera_from("v4l2:/dev/video1")
    assert isinstance(dev, OpenCvSource)
    assert dev.where == 1
    for bad in ("usb", "file:", "pi:0", "v4l2:/tmp/x"):
        with pytest.raises(ValueError, match="write pi"):
            camera_from(bad)


def test_the_pi_camera_gives_frames_at_the_working_size_with_the_sensors_time(fake_picamera2):
    camera = camera_from("pi", size=(320, 240))
    assert isinstance(camera, PiCamera)
    assert not camera.running
    assert camera.read() is None  # asleep: no frame
    camera.start()
    (made,) = fake_picamera2.made
    assert made.config["kind"] == "video"
    assert made.config["main"] == {"size": (320, 240), "format": "RGB888"}
    got = camera.read()
    assert got is not None
    assert got[0].shape == (240, 320, 3)
    assert got[1] == pytest.approx(1.5)
    camera.stop()
    assert not camera.running
    assert made.closed


def test_without_picamera2_the_pi_camera_is_unavailable_to_the_counter(no_picamera2):
    with pytest.raises(HardwareUnavailable, match="picamera2 is not installed"):
        PiCamera().start()
