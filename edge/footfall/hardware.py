"""The door counter's hardware behind two small interfaces, so the coordinator (``counter``) runs the same on a
Pi, on a laptop and in tests.

``MotionSensor``: a PIR's output, ``motion`` now, and a callback told of each change (the coordinator uses
it only to wake at once; it also polls ``motion``).

- ``GpioPir``: a PIR on a GPIO pin through gpiozero (the ``pi`` extra, imported only here). Tests pass
  ``gpiozero.pins.mock.MockFactory()`` as ``pin_factory`` and drive the pin high and low.
- ``ScriptedPir``: recorded or generated ``(t, motion)`` changes (``synthetic.door_sequence(...).pir``),
  replayed against a clock: in real time by default, or on a test's own clock.

``FrameSource``: ``start()``, ``stop()``, ``running``, and ``read()`` giving the next frame (BGR or grey
``np.ndarray``) with its time in seconds, or None when there is none (a live camera that timed out, or a
finite source at its end: then ``running`` is False).

- ``PiCamera``: the Pi camera module through picamera2 (Raspberry Pi OS's ``python3-picamera2``, imported
  only in ``start``), a low-resolution video configuration (320x240 by default, a few buffers).
- ``OpenCvSource``: ``cv2.VideoCapture`` on a V4L2 device index (a USB camera) or a video file.
- ``FrameList``: frames held in memory (the generator's, a test's).

The first two are thin adapters of the capture code the kiosk's camera shares (``plumbing.cameras``): they
add the frames' times, the end of a file, and this part's ``HardwareUnavailable``.

What was run where: ``GpioPir`` on gpiozero's MockFactory, ``ScriptedPir``, ``FrameList`` and
``OpenCvSource`` on video files were run here (tests/edge/test_footfall_hardware.py,
tests/test_footfall_cli.py), ``PiCamera`` on a stand-in for picamera2 (tests/plumbing/test_cameras.py).
``PiCamera`` on a real Pi camera and ``OpenCvSource`` on a real device were **not** run: this machine has
no camera and no picamera2.
"""

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from plumbing.cameras import CameraUnavailable, OpenCvCapture, Picamera2Capture

MotionCallback = Callable[[bool], None]
Clock = Callable[[], float]


class MotionSensor(Protocol):
    @property
    def motion(self) -> bool: ...

    def on_change(self, callback: MotionCallback | None) -> None:
        """Call ``callback(motion)`` on each change (from another thread); None: stop calling."""

    def close(self) -> None: ...


class FrameSource(Protocol):
    @property
    def running(self) -> bool: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def read(self) -> tuple[np.ndarray, float] | None: ...


class HardwareUnavailable(RuntimeError):
    """A camera or a sensor did not open (absent, busy, or its library is not installed)."""


# --- the PIR ------------------------------------------------------------------------------------------------


class GpioPir:
    """A PIR sensor's output on GPIO ``pin`` (BCM numbering: GPIO 17 is header pin 11) through gpiozero's
    ``MotionSensor``. gpiozero samples the pin in its own thread and calls back from it."""

    def __init__(self, pin: int, *, pin_factory: Any = None) -> None:
        try:
            from gpiozero import MotionSensor as GpioMotionSensor  # type: ignore[import-untyped]  # pi extra
        except ImportError as exc:
            raise HardwareUnavailable("gpiozero is not installed (the `pi` extra)") from exc
        try:
            # queue_len=1: the pin as it is, no averaging (a PIR module already holds its output high for
            # a few seconds); sample_rate 20 Hz: a change is seen within 50 ms.
            self._sensor = GpioMotionSensor(pin, queue_len=1, sample_rate=20, pin_factory=pin_factory)
        except Exception as exc:  # gpiozero's errors: no GPIO chip, pin in use, no pin library
            raise HardwareUnavailable(f"the PIR on GPIO {pin} did not open: {exc}") from exc
        self.pin = pin
        self._callback: MotionCallback | None = None
        self._sensor.when_motion = lambda: self._changed(True)
        self._sensor.when_no_motion = lambda: self._changed(False)

    def _changed(self, motion: bool) -> None:
        callback = self._callback
        if callback is not None:
            callback(motion)

    @property
    def motion(self) -> bool:
        return bool(self._sensor.motion_detected)

    def on_change(self, callback: MotionCallback | None) -> None:
        self._callback = callback

    def close(self) -> None:
        self._callback = None
        self._sensor.close()


