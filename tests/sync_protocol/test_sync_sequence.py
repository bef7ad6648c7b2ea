"""Sequence numbers: the receiver commits each seq once and re-requests exactly the gaps; the sender deletes
what is acknowledged and re-sends what was asked for."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync_protocol.envelope import Ack, SeqRange
from sync_protocol.sequence import (
    DEFAULT_WINDOW,
    AckPlan,
    SeqState,
    SequenceTracker,
    SeqVerdict,
    ack_for,
    classify,
    contiguous_runs,
    plan_after_ack,
)
from sync_protocol.streams import Stream
from tests.sync_protocol.sync_factories import DEVICE, STORE


def ranges(*pairs: tuple[int, int]) -> tuple[SeqRange, ...]:
    return tuple(SeqRange(first=a, last=b) for a, b in pairs)


def test_in_order_batches_move_the_mark():
    tracker = SequenceTracker()
    first = tracker.receive([1, 2, 3])
    assert first.new == (1, 2, 3)
    assert first.duplicates == ()
    assert first.gaps == ()
    assert tracker.state == SeqState(3)
    assert tracker.receive([4, 5]).state == SeqState(5)


def test_a_resent_batch_is_all_duplicates_and_changes_nothing():
    tracker = SequenceTracker(SeqState(5))
    decision = tracker.receive([3, 4, 5])
    assert decision.new == ()
    assert decision.duplicates == (3, 4, 5)
    assert decision.state == SeqState(5)


def test_a_batch_after_a_gap_is_committed_and_the_gap_reported():
    tracker = SequenceTracker(SeqState(3))
    decision = tracker.receive([7, 8])
    assert decision.new == (7, 8)
    assert decision.gaps == ranges((4, 6))
    assert decision.state == SeqState(3, frozenset({7, 8}))
    filled = tracker.receive([4, 5, 6])
    assert filled.new == (4, 5, 6)
    assert filled.gaps == ()
    assert tracker.state == SeqState(8)


def test_several_gaps_are_reported_in_order():
    decision = classify(SeqState(0), [2, 5, 6, 9])
    assert decision.gaps == ranges((1, 1), (3, 4), (7, 8))
    assert [verdict for _, verdict in decision.verdicts] == [SeqVerdict.NEW] * 4


def test_a_seq_twice_in_one_delivery_is_new_once():
    decision = classify(SeqState(0), [1, 2, 2, 1, 3])
    assert decision.new == (1, 2, 3)
    assert decision.duplicates == (2, 1)


def test_seqs_too_far_ahead_are_not_remembered():
    decision = classify(SeqState(10), [10 + 50, 10 + 51, 11], window=50)  # the window is from the mark
    assert decision.new == (60, 11)
    assert decision.beyond_window == (61,)
    assert decision.state == SeqState(11, frozenset({60}))
    assert DEFAULT_WINDOW == 10_000


@pytest.mark.parametrize("bad", [0, -3, 1.0, "2", True])
def test_seqs_are_positive_integers(bad):
    with pytest.raises(ValueError, match="seq"):
        classify(SeqState(), [bad])


def test_a_state_keeps_its_invariant():
    assert SeqState.of(3, [4, 5, 9, 2]) == SeqState(5, frozenset({9}))
    with pytest.raises(ValueError, match="leave a gap"):
        SeqState(3, frozenset({4}))
    with pytest.raises(ValueError, match="leave a gap"):
        SeqState(3, frozenset({2}))
    with pytest.raises(ValueError, match="negative"):
        SeqState(-1)
    with pytest.raises(ValueError, match="window"):
        classify(SeqState(), [1], window=0)
    assert SeqState(3, frozenset({9})).committed(2)
    assert SeqState(3, frozenset({9})).committed(9)
    assert not SeqState(3, frozenset({9})).committed(5)


def test_the_ack_carries_the_mark_and_the_gaps():
    ack = ack_for(SeqState(3, frozenset({7, 10})), store_id=STORE, device_id=DEVICE, stream=Stream.ORDERS)
    assert ack.high_water_seq == 3
    assert ack.missing == ranges((4, 6), (8, 9))
    many = SeqState(0, frozenset(range(2, 400, 2)))
    assert len(ack_for(many, store_id=STORE, device_id=DEVICE, stream=Stream.ORDERS).missing) == 100


# --- properties ------------------------------------------------------------------------------------------


@st.composite
def deliveries(draw) -> list[list[int]]:
    """Batches of contiguous seqs, some overlapping or repeated, delivered in any order."""
    batches = draw(
        st.lists(
            st.tuples(st.integers(1, 80), st.integers(1, 12)).map(lambda t: list(range(t[0], t[0] + t[1]))),
            min_size=1,
            max_size=25,
        )
    )
    repeats = draw(st.lists(st.sampled_from(batches), max_size=10))
    return draw(st.permutations(batches + repeats))


def reference_gaps(received: set[int]) -> list[tuple[int, int]]:
    top = max(received, default=0)
    missing = [s for s in range(1, top + 1) if s not in received]
    out: list[tuple[int, int]] = []
    for s in missing:
        if out and out[-1][1] == s - 1:
            out[-1] = (out[-1][0], s)
        else:
            out.append((s, s))
    return out


@settings(max_examples=200, deadline=None)
@given(deliveries())
def test_no_seq_is_ever_accepted_twice_and_the_gaps_are_exact(batches):
    tracker = SequenceTracker()
    accepted: list[int] = []
    received: set[int] = set()
    for seqs in batches:
        decision = tracker.receive(seqs)
        accepted.extend(decision.new)
        received.update(seqs)
        assert not set(decision.new) & set(decision.duplicates)
        assert [(r.first, r.last) for r in decision.gaps] == reference_gaps(received)
        mark = decision.state.high_water
        assert all(s in received for s in range(1, mark + 1))
        assert mark + 1 not in received
    assert len(accepted) == len(set(accepted))
    assert set(accepted) == received


@settings(deadline=None)
@given(deliveries(), st.integers(1, 30))
def test_a_window_bounds_what_is_remembered(batches, window):
    tracker = SequenceTracker(window=window)
    for seqs in batches:
        decision = tracker.receive(seqs)
        state = decision.state
        assert all(s <= state.high_water + window for s in state.above) or not state.above
        for seq in decision.beyond_window:
            assert not state.committed(seq)


# --- send side --------------------------------------------------------------------------------------------


def ack(high_water: int, *missing: tuple[int, int]) -> Ack:
    return Ack(
        store_id=STORE,
        device_id=DEVICE,
        stream=Stream.ORDERS,
        high_water_seq=high_water,
        missing=ranges(*missing),
    )


def test_after_an_ack_the_device_deletes_the_committed_and_resends_the_missing():
    plan = plan_after_ack(ack(4, (6, 7), (10, 10)), [3, 4, 5, 6, 7, 8, 9, 10, 11])
    assert plan == AckPlan(delete_up_to=4, resend=(6, 7, 10), lost=())


def test_seqs_asked_for_that_the_outbox_no_longer_holds_are_reported_lost():
    plan = plan_after_ack(ack(2, (3, 9), (12, 13)), [5, 6, 8, 13])
    assert plan.resend == (5, 6, 8, 13)
    assert plan.lost == ranges((3, 4), (7, 7), (9, 9), (12, 12))


def test_a_huge_range_costs_no_more_than_the_outbox():
    plan = plan_after_ack(ack(0, (1, 10**15)), [2, 3])
    assert plan.resend == (2, 3)
    assert plan.lost == ranges((1, 1), (4, 10**15))


@settings(deadline=None)
@given(st.sets(st.integers(1, 60)), st.lists(st.tuples(st.integers(1, 60), st.integers(0, 5)), max_size=6))
def test_resend_and_lost_partition_the_missing_seqs(outbox, raw_ranges):
    merged: list[tuple[int, int]] = []
    for first, width in sorted(raw_ranges):
        last = first + width
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    plan = plan_after_ack(ack(0, *merged), outbox)
    missing = {s for a, b in merged for s in range(a, b + 1)}
    lost = {s for r in plan.lost for s in range(r.first, r.last + 1)}
    assert set(plan.resend) == missing & outbox
    assert lost == missing - outbox
    assert list(plan.resend) == sorted(plan.resend)


def test_contiguous_runs_make_batches_without_gaps():
    assert contiguous_runs([5, 1, 2, 3, 7, 8, 2], max_len=2) == [(1, 2), (3,), (5,), (7, 8)]
    assert contiguous_runs([], max_len=3) == []
    with pytest.raises(ValueError, match="max_len"):
        contiguous_runs([1], max_len=0)


@given(st.sets(st.integers(1, 200)), st.integers(1, 10))
def test_contiguous_runs_cover_every_seq_once(seqs, max_len):
    runs = contiguous_runs(seqs, max_len=max_len)
    flat = [s for run in runs for s in run]
    assert flat == sorted(seqs)
    for run in runs:
        assert 1 <= len(run) <= max_len
        assert list(run) == list(range(run[0], run[0] + len(run)))
