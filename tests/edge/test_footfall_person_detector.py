"""The door counter's TFLite person detector: the heatmap's peaks read back where people are, the shipped
model run by the real LiteRT interpreter finds the people of held-out generated doors and the door counter
counts with it (including someone standing on the line far longer than background subtraction holds them),
`edgestore footfall count --detector tflite` on a recorded clip, and models the node must refuse."""

import json
import os
import subprocess
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.footfall.evaluation import Tally, count_sequence
from edge.footfall.geometry import view_width_m
from edge.footfall.person_detector import (
    INPUT_SIZE,
    SHIPPED_MODEL,
    DetectorUnavailable,
    PersonDetector,
    peaks,
    target_heatmap,
)
from edge.footfall.pipeline import DoorCounter
from edge.footfall.synthetic import DOOR_LINE, HELD_OUT_SEEDS, SCENARIOS, door_sequence
from tests.conftest import EDGESTORE, REPO

pytest.importorskip("ai_edge_litert")


@pytest.fixture(scope="module")
def detector() -> PersonDetector:
    return PersonDetector()


def test_the_peaks_of_a_target_heatmap_are_the_people_it_was_drawn_from():
    people = [(40.3, 61.7), (75.0, 58.0), (120.0, 20.0)]
    found = peaks(target_heatmap(people))
    assert len(found) == 3
    for x, y in people:
        nearest = min(found, key=lambda p: abs(p[0] - x) + abs(p[1] - y))
        assert abs(nearest[0] - x) <= 2
        assert abs(nearest[1] - y) <= 2
    assert peaks(target_heatmap([])) == []
    assert peaks(target_heatmap([(-50.0, 10.0)])) == []  # far outside the frame: nobody


