"""The door counter's coordinator: it owns the PIR and the camera, wakes the camera on motion, feeds its frames
to the vision pipeline, hands each crossing to the event sink, and gives out an immutable ``CounterSnapshot``.

Rules (docs/footfall-device.md says them for field staff):

- **The camera runs only while someone is near**: from the PIR's rising edge until ``hold_s`` (3 s) after
  it last saw motion; otherwise it is stopped (``FrameSource.stop``: picamera2 closed, the sensor idle). Each
  wake starts the pipeline afresh (``reset``): tracks from a minute ago mean nothing now. With no PIR, the
  camera runs all the time.
- **Each crossing is one event**, ``in`` or ``out`` as the pipeline says, with source ``fused`` when the PIR's
  output was high at the frame where the crossing was seen (both saw someone), ``camera`` otherwise (in the
  hold after the PIR fell, or with no PIR).
- **No camera: PIR-only counting, lower quality.** A PIR says only that something warm moved near the door,
  never which way, nor how many. Each *motion episode* (a rising edge after at least ``hold_s`` of quiet;
  motion again within ``hold_s`` is the same episode) counts as one visit, recorded as ``in`` with source
  ``pir``; no ``out`` is ever recorded from a PIR alone (occupancy from PIR-only events is meaningless). Two
  people walking in together are one episode; one person lingering in the doorway for a minute is one.

The sink is called on the coordinator's thread as each crossing is seen (``record_crossing`` writes it to
SQLite at once). A sink that raises stops the counter (``error`` holds the exception and ``run`` raises it):
``edgestore footfall run`` then exits non-zero and systemd starts it again, rather than counting on while
losing events.

Threads: gpiozero calls back from its own thread; the coordinator works on one thread of its own
(``start``/``stop``) and only wakes on the callback. Tests drive it without a thread: ``step()`` does one
round on the clock they give.
"""

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np

from edge.footfall.hardware import FrameSource, HardwareUnavailable, MotionSensor
from models.footfall import Direction, FootfallSource
from plumbing import utcnow

log = logging.getLogger(__name__)

HOLD_S = 3.0
"""How long the camera keeps running after the PIR last saw motion; also the quiet that ends a PIR episode."""
IDLE_POLL_S = 0.1
"""With the camera stopped, how often the PIR is looked at (a callback wakes the coordinator sooner)."""
FPS_WINDOW_S = 2.0
STALL_S = 10.0
"""A running camera that gives no frame this long is taken for dead: the counter ends (systemd restarts it)."""


class CrossingLike(Protocol):
    """What the coordinator needs of a crossing (``edge.footfall.pipeline.Crossing``)."""

    @property
    def direction(self) -> Direction: ...


class Pipeline(Protocol):
    """The vision pipeline (``edge.footfall.pipeline.DoorCounter``): frames in, crossings out."""

    def feed(self, frame: np.ndarray, t: float) -> Sequence[CrossingLike]: ...

    def reset(self) -> None: ...


class EventSink(Protocol):
    """Where each counted crossing goes: on a node ``lambda d, s, at: record_crossing(node, d, s, at)``."""

    def __call__(self, direction: Direction, source: FootfallSource, at: datetime) -> None: ...


@dataclass(frozen=True)
class CounterSnapshot:
    running: bool
    camera_on: bool
    motion: bool
    ins: int
    outs: int
    last_event_at: datetime | None
    fps: float
    """Frames processed per second over the last two seconds while the camera ran; 0 while it sleeps."""
    frames: int
    episodes: int
    """PIR motion episodes seen (counted as visits only with no camera)."""


