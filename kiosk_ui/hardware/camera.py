"""The camera that looks at what a shopper holds up ("scan").

``Camera.capture`` gives one still as JPEG bytes, the camera's whole frame (what the screen shows).
``Camera.capture_frame`` gives that still and, from the same moment, the *query frame* the node's recogniser
is sent: the frame's centre square at the model's input side, losslessly (``query_frame.py``: the node reads
it in a fraction of the time of a 640x480 JPEG and scales nothing). Each camera makes the query frame from
pixels it already holds where it can: ``PiCamera`` from the ISP's second, low-resolution stream,
``OpenCvCamera`` from the frame before it is encoded; ``FileCamera`` decodes its still once, at reduced scale.
``PiCamera`` is the Raspberry Pi camera through picamera2 (installed from Raspberry Pi OS's apt repository,
imported only when used); ``OpenCvCamera`` any camera OpenCV opens (``cv2.VideoCapture``: V4L2 on Linux, a
USB webcam on a laptop); ``FileCamera`` plays recorded stills from a folder, in name order and round again,
for tests, the demo and any machine without a camera. ``camera_from`` picks one from the kiosk's
``--camera`` option. ``PiCamera`` and ``OpenCvCamera`` are thin adapters of the capture code the door
counter shares (``plumbing.cameras``): they add the JPEG still and the query frame.
"""

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from kiosk_ui.hardware.query_frame import QUERY_SIDE, Frame, encode_bgr, query_from_jpeg, query_from_pixels
from plumbing.cameras import CameraUnavailable, OpenCvCapture, Picamera2Capture

__all__ = [
    "Camera",
    "CameraUnavailable",
    "FileCamera",
    "NoImages",
    "OpenCvCamera",
    "PiCamera",
    "camera_from",
    "lores_size",
]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")


class Camera(Protocol):
    def start(self) -> None: ...

    def capture(self) -> bytes: ...

    def capture_frame(self, side: int = QUERY_SIDE) -> Frame: ...

    def stop(self) -> None: ...


class NoImages(RuntimeError):
    """The folder a ``FileCamera`` plays holds no image."""


class FileCamera:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._frames: Iterator[Path] | None = None

    def start(self) -> None:
        files = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise NoImages(f"no images in {self.folder}")
        self._frames = itertools.cycle(files)

    def capture(self) -> bytes:
        if self._frames is None:
            self.start()
        assert self._frames is not None
        return next(self._frames).read_bytes()

    def capture_frame(self, side: int = QUERY_SIDE) -> Frame:
        still = self.capture()
        try:
            return Frame(still, query_from_jpeg(still, side))
        except OSError:  # not a picture Pillow reads: sent as it is, the node says what it makes of it
            return Frame(still, still)

    def stop(self) -> None:
        self._frames = None


LORES_SIDE = 2 * QUERY_SIDE
"""The shorter side of picamera2's lores stream: a query frame of a model up to twice the shipped one's input
is cut from it without scaling up."""


def lores_size(main: tuple[int, int], side: int = LORES_SIDE) -> tuple[int, int]:
    """picamera2's ``lores`` stream for a query frame of ``side``: the main stream's aspect (the ISP scales
    the same field of view into both, so another aspect would squash the picture) with its shorter side
    ``side``, even sizes, never larger than the main stream (picamera2 refuses that). 640x480 gives 256x192."""
    width, height = main
    scale = min(1.0, side / min(width, height))
    return (max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2))


class PiCamera:
    """The Pi camera module, still frames at a size the recogniser wants (it scales down anyway), through
    ``plumbing.cameras.Picamera2Capture``. The ISP also delivers each frame scaled down into picamera2's
    ``lores`` stream, from which ``capture_frame`` cuts the query frame without the kiosk scaling the full
    frame."""

    def __init__(self, size: tuple[int, int] = (640, 480), quality: int = 90) -> None:
        self.size, self.quality = size, quality  # quality: of the shown still made by capture_frame
        self.lores = lores_size(size)
        self._camera = Picamera2Capture(size, lores=self.lores)

    def start(self) -> None:
        self._camera.start()

    def _started(self) -> Picamera2Capture:
        if not self._camera.running:
            self.start()
        return self._camera

    def capture(self) -> bytes:
        return self._started().jpeg()

    def capture_frame(self, side: int = QUERY_SIDE) -> Frame:
        main, lores = self._started().read_with_lores()
        return Frame(encode_bgr(main, self.quality), query_from_pixels(lores, side))

    def stop(self) -> None:
        self._camera.stop()


class OpenCvCamera:
    """A camera OpenCV opens by index (``/dev/video0`` is 0) or by device path, through V4L2 on Linux
    (``plumbing.cameras.OpenCvCapture``); each still JPEG-encoded."""

    def __init__(self, device: int | str = 0, size: tuple[int, int] = (640, 480), quality: int = 90) -> None:
        self.device, self.size, self.quality = device, size, quality
        self._capture = OpenCvCapture(device, size=size)

    def start(self) -> None:
        try:
            self._capture.start()
        except CameraUnavailable as exc:
            raise CameraUnavailable(f"no camera at {self.device!r}") from exc

    def _read(self) -> Any:
        if not self._capture.running:
            self.start()
        frame = self._capture.read()  # BGR, what imencode expects
        if frame is None:
            raise CameraUnavailable(f"the camera at {self.device!r} gave no frame")
        return frame

    def _encode(self, frame: Any) -> bytes:
        try:
            return encode_bgr(frame, self.quality)
        except ValueError as exc:
            raise CameraUnavailable("the frame could not be encoded as JPEG") from exc

    def capture(self) -> bytes:
        return self._encode(self._read())

    def capture_frame(self, side: int = QUERY_SIDE) -> Frame:
        frame = self._read()
        return Frame(self._encode(frame), query_from_pixels(frame, side))

    def stop(self) -> None:
        self._capture.stop()


def camera_from(spec: str) -> Camera:
    """The camera an option names: ``pi`` (picamera2), ``v4l2:0`` or ``v4l2:/dev/video2`` (OpenCV), or
    ``files:FOLDER`` (stills played in turn). ``ValueError`` for anything else."""
    kind, _, where = spec.partition(":")
    if kind == "pi" and not where:
        return PiCamera()
    if kind in ("v4l2", "opencv"):
        where = where or "0"
        return OpenCvCamera(int(where) if where.isdigit() else where)
    if kind == "files" and where:
        return FileCamera(Path(where))
    raise ValueError(f"camera {spec!r}: write pi, v4l2:INDEX, v4l2:/dev/videoN or files:FOLDER")
