"""The door counter's coordinator on its own: the PIR wakes the camera, the camera sleeps after the hold, each
crossing goes to the sink, PIR-only episodes, the snapshot. The vision pipeline and the event store are
stand-ins written here (``BrightnessStepCounter``, ``ListSink``): the coordinator needs only their protocols,
and this test is about when the camera runs and what is recorded, not about vision."""

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pytest

from edge.footfall.counter import CounterSnapshot, FootfallCounter
from edge.footfall.hardware import FrameList, HardwareUnavailable, ScriptedPir
from models.footfall import Direction, FootfallSource

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class CrossingForTest:
    direction: Direction
    t: float


class BrightnessStepCounter:
    """Test pipeline: a crossing whenever the frame's mean brightness jumps by more than 100 (up: ``in``,
    down: ``out``)."""

    __test__ = False

    def __init__(self) -> None:
        self.previous: float | None = None
        self.resets = 0
        self.fed = 0

    def feed(self, frame: np.ndarray, t: float) -> Sequence[CrossingForTest]:
        self.fed += 1
        mean = float(frame.mean())
        previous, self.previous = self.previous, mean
        if previous is None or abs(mean - previous) <= 100:
            return []
        return [CrossingForTest(Direction.IN if mean > previous else Direction.OUT, t)]

    def reset(self) -> None:
        self.resets += 1
        self.previous = None


class ListSink:
    """Test event sink: appends each event to a list."""

    def __init__(self) -> None:
        self.events: list[tuple[Direction, FootfallSource, datetime]] = []

    def __call__(self, direction: Direction, source: FootfallSource, at: datetime) -> None:
        self.events.append((direction, source, at))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def frames(*levels: int) -> list[np.ndarray]:
    return [np.full((24, 32), level, np.uint8) for level in levels]


def counter_with(
    pir_events: list[tuple[float, bool]], levels: list[int] | None, clock: Clock
) -> tuple[FootfallCounter, FrameList | None, BrightnessStepCounter, ListSink]:
    sink = ListSink()
    camera = FrameList(frames(*levels)) if levels is not None else None
    pipeline = BrightnessStepCounter()
    pir = ScriptedPir(pir_events, clock=clock)
    counter = FootfallCounter(
        sink,
        camera=camera,
        pipeline=pipeline if camera is not None else None,
        pir=pir,
        hold_s=3.0,
        clock=clock,
        wall=lambda: T0,
    )
    return counter, camera, pipeline, sink


def run_until(counter: FootfallCounter, clock: Clock, until: float, dt: float = 0.1) -> None:
    while clock.now < until - 1e-9:
        counter.step()
        clock.now = round(clock.now + dt, 6)


def test_the_camera_stays_idle_while_the_pir_sees_nothing():
    clock = Clock()
    counter, camera, pipeline, sink = counter_with([], [0, 200, 0] * 10, clock)
    assert camera is not None
    run_until(counter, clock, 60.0)
    assert camera.starts == 0
    assert not camera.running
    assert pipeline.fed == 0
    assert sink.events == []
    assert counter.snapshot().camera_on is False


def test_motion_wakes_the_camera_and_each_crossing_is_recorded_fused_then_camera_in_the_hold():
    clock = Clock()
    # PIR high from 1.0 to 1.5 s; frames: someone comes in (0 -> 200) while it is high, goes out (200 -> 0)
    # in the hold after it fell.
    counter, camera, pipeline, sink = counter_with(
        [(1.0, True), (1.5, False)], [0, 0, 0, 200, 200, 200, 200, 200] + [0] * 30, clock
    )
    assert camera is not None
    run_until(counter, clock, 1.0)
    assert camera.starts == 0
    run_until(counter, clock, 1.1)  # the step at t = 1.0 saw the PIR rise
    assert camera.running
    assert pipeline.resets == 1
    snap = counter.snapshot()
    assert snap.camera_on
    assert snap.motion
    run_until(counter, clock, 2.5)
    assert [(d, s) for d, s, _ in sink.events] == [
        (Direction.IN, FootfallSource.FUSED),
        (Direction.OUT, FootfallSource.CAMERA),
    ]
    snap = counter.snapshot()
    assert (snap.ins, snap.outs, snap.last_event_at) == (1, 1, T0)
    assert snap.fps == pytest.approx(10.0)  # one frame a step, a step every 0.1 s of the clock


