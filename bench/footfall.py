"""Benchmark the door counter's vision pipeline (issue 21) on generated door sequences with known truth.

    .venv/bin/python bench/footfall.py            # all 12 scenarios on the 40 held-out seeds (a few minutes)
    .venv/bin/python bench/footfall.py --quick    # a smoke test: 5 held-out seeds, fewer timed frames
    .venv/bin/python bench/footfall.py --detector tflite   # the TFLite person detector (the shipped model)
    .venv/bin/python bench/footfall.py --detector tflite --model M.tflite --seeds-from tuning  # a candidate

Accuracy, per scenario and overall, on ``edge.footfall.synthetic.HELD_OUT_SEEDS`` (tuning never used them),
scored by ``edge.footfall.evaluation``: for each direction, 1 - (sum over sequences of |counted - truth|) /
(sum of truth). Then frames per second of
``DoorCounter.feed`` on one core (``cv2.setNumThreads(1)``, frames drawn beforehand, not timed), for
frames of 320x240 and 640x480 (resized to the pipeline's 320x240) and for 640x480 processed as such.
``--seeds-from tuning`` measures on the tuning seeds instead (what a candidate model or tuning is chosen on).
"""

import argparse
import hashlib
import os
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
from benchkit import code_line, host_lines, log, run_main, stop_on_signals

from edge.footfall.evaluation import Run, Tally, count_sequence
from edge.footfall.line import DoorLine
from edge.footfall.person_detector import SHIPPED_MODEL, PersonDetector
from edge.footfall.pipeline import DETECTORS, DoorCounter
from edge.footfall.synthetic import DOOR_LINE, HELD_OUT_SEEDS, SCENARIOS, TUNING_SEEDS, door_sequence

GOAL_ACCURACY = 0.98
GOAL_FPS = 15.0
DETECTOR = "mog2"


def counter_for(
    line: DoorLine, detector: str, model: Path | None, size: tuple[int, int] = (320, 240)
) -> DoorCounter:
    people = PersonDetector(model) if detector == "tflite" else None
    return DoorCounter(line, detector=detector, size=size, person_detector=people)


def run_one(job: tuple[str, int, str, Path | None]) -> Run:
    scenario, seed, detector, model = job
    cv2.setNumThreads(1)
    return count_sequence(scenario, seed, counter_for(DOOR_LINE, detector, model))


