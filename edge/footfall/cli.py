"""``edgestore footfall ...``: the door counter on a Pi (``run``, the ``edgestore-footfall`` unit), a recorded
clip counted (``count``), and setting it up at the door (``calibrate``). docs/footfall-device.md.

``edgestore edge serve`` does not run the counter: the supported way is its own service,
``edgestore-footfall`` (``footfall run``), which provisioning enables where a camera or a PIR is set up. Its
own process keeps the vision work (a core's worth while the camera runs) and the camera's and GPIO's
failures away from the till, and systemd restarts it alone.
"""

import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from edge import node_state
from edge.footfall.hardware import FrameSource, HardwareUnavailable, MotionSensor, OpenCvSource, camera_from
from edge.settings import EdgeSettings
from models.footfall import Direction, FootfallSource
from plumbing import sizes

if TYPE_CHECKING:  # OpenCV and the pipeline load only in the commands that use them
    import numpy as np

    from edge.footfall.counter import FootfallCounter
    from edge.footfall.line import DoorLine
    from edge.footfall.person_detector import PersonDetector
    from edge.footfall.pipeline import DoorCounter
    from edge.footfall.preview import LiveView
    from edge.node import Node

app = typer.Typer(
    help="The door counter: people crossing the door line, counted on the Pi (docs/footfall-device.md).",
    no_args_is_help=True,
)

DEFAULT_LINE = "0,0.5,1,0.5"
"""A horizontal line across the middle of the frame, for a node not calibrated yet."""
STATUS_EVERY_S = 60.0
Check = tuple[str, bool | None, str]
"""A self-test's line in calibrate's checklist: its name, passed (None: not run), what was seen."""

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Folder for edge.sqlite3 [env EDGESTORE_DATA_DIR]")
]
CameraOption = Annotated[
    str | None,
    typer.Option(
        "--camera",
        help="pi, v4l2:N, v4l2:/dev/videoN or file:PATH [config footfall_camera when camera_enabled]",
    ),
]
LineOption = Annotated[
    str | None,
    typer.Option("--line", help="The door line X1,Y1,X2,Y2 as fractions of the frame [config footfall_line]"),
]
PirPinOption = Annotated[
    int | None,
    typer.Option("--pir-pin", help="The PIR's GPIO (BCM) [config footfall_pir_pin when pir_enabled]"),
]
NoPirOption = Annotated[bool, typer.Option("--no-pir", help="Use no PIR even if the config has one")]
DetectorOption = Annotated[
    str | None,
    typer.Option(
        "--detector", help="mog2, knn or tflite (the person detector) [config footfall_detector; mog2]"
    ),
]
ModelOption = Annotated[
    Path | None,
    typer.Option("--model", help="With --detector tflite: this .tflite, not the shipped person detector"),
]


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def parse_size(text: str) -> tuple[int, int]:
    """The pipeline's working size (at least 16x16), or a plain message and exit status 2."""
    try:
        return sizes.parse_size(text, minimum=(16, 16), example="320x240")
    except ValueError as exc:
        fail(str(exc))


def line_numbers(text: str) -> tuple[float, float, float, float]:
    """The four numbers of X1,Y1,X2,Y2, or a plain message and exit status 2."""
    try:
        x1, y1, x2, y2 = (float(part) for part in text.split(","))
    except ValueError:
        fail(f"line {text!r}: write X1,Y1,X2,Y2, fractions of the frame, e.g. 0.1,0.55,0.9,0.55")
    return x1, y1, x2, y2


def door_line(text: str, in_side: int = 1) -> "DoorLine":
    from edge.footfall.line import DoorLine

    x1, y1, x2, y2 = line_numbers(text)
    try:
        DoorLine.parse(text)  # the vision part's own checks
        return DoorLine(x1, y1, x2, y2, in_side=in_side)
    except ValueError as exc:
        fail(f"line {text!r}: {exc}")


@dataclass(frozen=True)
class Detection:
    """How the pipeline finds people: the detector's name and, for tflite, the loaded person detector."""

    detector: str
    people: "PersonDetector | None" = None


