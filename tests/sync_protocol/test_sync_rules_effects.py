"""The stock effects of order status merges: the same deltas (by id) on both sides, whatever the order of
arrival, so after exchanging them the store and the cloud hold the same levels."""

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from models.order_states import Actor, OrderStatus
from models.returns import OrderReturn
from models.sales import OrderItem
from models.stock import StockReason
from sync_protocol.rules import (
    StatusState,
    creation_transition,
    effect_delta_id,
    merge_all,
    merge_order_status,
    overlap_delta_id,
    return_delta_id,
    return_effects,
    transition_effects,
)
from tests.sync_protocol.sync_factories import AT, CLOUD, DEVICE, STORE, order, order_return, transition
from tests.sync_protocol.test_sync_rules_order_status import deliver, histories

S, A = OrderStatus, Actor
LINES: list[OrderItem] = order(1).items  # one line: two of "v-tea"


def created() -> StatusState:
    return StatusState("order-1", frozenset({transition(None, S.COMPLETED, A.STORE)}))


def test_a_return_puts_the_goods_back_and_a_refund_does_not():
    returned = merge_order_status(created(), transition(S.COMPLETED, S.RETURNED, A.STORE, wall=AT_MS + 5))
    [delta] = transition_effects(returned, LINES, store_id=STORE, at=AT)
    assert (delta.variant_id, delta.quantity, delta.reason) == ("v-tea", 2, StockReason.REFUND)
    assert delta.delta_id == effect_delta_id(LINES[0].item_id, returned.newly_effective[0])
    refunded = merge_order_status(created(), transition(S.COMPLETED, S.REFUNDED, A.SELLER, device=CLOUD))
    assert transition_effects(refunded, LINES, store_id=STORE, at=AT) == []


def test_a_return_that_loses_to_a_later_refund_is_taken_back():
    store_return = transition(S.COMPLETED, S.RETURNED, A.STORE, wall=AT_MS + 5)
    cloud_refund = transition(S.COMPLETED, S.REFUNDED, A.SELLER, device=CLOUD, wall=AT_MS + 9)
    at_store = merge_order_status(created(), store_return)
    then = merge_order_status(at_store.state, cloud_refund)
    assert then.superseded == (store_return,)
    assert then.state.status is S.REFUNDED
    [undo] = transition_effects(then, LINES, store_id=STORE, at=AT)
    assert undo.quantity == -2
    assert undo.delta_id == effect_delta_id(LINES[0].item_id, store_return, undo=True)
    # The cloud saw the refund first: it never wrote the return's effect, and writes nothing for it.
    in_cloud = merge_all(created(), [cloud_refund, store_return])[1]
    assert [transition_effects(o, LINES, store_id=STORE, at=AT) for o in in_cloud] == [[], []]


def test_effect_ids_are_the_same_on_both_sides_and_differ_per_transition():
    a = transition(S.COMPLETED, S.RETURNED, A.STORE, wall=AT_MS + 1)
    b = transition(S.COMPLETED, S.RETURNED, A.SELLER, device=CLOUD, wall=AT_MS + 1)
    assert effect_delta_id("item-1", a) == effect_delta_id("item-1", a.model_copy())
    assert effect_delta_id("item-1", a) != effect_delta_id("item-1", b)
    assert effect_delta_id("item-1", a) != effect_delta_id("item-1", a, undo=True)
    assert len(effect_delta_id("01J" + "0" * 23, a, undo=True)) <= 64  # fits an Ident


def test_the_creation_rebuilt_from_the_order_is_the_same_every_time():
    one = creation_transition("order-1", S.COMPLETED, AT, DEVICE)
    assert one == creation_transition("order-1", S.COMPLETED, AT, DEVICE)
    assert one.from_status is None
    assert one.actor is A.STORE


AT_MS = int(AT.timestamp() * 1000)