def accuracy(
    seeds: list[int], jobs: int, detector: str, model: Path | None
) -> tuple[dict[str, Tally], list[Run]]:
    work = [(s, seed, detector, model) for s in SCENARIOS for seed in seeds]
    tallies = {s: Tally() for s in SCENARIOS}
    runs: list[Run] = []
    step = max(1, len(work) // 10)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for n, r in enumerate(pool.map(run_one, work, chunksize=2), 1):
            tallies[r.scenario].add(r)
            runs.append(r)
            if n % step == 0 or n == len(work):
                log(f"  accuracy: {n}/{len(work)} sequences")
    return tallies, runs


def fps(
    input_size: tuple[int, int], size: tuple[int, int], frames: int, detector: str, model: Path | None
) -> float:
    """``DoorCounter.feed`` alone, on frames of a mixed held-out sequence drawn beforehand."""
    seq = door_sequence("mixed", HELD_OUT_SEEDS[0], size=input_size)
    drawn = [f for _, f in zip(range(frames), seq.frames, strict=False)]
    counter = counter_for(seq.line, detector, model, size)
    for i, frame in enumerate(drawn[:30]):  # warm-up: caches, the model's first allocations
        counter.feed(frame, seq.time_of(i))
    counter = counter_for(seq.line, detector, model, size)
    started = time.process_time()
    for i, frame in enumerate(drawn):
        counter.feed(frame, seq.time_of(i))
    return len(drawn) / (time.process_time() - started)


def machine_lines() -> list[str]:
    return [
        *host_lines(),
        f"opencv:        {cv2.__version__}, numpy {np.__version__}",
        f"code:          {code_line(Path(__file__).resolve().parent.parent)}",
    ]


def model_note(args: argparse.Namespace) -> str:
    if args.detector != "tflite":
        return ""
    path = args.model or SHIPPED_MODEL
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return f" ({path.name}, sha256 {digest}, LiteRT, one thread)"


def pct(value: float) -> str:
    return "-" if value != value else f"{value:.1%}"  # NaN: no crossing that way to count


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark the footfall pipeline's accuracy on held-out generated doors, and its speed.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--seeds", type=int, default=len(HELD_OUT_SEEDS), help="held-out seeds per scenario")
    parser.add_argument("--frames", type=int, default=600, help="timed frames per resolution")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes for the accuracy")
    parser.add_argument("--detector", choices=DETECTORS, default=DETECTOR)
    parser.add_argument("--model", type=Path, help="with --detector tflite: this model, not the shipped one")
    parser.add_argument(
        "--seeds-from",
        choices=("held-out", "tuning"),
        default="held-out",
        help="held-out: the figures; tuning: what a candidate is chosen on",
    )
    parser.add_argument("--quick", action="store_true", help="5 seeds, 150 timed frames")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.frames = 5, 150
    if not 1 <= args.seeds <= len(HELD_OUT_SEEDS) or args.frames < 1 or args.jobs < 1:
        parser.error(f"--seeds is 1..{len(HELD_OUT_SEEDS)}, --frames and --jobs at least 1")
    if args.model is not None and args.detector != "tflite":
        parser.error("--model goes with --detector tflite")
    return args


def print_tables(
    args: argparse.Namespace,
    seeds: list[int],
    tallies: dict[str, Tally],
    total: Tally,
    speeds: list[tuple[str, float]],
    accuracy_s: float,
) -> None:
    print("Footfall pipeline benchmark (bench/footfall.py)")
    print(f"date:          {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}")
    for line in machine_lines():
        print(line)
    print(
        f"run:           detector {args.detector}{model_note(args)}, {len(SCENARIOS)} scenarios x {len(seeds)} "
        f"{args.seeds_from} seeds "
        f"({seeds[0]}..{seeds[-1]}), 320x240 at 15 fps; {total.frames} frames in {accuracy_s:.0f} s "
        f"({args.jobs} processes)"
    )
    print("accuracy:      per direction, 1 - sum|counted - truth| / sum truth over the sequences;")
    print("               err: that sum of |counted - truth| (where the truth is 0, the only figure)")
    print()
    header = (
        f"{'scenario':<22} {'seqs':>5} {'in':>5} {'out':>5} {'err in':>7} {'err out':>8} {'acc in':>8} "
        f"{'acc out':>8} {'wrong seqs':>11}"
    )
    print(header)
    print("-" * len(header))
    for s in [*SCENARIOS, "overall"]:
        t = total if s == "overall" else tallies[s]
        if s == "overall":
            print("-" * len(header))
        print(
            f"{s:<22} {t.sequences:>5} {t.truth_in:>5} {t.truth_out:>5} {t.err_in:>7} {t.err_out:>8} "
            f"{pct(t.acc_in):>8} {pct(t.acc_out):>8} {t.wrong:>11}"
        )
    print()
    print("speed (one core: cv2.setNumThreads(1), CPU time of the process; frames drawn beforehand)")
    for label, value in speeds:
        print(f"  {label:<40} {value:>7.0f} fps")
    print()
    print("Markdown:")
    print()
    print(
        "| scenario | sequences | truth in | truth out | errors in | errors out | accuracy in | accuracy out |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for s in [*SCENARIOS, "overall"]:
        t = total if s == "overall" else tallies[s]
        name = f"**{s}**" if s == "overall" else s
        print(
            f"| {name} | {t.sequences} | {t.truth_in} | {t.truth_out} | {t.err_in} | {t.err_out} "
            f"| {pct(t.acc_in)} | {pct(t.acc_out)} |"
        )
    print()
    print("| frames | fps on one core |")
    print("|---|---:|")
    for label, value in speeds:
        print(f"| {label} | {value:.0f} |")
    print()


def print_goals(
    tallies: dict[str, Tally], total: Tally, runs: list[Run], speeds: list[tuple[str, float]]
) -> bool:
    goals = [
        (f"accuracy in >= {GOAL_ACCURACY:.0%}", f"{total.acc_in:.1%}", total.acc_in >= GOAL_ACCURACY),
        (f"accuracy out >= {GOAL_ACCURACY:.0%}", f"{total.acc_out:.1%}", total.acc_out >= GOAL_ACCURACY),
        (f"{GOAL_FPS:.0f} fps at 320x240, one core", f"{speeds[0][1]:.0f} fps", speeds[0][1] >= GOAL_FPS),
    ]
    for name, value, ok in goals:
        print(f"goal: {name:<32} {value:>8}  {met(ok)}")
    failing = [
        s
        for s in SCENARIOS
        if any(a < GOAL_ACCURACY for a in (tallies[s].acc_in, tallies[s].acc_out) if a == a)
        or (tallies[s].truth_in == 0 and tallies[s].err_in)
        or (tallies[s].truth_out == 0 and tallies[s].err_out)
    ]
    if failing:
        print(f"scenarios below {GOAL_ACCURACY:.0%} in or out: {', '.join(failing)}")
    wrong = [r for r in runs if r.ins != r.truth_in or r.outs != r.truth_out]
    for r in wrong[:20]:
        print(f"  {r.scenario} seed {r.seed}: in {r.ins}/{r.truth_in}, out {r.outs}/{r.truth_out}")
    if len(wrong) > 20:
        print(f"  ... and {len(wrong) - 20} more sequences with an error")
    return all(ok for _, _, ok in goals)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_signals()
    cv2.setNumThreads(1)
    seeds = list(HELD_OUT_SEEDS if args.seeds_from == "held-out" else TUNING_SEEDS)[: args.seeds]
    log(
        f"footfall benchmark: {len(SCENARIOS)} scenarios x {len(seeds)} held-out seeds, {args.jobs} processes"
    )
    started = time.perf_counter()
    tallies, runs = accuracy(seeds, args.jobs, args.detector, args.model)
    accuracy_s = time.perf_counter() - started
    speeds: list[tuple[str, float]] = []
    for label, input_size, size in (
        ("320x240 frames", (320, 240), (320, 240)),
        ("640x480 frames, resized to 320x240", (640, 480), (320, 240)),
        ("640x480 frames, processed at 640x480", (640, 480), (640, 480)),
    ):
        log(f"  speed: {label}, {args.frames} frames")
        speeds.append((label, fps(input_size, size, args.frames, args.detector, args.model)))

    total = Tally()
    for r in runs:
        total.add(r)
    print_tables(args, seeds, tallies, total, speeds, accuracy_s)
    all_met = print_goals(tallies, total, runs, speeds)
    print(f"result: {'PASS' if all_met else 'FAIL'} (every goal met)")
    return 0 if all_met else 1


if __name__ == "__main__":
    run_main(main)
