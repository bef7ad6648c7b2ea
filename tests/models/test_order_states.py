"""The order state machine: the table is the rule, everything else is an IllegalTransition."""

import itertools

import pytest

from models.errors import Conflict, DomainError, IllegalTransition
from models.order_states import (
    STATUS_RANK,
    TERMINAL_STATES,
    TRANSITIONS,
    Actor,
    OrderStatus,
    Transition,
    allowed_targets,
    check_transition,
    find_transition,
)

S, A = OrderStatus, Actor

# The table in docs/domain.md, written out independently of models/order_states.py so a change to either
# one shows up here: (from, to) -> actors.
EXPECTED_TABLE: dict[tuple[OrderStatus | None, OrderStatus], frozenset[Actor]] = {
    (None, S.UNPAID): frozenset({A.BUYER, A.SYSTEM}),
    (None, S.COMPLETED): frozenset({A.STORE}),
    (S.UNPAID, S.TO_SHIP): frozenset({A.SYSTEM, A.SELLER}),
    (S.UNPAID, S.CANCELLED): frozenset({A.BUYER, A.SELLER, A.SYSTEM}),
    (S.TO_SHIP, S.SHIPPING): frozenset({A.SELLER, A.STORE}),
    (S.TO_SHIP, S.CANCELLED): frozenset({A.BUYER, A.SELLER, A.STORE}),
    (S.SHIPPING, S.COMPLETED): frozenset({A.BUYER, A.SYSTEM, A.SELLER}),
    (S.SHIPPING, S.RETURNED): frozenset({A.SELLER, A.SYSTEM}),
    (S.COMPLETED, S.REFUNDED): frozenset({A.SELLER, A.STORE}),
    (S.COMPLETED, S.RETURNED): frozenset({A.SELLER, A.STORE}),
}

SOURCES: list[OrderStatus | None] = [None, *OrderStatus]
ALL_TRIPLES = list(itertools.product(SOURCES, list(OrderStatus), list(Actor)))
ALLOWED = {(t.source, t.target, actor) for t in TRANSITIONS for actor in t.actors}
REFUSED = [t for t in ALL_TRIPLES if t not in ALLOWED]


def _triple_id(triple):
    source, target, actor = triple
    return f"{source or 'new'}->{target}:{actor}"


def test_seven_states_and_four_actors():
    assert {s.value for s in OrderStatus} == {
        "unpaid",
        "toShip",
        "shipping",
        "completed",
        "cancelled",
        "refunded",
        "returned",
    }
    assert {a.value for a in Actor} == {"buyer", "seller", "store", "system"}


def test_table_matches_the_documented_table():
    actual = {(t.source, t.target): t.actors for t in TRANSITIONS}
    assert actual == EXPECTED_TABLE


def test_table_has_no_duplicate_rows_and_no_empty_actor_sets():
    pairs = [(t.source, t.target) for t in TRANSITIONS]
    assert len(pairs) == len(set(pairs))
    assert all(t.actors for t in TRANSITIONS)
    assert all(t.source != t.target for t in TRANSITIONS)


@pytest.mark.parametrize("triple", sorted(ALLOWED, key=_triple_id), ids=_triple_id)
def test_every_listed_transition_is_accepted(triple):
    source, target, actor = triple
    row = check_transition(source, target, actor)
    assert isinstance(row, Transition)
    assert row.source == source
    assert row.target == target
    assert actor in row.actors
    assert find_transition(source, target) is row


@pytest.mark.parametrize("triple", REFUSED, ids=_triple_id)
def test_every_unlisted_transition_is_refused(triple):
    source, target, actor = triple
    with pytest.raises(IllegalTransition) as excinfo:
        check_transition(source, target, actor)
    err = excinfo.value
    assert err.code == "illegalTransition"
    assert err.status == 409
    assert err.details == {"source": source, "target": target, "actor": actor}


def test_exhaustive_loop_accepts_exactly_the_table():
    """The same rule as the two parametrized tests, in one loop, so the count is visible."""
    accepted = set()
    refused = 0
    for source, target, actor in ALL_TRIPLES:
        try:
            check_transition(source, target, actor)
        except IllegalTransition:
            refused += 1
        else:
            accepted.add((source, target, actor))
    assert accepted == ALLOWED
    assert len(accepted) + refused == len(SOURCES) * len(OrderStatus) * len(Actor) == 8 * 7 * 4
    assert len(accepted) == sum(len(actors) for actors in EXPECTED_TABLE.values()) == 22


def test_unknown_pair_and_wrong_actor_have_different_messages():
    with pytest.raises(IllegalTransition, match="cannot move to"):
        check_transition(S.UNPAID, S.COMPLETED, A.SELLER)
    with pytest.raises(IllegalTransition, match="a new order cannot move to"):
        check_transition(None, S.SHIPPING, A.SELLER)
    with pytest.raises(IllegalTransition, match="may not move an order"):
        check_transition(S.UNPAID, S.TO_SHIP, A.BUYER)


def test_illegal_transition_is_a_409_conflict_domain_error():
    assert issubclass(IllegalTransition, Conflict)
    assert issubclass(IllegalTransition, DomainError)
    with pytest.raises(IllegalTransition) as excinfo:
        check_transition(S.CANCELLED, S.UNPAID, A.SELLER)
    err = excinfo.value
    assert err.code == "illegalTransition"
    assert err.status == 409
    body = err.body()
    assert body["error"]["code"] == "illegalTransition"
    assert body["error"]["source"] == "cancelled"
    assert body["error"]["target"] == "unpaid"
    assert body["error"]["actor"] == "seller"