def test_a_plateau_is_one_person_and_a_faint_bump_nobody():
    heat = np.zeros((INPUT_SIZE[1] // 8, INPUT_SIZE[0] // 8), np.float32)
    heat[5, 5] = heat[5, 6] = 0.9  # two equal neighbouring maxima
    heat[10, 15] = 0.2
    assert len(peaks(heat)) == 1
    heat[:] = 0
    heat[2, 2] = heat[3, 3] = 1.0  # diagonal neighbours, both saturated
    assert len(peaks(heat)) == 1
    heat[:] = 0
    heat[4:9, 4:9] = 0.9  # a wide saturated patch
    assert len(peaks(heat)) == 1
    heat[:] = 0
    heat[5, 4] = heat[5, 8] = 1.0  # a shoulder width apart: two people
    assert len(peaks(heat)) == 2


def test_the_shipped_model_finds_the_people_of_held_out_doors(detector: PersonDetector):
    """Every 4th frame of one held-out sequence per scenario: a detection within half a shoulder width of a
    person fully in view is a hit; a detection near nobody is a false alarm."""
    hits = misses = false = 0
    for scenario in SCENARIOS:
        seq = door_sequence(scenario, HELD_OUT_SEEDS[3])
        for f in range(0, len(seq.frames), 4):
            truth = [(x, y) for x, y in seq.people_at(f) if 25 <= x <= 295 and 25 <= y <= 215]
            found = detector.detect(seq.frames.frame(f))
            for x, y in truth:
                if any(abs(p.x - x) + abs(p.y - y) <= 24 for p in found):
                    hits += 1
                else:
                    misses += 1
            everyone = seq.people_at(f)
            false += sum(1 for p in found if all(abs(p.x - x) + abs(p.y - y) > 40 for x, y in everyone))
    assert hits / (hits + misses) >= 0.95, (hits, misses)
    assert false <= 0.03 * (hits + misses), (false, hits)


def test_the_door_counter_counts_held_out_doors_with_the_detector(detector: PersonDetector):
    tally = Tally()
    for scenario in SCENARIOS:
        for seed in HELD_OUT_SEEDS[:2]:
            counter = DoorCounter(DOOR_LINE, detector="tflite", person_detector=detector)
            tally.add(count_sequence(scenario, seed, counter))
    assert tally.acc_in >= 0.95, tally
    assert tally.acc_out >= 0.95, tally


def test_someone_standing_on_the_line_is_still_seen_after_a_minute(detector: PersonDetector):
    """Background subtraction learns a still person as floor after ~10 s; the detector sees them in every
    frame: someone who walks in and stands a minute on the line before going on is one track, counted once."""
    seq = door_sequence("single_in", HELD_OUT_SEEDS[0])
    walker = seq.frames.walkers[0]
    seq.frames.walkers[1:] = []  # one person at the door
    line_m = 120 / (seq.size[0] / view_width_m())  # the line across the middle, at y = 120 px

    def distance_to_line(f: int) -> float:
        pos = walker.at(f)
        return abs(pos[1] - line_m) if pos is not None else 1e9

    on_line = min(range(len(seq.frames)), key=distance_to_line)
    here = walker.at(on_line)
    assert here is not None
    stand = 60 * seq.fps
    end = walker.keys[-1]
    walker.keys = [walker.keys[0], (on_line, here[0], here[1]), (on_line + stand, here[0], here[1])]
    walker.keys.append((end[0] + stand, end[1], end[2]))
    counter = DoorCounter(DOOR_LINE, detector="tflite", person_detector=detector)
    still_seen = []
    for f in range(int(end[0] + stand) + 15):
        frame = seq.frames.frame(f)
        counter.feed(frame, seq.time_of(f))
        if on_line + 15 * seq.fps <= f <= on_line + stand - 15 and f % 75 == 0:
            still_seen.append(len(detector.detect(frame)))
    assert counter.counts == (1, 0)
    assert still_seen
    assert set(still_seen) == {1}


def test_a_broken_or_foreign_model_is_refused(tmp_path: Path):
    with pytest.raises(DetectorUnavailable):
        PersonDetector(b"not a model")
    recognizer = REPO / "edge" / "recognition" / "assets" / "product-recognizer.zip"
    with zipfile.ZipFile(recognizer) as zf:
        foreign = zf.read("model.tflite")
    with pytest.raises(DetectorUnavailable, match=r"takes \[1, 96, 96, 3\] uint8"):
        PersonDetector(foreign)
    with pytest.raises(DetectorUnavailable, match="cannot be read: No such file"):
        PersonDetector(tmp_path / "missing.tflite")
    with pytest.raises(DetectorUnavailable, match="cannot be read: Is a directory"):
        PersonDetector(tmp_path)
    assert SHIPPED_MODEL.stat().st_size < 200_000  # small enough to ship in the wheel


def test_count_a_recorded_clip_with_the_detector(tmp_path: Path):
    seq = door_sequence("side_by_side", HELD_OUT_SEEDS[1])
    clip = tmp_path / "door.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"MJPG"), float(seq.fps), seq.size)
    assert writer.isOpened()
    for frame in seq.frames:
        writer.write(frame)
    writer.release()

    def count(*extra: str) -> subprocess.CompletedProcess[str]:
        line = f"{DOOR_LINE.x1},{DOOR_LINE.y1},{DOOR_LINE.x2},{DOOR_LINE.y2}"
        cmd = [*EDGESTORE, "footfall", "count", str(clip), "--line", line, "--json", *extra]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)

    done = count("--detector", "tflite")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert (doc["in"], doc["out"]) == (seq.truth_in, seq.truth_out)
    assert len(doc["crossings"]) == seq.truth_in + seq.truth_out

    # calibrate counts with what the counter will count with: the config's footfall_detector
    config = tmp_path / "edgestore.toml"
    config.write_text('footfall_detector = "tflite"\n')
    calibrated = subprocess.run(
        [*EDGESTORE, "footfall", "calibrate", "--camera", f"file:{clip}", "--no-pir", "--no-preview",
         "--min-fps", "1", "--seconds", "60"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={**os.environ, "EDGESTORE_CONFIG_FILE": str(config)},
    )  # fmt: skip
    assert calibrated.returncode == 0, calibrated.stdout + calibrated.stderr
    assert f"counted in {seq.truth_in}  out {seq.truth_out} (tflite)" in calibrated.stdout

    bogus = count("--detector", "hog")
    assert bogus.returncode != 0
    assert "mog2, knn, tflite" in bogus.stderr
    model_without = count("--model", str(SHIPPED_MODEL))
    assert model_without.returncode != 0
    assert "--model goes with --detector tflite" in model_without.stderr
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(b"junk")
    refused = count("--detector", "tflite", "--model", str(broken))
    assert refused.returncode != 0
    assert "cannot be loaded" in refused.stderr