def test_the_camera_sleeps_after_the_hold_and_wakes_again_on_the_next_motion():
    clock = Clock()
    counter, camera, pipeline, _ = counter_with(
        [(1.0, True), (2.0, False), (10.0, True), (10.5, False)], [0] * 500, clock
    )
    assert camera is not None
    run_until(counter, clock, 4.9)  # last high reading at 1.9 s: the hold runs to 4.9 s
    assert camera.running
    run_until(counter, clock, 5.1)
    assert not camera.running
    snap = counter.snapshot()
    assert not snap.camera_on
    assert snap.fps == 0.0
    fed = pipeline.fed
    run_until(counter, clock, 9.9)
    assert pipeline.fed == fed  # asleep: no frame read
    run_until(counter, clock, 10.2)
    assert camera.running
    assert camera.starts == 2
    assert pipeline.resets == 2  # each wake starts the pipeline afresh
    assert counter.snapshot().episodes == 2


def test_without_a_camera_each_motion_episode_is_one_pir_in():
    clock = Clock()
    # Episode 1: 1.0-2.0 and again at 3.0 (within the 3 s hold: the same visit). Episode 2: 9.0 (6 s later).
    pir = [(1.0, True), (2.0, False), (3.0, True), (3.5, False), (9.0, True), (12.0, False)]
    counter, _, _, sink = counter_with(pir, None, clock)
    run_until(counter, clock, 20.0)
    assert [(d, s) for d, s, _ in sink.events] == [
        (Direction.IN, FootfallSource.PIR),
        (Direction.IN, FootfallSource.PIR),
    ]
    snap = counter.snapshot()
    assert snap == CounterSnapshot(
        running=False,
        camera_on=False,
        motion=False,
        ins=2,
        outs=0,
        last_event_at=T0,
        fps=0.0,
        frames=0,
        episodes=2,
    )


def test_with_a_camera_pir_episodes_are_not_counted_as_visits():
    clock = Clock()
    counter, _, _, sink = counter_with([(1.0, True), (2.0, False)], [0] * 100, clock)
    run_until(counter, clock, 10.0)
    assert sink.events == []
    assert counter.snapshot().episodes == 1


def test_without_a_pir_the_camera_runs_all_the_time_and_the_counter_ends_with_its_frames():
    sink = ListSink()
    camera = FrameList(frames(0, 200, 200, 0, 0, 200))
    counter = FootfallCounter(sink, camera=camera, pipeline=BrightnessStepCounter(), wall=lambda: T0)
    worker = threading.Thread(target=counter.run)
    worker.start()
    worker.join(5)
    assert not worker.is_alive()
    assert counter.ended
    assert [(d, s) for d, s, _ in sink.events] == [
        (Direction.IN, FootfallSource.CAMERA),
        (Direction.OUT, FootfallSource.CAMERA),
        (Direction.IN, FootfallSource.CAMERA),
    ]
    snap = counter.snapshot()
    assert (snap.running, snap.ins, snap.outs, snap.frames) == (False, 2, 1, 6)


def test_a_failing_sink_stops_the_counter_rather_than_losing_events_quietly():
    def broken(direction: Direction, source: FootfallSource, at: datetime) -> None:
        raise OSError("disk full")

    counter = FootfallCounter(broken, camera=FrameList(frames(0, 200)), pipeline=BrightnessStepCounter())
    with pytest.raises(OSError, match="disk full"):
        counter.run()
    assert isinstance(counter.error, OSError)
    assert not counter.snapshot().running


