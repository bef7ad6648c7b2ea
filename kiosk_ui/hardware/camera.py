"""The camera that looks at what a shopper holds up ("scan").

``Camera.capture`` gives one still as JPEG bytes (what the recogniser decodes, and what the screen shows).
``PiCamera`` is the Raspberry Pi camera through picamera2 (installed from Raspberry Pi OS's apt repository,
imported only when used); ``OpenCvCamera`` any camera OpenCV opens (``cv2.VideoCapture``: V4L2 on Linux, a
USB webcam on a laptop); ``FileCamera`` plays recorded stills from a folder, in name order and round again,
for tests, the demo and any machine without a camera. ``camera_from`` picks one from the kiosk's
``--camera`` option.
"""

import io
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")


class Camera(Protocol):
    def start(self) -> None: ...

    def capture(self) -> bytes: ...

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

    def stop(self) -> None:
        self._frames = None


class PiCamera:  # pragma: no cover - needs the Pi's camera; FileCamera stands in elsewhere
    """The Pi camera module, still frames at a size the recogniser wants (it scales down anyway)."""

    def __init__(self, size: tuple[int, int] = (640, 480)) -> None:
        self.size = size
        self._camera: Any = None

    def start(self) -> None:
        from picamera2 import Picamera2  # type: ignore[import-not-found]  # apt's python3-picamera2

        self._camera = Picamera2()
        self._camera.configure(self._camera.create_still_configuration(main={"size": self.size}))
        self._camera.start()

    def capture(self) -> bytes:
        if self._camera is None:
            self.start()
        out = io.BytesIO()
        self._camera.capture_file(out, format="jpeg")
        return out.getvalue()

    def stop(self) -> None:
        if self._camera is not None:
            self._camera.stop()
            self._camera.close()
            self._camera = None


class CameraUnavailable(RuntimeError):
    """The camera did not open or gave no frame."""


class OpenCvCamera:
    """A camera OpenCV opens by index (``/dev/video0`` is 0) or by device path, through V4L2 on Linux; each
    still JPEG-encoded. OpenCV (``opencv-python-headless``) is imported only when used."""

    def __init__(self, device: int | str = 0, size: tuple[int, int] = (640, 480), quality: int = 90) -> None:
        self.device, self.size, self.quality = device, size, quality
        self._capture: Any = None

    def start(self) -> None:
        import cv2

        backend = cv2.CAP_V4L2 if hasattr(cv2, "CAP_V4L2") and isinstance(self.device, int) else cv2.CAP_ANY
        capture = cv2.VideoCapture(self.device, backend)
        if not capture.isOpened():
            capture.release()
            raise CameraUnavailable(f"no camera at {self.device!r}")
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.size[0])
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.size[1])
        self._capture = capture

    def capture(self) -> bytes:
        import cv2

        if self._capture is None:
            self.start()
        ok, frame = self._capture.read()  # BGR, what imencode expects
        if not ok or frame is None:
            raise CameraUnavailable(f"the camera at {self.device!r} gave no frame")
        ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise CameraUnavailable("the frame could not be encoded as JPEG")
        return bytes(jpeg.tobytes())

    def stop(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


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