def detection(detector: str, model: Path | None, *, load: bool = True) -> Detection:
    """``detector`` checked (and its model loaded when ``load``) before anything is saved or started; a clear
    message when it is unknown or its model cannot be loaded."""
    from edge.footfall.person_detector import DetectorUnavailable, PersonDetector
    from edge.footfall.pipeline import DETECTORS

    if detector not in DETECTORS:
        fail(f"--detector is one of {', '.join(DETECTORS)}, not {detector!r}")
    if model is not None and detector != "tflite":
        fail("--model goes with --detector tflite")
    if detector != "tflite" or not load:
        return Detection(detector)
    try:
        return Detection(detector, PersonDetector(model))
    except DetectorUnavailable as exc:
        fail(str(exc))


def door_counter(line: "DoorLine", size: tuple[int, int], how: Detection) -> "DoorCounter":
    from edge.footfall.pipeline import DoorCounter

    return DoorCounter(line, detector=how.detector, size=size, person_detector=how.people)


def _node_with_store(settings: EdgeSettings) -> "Node":
    """The node's database, once it belongs to a store (footfall events do): else a plain message, exit 2."""
    from edge.node import Node

    node: Node = Node.open(settings)
    with node.db.read() as conn:
        store_id = node_state.get(conn, node_state.STORE_ID)
    if store_id is None:
        node.close()
        fail(
            "this node has no store yet: provision it (edgestore provision) or load its catalog first; "
            "footfall events belong to a store"
        )
    return node


def _settings(data_dir: Path | None) -> EdgeSettings:
    return EdgeSettings(data_dir=data_dir) if data_dir is not None else EdgeSettings()


def _camera(spec: str | None, settings: EdgeSettings, size: tuple[int, int]) -> FrameSource | None:
    chosen = spec if spec is not None else (settings.footfall_camera if settings.camera_enabled else None)
    if chosen is None or chosen == "none":
        return None
    try:
        return camera_from(chosen, size=size)
    except ValueError as exc:
        fail(str(exc))


def _wants_pir(pin: int | None, no_pir: bool, settings: EdgeSettings) -> bool:
    return not no_pir and (pin is not None or settings.pir_enabled)


def _pir(pin: int | None, no_pir: bool, settings: EdgeSettings) -> MotionSensor | None:
    if not _wants_pir(pin, no_pir, settings):
        return None
    if pin is None:
        pin = settings.footfall_pir_pin
    from edge.footfall.hardware import GpioPir

    try:
        return GpioPir(pin)
    except HardwareUnavailable as exc:
        fail(str(exc))


@app.command()
def run(
    data_dir: DataDir = None,
    camera: CameraOption = None,
    pir_pin: PirPinOption = None,
    no_pir: NoPirOption = False,
    line: LineOption = None,
    size: Annotated[str, typer.Option(help="The pipeline's working size")] = "320x240",
    detector: DetectorOption = None,
    model: ModelOption = None,
) -> None:
    """Count people crossing the door line into the node's database until stopped (SIGTERM, Ctrl-C).

    The camera runs only while the PIR sees motion (and 3 s after); with no camera, each PIR motion episode
    is counted as one visit (source pir, lower quality); with no PIR, the camera runs all the time."""
    from edge.footfall.counter import FootfallCounter

    settings = _settings(data_dir)
    working = parse_size(size)
    line_text = line or settings.footfall_line or DEFAULT_LINE
    cam = _camera(camera, settings, working)
    if cam is None and not _wants_pir(pir_pin, no_pir, settings):
        fail(
            "nothing to count with: no camera and no PIR (give --camera or --pir-pin, or set camera_enabled "
            "or pir_enabled in the node's config)"
        )
    pipeline = _run_pipeline(cam, detector, model, settings, line_text, working)
    pir = _pir(pir_pin, no_pir, settings)
    from edge.footfall.events import record_crossing

    node = _node_with_store(settings)

    def sink(direction: Direction, source: FootfallSource, at: datetime) -> None:
        record_crossing(node, direction, source, at)

    def told(direction: Direction, source_: FootfallSource, at: datetime) -> None:
        snap = counter.snapshot()
        typer.echo(
            f"{at.astimezone():%H:%M:%S} {direction.value:<3} ({source_.value})   in {snap.ins}  out {snap.outs}"
        )

    status = _StatusLine()
    counter = FootfallCounter(
        sink,
        camera=cam,
        pipeline=pipeline,
        pir=pir,
        on_event=told,
        on_round=lambda: status.maybe_print(counter),
    )

    def stop(_signum: int, _frame: FrameType | None) -> None:
        counter.request_stop()  # a flag only: the loop may hold the locks stop() would take

    previous = signal.signal(signal.SIGTERM, stop)
    camera_text = "none" if cam is None else (camera or settings.footfall_camera)
    pir_text = "none" if pir is None else f"GPIO {getattr(pir, 'pin', '?')}"
    typer.echo(
        f"door counter: camera {camera_text}, PIR {pir_text}, line {line_text}, in side "
        f"{settings.footfall_in_side:+d}; events into {settings.database_path}"
    )
    if cam is None:
        typer.echo("no camera: counting PIR motion episodes as visits (in, source pir; lower quality)")
    try:
        counter.run()
    except KeyboardInterrupt:
        pass
    except HardwareUnavailable as exc:
        fail(str(exc))  # exit status 2; systemd tries again in 5 s
    finally:
        signal.signal(signal.SIGTERM, previous)
        if pir is not None:
            pir.close()
        node.close()
    snap = counter.snapshot()
    why = "the video ended" if counter.ended else "stopped"
    typer.echo(f"{why}: in {snap.ins}  out {snap.outs}  ({snap.frames} frames)")


