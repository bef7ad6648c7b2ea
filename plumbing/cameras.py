"""The two ways the project reads a camera, written once: the Raspberry Pi camera through picamera2
(``Picamera2Capture``) and anything OpenCV opens (``OpenCvCapture``: a V4L2 device, a video file, numbered
stills). Both give BGR ``numpy`` frames, OpenCV's order, and own the start, stop and size handling.

Two parts use them, each through a thin adapter of its own: the kiosk's scan camera
(``kiosk_ui.hardware.camera``: JPEG stills and the recogniser's query frame) and the door counter's frame
source (``edge.footfall.hardware``: frames with their times). Neither part may import the other, so the
shared code lives here.

picamera2 comes from Raspberry Pi OS's apt repository (``python3-picamera2``) and OpenCV from the base
dependencies; both are imported only when a camera starts, so importing this module costs nothing.
"""

import io
import time
from pathlib import Path
from typing import Any

import numpy as np

PICAMERA2_MISSING = "picamera2 is not installed (apt install python3-picamera2)"


class CameraUnavailable(RuntimeError):
    """A camera did not open, or gave no frame (absent, busy, or its library is not installed)."""


class OpenCvCapture:
    """``cv2.VideoCapture`` on a device index (``/dev/video0`` is 0), through V4L2 where this OpenCV has it,
    or on a path: a device node, a video file, a pattern of numbered stills (``frame%02d.jpg``), read by
    whichever of OpenCV's backends takes it. ``size`` is asked of the device when given; a file plays at its
    own size."""

    DEFAULT_FPS = 15.0
    """The rate assumed when the capture does not say its own (a device that reports 0)."""

    def __init__(self, where: int | str | Path, *, size: tuple[int, int] | None = None) -> None:
        self.where = where
        self.size = size
        self.fps = self.DEFAULT_FPS
        self._capture: Any = None

    @property
    def running(self) -> bool:
        return self._capture is not None

    def start(self) -> None:
        """Open the device or file; nothing when it is open already (a second handle would hold it twice)."""
        import cv2

        if self._capture is not None:
            return
        if isinstance(self.where, int):
            backend = cv2.CAP_V4L2 if hasattr(cv2, "CAP_V4L2") else cv2.CAP_ANY
            capture = cv2.VideoCapture(self.where, backend)
        else:
            capture = cv2.VideoCapture(str(self.where))
        if not capture.isOpened():
            capture.release()
            raise CameraUnavailable(f"OpenCV could not open {self.where!r}")
        if self.size is not None:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.size[0])
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.size[1])
        self.fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0) or self.DEFAULT_FPS
        self._capture = capture

    def read(self) -> np.ndarray | None:
        """The next frame (BGR), or None: not started, the end of a file, or a device that gave none."""
        if self._capture is None:
            return None
        ok, frame = self._capture.read()
        if not ok or frame is None:
            return None
        return np.asarray(frame)

    def stop(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class Picamera2Capture:
    """The Pi camera module through picamera2, its main stream at ``size`` as ``RGB888`` (B, G, R in memory:
    OpenCV's order, so no conversion).

    ``fps`` given: a video configuration held at that rate with a few buffers (the door counter's, which
    wants every frame on time); None: a still configuration (the kiosk's, which wants the sharpest single
    frame). ``lores``: also the ISP's second, low-resolution stream at that size (YUV420, the only format a
    Pi 4 and earlier allow there), scaled from the same field of view by the hardware."""

    def __init__(
        self,
        size: tuple[int, int],
        *,
        fps: float | None = None,
        lores: tuple[int, int] | None = None,
        buffer_count: int = 4,
    ) -> None:
        self.size, self.fps, self.lores, self.buffer_count = size, fps, lores, buffer_count
        self._camera: Any = None

    @property
    def running(self) -> bool:
        return self._camera is not None

    def start(self) -> None:
        """Open, configure and start the camera; nothing when it runs already. ``CameraUnavailable`` when it
        cannot, with the camera closed again (another process may want it)."""
        if self._camera is not None:
            return
        try:
            from picamera2 import Picamera2  # type: ignore[import-not-found]  # apt's python3-picamera2
        except ImportError as exc:
            raise CameraUnavailable(PICAMERA2_MISSING) from exc
        try:
            camera = Picamera2()
        except Exception as exc:  # libcamera's errors: no camera, or one another process holds
            raise CameraUnavailable(f"the Pi camera cannot be opened: {exc}") from exc
        try:
            self._configure_and_start(camera)
        except Exception as exc:
            camera.close()
            raise CameraUnavailable(f"the Pi camera cannot be started: {exc}") from exc
        self._camera = camera

    def _configure_and_start(self, camera: Any) -> None:
        streams: dict[str, Any] = {"main": {"size": self.size, "format": "RGB888"}}
        if self.lores is not None:
            streams["lores"] = {"size": self.lores, "format": "YUV420"}
        if self.fps is None:
            config = camera.create_still_configuration(**streams)
        else:
            frame_us = int(1_000_000 / self.fps)
            config = camera.create_video_configuration(
                **streams,
                buffer_count=self.buffer_count,
                controls={"FrameDurationLimits": (frame_us, frame_us)},
            )
        camera.configure(config)
        camera.start()

    def _started(self) -> Any:
        if self._camera is None:
            raise CameraUnavailable("the Pi camera is not started")
        return self._camera

    def read(self) -> tuple[np.ndarray, float]:
        """The next main frame (waits for it) and its time: the sensor's timestamp, in seconds."""
        request = self._started().capture_request()
        try:
            frame = request.make_array("main")
            t = request.get_metadata().get("SensorTimestamp", time.monotonic_ns()) / 1e9
        finally:
            request.release()
        return np.asarray(frame), float(t)

    def read_with_lores(self) -> tuple[np.ndarray, np.ndarray]:
        """The main frame and the lores frame of one request (one moment), both BGR."""
        import cv2

        if self.lores is None:
            raise ValueError("this camera was set up without a lores stream")
        # lores comes as YUV420 planes of (H * 3 / 2) x stride, and the stride may be wider than the picture.
        (main, lores), _metadata = self._started().capture_arrays(["main", "lores"])
        bgr = cv2.cvtColor(lores, cv2.COLOR_YUV2BGR_I420)[:, : self.lores[0]]
        return np.asarray(main), np.asarray(bgr)

    def jpeg(self) -> bytes:
        """One still of the main stream as JPEG, encoded by picamera2."""
        out = io.BytesIO()
        self._started().capture_file(out, format="jpeg")
        return out.getvalue()

    def stop(self) -> None:
        if self._camera is not None:
            self._camera.stop()
            self._camera.close()
            self._camera = None
