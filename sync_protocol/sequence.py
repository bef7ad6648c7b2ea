"""Sequence numbers: what the receiver commits, what it re-requests, and what the sender sends again.

Receive side (the cloud), per (store, device, stream): the state is the **high-water mark** (every seq at or
below it is committed) plus the few seqs committed above it that arrived early. A batch's seqs come out as
new (commit them), duplicate (already committed: skip, but still acknowledge) or beyond the window (too far
ahead to remember: not committed, the sender sends them again later). The gaps between the mark and the
highest committed seq are what the cloud asks for again. The cloud keeps ``SeqState`` in Postgres and writes
the new one in the same transaction as the messages, so a crash can neither lose nor double a message.

Send side (the store node): after an ack, drop outbox rows at or below the mark and send the missing ones
again, in contiguous runs (a batch's seqs must be contiguous).
"""

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from sync_protocol.envelope import MAX_MISSING_RANGES, Ack, SeqRange
from sync_protocol.streams import Stream

DEFAULT_WINDOW = 10_000
"""How far above the high-water mark a seq may be committed. Bounds the state a device can make the cloud
keep (and the gaps it reports) whatever seqs it sends."""

DEFAULT_SEND_WINDOW = 500
"""How many of a stream's messages a sender has out unacknowledged at once, unless told otherwise (the store
node's ``sync_window``). At most ``DEFAULT_WINDOW``, so whatever is out can be committed when it arrives
out of order. Chosen by measurement (docs/performance.md, "On an idle machine: ingest threads and the uplink
window")."""


@dataclass(frozen=True)
class SeqState:
    """Receive-side state of one device's stream. ``above`` never holds ``high_water + 1``: that seq would
    have moved the mark (``SeqState.of`` normalises)."""

    high_water: int = 0
    above: frozenset[int] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.high_water < 0:
            raise ValueError("high_water must not be negative")
        if any(seq <= self.high_water + 1 for seq in self.above):
            raise ValueError("seqs above the mark must leave a gap after it (use SeqState.of)")

    @classmethod
    def of(cls, high_water: int, above: Iterable[int] = ()) -> "SeqState":
        """A state from a mark and committed seqs, moving the mark over any that follow it without a gap."""
        pending = {seq for seq in above if seq > high_water}
        while high_water + 1 in pending:
            high_water += 1
            pending.remove(high_water)
        return cls(high_water, frozenset(pending))

    def committed(self, seq: int) -> bool:
        return seq <= self.high_water or seq in self.above

    def gaps(self) -> tuple[SeqRange, ...]:
        """Every run of seqs missing between the mark and the highest committed seq, in order."""
        ranges: list[SeqRange] = []
        previous = self.high_water
        for seq in sorted(self.above):
            if seq > previous + 1:
                ranges.append(SeqRange(first=previous + 1, last=seq - 1))
            previous = seq
        return tuple(ranges)


class SeqVerdict(StrEnum):
    NEW = "new"  # commit it
    DUPLICATE = "duplicate"  # already committed (a re-send, or twice in one delivery): skip it
    BEYOND_WINDOW = "beyondWindow"  # too far ahead of the mark: not committed now


@dataclass(frozen=True)
class SeqDecision:
    """What to do with each seq of a delivery, and the state once the new ones are committed."""

    verdicts: tuple[tuple[int, SeqVerdict], ...]  # per seq, in the order given
    state: SeqState

    @property
    def new(self) -> tuple[int, ...]:
        return tuple(seq for seq, verdict in self.verdicts if verdict is SeqVerdict.NEW)

    @property
    def duplicates(self) -> tuple[int, ...]:
        return tuple(seq for seq, verdict in self.verdicts if verdict is SeqVerdict.DUPLICATE)

    @property
    def beyond_window(self) -> tuple[int, ...]:
        return tuple(seq for seq, verdict in self.verdicts if verdict is SeqVerdict.BEYOND_WINDOW)

    @property
    def gaps(self) -> tuple[SeqRange, ...]:
        """The ranges to re-request: everything missing below the highest committed seq."""
        return self.state.gaps()


