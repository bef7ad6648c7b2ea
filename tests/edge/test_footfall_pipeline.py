"""The door counter's pipeline on generated door sequences (tuning seeds only: the benchmark's held-out
seeds stay unseen), and the door line."""

import cv2
import numpy as np
import pytest

from edge.footfall.line import DoorLine
from edge.footfall.pipeline import Crossing, DoorCounter
from edge.footfall.synthetic import HELD_OUT_SEEDS, SCENARIOS, TUNING_SEEDS, DoorSequence, door_sequence
from models.footfall import Direction

SEEDS = list(TUNING_SEEDS)[:3]


def run(seq: DoorSequence, counter: DoorCounter | None = None) -> tuple[DoorCounter, list[Crossing]]:
    counter = counter or DoorCounter(seq.line)
    crossings: list[Crossing] = []
    for i, frame in enumerate(seq.frames):
        crossings.extend(counter.feed(frame, seq.time_of(i)))
    return counter, crossings


# ------------------------------------------------------------------------------------------- the line


def test_a_line_parses_from_fractions_and_from_pixels() -> None:
    assert DoorLine.parse("0,0.5,1,0.5") == DoorLine(0.0, 0.5, 1.0, 0.5)
    assert DoorLine.parse(" 0 , 120 , 320 , 120 ", size=(320, 240)) == DoorLine(0.0, 0.5, 1.0, 0.5)
    assert DoorLine.parse("0.1,0.2,0.9,0.3", in_side=-1).in_side == -1
    assert str(DoorLine(0.0, 0.5, 1.0, 0.5)) == "0,0.5,1,0.5"
    assert DoorLine.parse(str(DoorLine(0.25, 0.5, 0.75, 0.5))) == DoorLine(0.25, 0.5, 0.75, 0.5)


@pytest.mark.parametrize(
    "text", ["", "1,2,3", "a,b,c,d", "0,0.5,1,0.5,9", "-0.1,0.5,1,0.5", "0.5,0.5,0.5,0.5", "nan,0,1,1"]
)
def test_a_bad_line_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        DoorLine.parse(text)


def test_pixels_need_the_frame_size_and_must_lie_in_it() -> None:
    with pytest.raises(ValueError, match="pixels"):
        DoorLine.parse("0,120,320,120")
    with pytest.raises(ValueError, match="outside"):
        DoorLine.parse("0,120,640,120", size=(320, 240))
    with pytest.raises(ValueError, match="in_side"):
        DoorLine(0, 0.5, 1, 0.5, in_side=0)


def test_the_side_is_a_signed_distance_in_pixels_positive_inside() -> None:
    line = DoorLine(0.0, 0.5, 1.0, 0.5)  # left to right: below is inside
    assert line.side((100, 200), (320, 240)) == pytest.approx(80)
    assert line.side((100, 100), (320, 240)) == pytest.approx(-20)
    assert line.side((5, 120), (320, 240)) == pytest.approx(0)
    flipped = DoorLine(0.0, 0.5, 1.0, 0.5, in_side=-1)
    assert flipped.side((100, 200), (320, 240)) == pytest.approx(-80)
    # A vertical line drawn downwards: the right of its direction in the image is the left of the frame.
    vertical = DoorLine(0.5, 0.0, 0.5, 1.0)
    assert vertical.side((100, 50), (320, 240)) > 0
    assert vertical.side((300, 50), (320, 240)) < 0
    # The same line fits any resolution: the distance scales with it.
    assert line.side((200, 400), (640, 480)) == pytest.approx(160)


# ------------------------------------------------------------------------------------------- the generator


def test_sequences_are_reproducible_and_their_truth_is_plausible() -> None:
    a, b = door_sequence("mixed", 4), door_sequence("mixed", 4)
    assert a.truth == b.truth
    assert a.pir == b.pir
    assert len(a.frames) == len(b.frames)
    first = next(iter(a.frames))
    assert first.dtype == np.uint8
    assert first.shape == (240, 320, 3)
    assert np.array_equal(first, next(iter(b.frames)))
    assert len(a.frames) / a.fps > 55  # about a minute
    assert a.truth_in + a.truth_out >= 10
    assert all(0 <= c.frame_index < len(a.frames) for c in a.truth)
    assert not set(TUNING_SEEDS) & set(HELD_OUT_SEEDS)
    with pytest.raises(ValueError, match="unknown scenario"):
        door_sequence("nobody", 1)


def test_the_pir_sees_motion_around_each_crossing() -> None:
    seq = door_sequence("single_in", 2)
    times = [t for t, _ in seq.pir]
    assert times == sorted(times)
    assert seq.pir[0][1] is True
    assert seq.pir[-1][1] is False
    on = [(t0, t1) for (t0, a), (t1, _) in zip(seq.pir, seq.pir[1:], strict=False) if a]
    for crossing in seq.truth:
        t = seq.time_of(crossing.frame_index)
        assert any(t0 - 0.5 <= t <= t1 + 0.5 for t0, t1 in on)


