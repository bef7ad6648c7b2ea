"""The order-status merge: legal transitions only; of concurrent transitions from the same state, the one that
moves the order further wins, then the later HLC, then the higher device id; every replica converges."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.order_states import TRANSITIONS, Actor, OrderStatus
from sync_protocol.envelope import OrderTransition
from sync_protocol.hlc import HLC
from sync_protocol.rules import MergeResult, StatusState, merge_all, merge_order_status
from tests.sync_protocol.sync_factories import CLOUD, DEVICE, OTHER_DEVICE, T0, transition

S, A = OrderStatus, Actor
SALE = transition(None, S.COMPLETED, A.STORE, wall=T0)  # an in-store sale
ONLINE = transition(None, S.UNPAID, A.BUYER, device=CLOUD, wall=T0)  # an online order


def state(*transitions: OrderTransition) -> StatusState:
    final, _ = merge_all(StatusState("order-1"), transitions)
    return final


def test_a_legal_transition_applies():
    outcome = merge_order_status(
        state(SALE), refund := transition(S.COMPLETED, S.REFUNDED, A.STORE, wall=T0 + 9)
    )
    assert outcome.result is MergeResult.APPLIED
    assert (outcome.status_before, outcome.status_after) == (S.COMPLETED, S.REFUNDED)
    assert outcome.newly_effective == (refund,)
    assert outcome.superseded == ()
    assert outcome.state.path == (SALE, refund)


def test_the_same_transition_again_is_a_duplicate():
    refund = transition(S.COMPLETED, S.REFUNDED, A.STORE, wall=T0 + 9)
    outcome = merge_order_status(state(SALE, refund), refund)
    assert outcome.result is MergeResult.DUPLICATE
    assert outcome.state == state(SALE, refund)
    assert outcome.status_after is S.REFUNDED


def test_an_illegal_transition_is_not_kept():
    sneaky = OrderTransition.model_construct(  # bypasses the model's own check, as a bug upstream might
        order_id="order-1",
        from_status=S.COMPLETED,
        to_status=S.CANCELLED,
        actor=A.STORE,
        hlc=HLC(T0 + 1, 0, DEVICE).encode(),
        device_id=DEVICE,
        note=None,
    )
    outcome = merge_order_status(state(SALE), sneaky)
    assert outcome.result is MergeResult.ILLEGAL
    assert outcome.state == state(SALE)
    assert outcome.status_after is S.COMPLETED


def test_a_transition_of_another_order_is_a_programming_error():
    with pytest.raises(ValueError, match="order-2"):
        merge_order_status(state(SALE), transition(S.COMPLETED, S.REFUNDED, A.STORE, order_id="order-2"))


def test_equally_far_concurrent_transitions_go_to_the_later_hlc_on_both_sides():
    # The store refunds (money back) while the seller, a little later by HLC, records a return.
    refund = transition(S.COMPLETED, S.REFUNDED, A.STORE, device=DEVICE, wall=T0 + 10)
    ret = transition(S.COMPLETED, S.RETURNED, A.SELLER, device=CLOUD, wall=T0 + 12)

    store_side = merge_order_status(state(SALE, refund), ret)
    assert store_side.result is MergeResult.APPLIED
    assert store_side.superseded == (refund,)  # the store is told its refund lost
    assert store_side.status_after is S.RETURNED

    cloud_side = merge_order_status(state(SALE, ret), refund)
    assert cloud_side.result is MergeResult.LOST_CONFLICT
    assert cloud_side.winner == ret
    assert cloud_side.status_after is S.RETURNED
    assert store_side.state == cloud_side.state


def test_the_transition_that_moves_the_order_further_wins_whatever_the_clock():
    # Payment confirmed (toShip) and cancelled concurrently; the cancel is older by HLC but terminal.
    paid = transition(S.UNPAID, S.TO_SHIP, A.SYSTEM, device=CLOUD, wall=T0 + 50)
    cancel = transition(S.UNPAID, S.CANCELLED, A.BUYER, device=DEVICE, wall=T0 + 5)
    assert state(ONLINE, paid, cancel).status is S.CANCELLED
    outcome = merge_order_status(state(ONLINE, cancel), paid)
    assert outcome.result is MergeResult.LOST_CONFLICT
    assert outcome.winner == cancel


def test_a_winner_arriving_late_supersedes_the_whole_branch_it_beats():
    paid = transition(S.UNPAID, S.TO_SHIP, A.SYSTEM, device=CLOUD, wall=T0 + 1)
    shipped = transition(S.TO_SHIP, S.SHIPPING, A.SELLER, device=CLOUD, wall=T0 + 2)
    cancel = transition(S.UNPAID, S.CANCELLED, A.SELLER, device=OTHER_DEVICE, wall=T0 + 1)
    outcome = merge_order_status(state(ONLINE, paid, shipped), cancel)
    assert outcome.result is MergeResult.APPLIED
    assert outcome.status_before is S.SHIPPING
    assert outcome.status_after is S.CANCELLED
    assert outcome.superseded == (paid, shipped)
    assert outcome.newly_effective == (cancel,)


def test_a_transition_on_a_losing_branch_loses_to_the_winner_of_that_branch():
    paid = transition(S.UNPAID, S.TO_SHIP, A.SYSTEM, device=CLOUD, wall=T0 + 1)
    cancel = transition(S.UNPAID, S.CANCELLED, A.BUYER, device=DEVICE, wall=T0 + 1)
    shipped = transition(S.TO_SHIP, S.SHIPPING, A.SELLER, device=CLOUD, wall=T0 + 2)
    outcome = merge_order_status(state(ONLINE, paid, cancel), shipped)
    assert outcome.result is MergeResult.LOST_CONFLICT
    assert outcome.winner == cancel


def test_a_transition_whose_source_is_not_reached_yet_waits_then_applies():
    paid = transition(S.UNPAID, S.TO_SHIP, A.SYSTEM, device=CLOUD, wall=T0 + 1)
    shipped = transition(S.TO_SHIP, S.SHIPPING, A.SELLER, device=CLOUD, wall=T0 + 2)
    delivered = transition(S.SHIPPING, S.COMPLETED, A.SYSTEM, device=CLOUD, wall=T0 + 3)
    early = merge_order_status(state(ONLINE, paid), delivered)
    assert early.result is MergeResult.PENDING
    assert early.status_after is S.TO_SHIP
    late = merge_order_status(early.state, shipped)
    assert late.result is MergeResult.APPLIED
    assert late.newly_effective == (shipped, delivered)
    assert late.status_after is S.COMPLETED


def test_transitions_before_the_creation_wait_for_it():
    refund = transition(S.COMPLETED, S.REFUNDED, A.STORE, wall=T0 + 9)
    early = merge_order_status(StatusState("order-1"), refund)
    assert early.result is MergeResult.PENDING
    assert early.status_after is None
    created = merge_order_status(early.state, SALE)
    assert created.result is MergeResult.APPLIED
    assert created.status_after is S.REFUNDED


def test_a_tie_on_the_clock_goes_to_the_higher_device_id():
    a = transition(S.COMPLETED, S.REFUNDED, A.STORE, device="node-a", wall=T0 + 5, counter=2)
    b = transition(S.COMPLETED, S.RETURNED, A.STORE, device="node-b", wall=T0 + 5, counter=2)
    assert state(SALE, a, b).status is S.RETURNED
    assert state(SALE, b, a).status is S.RETURNED


def test_the_same_move_made_on_both_sides_keeps_the_later_and_continues_from_either():
    seller = transition(S.TO_SHIP, S.SHIPPING, A.SELLER, device=CLOUD, wall=T0 + 2)
    store = transition(S.TO_SHIP, S.SHIPPING, A.STORE, device=DEVICE, wall=T0 + 3)
    paid = transition(S.UNPAID, S.TO_SHIP, A.SYSTEM, device=CLOUD, wall=T0 + 1)
    # The carrier's delivery was recorded after the seller's own "shipping": it still counts.
    delivered = transition(S.SHIPPING, S.COMPLETED, A.SYSTEM, device=CLOUD, wall=T0 + 4)
    final = state(ONLINE, paid, seller, delivered, store)
    assert final.status is S.COMPLETED
    assert final.path == (ONLINE, paid, store, delivered)
    outcome = merge_order_status(state(ONLINE, paid, store), seller)
    assert outcome.result is MergeResult.LOST_CONFLICT
    assert outcome.winner == store


# --- convergence ------------------------------------------------------------------------------------------

RANK = {
    S.UNPAID: 0,
    S.TO_SHIP: 1,
    S.SHIPPING: 2,
    S.COMPLETED: 3,
    S.CANCELLED: 4,
    S.REFUNDED: 4,
    S.RETURNED: 4,
}
"""The rule as the design notes state it, written out here rather than taken from the code under test."""
DEVICES = ["cloud-1", "node-a", "node-b"]


@st.composite
def histories(draw) -> list[OrderTransition]:
    """An order's creation, then rounds of concurrent legal transitions made by devices that had seen only
    part of what happened (each branches from some state already reached somewhere)."""
    creation = draw(st.sampled_from([(S.UNPAID, A.BUYER), (S.COMPLETED, A.STORE)]))
    made = [transition(None, creation[0], creation[1], device=draw(st.sampled_from(DEVICES)), wall=T0)]
    used: set[tuple[int, int, str]] = set()
    for _ in range(draw(st.integers(0, 9))):
        parent = draw(st.sampled_from(made))
        options = [
            (t.target, actor)
            for t in TRANSITIONS
            if t.source == parent.to_status
            for actor in sorted(t.actors)
        ]
        if not options:
            continue
        target, actor = draw(st.sampled_from(options))
        device = draw(st.sampled_from(DEVICES))
        wall = parent.stamp().wall_ms + draw(st.integers(0, 3))  # made after seeing its parent
        counter = draw(st.integers(0, 2))
        while (wall, counter, device) in used:  # one clock never gives one stamp twice
            counter += 1
        used.add((wall, counter, device))
        child = transition(parent.to_status, target, actor, device=device, wall=wall, counter=counter)
        if child not in made:
            made.append(child)
    return made


def expected_status(transitions: list[OrderTransition]) -> OrderStatus | None:
    status: OrderStatus | None = None
    while True:
        leaving = [t for t in transitions if t.from_status == status]
        if not leaving:
            return status
        status = max(
            leaving, key=lambda t: (RANK[t.to_status], t.stamp().wall_ms, t.stamp().counter, t.device_id)
        ).to_status


def deliver(transitions: list[OrderTransition], rng: random.Random) -> list[OrderTransition]:
    """Any order, with some transitions delivered more than once."""
    delivery = transitions + [rng.choice(transitions) for _ in range(rng.randint(0, len(transitions)))]
    rng.shuffle(delivery)
    return delivery


@settings(max_examples=300, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_replicas_converge_on_the_status_the_rules_define(history, rng):
    replicas = []
    for _ in range(2):
        delivery = deliver(history, rng)
        final, outcomes = merge_all(StatusState("order-1"), delivery)
        replicas.append(final)
        seen: set[OrderTransition] = set()
        for t, outcome in zip(delivery, outcomes, strict=True):
            assert (outcome.result is MergeResult.DUPLICATE) == (t in seen)
            assert outcome.result is not MergeResult.ILLEGAL
            if outcome.result is MergeResult.LOST_CONFLICT:
                assert outcome.winner in outcome.state.path  # the side that lost can be told who won
            seen.add(t)
    first, second = replicas
    assert first == second
    assert first.status == second.status == expected_status(history)
    assert first.transitions == frozenset(history)
    # Once everything has arrived, every transition off the path knows which one beat it.
    for t in history:
        if t not in first.path:
            assert first.beaten_by(t) in first.path


@settings(max_examples=200, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_each_transition_is_applied_at_most_once_and_duplicates_change_nothing(history, rng):
    current = StatusState("order-1")
    applied: list[OrderTransition] = []
    for t in deliver(history, rng):
        outcome = merge_order_status(current, t)
        if outcome.result is MergeResult.DUPLICATE:
            assert outcome.state is current
        if outcome.result is MergeResult.APPLIED:
            assert t in outcome.newly_effective
        applied.extend(outcome.newly_effective)
        for gone in outcome.superseded:
            applied.remove(gone)
        current = outcome.state
    # What was applied, minus what was superseded, is exactly the final path: effects stay balanced.
    assert sorted(applied, key=lambda t: t.hlc) == sorted(current.path, key=lambda t: t.hlc)
