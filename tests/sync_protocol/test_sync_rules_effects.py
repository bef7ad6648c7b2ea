"""The stock effects of order status merges: the same deltas (by id) on both sides, whatever the order of
arrival, so after exchanging them the store and the cloud hold the same levels."""

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from models.order_states import Actor, OrderStatus
from models.sales import OrderItem
from models.stock import StockReason
from sync_protocol.rules import (
    StatusState,
    creation_transition,
    effect_delta_id,
    merge_all,
    merge_order_status,
    transition_effects,
)
from tests.sync_protocol.sync_factories import AT, CLOUD, DEVICE, STORE, order, transition
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