class FootfallCounter:
    def __init__(
        self,
        sink: EventSink,
        *,
        camera: FrameSource | None = None,
        pipeline: Pipeline | None = None,
        pir: MotionSensor | None = None,
        hold_s: float = HOLD_S,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = utcnow,
        on_event: Callable[[Direction, FootfallSource, datetime], None] | None = None,
        on_round: Callable[[], None] | None = None,
    ) -> None:
        if camera is None and pir is None:
            raise ValueError("the door counter needs a camera, a PIR, or both")
        if camera is not None and pipeline is None:
            raise ValueError("a camera needs the vision pipeline")
        self.sink, self.camera, self.pipeline, self.pir = sink, camera, pipeline, pir
        self.hold_s, self.clock, self.wall = hold_s, clock, wall
        self.on_event, self.on_round = on_event, on_round  # told of each event; called each round of run()
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._starved_since: float | None = None  # since when a running camera has given no frame
        self._stop_requested = False  # set by a signal handler (request_stop)
        self._running = False
        self._ins = self._outs = self._frames = self._episodes = 0
        self._last_event_at: datetime | None = None
        self._motion = False
        self._last_motion: float | None = None  # clock time the PIR last read high
        self._frame_times: deque[float] = deque()
        self.ended = False  # a finite camera (a video file) reached its end
        if pir is not None:
            pir.on_change(lambda _motion: self._wake.set())

    # --- one round ------------------------------------------------------------------------------------------

    def step(self) -> bool:
        """One round: read the PIR, start or stop the camera, process one frame if it runs. True when a frame
        was processed (the caller need not wait before the next round)."""
        now = self.clock()
        motion = self.pir.motion if self.pir is not None else False
        if motion:
            quiet_before = self._last_motion is None or now - self._last_motion >= self.hold_s
            if not self._motion and quiet_before:
                self._episode_started()
            self._last_motion = now
        with self._lock:
            self._motion = motion
        if self.camera is None:
            return False
        if self._camera_wanted(now):
            if not self.camera.running and not self.ended:
                assert self.pipeline is not None
                self.pipeline.reset()
                self.camera.start()
                self._starved_since = None
                log.info("camera on")
            return self._process_frame(now, motion)
        if self.camera.running:
            self.camera.stop()
            with self._lock:
                self._frame_times.clear()
            log.info("camera off")
        return False

    def _camera_wanted(self, now: float) -> bool:
        if self.pir is None:
            return True
        return self._last_motion is not None and now - self._last_motion < self.hold_s

    def _process_frame(self, now: float, motion: bool) -> bool:
        assert self.camera is not None
        assert self.pipeline is not None
        got = self.camera.read()
        if got is None:
            if not self.camera.running:
                self.ended = True
                log.info("the camera's frames ended")
            elif self._starved_since is None:
                self._starved_since = now
            elif now - self._starved_since > STALL_S:
                # A live camera that gives nothing (unplugged, hung) would leave the counter "on" and
                # counting nothing for ever: end it, so the service is restarted and says why.
                raise HardwareUnavailable(f"the camera gave no frame for {STALL_S:.0f} s")
            return False
        self._starved_since = None
        frame, t = got
        crossings = self.pipeline.feed(frame, t)
        with self._lock:
            self._frames += 1
            self._frame_times.append(now)
            while self._frame_times and now - self._frame_times[0] > FPS_WINDOW_S:
                self._frame_times.popleft()
        source = FootfallSource.FUSED if motion else FootfallSource.CAMERA
        for crossing in crossings:
            self._record(crossing.direction, source)
        return True

    def _episode_started(self) -> None:
        with self._lock:
            self._episodes += 1
        if self.camera is None:  # PIR-only: the episode is the visit
            self._record(Direction.IN, FootfallSource.PIR)

    def _record(self, direction: Direction, source: FootfallSource) -> None:
        at = self.wall()
        self.sink(direction, source, at)
        with self._lock:
            if direction is Direction.IN:
                self._ins += 1
            else:
                self._outs += 1
            self._last_event_at = at
        if self.on_event is not None:
            self.on_event(direction, source, at)

    # --- what it says ---------------------------------------------------------------------------------------

    def snapshot(self) -> CounterSnapshot:
        with self._lock:
            times = list(self._frame_times)
            camera_on = self.camera is not None and self.camera.running
            span = times[-1] - times[0] if len(times) > 1 else 0.0
            return CounterSnapshot(
                running=self._running,
                camera_on=camera_on,
                motion=self._motion,
                ins=self._ins,
                outs=self._outs,
                last_event_at=self._last_event_at,
                fps=round((len(times) - 1) / span, 1) if camera_on and span > 0 else 0.0,
                frames=self._frames,
                episodes=self._episodes,
            )

    # --- its thread -----------------------------------------------------------------------------------------

    def run(self, *, stop_when_ended: bool = True) -> None:
        """Work on this thread until ``stop()`` (or a finite camera's end); re-raises a sink's failure."""
        with self._lock:
            self._running = True
        try:
            while not (self._stopping.is_set() or self._stop_requested):
                if self.on_round is not None:
                    self.on_round()
                if self.step():
                    continue
                if self.ended and stop_when_ended:
                    break
                self._wake.wait(IDLE_POLL_S)
                self._wake.clear()
        except BaseException as exc:
            self.error = exc
            raise
        finally:
            if self.camera is not None and self.camera.running:
                self.camera.stop()
            with self._lock:
                self._running = False

    def start(self) -> None:
        """Run on a thread of its own (again, after a ``stop``)."""
        self._stopping.clear()
        self._stop_requested = False

        def work() -> None:
            try:
                self.run()
            except Exception:
                log.exception("the door counter stopped")

        self._thread = threading.Thread(target=work, name="footfall-counter", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if not self._thread.is_alive():  # still working past the timeout: keep the handle
                self._thread = None

    def request_stop(self) -> None:
        """Ask the loop to end at its next round, and nothing else: safe in a signal handler (it takes no
        lock the interrupted thread may hold; the loop looks at the flag at least every 0.1 s)."""
        self._stop_requested = True

    @property
    def alive(self) -> bool:
        """Whether its thread (``start``) is still working: False once it ended, stopped or failed."""
        return self._thread is not None and self._thread.is_alive()