def _run_pipeline(
    cam: FrameSource | None,
    detector: str | None,
    model: Path | None,
    settings: EdgeSettings,
    line_text: str,
    working: tuple[int, int],
) -> "DoorCounter | None":
    """The pipeline ``run`` counts with. OpenCV and the pipeline load only with a camera (or to check a
    --detector or --model given): a PIR-only node needs neither."""
    if cam is None and detector is None and model is None:
        return None
    how = detection(detector or settings.footfall_detector, model, load=cam is not None)
    if cam is None:
        return None
    return door_counter(door_line(line_text, settings.footfall_in_side), working, how)


class _StatusLine:
    """A line every minute: whether the camera is on, its frame rate, the counts."""

    def __init__(self) -> None:
        self.last = time.monotonic()

    def maybe_print(self, counter: "FootfallCounter") -> None:
        now = time.monotonic()
        if now - self.last < STATUS_EVERY_S:
            return
        self.last = now
        snap = counter.snapshot()
        camera = f"camera on, {snap.fps} fps" if snap.camera_on else "camera asleep"
        typer.echo(f"status: {camera}; in {snap.ins}  out {snap.outs}")


@app.command()
def count(
    video: Annotated[Path, typer.Argument(help="A recorded clip (any file OpenCV reads)")],
    line: Annotated[str, typer.Option("--line", help="The door line X1,Y1,X2,Y2, fractions of the frame")],
    in_side: Annotated[int, typer.Option("--in-side", help="+1 or -1: which side is inside")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="The counts and each crossing as JSON")] = False,
    size: Annotated[str, typer.Option(help="The pipeline's working size")] = "320x240",
    detector: Annotated[str, typer.Option(help="mog2, knn or tflite (the person detector)")] = "mog2",
    model: ModelOption = None,
) -> None:
    """Run the door counter's pipeline over a video file and print the in and out counts."""
    if in_side not in (1, -1):
        fail("--in-side is +1 or -1")
    pipeline = door_counter(door_line(line, in_side), parse_size(size), detection(detector, model))
    source = OpenCvSource(video)
    try:
        source.start()
    except HardwareUnavailable as exc:
        fail(str(exc))
    crossings = []
    frames = 0
    started = time.perf_counter()
    while (got := source.read()) is not None:
        frame, t = got
        crossings.extend(pipeline.feed(frame, t))
        frames += 1
    elapsed = time.perf_counter() - started
    ins, outs = pipeline.counts
    if as_json:
        doc = {
            "in": ins,
            "out": outs,
            "frames": frames,
            "crossings": [
                {"frame": c.frame_index, "trackId": c.track_id, "direction": c.direction.value, "t": c.t}
                for c in crossings
            ],
        }
        sys.stdout.write(json.dumps(doc) + "\n")
        return
    typer.echo(f"in {ins}  out {outs}")
    typer.echo(f"({frames} frames, {frames / elapsed if elapsed > 0 else 0:.0f} fps)", err=True)


