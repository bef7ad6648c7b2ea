"""Pricing: best discount per line, per-unit rounding, then one coupon on the discounted total."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.catalog import Coupon, CouponKind, Discount
from models.errors import Conflict, CouponNotApplicable
from models.money import percent_of
from models.pricing import LineInput, PricedSale, best_discount, coupon_discount, price_line, price_sale

FAST = settings(max_examples=200, derandomize=True, database=None, deadline=None)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
TAIPEI = timezone(timedelta(hours=8))


def discount(discount_id="d1", percent=10, **kwargs):
    return Discount(discount_id=discount_id, name=f"sale {discount_id}", percent=percent, **kwargs)


def coupon(code="SAVE10", kind=CouponKind.AMOUNT, value=100, **kwargs):
    return Coupon(code=code, kind=kind, value=value, **kwargs)


def line(product_id="p1", variant_id="v1", unit_price=1000, quantity=1):
    return LineInput(product_id=product_id, variant_id=variant_id, unit_price=unit_price, quantity=quantity)


# --- best_discount -------------------------------------------------------------------------------------------


def test_no_discounts_means_none():
    assert best_discount([], "p1", "v1", NOW) is None


def test_largest_percent_wins():
    chosen = best_discount([discount("a", 10), discount("b", 30), discount("c", 20)], "p1", "v1", NOW)
    assert chosen is not None
    assert chosen.discount_id == "b"


@pytest.mark.parametrize("order", [("a", "b", "c"), ("c", "b", "a"), ("b", "c", "a")])
def test_ties_go_to_the_lowest_id_whatever_the_order(order):
    discounts = [discount(d, 15) for d in order]
    chosen = best_discount(discounts, "p1", "v1", NOW)
    assert chosen is not None
    assert chosen.discount_id == "a"


def test_tie_break_does_not_beat_a_larger_percent():
    chosen = best_discount([discount("a", 10), discount("z", 11)], "p1", "v1", NOW)
    assert chosen is not None
    assert chosen.discount_id == "z"


def test_best_discount_accepts_any_iterable():
    chosen = best_discount((d for d in [discount("a", 5), discount("b", 6)]), "p1", "v1", NOW)
    assert chosen is not None
    assert chosen.discount_id == "b"


@pytest.mark.parametrize(
    ("scope", "product_id", "variant_id", "applies"),
    [
        ({}, "p1", "v1", True),  # store-wide
        ({}, "other", "other", True),
        ({"product_id": "p1"}, "p1", "v1", True),
        ({"product_id": "p1"}, "p1", "v2", True),  # every variant of the product
        ({"product_id": "p1"}, "p2", "v1", False),
        ({"variant_id": "v1"}, "p1", "v1", True),
        ({"variant_id": "v1"}, "p1", "v2", False),
        ({"variant_id": "v1"}, "p2", "v1", True),  # variant scope looks at the variant only
        ({"product_id": "p1", "variant_id": "v1"}, "p1", "v2", False),  # the variant is the narrower scope
    ],
)
def test_discount_scopes(scope, product_id, variant_id, applies):
    d = discount(**scope)
    assert d.applies(product_id, variant_id, NOW) is applies
    assert (best_discount([d], product_id, variant_id, NOW) is d) is applies


def test_each_line_gets_the_best_discount_of_its_own_scope():
    discounts = [
        discount("store", 5),
        discount("prod", 20, product_id="p1"),
        discount("var", 30, variant_id="v2"),
        discount("other", 50, product_id="p9"),
    ]
    assert best_discount(discounts, "p1", "v1", NOW).discount_id == "prod"
    assert best_discount(discounts, "p1", "v2", NOW).discount_id == "var"
    assert best_discount(discounts, "p2", "v3", NOW).discount_id == "store"


def test_a_narrower_scope_does_not_beat_a_larger_store_wide_percent():
    discounts = [discount("store", 40), discount("var", 30, variant_id="v1")]
    assert best_discount(discounts, "p1", "v1", NOW).discount_id == "store"


def test_inactive_discounts_are_ignored():
    discounts = [discount("big", 90, active=False), discount("small", 10)]
    assert best_discount(discounts, "p1", "v1", NOW).discount_id == "small"
    assert best_discount([discount("big", 90, active=False)], "p1", "v1", NOW) is None


@pytest.mark.parametrize(
    ("window", "at", "applies"),
    [
        ({"starts_at": NOW}, NOW, True),  # start is inclusive
        ({"starts_at": NOW}, NOW - timedelta(microseconds=1), False),
        ({"ends_at": NOW}, NOW, False),  # end is exclusive
        ({"ends_at": NOW}, NOW - timedelta(microseconds=1), True),
        ({"starts_at": NOW - HOUR, "ends_at": NOW + HOUR}, NOW, True),
        ({"starts_at": NOW - HOUR, "ends_at": NOW + HOUR}, NOW - HOUR, True),
        ({"starts_at": NOW - HOUR, "ends_at": NOW + HOUR}, NOW + HOUR, False),
        ({"starts_at": NOW - 2 * HOUR, "ends_at": NOW - HOUR}, NOW, False),
        ({"starts_at": NOW + HOUR}, NOW, False),
        ({}, NOW, True),  # open at both ends
        ({"starts_at": NOW}, NOW.astimezone(TAIPEI), True),  # the same instant in another zone
        ({"ends_at": NOW}, NOW.astimezone(TAIPEI), False),
    ],
)
def test_discount_window(window, at, applies):
    d = discount(**window)
    assert d.applies("p1", "v1", at) is applies
    assert (best_discount([d], "p1", "v1", at) is not None) is applies


def test_expired_larger_discount_gives_way_to_a_current_one():
    discounts = [discount("old", 50, ends_at=NOW), discount("now", 10, starts_at=NOW)]
    assert best_discount(discounts, "p1", "v1", NOW).discount_id == "now"
    assert best_discount(discounts, "p1", "v1", NOW - HOUR).discount_id == "old"


# --- price_line ----------------------------------------------------------------------------------------------


def test_price_line_without_discount():
    priced = price_line(line(unit_price=1280, quantity=3), None)
    assert priced.unit_discount == 0
    assert priced.unit_final_price == 1280
    assert priced.line_total == 3840
    assert priced.discount_id is None
    assert priced.discount_percent == 0


def test_price_line_rounds_the_discount_per_unit():
    priced = price_line(line(unit_price=95, quantity=3), discount("d1", 10))
    assert priced.unit_discount == 10  # 9.5 rounds up
    assert priced.unit_final_price == 85
    assert priced.line_total == 255  # not 285 - round(28.5)
    assert priced.discount_id == "d1"
    assert priced.discount_percent == 10


def test_price_line_keeps_the_line_identity():
    priced = price_line(line("p7", "v8", 100, 2), None)
    assert (priced.product_id, priced.variant_id, priced.quantity, priced.unit_price) == ("p7", "v8", 2, 100)


def test_hundred_percent_discount_makes_the_line_free():
    priced = price_line(line(unit_price=999, quantity=4), discount("free", 100))
    assert priced.unit_final_price == 0
    assert priced.line_total == 0
    assert priced.unit_discount == 999


def test_zero_percent_discount_is_not_recorded_on_the_line():
    priced = price_line(line(unit_price=500), discount("zero", 0))
    assert priced.discount_id is None
    assert priced.discount_percent == 0
    assert priced.line_total == 500


@pytest.mark.parametrize("quantity", [0, -1])
def test_price_line_rejects_non_positive_quantity(quantity):
    with pytest.raises(ValueError, match="quantity"):
        price_line(line(quantity=quantity), None)


def test_price_line_rejects_negative_price():
    with pytest.raises(ValueError, match="amount"):
        price_line(line(unit_price=-1), discount("d1", 10))


@FAST
@given(
    unit_price=st.integers(min_value=0, max_value=1_000_000),
    quantity=st.integers(min_value=1, max_value=999),
    percent=st.one_of(st.none(), st.integers(min_value=0, max_value=100)),
)
def test_unit_final_price_times_quantity_is_the_line_total(unit_price, quantity, percent):
    d = None if percent is None else discount("d", percent)
    priced = price_line(line(unit_price=unit_price, quantity=quantity), d)
    assert priced.unit_final_price * priced.quantity == priced.line_total
    assert priced.unit_price - priced.unit_discount == priced.unit_final_price
    assert 0 <= priced.unit_final_price <= priced.unit_price
    assert priced.unit_discount == percent_of(unit_price, percent or 0)
    assert priced.line_total <= unit_price * quantity


# --- coupon_discount -----------------------------------------------------------------------------------------


def _reason(c, total=1000, at=NOW, uses=0):
    with pytest.raises(CouponNotApplicable) as excinfo:
        coupon_discount(c, total, at, uses)
    err = excinfo.value
    assert err.code == "couponNotApplicable"
    assert err.status == 409
    assert isinstance(err, Conflict)
    assert err.body()["error"]["reason"] == err.details["reason"]
    return err.details["reason"]


def test_inactive_coupon():
    assert _reason(coupon(active=False)) == "inactive"


def test_coupon_not_started():
    c = coupon(starts_at=NOW + timedelta(microseconds=1))
    assert _reason(c) == "notStarted"
    assert coupon_discount(coupon(starts_at=NOW), 1000, NOW, 0) == 100  # start is inclusive


def test_coupon_expired():
    assert _reason(coupon(ends_at=NOW)) == "expired"  # end is exclusive
    assert _reason(coupon(ends_at=NOW - HOUR)) == "expired"
    assert coupon_discount(coupon(ends_at=NOW + timedelta(microseconds=1)), 1000, NOW, 0) == 100


def test_coupon_window_compares_instants_not_wall_clocks():
    c = coupon(starts_at=NOW, ends_at=NOW + HOUR)
    assert coupon_discount(c, 1000, NOW.astimezone(TAIPEI), 0) == 100
    assert _reason(c, at=(NOW + HOUR).astimezone(TAIPEI)) == "expired"


def test_coupon_used_up():
    single = coupon(max_uses=1)
    assert coupon_discount(single, 1000, NOW, 0) == 100
    assert _reason(single, uses=1) == "usedUp"
    three = coupon(max_uses=3)
    assert coupon_discount(three, 1000, NOW, 2) == 100
    assert _reason(three, uses=3) == "usedUp"
    assert _reason(three, uses=10) == "usedUp"


def test_unlimited_coupon_is_never_used_up():
    assert coupon_discount(coupon(max_uses=None), 1000, NOW, 1_000_000) == 100


def test_coupon_minimum_spend():
    c = coupon(min_spend=500)
    assert _reason(c, total=499) == "minimumSpend"
    assert coupon_discount(c, 500, NOW, 0) == 100  # reaching the minimum is enough
    assert coupon_discount(c, 501, NOW, 0) == 100


def test_minimum_spend_error_message_names_the_amount():
    with pytest.raises(CouponNotApplicable, match="500"):
        coupon_discount(coupon(min_spend=500), 10, NOW, 0)


def test_coupon_checks_come_in_a_fixed_order():
    # Everything wrong at once: the first check (active) is the one reported.
    c = coupon(active=False, starts_at=NOW + HOUR, ends_at=NOW + 2 * HOUR, max_uses=1, min_spend=10_000)
    assert _reason(c, uses=5, total=1) == "inactive"
    c = coupon(starts_at=NOW + HOUR, max_uses=1, min_spend=10_000)
    assert _reason(c, uses=5, total=1) == "notStarted"
    c = coupon(ends_at=NOW, max_uses=1, min_spend=10_000)
    assert _reason(c, uses=5, total=1) == "expired"
    c = coupon(max_uses=1, min_spend=10_000)
    assert _reason(c, uses=5, total=1) == "usedUp"


@pytest.mark.parametrize(
    ("value", "total", "expected"),
    [(100, 1000, 100), (1000, 1000, 1000), (1500, 1000, 1000), (1, 0, 0), (100_000_000, 7, 7)],
)
def test_amount_coupon_is_capped_at_the_merchandise_total(value, total, expected):
    assert coupon_discount(coupon(kind=CouponKind.AMOUNT, value=value), total, NOW, 0) == expected


@pytest.mark.parametrize(
    ("value", "total", "expected"),
    [(10, 95, 10), (10, 94, 9), (10, 1000, 100), (15, 1999, 300), (100, 1234, 1234), (1, 49, 0), (1, 50, 1)],
)
def test_percent_coupon_rounds_half_up(value, total, expected):
    assert coupon_discount(coupon(kind=CouponKind.PERCENT, value=value), total, NOW, 0) == expected


# --- price_sale ----------------------------------------------------------------------------------------------


def test_empty_sale():
    sale = price_sale([], [discount("d", 10)], NOW)
    assert sale == PricedSale(
        lines=(), subtotal=0, discount_total=0, coupon_code=None, coupon_discount=0, total=0
    )


def test_price_sale_worked_example():
    lines = [line("p1", "v1", 95, 3), line("p2", "v2", 1280, 1), line("p3", "v3", 500, 2)]
    discounts = [
        discount("d10", 10, product_id="p1"),
        discount("d25", 25, variant_id="v2"),
        discount("off", 50, active=False),
    ]
    sale = price_sale(lines, discounts, NOW, coupon(kind=CouponKind.PERCENT, value=10, code="TEN"))
    assert [p.unit_final_price for p in sale.lines] == [85, 960, 500]
    assert [p.discount_id for p in sale.lines] == ["d10", "d25", None]
    assert sale.subtotal == 95 * 3 + 1280 + 500 * 2  # 2565
    assert sale.discount_total == 10 * 3 + 320  # 350
    merchandise = 255 + 960 + 1000  # 2215
    assert sale.coupon_code == "TEN"
    assert sale.coupon_discount == 222  # 221.5 rounds up
    assert sale.total == merchandise - 222 == 1993
    assert sale.subtotal - sale.discount_total - sale.coupon_discount == sale.total


def test_price_sale_applies_the_coupon_after_line_discounts():
    # 1000 list price, 50% off -> 500 merchandise; a minimum spend of 600 is not met.
    with pytest.raises(CouponNotApplicable) as excinfo:
        price_sale([line(unit_price=1000)], [discount("half", 50)], NOW, coupon(min_spend=600))
    assert excinfo.value.details["reason"] == "minimumSpend"


def test_price_sale_passes_coupon_uses_through():
    with pytest.raises(CouponNotApplicable) as excinfo:
        price_sale([line()], [], NOW, coupon(max_uses=2), coupon_uses=2)
    assert excinfo.value.details["reason"] == "usedUp"
    assert price_sale([line()], [], NOW, coupon(max_uses=2), coupon_uses=1).coupon_discount == 100


def test_amount_coupon_never_takes_the_sale_below_zero():
    sale = price_sale([line(unit_price=300)], [], NOW, coupon(value=500))
    assert sale.coupon_discount == 300
    assert sale.total == 0


def test_price_sale_prices_at_the_given_moment():
    discounts = [discount("early", 30, ends_at=NOW), discount("late", 10, starts_at=NOW)]
    assert price_sale([line()], discounts, NOW - HOUR).total == 700
    assert price_sale([line()], discounts, NOW).total == 900


def test_price_sale_reads_a_one_shot_iterable_of_discounts_for_every_line():
    lines = [line("p1", "v1"), line("p2", "v2")]
    sale = price_sale(lines, iter([discount("all", 10)]), NOW)
    assert [p.discount_id for p in sale.lines] == ["all", "all"]


IDS = ["a", "b", "c"]

line_inputs = st.builds(
    LineInput,
    product_id=st.sampled_from(IDS),
    variant_id=st.sampled_from(IDS),
    unit_price=st.integers(min_value=0, max_value=200_000),
    quantity=st.integers(min_value=1, max_value=999),
)

window_offsets = st.one_of(st.none(), st.integers(min_value=-3, max_value=3))


@st.composite
def discounts_strategy(draw):
    start = draw(window_offsets)
    end = draw(window_offsets)
    if start is not None and end is not None and end <= start:
        end = start + 1
    return Discount(
        discount_id=draw(st.text("xyz123", min_size=1, max_size=3)),
        name="generated",
        percent=draw(st.integers(min_value=0, max_value=100)),
        product_id=draw(st.one_of(st.none(), st.sampled_from(IDS))),
        variant_id=draw(st.one_of(st.none(), st.sampled_from(IDS))),
        starts_at=None if start is None else NOW + start * HOUR,
        ends_at=None if end is None else NOW + end * HOUR,
        active=draw(st.booleans()),
    )


@st.composite
def coupons_strategy(draw):
    kind = draw(st.sampled_from(CouponKind))
    value = draw(st.integers(min_value=1, max_value=100 if kind is CouponKind.PERCENT else 1_000_000))
    return Coupon(
        code="GEN",
        kind=kind,
        value=value,
        min_spend=draw(st.integers(min_value=0, max_value=500_000)),
        max_uses=draw(st.one_of(st.none(), st.integers(min_value=1, max_value=3))),
        active=draw(st.booleans()),
    )


def _reference_percent(discounts, product_id, variant_id):
    """The rule, restated: the largest percent among discounts that apply now, 0 when none."""
    percents = [
        d.percent
        for d in discounts
        if d.active
        and (d.starts_at is None or d.starts_at <= NOW)
        and (d.ends_at is None or d.ends_at > NOW)
        and (
            d.variant_id == variant_id
            if d.variant_id is not None
            else (d.product_id == product_id if d.product_id is not None else True)
        )
    ]
    return max(percents, default=0)


@FAST
@given(
    lines=st.lists(line_inputs, max_size=8),
    discounts=st.lists(discounts_strategy(), max_size=6),
    c=st.one_of(st.none(), coupons_strategy()),
    uses=st.integers(min_value=0, max_value=4),
)
def test_price_sale_totals_add_up(lines, discounts, c, uses):
    plain = price_sale(lines, discounts, NOW)
    merchandise = plain.total
    try:
        sale = price_sale(lines, discounts, NOW, c, coupon_uses=uses)
    except CouponNotApplicable as exc:
        assert c is not None
        reason = exc.details["reason"]
        if not c.active:
            assert reason == "inactive"
        elif c.max_uses is not None and uses >= c.max_uses:
            assert reason == "usedUp"
        else:
            assert reason == "minimumSpend"
            assert merchandise < c.min_spend
        return

    assert sale.subtotal - sale.discount_total - sale.coupon_discount == sale.total
    assert sale.total >= 0
    assert 0 <= sale.discount_total <= sale.subtotal
    assert 0 <= sale.coupon_discount <= merchandise
    assert sale.subtotal == sum(x.unit_price * x.quantity for x in lines)
    assert sale.total == sum(p.line_total for p in sale.lines) - sale.coupon_discount
    assert len(sale.lines) == len(lines)
    for priced, given_line in zip(sale.lines, lines, strict=True):
        assert priced.variant_id == given_line.variant_id
        assert priced.unit_final_price * priced.quantity == priced.line_total
        assert priced.discount_percent == _reference_percent(
            discounts, given_line.product_id, given_line.variant_id
        )
    if c is None:
        assert sale.coupon_code is None
        assert sale.coupon_discount == 0
        assert sale == plain
    else:
        assert c.active
        assert merchandise >= c.min_spend
        assert sale.coupon_code == c.code
        assert sale.lines == plain.lines  # the coupon never changes line prices
        expected = (
            percent_of(merchandise, c.value) if c.kind is CouponKind.PERCENT else min(c.value, merchandise)
        )
        assert sale.coupon_discount == expected


@FAST
@given(
    discounts=st.lists(discounts_strategy(), max_size=8), pid=st.sampled_from(IDS), vid=st.sampled_from(IDS)
)
def test_best_discount_matches_the_rule_and_is_order_independent(discounts, pid, vid):
    chosen = best_discount(discounts, pid, vid, NOW)
    expected = _reference_percent(discounts, pid, vid)
    applicable = [d for d in discounts if d.applies(pid, vid, NOW)]
    if not applicable:
        assert chosen is None
        return
    assert chosen is not None
    assert chosen.percent == expected
    assert chosen.discount_id == min(d.discount_id for d in applicable if d.percent == expected)
    reversed_choice = best_discount(list(reversed(discounts)), pid, vid, NOW)
    assert reversed_choice is not None
    assert (reversed_choice.percent, reversed_choice.discount_id) == (chosen.percent, chosen.discount_id)
