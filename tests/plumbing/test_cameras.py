"""The capture code the kiosk and the door counter share (``plumbing.cameras``): OpenCV on a video file and
on numbered stills, picamera2's configurations and frames on a stand-in for the library
(tests/fake_picamera2.py), and ``WIDTHxHEIGHT`` options. A real camera is not tested: there is none here."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from plumbing.cameras import PICAMERA2_MISSING, CameraUnavailable, OpenCvCapture, Picamera2Capture
from plumbing.sizes import parse_size
from tests.fake_picamera2 import FakePicamera2, still_picture


def test_a_size_is_width_x_height_within_its_minimum():
    assert parse_size("320x240") == (320, 240)
    assert parse_size("1280X800") == (1280, 800)
    assert parse_size("16x16", minimum=(16, 16)) == (16, 16)
    for bad in ("320", "320x", "x240", "320x240x3", "-320x240", "32 0x240", "3.5x2", ""):
        with pytest.raises(ValueError, match=r"write WIDTHxHEIGHT, e\.g\. 320x240"):
            parse_size(bad)
    with pytest.raises(ValueError, match=r"e\.g\. 800x480$"):
        parse_size("319x240", minimum=(320, 240), example="800x480")
    with pytest.raises(ValueError, match="size '320x239'"):
        parse_size("320x239", minimum=(320, 240))


def write_video(path: Path, frames: list[np.ndarray], fps: float) -> None:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (width, height))
    assert writer.isOpened()
    for frame in frames:
        writer.write(frame)
    writer.release()


def test_opencv_plays_a_file_at_its_own_size_and_rate_then_gives_none(tmp_path: Path):
    video = tmp_path / "clip.avi"
    write_video(video, [np.full((48, 64, 3), 40 * i, np.uint8) for i in range(4)], fps=12.0)
    capture = OpenCvCapture(video)
    assert not capture.running
    assert capture.read() is None  # not started
    capture.start()
    assert capture.running
    assert capture.fps == pytest.approx(12.0)
    frames = []
    while (frame := capture.read()) is not None:
        frames.append(frame)
    assert len(frames) == 4
    assert frames[0].shape == (48, 64, 3)  # BGR, as written
    assert frames[3].mean() == pytest.approx(120, abs=4)
    capture.stop()
    assert not capture.running
    capture.stop()  # twice is harmless


def test_opencv_plays_numbered_stills_as_a_device_would_be_read(tmp_path: Path):
    """OpenCV's image-sequence backend: a path, not an index, and a size asked of it (ignored by stills)."""
    for n in range(2):
        cv2.imwrite(str(tmp_path / f"frame{n:02d}.png"), still_picture((80, 60)))
    capture = OpenCvCapture(str(tmp_path / "frame%02d.png"), size=(640, 480))
    try:
        capture.start()
    except CameraUnavailable as exc:  # pragma: no cover - an OpenCV build without its image-sequence reader
        pytest.skip(f"OpenCV cannot play stills here: {exc}")
    frame = capture.read()
    assert frame is not None
    assert frame.shape == (60, 80, 3)
    assert tuple(frame[0, 0]) == (120, 30, 20)  # blue on the left: B, G, R order
    capture.stop()


def test_opencv_says_what_it_could_not_open(tmp_path: Path):
    capture = OpenCvCapture(tmp_path / "none.avi")
    with pytest.raises(CameraUnavailable, match="OpenCV could not open"):
        capture.start()
    assert not capture.running


def test_picamera2_video_at_a_steady_rate_gives_frames_with_the_sensors_time(
    fake_picamera2: type[FakePicamera2],
):
    camera = Picamera2Capture((320, 240), fps=15.0)
    camera.start()
    (made,) = fake_picamera2.made
    assert made.config == {
        "kind": "video",
        "main": {"size": (320, 240), "format": "RGB888"},
        "buffer_count": 4,
        "controls": {"FrameDurationLimits": (66666, 66666)},
    }
    assert camera.running
    assert made.started
    frame, t = camera.read()
    assert frame.shape == (240, 320, 3)
    assert t == pytest.approx(1.5)  # SensorTimestamp, nanoseconds, as seconds
    assert camera.read()[1] == pytest.approx(1.5 + 1 / 15, abs=1e-6)
    assert all(request.released for request in made.requests)  # each buffer back to picamera2
    camera.stop()
    assert not camera.running
    assert made.closed
    assert not made.started


def test_picamera2_stills_with_a_lores_stream(fake_picamera2: type[FakePicamera2]):
    camera = Picamera2Capture((640, 480), lores=(256, 192))
    camera.start()
    (made,) = fake_picamera2.made
    assert made.config == {
        "kind": "still",
        "main": {"size": (640, 480), "format": "RGB888"},
        "lores": {"size": (256, 192), "format": "YUV420"},
    }
    main, lores = camera.read_with_lores()
    assert main.shape == (480, 640, 3)
    assert lores.shape == (192, 256, 3)  # YUV420 planes back to BGR pixels
    assert np.abs(lores[96, 10].astype(int) - (120, 30, 20)).max() < 12  # the dark blue left half
    assert np.abs(lores[96, 250].astype(int) - 200).max() < 12
    jpeg = camera.jpeg()
    assert jpeg[:2] == b"\xff\xd8"
    camera.stop()


def test_picamera2_refuses_what_it_cannot_do(fake_picamera2: type[FakePicamera2]):
    camera = Picamera2Capture((320, 240), fps=15.0)
    with pytest.raises(CameraUnavailable, match="not started"):
        camera.read()
    camera.start()
    with pytest.raises(ValueError, match="without a lores stream"):
        camera.read_with_lores()
    camera.stop()
    camera.stop()


def test_without_picamera2_the_pi_camera_is_unavailable(no_picamera2: None):
    camera = Picamera2Capture((320, 240))
    with pytest.raises(CameraUnavailable, match="apt install python3-picamera2") as caught:
        camera.start()
    assert str(caught.value) == PICAMERA2_MISSING
    assert not camera.running


def test_a_pi_camera_that_fails_to_start_is_closed_again_and_unavailable(
    fake_picamera2: type[FakePicamera2], monkeypatch: pytest.MonkeyPatch
):
    def busy(self: FakePicamera2) -> None:
        raise RuntimeError("Device or resource busy")

    monkeypatch.setattr(FakePicamera2, "start", busy)
    camera = Picamera2Capture((320, 240), fps=15.0)
    with pytest.raises(CameraUnavailable, match="cannot be started: Device or resource busy"):
        camera.start()
    assert not camera.running
    assert fake_picamera2.made[-1].closed  # another process may take it


def test_starting_a_running_camera_opens_no_second_handle(
    fake_picamera2: type[FakePicamera2], tmp_path: Path
):
    camera = Picamera2Capture((320, 240), fps=15.0)
    camera.start()
    camera.start()
    assert len(fake_picamera2.made) == 1
    camera.stop()
    path = tmp_path / "one.png"
    cv2.imwrite(str(path), still_picture((64, 48)))
    capture = OpenCvCapture(path)
    capture.start()
    first = capture._capture
    capture.start()
    assert capture._capture is first
    capture.stop()