def _config_path() -> Path:
    """The node's config: the file ``EDGESTORE_CONFIG_FILE`` names, else a provisioned Pi's own
    (``/etc/edgestore/edgestore.toml``: its units name it, a shell does not; it is owner-only, hence sudo),
    else ``edgestore.toml`` here. The settings are read from the same file."""
    from plumbing.settings_sources import CONFIG_FILE_VARIABLE, DEFAULT_CONFIG_FILE
    from provisioning.node_config import CONFIG_DIR, CONFIG_NAME

    if CONFIG_FILE_VARIABLE not in os.environ:
        provisioned = Path(CONFIG_DIR) / CONFIG_NAME
        if provisioned.is_file():
            os.environ[CONFIG_FILE_VARIABLE] = str(provisioned)
    return Path(os.environ.get(CONFIG_FILE_VARIABLE, str(DEFAULT_CONFIG_FILE)))


def _parses(text: str) -> bool:
    """Whether the pipeline takes this line (``DoorLine.parse``): what ``footfall run`` will read."""
    from edge.footfall.line import DoorLine

    try:
        DoorLine.parse(text)
    except ValueError:
        return False
    return True


def save_door(config: Path, line: str | None, in_side: int) -> None:
    """Write the line (if given) and its in side into the node's TOML config, keeping every other value."""
    from provisioning.node_config import read_config, write_config

    values = read_config(config)
    if line is not None:
        values["footfall_line"] = line
    values["footfall_in_side"] = in_side
    write_config(config, values)


def _write_private_png(path: Path, image: "np.ndarray") -> bool:
    """The calibration frame, readable by its owner only (0600 from its first byte): it is a picture of
    whoever stood at the door, the one image the door counter ever keeps, and only when asked."""
    import cv2

    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        return False
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # an older file of that name keeps its mode otherwise
        with os.fdopen(fd, "wb") as out:
            out.write(encoded.tobytes())
    except OSError:
        return False
    return True


