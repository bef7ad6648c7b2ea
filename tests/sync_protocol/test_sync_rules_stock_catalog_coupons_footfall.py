"""The other merge rules: stock as a sum of deltas counted once; catalog versions only forward; a single-use
coupon redeemed twice offline flags the later sale; footfall counted from distinct events."""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.business_days import TAIWAN
from models.footfall import Direction
from sync_protocol.envelope import CatalogDelta
from sync_protocol.hlc import HLC
from sync_protocol.rules import (
    CatalogVerdict,
    CouponRedemption,
    FootfallLog,
    FootfallTally,
    StockLedger,
    apply_stock_delta,
    footfall_by_day,
    judge_catalog_delta,
    judge_catalog_snapshot,
    judge_coupon,
    redemption_of,
    stock_levels,
)
from tests.sync_protocol.sync_factories import (
    AT,
    DEVICE,
    OTHER_DEVICE,
    OTHER_STORE,
    STORE,
    T0,
    footfall,
    order,
    stock_delta,
)

# --- stock ------------------------------------------------------------------------------------------------


def test_a_level_is_the_sum_of_its_deltas():
    ledger = StockLedger()
    ledger.apply(stock_delta(1, quantity=10))
    ledger.apply(stock_delta(2, quantity=-3))
    ledger.apply(stock_delta(3, quantity=-2, variant_id="v-milk"))
    assert ledger.level(STORE, "v-tea") == 7
    assert ledger.levels == {(STORE, "v-tea"): 7, (STORE, "v-milk"): -2}


def test_a_delta_delivered_twice_counts_once():
    ledger = StockLedger()
    first = ledger.apply(stock_delta(1, quantity=-4))
    again = ledger.apply(stock_delta(1, quantity=-4))
    assert first.applied
    assert not again.applied
    assert not again.conflict
    assert ledger.level(STORE, "v-tea") == -4


def test_a_reused_id_with_other_content_is_a_conflict_and_not_counted():
    ledger = StockLedger()
    ledger.apply(stock_delta(1, quantity=-4))
    clash = ledger.apply(stock_delta(1, quantity=-40))
    assert clash.conflict
    assert not clash.applied
    assert ledger.level(STORE, "v-tea") == -4


def test_concurrent_offline_sales_and_a_cloud_restock_both_survive_and_a_negative_level_is_flagged():
    ledger = StockLedger()
    ledger.apply(stock_delta(1, quantity=2))  # counted stock: 2
    ledger.apply(stock_delta(2, quantity=-2))  # store sells 2 offline
    sold = ledger.apply(stock_delta(3, quantity=-1))  # a second kiosk sold one more, also offline
    assert sold.applied
    assert sold.level == -1
    assert sold.negative
    assert sold.crossed_below_zero
    still = ledger.apply(stock_delta(4, quantity=-1))
    assert still.negative
    assert not still.crossed_below_zero
    restock = ledger.apply(stock_delta(5, quantity=12))  # the cloud's restock
    assert restock.level == 10
    assert not restock.negative
    assert ledger.negative_levels() == {}


def test_apply_stock_delta_is_the_rule_for_a_database_backed_caller():
    assert apply_stock_delta(3, stock_delta(quantity=-5), already_counted=False).level == -2
    repeat = apply_stock_delta(-2, stock_delta(quantity=-5), already_counted=True)
    assert not repeat.applied
    assert repeat.level == -2
    assert repeat.negative


stock_histories = st.lists(
    st.tuples(st.integers(1, 40), st.integers(-20, 20).filter(bool), st.sampled_from(["v-tea", "v-milk"]),
              st.sampled_from([STORE, OTHER_STORE])),
    min_size=1,
    max_size=40,
    unique_by=lambda t: t[0],
).map(lambda rows: [stock_delta(n, quantity=q, variant_id=v, store_id=s) for n, q, v, s in rows])  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(stock_histories, st.randoms(use_true_random=False))
def test_levels_are_the_same_whatever_the_delivery_order_and_repeats(deltas, rng):
    expected: dict[tuple[str, str], int] = {}
    for d in deltas:
        expected[(d.store_id, d.variant_id)] = expected.get((d.store_id, d.variant_id), 0) + d.quantity
    for _ in range(3):
        delivery = deltas + [rng.choice(deltas) for _ in range(rng.randint(0, len(deltas)))]
        rng.shuffle(delivery)
        assert stock_levels(delivery) == expected


# --- catalog ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("held", "offered", "verdict"),
    [(None, 1, CatalogVerdict.APPLY), (3, 4, CatalogVerdict.APPLY), (3, 9, CatalogVerdict.APPLY),
     (3, 3, CatalogVerdict.STALE), (3, 2, CatalogVerdict.STALE)],
)  # fmt: skip
def test_a_snapshot_applies_only_when_newer(held, offered, verdict):
    assert judge_catalog_snapshot(held, offered) is verdict


@pytest.mark.parametrize(
    ("held", "span", "verdict"),
    [(3, (3, 4), CatalogVerdict.APPLY), (3, (3, 7), CatalogVerdict.APPLY), (3, (2, 3), CatalogVerdict.STALE),
     (5, (3, 4), CatalogVerdict.STALE), (3, (4, 5), CatalogVerdict.NEEDS_SNAPSHOT),
     (3, (2, 4), CatalogVerdict.NEEDS_SNAPSHOT), (None, (1, 2), CatalogVerdict.NEEDS_SNAPSHOT)],
)  # fmt: skip
def test_a_delta_applies_only_on_top_of_the_version_it_starts_from(held, span, verdict):
    delta = CatalogDelta(store_id=STORE, from_version=span[0], to_version=span[1], changes=())
    assert judge_catalog_delta(held, delta) is verdict


