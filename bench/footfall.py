"""Benchmark the door counter's vision pipeline (issue 21) on generated door sequences with known truth.

    .venv/bin/python bench/footfall.py            # all 12 scenarios on the 40 held-out seeds (a few minutes)
    .venv/bin/python bench/footfall.py --quick    # a smoke test: 5 held-out seeds, fewer timed frames

Accuracy, per scenario and overall, on ``edge.footfall.synthetic.HELD_OUT_SEEDS`` (tuning never used them):
for each direction, 1 - (sum over sequences of |counted - truth|) / (sum of truth). Errors of two sequences
do not cancel: an extra count in one and a missed one in another are two errors. Then frames per second of
``DoorCounter.feed`` on one core (``cv2.setNumThreads(1)``, frames drawn beforehand, not timed), for
frames of 320x240 and 640x480 (resized to the pipeline's 320x240) and for 640x480 processed as such.
"""

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
from benchkit import code_line, host_lines, log, run_main, stop_on_signals

from edge.footfall.pipeline import DoorCounter
from edge.footfall.synthetic import HELD_OUT_SEEDS, SCENARIOS, door_sequence

GOAL_ACCURACY = 0.98
GOAL_FPS = 15.0
DETECTOR = "mog2"


@dataclass(frozen=True)
class Run:
    scenario: str
    seed: int
    frames: int
    truth_in: int
    truth_out: int
    ins: int
    outs: int


def run_one(job: tuple[str, int, str]) -> Run:
    scenario, seed, detector = job
    cv2.setNumThreads(1)
    seq = door_sequence(scenario, seed)
    counter = DoorCounter(seq.line, detector=detector)
    for i, frame in enumerate(seq.frames):
        counter.feed(frame, seq.time_of(i))
    ins, outs = counter.counts
    return Run(scenario, seed, counter.frames_processed, seq.truth_in, seq.truth_out, ins, outs)


@dataclass
class Tally:
    sequences: int = 0
    frames: int = 0
    truth_in: int = 0
    truth_out: int = 0
    err_in: int = 0
    err_out: int = 0
    wrong: int = 0  # sequences with any error

    def add(self, r: Run) -> None:
        self.sequences += 1
        self.frames += r.frames
        self.truth_in += r.truth_in
        self.truth_out += r.truth_out
        self.err_in += abs(r.ins - r.truth_in)
        self.err_out += abs(r.outs - r.truth_out)
        self.wrong += int(r.ins != r.truth_in or r.outs != r.truth_out)

    @property
    def acc_in(self) -> float:
        return 1 - self.err_in / self.truth_in if self.truth_in else float("nan")

    @property
    def acc_out(self) -> float:
        return 1 - self.err_out / self.truth_out if self.truth_out else float("nan")


def accuracy(seeds: list[int], jobs: int, detector: str) -> tuple[dict[str, Tally], list[Run]]:
    work = [(s, seed, detector) for s in SCENARIOS for seed in seeds]
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


def fps(input_size: tuple[int, int], size: tuple[int, int], frames: int, detector: str) -> float:
    """``DoorCounter.feed`` alone, on frames of a mixed held-out sequence drawn beforehand."""
    seq = door_sequence("mixed", HELD_OUT_SEEDS[0], size=input_size)
    drawn = [f for _, f in zip(range(frames), seq.frames, strict=False)]
    counter = DoorCounter(seq.line, detector=detector, size=size)
    for i, frame in enumerate(drawn[:30]):  # warm-up: caches, the model's first allocations
        counter.feed(frame, seq.time_of(i))
    counter = DoorCounter(seq.line, detector=detector, size=size)
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
    parser.add_argument("--detector", choices=("mog2", "knn"), default=DETECTOR)
    parser.add_argument("--quick", action="store_true", help="5 seeds, 150 timed frames")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.frames = 5, 150
    if not 1 <= args.seeds <= len(HELD_OUT_SEEDS) or args.frames < 1 or args.jobs < 1:
        parser.error(f"--seeds is 1..{len(HELD_OUT_SEEDS)}, --frames and --jobs at least 1")
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
        f"run:           detector {args.detector}, {len(SCENARIOS)} scenarios x {len(seeds)} held-out seeds "
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
    seeds = list(HELD_OUT_SEEDS)[: args.seeds]
    log(
        f"footfall benchmark: {len(SCENARIOS)} scenarios x {len(seeds)} held-out seeds, {args.jobs} processes"
    )
    started = time.perf_counter()
    tallies, runs = accuracy(seeds, args.jobs, args.detector)
    accuracy_s = time.perf_counter() - started
    speeds: list[tuple[str, float]] = []
    for label, input_size, size in (
        ("320x240 frames", (320, 240), (320, 240)),
        ("640x480 frames, resized to 320x240", (640, 480), (320, 240)),
        ("640x480 frames, processed at 640x480", (640, 480), (640, 480)),
    ):
        log(f"  speed: {label}, {args.frames} frames")
        speeds.append((label, fps(input_size, size, args.frames, args.detector)))

    total = Tally()
    for r in runs:
        total.add(r)
    print_tables(args, seeds, tallies, total, speeds, accuracy_s)
    all_met = print_goals(tallies, total, runs, speeds)
    print(f"result: {'PASS' if all_met else 'FAIL'} (every goal met)")
    return 0 if all_met else 1


if __name__ == "__main__":
    run_main(main)
