"""The camera that looks at what a shopper holds up ("scan").

``Camera.capture`` gives one still as JPEG bytes (what the recogniser decodes, and what the screen shows).
``PiCamera`` is the Raspberry Pi camera through picamera2 (installed from Raspberry Pi OS's apt repository,
imported only when used); ``FileCamera`` plays recorded stills from a folder, in name order and round
again, for tests, the demo and any machine without a camera.
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