# ------------------------------------------------------------------------------------------- counting


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_each_scenario_counts_within_tolerance(scenario: str) -> None:
    # Over a few tuning seeds: at most one miscount per direction, and exact for the simple ones.
    err_in = err_out = truth = 0
    for seed in SEEDS:
        seq = door_sequence(scenario, seed)
        counter, _ = run(seq)
        ins, outs = counter.counts
        err_in += abs(ins - seq.truth_in)
        err_out += abs(outs - seq.truth_out)
        truth += seq.truth_in + seq.truth_out
    allowed = 0 if scenario in ("single_in", "single_out", "turn_back", "lingering_on_line") else 1
    assert err_in <= allowed, (scenario, err_in, truth)
    assert err_out <= allowed, (scenario, err_out, truth)


def test_counts_are_the_sum_of_the_crossings_and_frames_are_counted() -> None:
    seq = door_sequence("mixed", 1)
    counter, crossings = run(seq)
    ins = sum(1 for c in crossings if c.direction is Direction.IN)
    assert counter.counts == (ins, len(crossings) - ins)
    assert counter.frames_processed == len(seq.frames)
    assert [c.frame_index for c in crossings] == sorted(c.frame_index for c in crossings)
    assert all(c.t == pytest.approx(seq.time_of(c.frame_index)) for c in crossings)


@pytest.mark.parametrize("seed", SEEDS)
def test_lingering_on_the_line_is_one_crossing_at_most(seed: int) -> None:
    seq = door_sequence("lingering_on_line", seed)
    _, crossings = run(seq)
    assert [c.direction for c in crossings] == [c.direction for c in seq.truth]
    assert len({c.track_id for c in crossings}) == len(crossings)  # no track counted twice


def test_a_turn_back_counts_only_what_really_crossed() -> None:
    shallow = deep = 0
    for seed in range(10):
        seq = door_sequence("turn_back", seed)
        _, crossings = run(seq)
        assert [c.direction for c in crossings] == [c.direction for c in seq.truth]
        if seq.truth:  # the deep one: in then out (or out then in) by the same person
            deep += 1
            assert len(crossings) == 2
            assert crossings[0].direction != crossings[1].direction
            assert crossings[0].track_id == crossings[1].track_id
        else:
            shallow += 1
    assert shallow
    assert deep


def test_two_people_side_by_side_are_two() -> None:
    for seed in SEEDS:
        seq = door_sequence("side_by_side", seed)
        _, crossings = run(seq)
        assert sorted(c.direction for c in crossings) == sorted(c.direction for c in seq.truth)


@pytest.mark.parametrize(
    ("scenario", "size", "grey"),
    [
        ("crossing_each_other", (640, 480), False),
        ("crossing_each_other", (160, 120), False),
        # Grey frames work, with less to tell people from the floor (and shadows) by: a simpler door.
        ("single_out", (320, 240), True),
    ],
)
def test_frames_of_other_sizes_and_grey_frames_count_the_same(
    scenario: str, size: tuple[int, int], grey: bool
) -> None:
    seq = door_sequence(scenario, 2, size=size)
    counter = DoorCounter(seq.line)
    for i, frame in enumerate(seq.frames):
        counter.feed(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if grey else frame, seq.time_of(i))
    assert counter.counts == (seq.truth_in, seq.truth_out)


def test_the_pipeline_may_work_at_another_size_and_with_knn() -> None:
    seq = door_sequence("single_out", 3)
    for counter in (DoorCounter(seq.line, size=(640, 480)), DoorCounter(seq.line, detector="knn")):
        run(seq, counter)
        assert counter.counts == (seq.truth_in, seq.truth_out)
    with pytest.raises(ValueError, match="detector"):
        DoorCounter(seq.line, detector="hog")
    with pytest.raises(TypeError):
        DoorCounter(seq.line, no_such_knob=1)


def test_after_a_reset_the_count_goes_on_and_the_background_is_kept() -> None:
    seq = door_sequence("single_in", 5)
    frames = list(seq.frames)
    counter = DoorCounter(seq.line)
    for i, frame in enumerate(frames):
        counter.feed(frame, seq.time_of(i))
    before = counter.counts
    counter.reset()  # the camera slept; the same door again
    for i, frame in enumerate(frames):
        counter.feed(frame, 100 + seq.time_of(i))
    assert counter.counts == (2 * before[0], 2 * before[1]) == (2 * seq.truth_in, 0)
    assert counter.frames_processed == 2 * len(frames)


def test_an_empty_door_with_noise_and_a_light_step_counts_nothing() -> None:
    rng = np.random.default_rng(0)
    floor = rng.integers(60, 200, size=(240, 320, 3)).astype(np.float32)
    counter = DoorCounter(DoorLine(0, 0.5, 1, 0.5))
    for i in range(150):
        gain = 1.3 if i > 70 else 1.0
        frame = np.clip(floor * gain + rng.normal(0, 8, size=floor.shape), 0, 255).astype(np.uint8)
        assert counter.feed(frame, i / 15) == []
    assert counter.counts == (0, 0)