def test_start_and_stop_on_its_own_thread_with_a_pir_woken_in_real_time():
    sink = ListSink()
    pir = ScriptedPir([(0.05, True), (0.3, False)])
    counter = FootfallCounter(sink, pir=pir, hold_s=0.1)
    pir.start()
    pir.play()
    counter.start()
    deadline = threading.Event()
    for _ in range(50):
        if sink.events:
            break
        deadline.wait(0.02)
    assert counter.snapshot().running
    counter.stop()
    pir.close()
    assert [(d, s) for d, s, _ in sink.events] == [(Direction.IN, FootfallSource.PIR)]
    assert not counter.snapshot().running


def test_a_counter_needs_a_sensor_and_a_camera_needs_the_pipeline():
    with pytest.raises(ValueError, match="a camera, a PIR"):
        FootfallCounter(ListSink())
    with pytest.raises(ValueError, match="pipeline"):
        FootfallCounter(ListSink(), camera=FrameList([]))


class PacedCamera:
    """Test camera: an endless grey frame every 10 ms while started, as a live camera paces its reads."""

    def __init__(self) -> None:
        self.running = False
        self.starts = 0
        self.frame = np.zeros((24, 32), np.uint8)
        self.t = 0.0

    def start(self) -> None:
        self.running = True
        self.starts += 1

    def stop(self) -> None:
        self.running = False

    def read(self) -> tuple[np.ndarray, float] | None:
        if not self.running:
            return None
        threading.Event().wait(0.01)
        self.t += 0.01
        return self.frame, self.t


def test_a_gpio_pir_on_mock_pins_wakes_the_camera_on_the_counters_own_thread():
    from gpiozero.pins.mock import MockFactory

    from edge.footfall.hardware import GpioPir

    factory = MockFactory()
    try:
        pir = GpioPir(17, pin_factory=factory)
        camera = PacedCamera()
        counter = FootfallCounter(
            ListSink(), camera=camera, pipeline=BrightnessStepCounter(), pir=pir, hold_s=0.2
        )
        counter.start()
        threading.Event().wait(0.3)
        assert camera.starts == 0  # nothing moved: the camera never started
        assert counter.snapshot().camera_on is False
        factory.pin(17).drive_high()
        for _ in range(100):
            if counter.snapshot().camera_on:
                break
            threading.Event().wait(0.01)
        assert counter.snapshot().camera_on
        assert counter.snapshot().motion
        factory.pin(17).drive_low()
        for _ in range(200):
            if not counter.snapshot().camera_on:
                break
            threading.Event().wait(0.01)
        assert not counter.snapshot().camera_on
        assert camera.starts == 1
        counter.stop()
        pir.close()
    finally:
        factory.reset()


class DeadCamera(FrameList):
    """Test camera: started, it says it runs, and gives no frame (unplugged, or a hung sensor)."""

    def read(self) -> tuple[np.ndarray, float] | None:
        return None


def test_a_live_camera_that_gives_nothing_ends_the_counter_so_it_is_restarted():
    clock = Clock()
    counter = FootfallCounter(
        ListSink(),
        camera=DeadCamera(frames(0)),
        pipeline=BrightnessStepCounter(),
        clock=clock,
        wall=lambda: T0,
    )
    run_until(counter, clock, 9.0)  # quiet for a while: still waiting
    with pytest.raises(HardwareUnavailable, match="no frame for 10 s"):
        run_until(counter, clock, 12.0)


def test_a_stop_asked_from_a_signal_handler_ends_the_loop():
    counter = FootfallCounter(
        ListSink(), camera=FrameList(frames(*[0] * 10_000)), pipeline=BrightnessStepCounter()
    )
    counter.request_stop()  # what footfall run's SIGTERM handler does: a flag, no lock
    counter.run(stop_when_ended=False)  # returns at once instead of counting for ever
    assert not counter.snapshot().running
    counter.start()  # and the counter can work again after a stop
    assert counter.alive or counter.snapshot().frames > 0
    counter.stop()
