"""``edgestore footfall calibrate``'s live preview: a real Kivy window on a real Xvfb display, the camera a
generated door sequence (``edge.footfall.synthetic``) in a video file as ``--camera file:``; what the window
showed is recorded by an observer in the command's own process (tests/edge/footfall_preview_driver.py) and
checked against the pipeline run on the same file here. Plus the preview's parts that need no window: the
hand-over between the watch loop and the window, when a window is possible, and the drawn line."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from edge.footfall import preview
from edge.footfall.hardware import OpenCvSource
from edge.footfall.pipeline import DoorCounter
from edge.footfall.synthetic import door_sequence
from plumbing.xvfb import free_display, virtual_display
from tests.conftest import REPO

LINE = "0,0.5,1,0.5"  # the generator's door line: across the middle, the store below (in side +1)
BACKGROUND = np.array([0, 0, 0])  # Kivy's window is cleared to black


@pytest.fixture(scope="module")
def door(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated door: two pairs, each one in and one out, meeting at the line; as MJPG in AVI."""
    sequence = door_sequence("crossing_each_other", 2)
    assert sequence.truth_in
    assert sequence.truth_out
    path = tmp_path_factory.mktemp("door") / "door.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), sequence.fps, sequence.size)
    assert writer.isOpened()
    for frame in sequence.frames:
        writer.write(frame)
    writer.release()
    return path


def pipeline_counts(video: Path) -> tuple[int, int, int]:
    """What the door counter's pipeline makes of the file read as calibrate reads it: (in, out, frames)."""
    pipeline = DoorCounter(preview_line(), size=(320, 240))
    source = OpenCvSource(video)
    source.start()
    frames = 0
    while (got := source.read()) is not None:
        pipeline.feed(*got)
        frames += 1
    ins, outs = pipeline.counts
    return ins, outs, frames


def preview_line() -> Any:
    from edge.footfall.line import DoorLine

    return DoorLine.parse(LINE)


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    with virtual_display((1280, 800)) as name:
        yield name


