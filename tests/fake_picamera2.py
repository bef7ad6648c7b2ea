"""A stand-in for picamera2 (Raspberry Pi OS's ``python3-picamera2``, which this machine cannot install), so
the capture code in ``plumbing.cameras`` and its adapters run here up to the library's calls: the
configuration they ask for, starting and stopping, and what they make of the arrays picamera2 hands back.
Its methods follow picamera2's documented API; that the real library and a real camera behave so is not
shown here (no Pi)."""

import io
import sys
import types
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
import pytest


def still_picture(size: tuple[int, int]) -> np.ndarray:
    """BGR: dark blue on the left half, light grey on the right, so a frame's orientation shows."""
    width, height = size
    image = np.full((height, width, 3), 200, np.uint8)
    image[:, : width // 2] = (120, 30, 20)
    return image


class FakeRequest:
    def __init__(self, main: np.ndarray, timestamp_ns: int) -> None:
        self.main, self.timestamp_ns = main, timestamp_ns
        self.released = False

    def make_array(self, name: str) -> np.ndarray:
        assert name == "main"
        return self.main

    def get_metadata(self) -> dict[str, Any]:
        return {"SensorTimestamp": self.timestamp_ns}

    def release(self) -> None:
        self.released = True


class FakePicamera2:
    """One camera: records its configuration; every capture is ``picture`` (``still_picture`` unless a test
    sets another) at each stream's configured size."""

    made: list["FakePicamera2"] = []
    picture: Callable[[tuple[int, int]], np.ndarray] = staticmethod(still_picture)

    def __init__(self) -> None:
        self.config: dict[str, Any] | None = None
        self.started = False
        self.closed = False
        self.requests: list[FakeRequest] = []
        FakePicamera2.made.append(self)

    def create_still_configuration(self, **streams: Any) -> dict[str, Any]:
        return {"kind": "still", **streams}

    def create_video_configuration(self, **streams: Any) -> dict[str, Any]:
        return {"kind": "video", **streams}

    def configure(self, config: dict[str, Any]) -> None:
        self.config = config

    def start(self) -> None:
        assert self.config is not None, "picamera2 wants configure() before start()"
        self.started = True

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        self.closed = True

    def _stream(self, name: str) -> np.ndarray:
        assert self.started
        assert self.config is not None
        return type(self).picture(self.config[name]["size"])

    def capture_request(self) -> FakeRequest:
        request = FakeRequest(self._stream("main"), 1_500_000_000 + 66_666_667 * len(self.requests))
        self.requests.append(request)
        return request

    def capture_arrays(self, names: list[str]) -> tuple[list[np.ndarray], dict[str, Any]]:
        arrays = []
        for name in names:
            picture = self._stream(name)
            if self.config is not None and self.config[name]["format"] == "YUV420":
                picture = cv2.cvtColor(picture, cv2.COLOR_BGR2YUV_I420)  # (H * 3 / 2) x W planes
            arrays.append(picture)
        return arrays, {}

    def capture_file(self, out: io.BytesIO, format: str) -> None:
        ok, encoded = cv2.imencode(f".{format}", self._stream("main"))
        assert ok
        out.write(encoded.tobytes())


@pytest.fixture
def fake_picamera2(monkeypatch: pytest.MonkeyPatch) -> type[FakePicamera2]:
    """``import picamera2`` gives the stand-in for the test's length; ``FakePicamera2.made`` the cameras made."""
    module = types.ModuleType("picamera2")
    module.Picamera2 = FakePicamera2  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "picamera2", module)
    monkeypatch.setattr(FakePicamera2, "made", [])
    monkeypatch.setattr(FakePicamera2, "picture", staticmethod(still_picture))
    return FakePicamera2


@pytest.fixture
def no_picamera2(monkeypatch: pytest.MonkeyPatch) -> None:
    """``import picamera2`` fails, as on any machine but a Pi with python3-picamera2."""
    monkeypatch.setitem(sys.modules, "picamera2", None)