class ScriptedPir:
    """A PIR that replays ``(t, motion)`` changes, ``t`` in seconds from ``start()`` (or from construction)
    on ``clock``. ``motion`` is the state of the last change at or before now; with ``play()`` a thread
    calls back at each change in real time (on the default clock)."""

    def __init__(self, events: Sequence[tuple[float, bool]], *, clock: Clock = time.monotonic) -> None:
        self.events = sorted(events, key=lambda e: e[0])
        self._clock = clock
        self._t0 = clock()
        self._callback: MotionCallback | None = None
        self._last = False
        self._closed = threading.Event()
        self._player: threading.Thread | None = None

    def start(self) -> None:
        """Take now as the script's time 0."""
        self._t0 = self._clock()

    def motion_at(self, t: float) -> bool:
        state = False
        for at, motion in self.events:
            if at > t:
                break
            state = motion
        return state

    @property
    def motion(self) -> bool:
        now = self.motion_at(self._clock() - self._t0)
        if now != self._last:
            self._last = now
            self._changed(now)
        return now

    def _changed(self, motion: bool) -> None:
        callback = self._callback
        if callback is not None:
            callback(motion)

    def on_change(self, callback: MotionCallback | None) -> None:
        self._callback = callback

    def play(self) -> None:
        """Call back at each change, from a thread, as the clock reaches it (``time.monotonic`` only)."""

        def replay() -> None:
            for at, _ in self.events:
                if self._closed.wait(max(0.0, self._t0 + at - self._clock())):
                    return
                _ = self.motion  # compares with the last state and calls back on a change

        self._player = threading.Thread(target=replay, name="scripted-pir", daemon=True)
        self._player.start()

    def close(self) -> None:
        self._callback = None
        self._closed.set()
        if self._player is not None:
            self._player.join()


# --- the camera ---------------------------------------------------------------------------------------------


class FrameList:
    """Frames in memory, read in order, each at ``index / fps`` seconds; then None (and not ``running``).
    ``start`` rewinds unless ``resume`` (a camera woken again goes on where it stopped)."""

    def __init__(self, frames: Sequence[np.ndarray], *, fps: float = 15.0, resume: bool = True) -> None:
        self.frames, self.fps, self.resume = frames, fps, resume
        self.index = 0
        self._running = False
        self.starts = 0

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        if not self.resume:
            self.index = 0
        self._running = self.index < len(self.frames)
        self.starts += 1

    def stop(self) -> None:
        self._running = False

    def read(self) -> tuple[np.ndarray, float] | None:
        if not self._running:
            return None
        if self.index >= len(self.frames):
            self._running = False
            return None
        frame, t = self.frames[self.index], self.index / self.fps
        self.index += 1
        return frame, t


class OpenCvSource:
    """``cv2.VideoCapture`` on a V4L2 device (an index: ``/dev/video0`` is 0) or a video file, through
    ``plumbing.cameras.OpenCvCapture``. A file's frames carry their time in the file (frame number / the
    file's fps) and it ends; a device's carry the time they were read (monotonic) and a failed read is
    None."""

    def __init__(self, where: int | str | Path, *, size: tuple[int, int] = (320, 240)) -> None:
        self.where: int | Path = where if isinstance(where, int) else Path(where)
        self.size = size
        self.is_file = isinstance(self.where, Path)
        # A file plays at its own size (the pipeline resizes); a device is asked for the working size.
        self._capture = OpenCvCapture(self.where, size=None if self.is_file else size)
        self._index = 0
        self._running = False

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        if isinstance(self.where, Path) and not self.where.is_file():
            raise HardwareUnavailable(f"no video file at {self.where}")
        try:
            self._capture.start()
        except CameraUnavailable as exc:
            raise HardwareUnavailable(str(exc)) from exc
        self._index = 0
        self._running = True

    def stop(self) -> None:
        self._capture.stop()
        self._running = False

    def read(self) -> tuple[np.ndarray, float] | None:
        if not self._capture.running:
            return None
        frame = self._capture.read()
        if frame is None:
            if self.is_file:  # the end of the file
                self.stop()
            return None
        if self.is_file:
            t = self._index / self._capture.fps
            self._index += 1
            return frame, t
        return frame, time.monotonic()


class PiCamera:
    """The Pi camera module through ``plumbing.cameras.Picamera2Capture``: a video configuration at
    ``size`` (320x240 by default, the pipeline's working size, so nothing is scaled on the CPU), BGR
    frames, ``fps`` frames a second. Each ``read`` waits for the next frame; its time is the sensor's
    timestamp, in seconds."""

    def __init__(self, size: tuple[int, int] = (320, 240), fps: float = 15.0) -> None:
        self.size, self.fps = size, fps
        self._camera = Picamera2Capture(size, fps=fps)

    @property
    def running(self) -> bool:
        return self._camera.running

    def start(self) -> None:
        try:
            self._camera.start()
        except CameraUnavailable as exc:
            raise HardwareUnavailable(str(exc)) from exc

    def stop(self) -> None:
        self._camera.stop()

    def read(self) -> tuple[np.ndarray, float] | None:
        if not self._camera.running:
            return None
        return self._camera.read()


def camera_from(spec: str, *, size: tuple[int, int] = (320, 240)) -> FrameSource:
    """The camera an option names: ``pi`` (picamera2), ``v4l2:N`` (a device index) or ``v4l2:/dev/videoN``,
    or ``file:PATH`` (a recorded video, played once). ``ValueError`` for anything else."""
    kind, _, where = spec.partition(":")
    if kind == "pi" and not where:
        return PiCamera(size)
    if kind == "v4l2":
        where = where or "0"
        if where.isdigit():
            return OpenCvSource(int(where), size=size)
        if where.startswith("/dev/video") and where[len("/dev/video") :].isdigit():
            return OpenCvSource(int(where[len("/dev/video") :]), size=size)
    if kind == "file" and where:
        return OpenCvSource(Path(where), size=size)
    raise ValueError(f"camera {spec!r}: write pi, v4l2:N, v4l2:/dev/videoN or file:PATH")