def calibrate_in_a_window(display: str, out: Path, *arguments: str, press_q_after: int | None = None) -> Any:
    out.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGESTORE_")}
    env.pop("WAYLAND_DISPLAY", None)
    env.update(
        DISPLAY=display,
        EDGESTORE_CONFIG_FILE=str(out / "edgestore.toml"),  # not this machine's
        PYTHONPATH=str(REPO),
    )
    options = ["--press-q-after", str(press_q_after)] if press_q_after is not None else []
    done = subprocess.run(
        [sys.executable, "-m", "tests.edge.footfall_preview_driver", str(out), *options, "--", "calibrate",
         *arguments],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    result_file = out / "result.json"
    if not result_file.exists():
        raise AssertionError(f"calibrate did not finish (exit {done.returncode}):\n{done.stderr[-4000:]}")
    return done, json.loads(result_file.read_text())


def checklist_counts(stdout: str) -> tuple[int, int, int]:
    """(in, out, frames) from calibrate's camera line: ``✓ camera: N frames of ...; counted in I  out O``."""
    line = next(text for text in stdout.splitlines() if " camera: " in text)
    words = line.split()
    return int(words[words.index("in") + 1]), int(words[words.index("out") + 1]), int(words[2])


def test_calibrate_shows_the_live_annotated_door_with_the_pipelines_counts(
    display: str, door: Path, tmp_path: Path
):
    ins, outs, frames = pipeline_counts(door)
    assert ins + outs > 0  # a door where something is counted, so the counts shown mean something
    png = tmp_path / "door.png"
    done, seen = calibrate_in_a_window(
        display, tmp_path / "run", "--camera", f"file:{door}", "--line", LINE, "--in-side", "1", "--no-pir",
        "--seconds", "120", "--min-fps", "1", "--out", str(png),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no preview window" not in done.stdout

    # The window opened and showed frames as the watch went, their counts never going down.
    assert seen["closed"]
    assert seen["framesShown"] == len(seen["shown"]) >= 3
    shown_frames = [s["frames"] for s in seen["shown"]]
    assert shown_frames == sorted(shown_frames)
    assert len(set(shown_frames)) == len(shown_frames)  # each a newer frame
    # The last frame shown is the watch's last, with the counts the pipeline gives on the same file,
    # and the checklist says the same.
    last = seen["shown"][-1]
    assert (last["ins"], last["outs"], last["frames"]) == (ins, outs, frames)
    assert seen["texts"][0] == f"in {ins}   out {outs}"
    assert checklist_counts(done.stdout) == (ins, outs, frames)
    assert "OK  line 0,0.5,1,0.5: inside the frame" in seen["texts"][1]
    assert "OK  camera" in seen["texts"][2]
    assert f"{frames} frames of 320x240" in seen["texts"][2]

    # What the window drew: the camera's picture (not the black background) with the yellow door line.
    shot = cv2.imread(str(tmp_path / "run" / "preview.png"))
    assert shot is not None
    height, width = shot.shape[:2]
    assert (width, height) == preview.WINDOW_SIZE
    picture = shot[: height * 2 // 3]
    lit = np.abs(picture.astype(int) - BACKGROUND).sum(axis=2) > 60
    assert lit.mean() > 0.3
    b, g, r = (picture[:, :, i].astype(int) for i in range(3))
    yellow = (r > 200) & (g > 170) & (b < 90)
    assert yellow.sum() > 500  # the line across the frame, three times as wide as drawn
    # The PNG of --out is written as before, beside the window.
    assert cv2.imread(str(png)) is not None


def test_q_closes_the_preview_and_ends_the_watch_early(display: str, door: Path, tmp_path: Path):
    _, _, frames = pipeline_counts(door)
    done, seen = calibrate_in_a_window(
        display, tmp_path / "run", "--camera", f"file:{door}", "--line", LINE, "--no-pir", "--seconds", "120",
        "--min-fps", "1",
        press_q_after=2,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert seen["closed"]
    assert seen["framesShown"] == 2
    _, _, watched = checklist_counts(done.stdout)
    assert seen["shown"][-1]["frames"] <= watched < frames  # the watch stopped when the window closed
    assert "✓ camera:" in done.stdout


def test_no_preview_forces_the_frame_only_path_even_with_a_display(display: str, door: Path, tmp_path: Path):
    png = tmp_path / "door.png"
    done, seen = calibrate_in_a_window(
        display, tmp_path / "run", "--camera", f"file:{door}", "--line", LINE, "--no-pir", "--seconds", "120",
        "--min-fps", "1", "--out", str(png), "--no-preview",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert not seen["closed"]
    assert seen["framesShown"] == 0
    assert "no preview window" not in done.stdout  # asked for: nothing to explain
    assert cv2.imread(str(png)) is not None


def test_a_display_that_does_not_answer_falls_back_to_the_frame(door: Path, tmp_path: Path):
    """A stale DISPLAY (an ssh session's, gone): Kivy opens no window, calibrate says so and goes on."""
    png = tmp_path / "door.png"
    done, seen = calibrate_in_a_window(
        f":{free_display()}", tmp_path / "run", "--camera", f"file:{door}", "--line", LINE, "--no-pir",
        "--min-fps", "1", "--out", str(png),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert seen["framesShown"] == 0
    assert (
        f"no preview window: Kivy could not open a window on this display; the annotated frame written to "
        f"{png} is the preview"
    ) in done.stdout
    assert "✓ camera:" in done.stdout
    assert cv2.imread(str(png)) is not None


def test_the_door_counter_loads_without_kivy():
    """Kivy is imported only when the window opens: a node with the door counter alone needs none of it
    (import-linter holds that no other module of the node imports it; this, that the preview's own import
    is lazy)."""
    probe = (
        "import sys\n"
        "import edge.footfall.cli, edge.footfall.preview, edge.footfall.counter\n"
        "edge.footfall.preview.unavailable()\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'kivy'], 'kivy imported'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_the_window_takes_only_the_newest_frame_and_hears_the_end_and_the_close():
    view = preview.LiveView()
    assert view.take() is None
    frame = np.zeros((2, 2, 3), np.uint8)
    for n in range(3):
        view.offer(preview.LiveFrame(frame, n, 0, n + 1, 15.0))
    newest = view.take()
    assert newest is not None
    assert newest.frames == 3
    assert view.take() is None  # shown once
    assert not view.ended
    assert not view.closed
    view.end()
    view.close()
    assert view.ended
    assert view.closed


def test_a_window_needs_a_display_and_kivy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(preview, "kms_card", lambda: None)
    assert (
        preview.unavailable()
        == "no display (DISPLAY and WAYLAND_DISPLAY are unset and there is no KMS screen)"
    )
    monkeypatch.setattr(preview, "kms_card", lambda: tmp_path / "card0")  # a Pi's console
    assert preview.unavailable() is None
    monkeypatch.setattr(preview, "kms_card", lambda: None)
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert preview.unavailable() is None
    monkeypatch.setattr(preview.importlib.util, "find_spec", lambda name: None)
    assert preview.unavailable() == "Kivy is not installed (the kiosk extra)"


def test_the_drawn_door_line_and_its_in_arrow():
    frame = np.zeros((240, 320), np.uint8)  # grey frames are drawn in colour
    image = preview.annotate(frame, (0.0, 0.5, 1.0, 0.5), 1, "")
    assert image.shape == (240, 320, 3)
    assert tuple(image[120, 10]) == preview.LINE_COLOUR
    green = (image[:, :, 1] == 200) & (image[:, :, 2] == 0)
    rows = np.nonzero(green)[0]  # the arrow from the line's middle (row 120) and its "in"
    assert rows.min() >= 118
    assert rows.max() > 150  # in side +1 of a left-to-right line: below it
    flipped = preview.annotate(frame, (0.0, 0.5, 1.0, 0.5), -1, "")
    rows = np.nonzero((flipped[:, :, 1] == 200) & (flipped[:, :, 2] == 0))[0]
    assert rows.max() <= 122
    assert rows.min() < 90
    assert not frame.any()  # the camera's frame is not drawn on