@app.command()
def calibrate(
    data_dir: DataDir = None,
    camera: CameraOption = None,
    line: LineOption = None,
    in_side: Annotated[
        int | None, typer.Option("--in-side", help="+1 or -1: which side of the line is inside the store")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the annotated frame here (PNG); nothing is kept else")
    ] = None,
    no_preview: Annotated[
        bool,
        typer.Option(
            "--no-preview", help="No live window even with a display: only the checklist (and --out's frame)"
        ),
    ] = False,
    seconds: Annotated[
        float, typer.Option(help="How long to watch the camera (the preview closes early on Esc or q)")
    ] = 3.0,
    min_fps: Annotated[float, typer.Option(help="The camera passes at this frame rate or more")] = 10.0,
    detector: DetectorOption = None,
    model: ModelOption = None,
    wave: Annotated[bool, typer.Option("--wave", help="Test the PIR: wave at it within --wave-s")] = False,
    wave_s: Annotated[float, typer.Option(help="How long to wait for the PIR to change")] = 30.0,
    pir_pin: PirPinOption = None,
    no_pir: NoPirOption = False,
    size: Annotated[str, typer.Option(help="The pipeline's working size")] = "320x240",
) -> None:
    """Set the door line and its in side (saved in the node's config), watch the camera for a few seconds
    counting live, and print a checklist of self-tests.

    With a display (a desktop's, or a Pi's screen) a window shows the camera live: the door line, an arrow
    into the in side, the live in and out counts and the self-test so far (Esc or q closes it; it needs
    Kivy, the kiosk extra). Without one, or with --no-preview, --out's annotated PNG is the preview: the
    only image the door counter ever stores. Stop ``edgestore-footfall`` first (it holds the camera) and
    start it again after (it reads the line when it starts)."""
    config = _config_path()
    settings = _settings(data_dir)
    if in_side is not None and in_side not in (1, -1):
        fail("--in-side is +1 or -1")
    side = in_side if in_side is not None else settings.footfall_in_side
    line_text = line or settings.footfall_line or DEFAULT_LINE
    numbers = line_numbers(line_text)
    working = parse_size(size)
    source = _camera(camera, settings, working)
    # What the counter will count with, checked before anything is saved or a window opens.
    how = detection(detector or settings.footfall_detector, model, load=source is not None)
    checks: list[Check] = []

    inside = all(0.0 <= v <= 1.0 for v in numbers) and _parses(line_text)
    length = ((numbers[2] - numbers[0]) ** 2 + (numbers[3] - numbers[1]) ** 2) ** 0.5
    checks.append(
        (
            "line",
            inside and length >= 0.1,
            f"{line_text}: "
            + ("inside the frame" if inside else "outside the frame (each number 0..1)")
            + ("" if length >= 0.1 else ", too short (at least a tenth of the frame)"),
        )
    )
    if line is not None or in_side is not None:
        if checks[-1][1]:
            save_door(config, line if line is not None else None, side)
            saved = f"footfall_line = {line_text!r}, " if line is not None else ""
            typer.echo(f"saved {saved}footfall_in_side = {side:+d} in {config}")
            typer.echo(
                "(the door counter reads them when it starts: sudo systemctl restart edgestore-footfall)"
            )
        else:  # a line the counter would refuse at its next start: never saved
            typer.echo(f"not saved: the line {line_text!r} fails its check (below)")

    if source is None:
        checks.append(("camera", None, "none set up (give --camera, or camera_enabled in the config)"))
    else:
        watch = Watch(source, line_text, side, working, seconds, min_fps, numbers, out, how)
        checks.append(_watched(watch, checks[0], preview=not no_preview))

    pir = _pir(pir_pin, no_pir, settings)
    if pir is None:
        checks.append(("PIR", None, "none set up"))
    elif not wave:
        checks.append(("PIR", None, "not tested (add --wave and wave at the sensor)"))
        pir.close()
    else:
        typer.echo(f"wave at the PIR sensor now (waiting up to {wave_s:.0f} s)...")
        checks.append(_wait_for_pir(pir, wave_s))
        pir.close()

    marks = {True: "✓", False: "✗", None: "–"}
    for name, ok, detail in checks:
        typer.echo(f"{marks[ok]} {name}: {detail}")
    if any(ok is False for _, ok, _ in checks):
        raise typer.Exit(1)


@dataclass(frozen=True)
class Watch:
    """What calibrate watches the camera with."""

    source: FrameSource
    line_text: str
    side: int
    working: tuple[int, int]
    seconds: float
    min_fps: float
    numbers: tuple[float, float, float, float]
    out: Path | None
    how: Detection = Detection("mog2")  # what the counter will count with (the config's footfall_detector)


def _watched(watch: Watch, line_check: Check, *, preview: bool) -> Check:
    """The camera's check, watched in a live window when there is a screen (and ``preview``), else as
    before: the annotated frame of ``--out`` is then the preview, and the technician is told so."""
    if not preview:
        return _watch(watch)
    from edge.footfall import preview as window

    why = window.unavailable()
    if why is None:
        try:
            return window.show_while(
                lambda live: _watch(watch, live),
                line_check=(line_check[1] is True, line_check[2]),
                min_fps=watch.min_fps,
                draw=lambda frame: window.annotate(frame, watch.numbers, watch.side, ""),
            )
        except window.PreviewUnavailable as exc:
            why = str(exc)
    instead = (
        f"the annotated frame written to {watch.out} is the preview"
        if watch.out is not None
        else "add --out FRAME.png for an annotated frame"
    )
    typer.echo(f"no preview window: {why}; {instead}")
    return _watch(watch)