# --- coupons ----------------------------------------------------------------------------------------------


def redemption(order_id: str, wall: int, device: str = DEVICE, code: str = "WELCOME10") -> CouponRedemption:
    return CouponRedemption(code, order_id, STORE, device, HLC(wall, 0, device))


def test_a_single_use_coupon_redeemed_in_two_stores_flags_the_later_sale():
    taipei = redemption("order-taipei", T0 + 100, DEVICE)
    tainan = redemption("order-tainan", T0 + 250, OTHER_DEVICE, code="welcome10")
    for given_order in ([taipei, tainan], [tainan, taipei]):
        verdict = judge_coupon("Welcome10", given_order, max_uses=1)
        assert verdict.code == "WELCOME10"
        assert verdict.standing == (taipei,)
        assert verdict.flagged == (tainan,)


def test_a_tie_on_the_clock_flags_the_higher_device_id():
    a = CouponRedemption("C1", "o-a", STORE, "node-a", HLC(T0, 3, "node-a"))
    b = CouponRedemption("C1", "o-b", STORE, "node-b", HLC(T0, 3, "node-b"))
    assert judge_coupon("C1", [b, a], max_uses=1).flagged == (b,)


def test_uses_beyond_the_limit_are_flagged_and_unlimited_coupons_never_are():
    rs = [redemption(f"o-{i}", T0 + i) for i in range(5)]
    verdict = judge_coupon("WELCOME10", reversed(rs), max_uses=3)
    assert verdict.standing == tuple(rs[:3])
    assert verdict.flagged == tuple(rs[3:])
    assert judge_coupon("WELCOME10", rs, max_uses=None).flagged == ()
    with pytest.raises(ValueError, match="max_uses"):
        judge_coupon("WELCOME10", rs, max_uses=0)


def test_one_order_delivered_twice_is_one_redemption_and_other_codes_are_ignored():
    first = redemption("o-1", T0)
    verdict = judge_coupon("WELCOME10", [first, first, redemption("o-2", T0 + 1, code="OTHER")], max_uses=1)
    assert verdict.standing == (first,)
    assert verdict.flagged == ()


def test_a_sale_with_a_coupon_carries_its_redemption():
    stamp = HLC(T0, 0, DEVICE)
    found = redemption_of(order(1, coupon_code="WELCOME10"), hlc=stamp, device_id=DEVICE)
    assert found is not None
    assert found.code == "WELCOME10"
    assert found.hlc == stamp
    assert redemption_of(order(2), hlc=stamp, device_id=DEVICE) is None


@given(
    st.lists(st.tuples(st.integers(0, 50), st.sampled_from(["node-a", "node-b", "cloud-1"])), min_size=1, max_size=12,
             unique=True),
    st.integers(1, 4),
    st.randoms(use_true_random=False),
)  # fmt: skip
def test_the_flagged_redemptions_do_not_depend_on_arrival_order(stamps, max_uses, rng):
    rs = [CouponRedemption("C", f"o-{i}", STORE, d, HLC(T0 + w, 0, d)) for i, (w, d) in enumerate(stamps)]
    shuffled = rs[:]
    rng.shuffle(shuffled)
    assert judge_coupon("C", rs, max_uses=max_uses) == judge_coupon("C", shuffled, max_uses=max_uses)
    verdict = judge_coupon("C", rs, max_uses=max_uses)
    assert len(verdict.standing) == min(max_uses, len(rs))
    if verdict.flagged:
        assert max(r.hlc for r in verdict.standing) < min(r.hlc for r in verdict.flagged)


# --- footfall ---------------------------------------------------------------------------------------------


def test_footfall_counts_distinct_events_per_store_and_taiwan_day():
    late_evening_utc = AT.replace(hour=17)  # 01:00 the next day in Taipei
    events = [
        footfall(1),
        footfall(2),
        footfall(2),  # delivered twice
        footfall(3, direction=Direction.OUT),
        footfall(4, at=late_evening_utc),
        footfall(5, store_id=OTHER_STORE),
    ]
    day = AT.astimezone(TAIWAN).date()
    assert footfall_by_day(events) == {
        (STORE, day): FootfallTally(entered=2, left=1),
        (STORE, day + timedelta(days=1)): FootfallTally(entered=1),
        (OTHER_STORE, day): FootfallTally(entered=1),
    }


def test_the_log_is_append_only_by_event_id():
    log = FootfallLog([footfall(1)])
    assert log.add(footfall(2)) is True
    assert log.add(footfall(2)) is False
    assert log.add(footfall(1, direction=Direction.OUT)) is False  # same id: the first copy stays
    assert len(log) == 2
    assert [e.direction for e in log] == [Direction.IN, Direction.IN]
    assert log.by_day() == {(STORE, date(2025, 6, 15)): FootfallTally(entered=2)}


@settings(deadline=None)
@given(st.lists(st.tuples(st.integers(1, 30), st.booleans(), st.integers(0, 72)), min_size=1, max_size=30,
                unique_by=lambda t: t[0]),
       st.randoms(use_true_random=False))  # fmt: skip
def test_footfall_aggregates_do_not_depend_on_order_or_repeats(rows, rng):
    events = [
        footfall(n, direction=Direction.IN if inbound else Direction.OUT, at=AT + timedelta(hours=h))
        for n, inbound, h in rows
    ]
    delivery = events + [rng.choice(events) for _ in range(len(events))]
    rng.shuffle(delivery)
    assert footfall_by_day(delivery) == footfall_by_day(events)
    assert sum(t.entered + t.left for t in footfall_by_day(delivery).values()) == len(events)