@settings(max_examples=300, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_both_sides_hold_the_effects_of_the_final_path_once_they_exchange_deltas(history, rng):
    written: list[dict[str, int]] = []
    finals = []
    for _ in range(2):  # the store node and the cloud, each with its own delivery order
        current = StatusState("order-1")
        mine: dict[str, int] = {}
        for t in deliver(history, rng):
            outcome = merge_order_status(current, t)
            for delta in transition_effects(outcome, LINES, store_id=STORE, at=AT):
                assert delta.delta_id not in mine  # each effect (and each undo) is written at most once
                mine[delta.delta_id] = delta.quantity
            current = outcome.state
        written.append(mine)
        finals.append(current)
    assert finals[0].path == finals[1].path
    exchanged = written[0] | written[1]  # each side sends its deltas; ids dedupe
    for delta_id in written[0].keys() & written[1].keys():
        assert written[0][delta_id] == written[1][delta_id]
    expected = Counter()
    for t in finals[0].path:
        if t.from_status is not None and t.to_status in (S.CANCELLED, S.RETURNED):
            expected["v-tea"] += 2
    assert sum(exchanged.values()) == expected["v-tea"]


# --- partial returns --------------------------------------------------------------------------------------

FIVE: list[OrderItem] = [LINES[0].model_copy(update={"quantity": 5, "line_total": 245})]
SOLD_FIVE = order(1).model_copy(update={"items": FIVE, "subtotal": 275, "discount_total": 30, "total": 245})


def returned(n: int, quantity: int, before: int) -> OrderReturn:
    return order_return(n, SOLD_FIVE, quantity=quantity, before=before)


def test_a_partial_return_puts_its_units_back_once_whoever_writes_it():
    ret = returned(1, 2, 0)
    [delta] = return_effects(ret, FIVE, created().path, store_id=STORE, at=AT)
    assert (delta.variant_id, delta.quantity, delta.reason) == ("v-tea", 2, StockReason.REFUND)
    assert delta.delta_id == return_delta_id(ret.return_id, FIVE[0].item_id)
    assert return_effects(ret, FIVE, created().path, store_id=STORE, at=AT) == [delta]  # same id again
    assert len(delta.delta_id) <= 64


def test_a_whole_return_after_a_partial_one_puts_back_only_the_rest():
    ret = returned(1, 2, 0)
    whole = transition(S.COMPLETED, S.RETURNED, A.SELLER, device=CLOUD, wall=AT_MS + 9)
    outcome = merge_order_status(created(), whole)
    deltas = return_effects(ret, FIVE, created().path, store_id=STORE, at=AT) + transition_effects(
        outcome, FIVE, store_id=STORE, at=AT, returns=[ret]
    )
    assert sum(d.quantity for d in deltas) == 5  # 2 back with the return, 3 more with the whole return
    # The other side met them the other way round: the same deltas.
    other = transition_effects(outcome, FIVE, store_id=STORE, at=AT) + return_effects(
        ret, FIVE, outcome.state.path, store_id=STORE, at=AT
    )
    assert {d.delta_id: d.quantity for d in other} == {d.delta_id: d.quantity for d in deltas}
    # A later refund takes the whole return off the path: its restock and its overlap are undone.
    refund = transition(S.COMPLETED, S.REFUNDED, A.STORE, wall=AT_MS + 20)
    then = merge_order_status(outcome.state, refund)
    undone = transition_effects(then, FIVE, store_id=STORE, at=AT, returns=[ret])
    assert sum(d.quantity for d in deltas + undone) == 2  # the goods kept; the partial return's units back
    assert {d.delta_id for d in undone} == {
        effect_delta_id(FIVE[0].item_id, whole, undo=True),
        overlap_delta_id(ret.return_id, FIVE[0].item_id, whole, undo=True),
    }


@st.composite
def returns_of_five(draw) -> list[OrderReturn]:
    """0-3 partial returns of the five units, made one after the other at the node."""
    made, back = [], 0
    for n in range(draw(st.integers(0, 3))):
        if back == 5:
            break
        quantity = draw(st.integers(1, 5 - back))
        made.append(returned(n, quantity, back))
        back += quantity
    return made


@settings(max_examples=300, deadline=None)
@given(histories(), returns_of_five(), st.randoms(use_true_random=False))
def test_with_partial_returns_both_sides_count_each_unit_back_once(history, returns, rng):
    """Transitions and partial returns reach each side in its own order; each side writes the effects of
    what it learns (a return with the path it knows, a merge with the returns it knows). Exchanged, the
    deltas put back every unit when a whole return or cancellation stands, else the returned units."""
    written: list[dict[str, int]] = []
    finals = []
    for _ in range(2):
        current, known = StatusState("order-1"), []
        mine: dict[str, int] = {}
        arrivals: list[object] = [*deliver(history, rng), *returns]
        rng.shuffle(arrivals)
        for arrival in arrivals:
            if isinstance(arrival, OrderReturn):
                deltas = return_effects(arrival, FIVE, current.path, store_id=STORE, at=AT)
                known.append(arrival)
            else:
                outcome = merge_order_status(current, arrival)
                deltas = transition_effects(outcome, FIVE, store_id=STORE, at=AT, returns=known)
                current = outcome.state
            for delta in deltas:
                assert delta.delta_id not in mine  # each effect (and each undo) is written at most once
                mine[delta.delta_id] = delta.quantity
        written.append(mine)
        finals.append(current)
    assert finals[0].path == finals[1].path
    for delta_id in written[0].keys() & written[1].keys():
        assert written[0][delta_id] == written[1][delta_id]
    exchanged = written[0] | written[1]
    whole = any(
        t.from_status is not None and t.to_status in (S.CANCELLED, S.RETURNED) for t in finals[0].path
    )
    assert sum(exchanged.values()) == (5 if whole else sum(r.items[0].quantity for r in returns))