def _watch(watch: Watch, live: "LiveView | None" = None) -> Check:
    """Feed the camera's frames to the pipeline for ``seconds`` (or until the file ends, or the preview is
    closed), offering each to ``live``; the camera's check, and ``--out``'s annotated last frame."""
    from edge.footfall.preview import LiveFrame, annotate

    source, numbers, side = watch.source, watch.numbers, watch.side
    # A line outside the frame is already a failed check: the camera is still watched (its rate is worth
    # knowing), counting across the default line meanwhile.
    inside = all(0.0 <= v <= 1.0 for v in numbers)
    pipeline = door_counter(
        door_line(watch.line_text if inside else DEFAULT_LINE, side), watch.working, watch.how
    )
    try:
        source.start()
    except HardwareUnavailable as exc:
        return ("camera", False, str(exc))
    last = None
    frames = 0
    started = time.monotonic()
    try:
        while time.monotonic() - started < watch.seconds and not (live is not None and live.closed):
            got = source.read()
            if got is None:
                if not source.running:
                    break
                continue
            last, t = got
            pipeline.feed(last, t)
            frames += 1
            if live is not None:  # the window shows what this loop counted; it counts nothing itself
                ins, outs = pipeline.counts
                fps = frames / max(1e-6, time.monotonic() - started)
                live.offer(LiveFrame(last, ins, outs, frames, fps))
    finally:
        source.stop()
    elapsed = max(1e-6, time.monotonic() - started)
    if last is None:
        return ("camera", False, "gave no frame")
    fps = frames / elapsed
    ins, outs = pipeline.counts
    if watch.out is not None:
        image = annotate(last, numbers, side, f"in {ins}  out {outs}")
        if not _write_private_png(watch.out, image):
            return ("camera", False, f"could not write {watch.out}")
        typer.echo(f"wrote {watch.out} (the door line, the in arrow, the count)")
    shape = f"{last.shape[1]}x{last.shape[0]}"
    return (
        "camera",
        fps >= watch.min_fps,
        f"{frames} frames of {shape} at {fps:.1f} fps (needs {watch.min_fps:g}); counted in {ins}  out {outs}"
        f" ({watch.how.detector})",
    )


def _wait_for_pir(pir: MotionSensor, wave_s: float) -> Check:
    first = pir.motion
    started = time.monotonic()
    while time.monotonic() - started < wave_s:
        if pir.motion != first:
            return ("PIR", True, f"changed after {time.monotonic() - started:.1f} s")
        time.sleep(0.05)
    return ("PIR", False, f"did not change in {wave_s:.0f} s: check its wiring (GPIO, 5 V, ground)")


@app.command("train-detector")
def train_detector(
    out: Annotated[Path, typer.Option(help="Where to write the model (.tflite)")] = Path(
        "person-detector.tflite"
    ),
    train_seeds: Annotated[
        int, typer.Option(help="Tuning seeds trained on (the rest of the 50 validate)")
    ] = 40,
    frames: Annotated[int, typer.Option(min=1, help="Frames taken from each generated sequence")] = 14,
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the frames")] = 14,
    seed: Annotated[int, typer.Option(help="Seed of the frame choice and the training")] = 7,
    threads: Annotated[
        int, typer.Option(min=1, help="TensorFlow's threads (at most the cores you may use)")
    ] = 2,
) -> None:
    """Train the door counter's TFLite person detector on generated doors (no download; the train extra),
    then count the validation seeds with it. The held-out seeds of bench/footfall.py are never used."""
    import importlib.util

    from edge.footfall.synthetic import TUNING_SEEDS
    from edge.recognition.training.command import INSTALL_HINT

    if importlib.util.find_spec("tensorflow") is None:
        fail(INSTALL_HINT)
    if not 1 <= train_seeds < len(TUNING_SEEDS):
        fail(f"--train-seeds is 1..{len(TUNING_SEEDS) - 1} (the rest validate)")
    try:  # before minutes of training: the model's folder must take it
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"cannot make {out.parent}: {exc.strerror}")
    if out.is_dir() or not os.access(out.parent, os.W_OK):
        fail(f"cannot write {out}")
    from edge.footfall.detector_training import DetectorTraining, train_person_detector, validate

    config = DetectorTraining(
        out=out, seeds=range(TUNING_SEEDS[0], TUNING_SEEDS[train_seeds]), frames_per_sequence=frames,
        epochs=epochs, seed=seed, threads=threads,
    )  # fmt: skip
    model = train_person_detector(config, typer.echo)
    rest = range(TUNING_SEEDS[train_seeds], TUNING_SEEDS[-1] + 1)
    acc_in, acc_out = validate(model, rest, typer.echo)
    typer.echo(
        f"done: validation seeds {rest.start}..{rest.stop - 1}: in {acc_in:.1%}, out {acc_out:.1%}; {out}"
    )
