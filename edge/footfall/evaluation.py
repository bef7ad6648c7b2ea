"""How well the door counter counts generated doors with known truth: one scoring for the benchmark
(bench/footfall.py) and the person detector's validation (``edgestore footfall train-detector``).

Per direction, accuracy is 1 - (sum over sequences of |counted - truth|) / (sum of truth): errors of two
sequences do not cancel (an extra count in one and a missed one in another are two errors).
"""

from dataclasses import dataclass

from edge.footfall.pipeline import DoorCounter
from edge.footfall.synthetic import door_sequence


@dataclass(frozen=True)
class Run:
    scenario: str
    seed: int
    frames: int
    truth_in: int
    truth_out: int
    ins: int
    outs: int


def count_sequence(scenario: str, seed: int, counter: DoorCounter) -> Run:
    """``counter`` (made for ``synthetic.DOOR_LINE`` at 320x240) fed the sequence's every frame."""
    seq = door_sequence(scenario, seed)
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
