"""The other merge rules: catalog versions only forward; a single-use coupon redeemed twice offline flags the
later sale."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync_protocol.envelope import CatalogDelta
from sync_protocol.hlc import HLC
from sync_protocol.rules import (
    CatalogVerdict,
    CouponRedemption,
    judge_catalog_delta,
    judge_catalog_snapshot,
    judge_coupon,
    redemption_of,
)
from tests.sync_protocol.sync_factories import (
    DEVICE,
    OTHER_DEVICE,
    STORE,
    T0,
    order,
)

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