@pytest.mark.parametrize("actor", list(Actor))
def test_in_store_sale_is_created_completed_only_by_the_store(actor):
    if actor is A.STORE:
        row = check_transition(None, S.COMPLETED, actor)
        assert not row.restocks
        assert not row.refunds_payment
    else:
        with pytest.raises(IllegalTransition):
            check_transition(None, S.COMPLETED, actor)


@pytest.mark.parametrize("target", [s for s in OrderStatus if s not in (S.UNPAID, S.COMPLETED)])
@pytest.mark.parametrize("actor", list(Actor))
def test_new_orders_start_only_unpaid_or_completed(target, actor):
    with pytest.raises(IllegalTransition):
        check_transition(None, target, actor)


def test_terminal_states():
    assert frozenset({S.CANCELLED, S.REFUNDED, S.RETURNED}) == TERMINAL_STATES
    for state in OrderStatus:
        assert state.is_terminal is (state in TERMINAL_STATES)


@pytest.mark.parametrize("state", sorted(TERMINAL_STATES))
def test_terminal_states_have_no_outgoing_transitions(state):
    assert [t for t in TRANSITIONS if t.source == state] == []
    for actor in Actor:
        assert allowed_targets(state, actor) == []
        for target in OrderStatus:
            with pytest.raises(IllegalTransition):
                check_transition(state, target, actor)


def test_every_non_terminal_state_has_a_way_out():
    for state in OrderStatus:
        if not state.is_terminal:
            assert any(t.source == state for t in TRANSITIONS), state


def test_every_state_is_reachable_from_creation():
    reached: set[OrderStatus | None] = {None}
    frontier: list[OrderStatus | None] = [None]
    while frontier:
        source = frontier.pop()
        for t in TRANSITIONS:
            if t.source == source and t.target not in reached:
                reached.add(t.target)
                frontier.append(t.target)
    assert reached == {None, *OrderStatus}


def test_status_rank_orders_terminal_over_completed_over_shipping_over_to_ship_over_unpaid():
    assert set(STATUS_RANK) == set(OrderStatus)
    assert STATUS_RANK[S.UNPAID] < STATUS_RANK[S.TO_SHIP] < STATUS_RANK[S.SHIPPING] < STATUS_RANK[S.COMPLETED]
    for terminal in TERMINAL_STATES:
        assert STATUS_RANK[terminal] > STATUS_RANK[S.COMPLETED]
    assert len({STATUS_RANK[t] for t in TERMINAL_STATES}) == 1


def test_every_transition_moves_an_order_forward_in_rank():
    for t in TRANSITIONS:
        if t.source is not None:
            assert STATUS_RANK[t.target] > STATUS_RANK[t.source], t


@pytest.mark.parametrize(
    ("source", "actor", "expected"),
    [
        (S.UNPAID, A.SYSTEM, {S.TO_SHIP, S.CANCELLED}),
        (S.UNPAID, A.SELLER, {S.TO_SHIP, S.CANCELLED}),
        (S.UNPAID, A.BUYER, {S.CANCELLED}),
        (S.UNPAID, A.STORE, set()),
        (S.TO_SHIP, A.SELLER, {S.SHIPPING, S.CANCELLED}),
        (S.TO_SHIP, A.STORE, {S.SHIPPING, S.CANCELLED}),
        (S.TO_SHIP, A.BUYER, {S.CANCELLED}),
        (S.TO_SHIP, A.SYSTEM, set()),
        (S.SHIPPING, A.SELLER, {S.COMPLETED, S.RETURNED}),
        (S.SHIPPING, A.SYSTEM, {S.COMPLETED, S.RETURNED}),
        (S.SHIPPING, A.BUYER, {S.COMPLETED}),
        (S.SHIPPING, A.STORE, set()),
        (S.COMPLETED, A.SELLER, {S.REFUNDED, S.RETURNED}),
        (S.COMPLETED, A.STORE, {S.REFUNDED, S.RETURNED}),
        (S.COMPLETED, A.BUYER, set()),
        (S.COMPLETED, A.SYSTEM, set()),
    ],
)
def test_allowed_targets(source, actor, expected):
    targets = allowed_targets(source, actor)
    assert set(targets) == expected
    assert len(targets) == len(set(targets))


def test_allowed_targets_agrees_with_check_transition_everywhere():
    for source, actor in itertools.product(OrderStatus, Actor):
        targets = set(allowed_targets(source, actor))
        for target in OrderStatus:
            legal = (source, target, actor) in ALLOWED
            assert (target in targets) is legal


def test_restock_and_refund_flags():
    restocking = {(t.source, t.target) for t in TRANSITIONS if t.restocks}
    assert restocking == {
        (S.UNPAID, S.CANCELLED),
        (S.TO_SHIP, S.CANCELLED),
        (S.SHIPPING, S.RETURNED),
        (S.COMPLETED, S.RETURNED),
    }
    refunding = {(t.source, t.target) for t in TRANSITIONS if t.refunds_payment}
    assert refunding == {
        (S.TO_SHIP, S.CANCELLED),
        (S.SHIPPING, S.RETURNED),
        (S.COMPLETED, S.REFUNDED),
        (S.COMPLETED, S.RETURNED),
    }
    # Goods only come back on a cancellation or a return; a return always refunds, and a refund alone
    # (goods kept) never restocks.
    assert all(t.target in (S.RETURNED, S.CANCELLED) for t in TRANSITIONS if t.restocks)
    assert all(t.refunds_payment for t in TRANSITIONS if t.target is S.RETURNED)
    assert not any(t.restocks for t in TRANSITIONS if t.target is S.REFUNDED)


def test_statuses_are_plain_strings_on_the_wire():
    assert OrderStatus("toShip") is S.TO_SHIP
    assert f"{S.TO_SHIP}" == "toShip"
    assert Actor("store") is A.STORE