def classify(state: SeqState, seqs: Iterable[int], *, window: int = DEFAULT_WINDOW) -> SeqDecision:
    """Sort a delivery's seqs into new, duplicate and beyond-window. Pure: the caller commits the new ones
    and ``decision.state`` together."""
    if window < 1:
        raise ValueError("window must be at least 1")
    high_water = state.high_water
    above = set(state.above)
    verdicts: list[tuple[int, SeqVerdict]] = []
    for seq in seqs:
        if type(seq) is not int or seq < 1:
            raise ValueError(f"a seq is a positive int, not {seq!r}")
        if seq <= high_water or seq in above:
            verdicts.append((seq, SeqVerdict.DUPLICATE))
        elif seq > high_water + window:
            verdicts.append((seq, SeqVerdict.BEYOND_WINDOW))
        else:
            verdicts.append((seq, SeqVerdict.NEW))
            above.add(seq)
            while high_water + 1 in above:
                high_water += 1
                above.remove(high_water)
    return SeqDecision(tuple(verdicts), SeqState(high_water, frozenset(above)))


def ack_for(
    state: SeqState,
    *,
    store_id: str,
    device_id: str,
    stream: Stream,
    dead_lettered: Sequence[SeqRange] = (),
) -> Ack:
    """The ack that tells a device where its stream stands: the mark and the earliest gaps."""
    return Ack(
        store_id=store_id,
        device_id=device_id,
        stream=stream,
        high_water_seq=state.high_water,
        missing=state.gaps()[:MAX_MISSING_RANGES],
        dead_lettered=tuple(dead_lettered),
    )


class SequenceTracker:
    """``classify`` with the state kept in memory, for one (device, stream): what a test or a single
    process uses; the cloud loads and stores ``SeqState`` instead."""

    def __init__(self, state: SeqState | None = None, *, window: int = DEFAULT_WINDOW) -> None:
        self._state = state if state is not None else SeqState()
        self.window = window

    @property
    def state(self) -> SeqState:
        return self._state

    def receive(self, seqs: Iterable[int]) -> SeqDecision:
        """Classify and commit: the new seqs count as committed from now on."""
        decision = classify(self._state, seqs, window=self.window)
        self._state = decision.state
        return decision


# --- send side ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AckPlan:
    """What a device does with its outbox for one stream after an ack."""

    delete_up_to: int  # outbox rows with seq <= this are committed: delete them
    resend: tuple[int, ...]  # outbox seqs the cloud asked for again, ascending
    lost: tuple[SeqRange, ...]  # seqs asked for that the outbox no longer holds (report them; cannot resend)


def plan_after_ack(ack: Ack, outbox_seqs: Iterable[int]) -> AckPlan:
    """Which outbox rows to delete and which to send again. Work is proportional to the outbox and the
    number of ranges, never to the width of a range (a wrong ack cannot make the device loop for ages)."""
    held = sorted(set(outbox_seqs))
    resend: list[int] = []
    lost: list[SeqRange] = []
    for wanted in ack.missing:
        start = bisect.bisect_left(held, wanted.first)
        stop = bisect.bisect_right(held, wanted.last)
        present = held[start:stop]
        resend.extend(present)
        expected = wanted.first
        for seq in [*present, wanted.last + 1]:
            if seq > expected:
                lost.append(SeqRange(first=expected, last=seq - 1))
            expected = seq + 1
    return AckPlan(delete_up_to=ack.high_water_seq, resend=tuple(resend), lost=tuple(lost))


def contiguous_runs(seqs: Iterable[int], *, max_len: int) -> list[tuple[int, ...]]:
    """Split seqs into ascending runs without gaps, each at most ``max_len`` long: the seqs of the batches
    to send (a batch's seqs must be contiguous)."""
    if max_len < 1:
        raise ValueError("max_len must be at least 1")
    runs: list[tuple[int, ...]] = []
    current: list[int] = []
    for seq in sorted(set(seqs)):
        if current and (seq != current[-1] + 1 or len(current) == max_len):
            runs.append(tuple(current))
            current = []
        current.append(seq)
    if current:
        runs.append(tuple(current))
    return runs


# --- the downlink feed ------------------------------------------------------------------------------------


class FeedVerdict(StrEnum):
    APPLY = "apply"  # the next message: apply it and move the position on
    DUPLICATE = "duplicate"  # at or below the position: applied before, drop it
    GAP = "gap"  # beyond the next: one is missing; hold this one and ask from the position again


def judge_feed(position: int, seq: int) -> FeedVerdict:
    """Where a feed message stands against the position a node has applied up to (feeds start at 1)."""
    if seq <= position:
        return FeedVerdict.DUPLICATE
    return FeedVerdict.APPLY if seq == position + 1 else FeedVerdict.GAP
