"""End of day, the pure rules: a period's figures from its sales and refunds always add up (hypothesis), the
drawer's expected cash and over/short, the business day, and ``inconsistencies`` finding any figure that
was changed."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.end_of_day import (
    TillRefund,
    TillSale,
    ZReport,
    inconsistencies,
    report_day,
    till_figures,
)
from models.sales import PaymentMethod
from models.staff import StaffRef

FAST = settings(max_examples=300, derandomize=True, database=None, deadline=None)
AT = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # 12:00 in Taipei
CASH, CARD = PaymentMethod.CASH, PaymentMethod.CARD


def sale(
    gross: int, *, discounts: int = 0, coupon: int = 0, method: PaymentMethod = CASH, n: int = 0
) -> TillSale:
    return TillSale(f"o{n}", AT, gross, discounts, coupon, ((method, gross - discounts - coupon),))


def refund(amount: int, method: PaymentMethod = CASH, n: int = 0) -> TillRefund:
    return TillRefund(f"o{n}", AT, ((method, amount),))


def test_a_day_of_cash_and_card_sales_with_a_refund():
    figures = till_figures(
        [
            sale(1000, discounts=100, n=1),  # cash 900
            sale(500, coupon=50, method=CARD, n=2),  # card 450
            sale(300, n=3),  # cash 300
        ],
        [refund(300, n=3)],
        opening_float=5000,
        counted_cash=5850,
    )
    assert (figures.sales_count, figures.gross_sales, figures.discounts, figures.coupons) == (
        3,
        1800,
        100,
        50,
    )
    assert (figures.net_sales, figures.refund_count, figures.refunds, figures.takings) == (1650, 1, 300, 1350)
    assert figures.method(CASH).to_row() == {
        "method": CASH,
        "sales_count": 2,
        "sales": 1200,
        "refund_count": 1,
        "refunds": 300,
    }
    assert (figures.method(CARD).sales, figures.method(CARD).refunds) == (450, 0)
    # The float, plus the cash taken, less the cash given back.
    assert figures.cash_expected == 5000 + 1200 - 300 == 5900
    assert figures.over_short == -50
    assert figures.short
    assert inconsistencies(figures) == []


def test_an_empty_period_expects_the_float_and_a_drawer_not_counted_is_neither_over_nor_short():
    figures = till_figures([], [], opening_float=3000)
    assert (figures.sales_count, figures.net_sales, figures.refunds, figures.cash_expected) == (0, 0, 0, 3000)
    assert [m.method for m in figures.by_method] == [CASH, CARD]
    assert (figures.counted_cash, figures.over_short, figures.short) == (None, None, False)
    over = till_figures([sale(100)], [], opening_float=0, counted_cash=120)
    assert (over.over_short, over.short) == (20, False)


def test_refunds_of_earlier_sales_can_take_the_drawer_below_the_float():
    figures = till_figures([], [refund(800), refund(200, CARD, n=1)], opening_float=500, counted_cash=0)
    assert (figures.refunds, figures.takings, figures.cash_expected, figures.over_short) == (
        1000,
        -1000,
        -300,
        300,
    )
    assert inconsistencies(figures) == []


def test_a_sale_whose_payments_do_not_add_up_is_refused():
    with pytest.raises(ValueError, match="do not add up"):
        TillSale("o1", AT, 1000, 100, 0, ((CASH, 1000),))
    with pytest.raises(ValueError, match="above its list price"):
        TillSale("o1", AT, 100, 80, 30, ())
    with pytest.raises(ValueError, match="below zero"):
        TillRefund("o1", AT, ((CASH, -1),))


def test_the_business_day_is_the_day_the_period_took_its_first_money():
    late = datetime(2026, 3, 2, 17, 30, tzinfo=UTC)  # 01:30 on 3 March in Taipei
    first = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 on 2 March in Taipei
    assert report_day([late, first], late) == date(2026, 3, 2)  # a till closed after midnight
    assert report_day([], late) == date(2026, 3, 3)  # nothing sold: the day it was closed


# --- every period adds up ----------------------------------------------------------------------------------

methods = st.sampled_from(list(PaymentMethod))


@st.composite
def sales(draw: st.DrawFn, n: int) -> TillSale:
    gross = draw(st.integers(0, 100_000_000))
    discounts = draw(st.integers(0, gross))
    coupon = draw(st.integers(0, gross - discounts))
    net = gross - discounts - coupon
    split = draw(st.integers(0, net))  # a sale paid by one method, or split between two
    first, second = draw(methods), draw(methods)
    payments = ((first, net),) if split in (0, net) else ((first, split), (second, net - split))
    return TillSale(f"s{n}", AT, gross, discounts, coupon, payments)


@st.composite
def periods(draw: st.DrawFn) -> tuple[list[TillSale], list[TillRefund], int, int | None]:
    sold = [draw(sales(n)) for n in range(draw(st.integers(0, 12)))]
    back = [
        TillRefund(f"r{n}", AT, ((draw(methods), draw(st.integers(0, 100_000_000))),))
        for n in range(draw(st.integers(0, 6)))
    ]
    return sold, back, draw(st.integers(0, 100_000)), draw(st.none() | st.integers(0, 100_000_000))


@FAST
@given(periods())
def test_the_figures_of_any_period_add_up(period):
    sold, back, opening_float, counted = period
    figures = till_figures(sold, back, opening_float=opening_float, counted_cash=counted)
    assert inconsistencies(figures) == []
    assert figures.net_sales == sum(s.net for s in sold) == sum(m.sales for m in figures.by_method)
    assert figures.gross_sales - figures.discounts - figures.coupons == figures.net_sales
    assert (
        figures.refunds
        == sum(a for r in back for _, a in r.amounts)
        == sum(m.refunds for m in figures.by_method)
    )
    assert figures.takings == figures.net_sales - figures.refunds
    cash_in = sum(a for s in sold for m, a in s.payments if m is CASH)
    cash_out = sum(a for r in back for m, a in r.amounts if m is CASH)
    assert figures.cash_expected == opening_float + cash_in - cash_out
    if counted is None:
        assert figures.over_short is None
    else:
        assert figures.counted_cash + (-figures.over_short) == figures.cash_expected
        assert figures.short == (counted < figures.cash_expected)
    # A period closed in two parts has the figures of the whole, part by part.
    half = len(sold) // 2
    first = till_figures(sold[:half], back[:1], opening_float=opening_float)
    rest = till_figures(sold[half:], back[1:], opening_float=0)
    assert first.net_sales + rest.net_sales == figures.net_sales
    assert first.refunds + rest.refunds == figures.refunds
    assert first.cash_expected + rest.cash_expected == figures.cash_expected


MONEY = [
    "gross_sales",
    "discounts",
    "coupons",
    "net_sales",
    "refunds",
    "takings",
    "opening_float",
    "cash_expected",
    "counted_cash",
    "over_short",
]


@FAST
@given(periods(), st.sampled_from(MONEY), st.integers(1, 1000))
def test_changing_any_amount_is_found(period, name, by):
    sold, back, opening_float, counted = period
    good = till_figures(sold, back, opening_float=opening_float, counted_cash=counted)
    value = getattr(good, name)
    if value is not None:  # the drawer was counted
        assert inconsistencies(good.model_copy(update={name: value + by})) != [], (name, value, by)


def test_counts_without_the_money_they_count_are_found():
    good = till_figures([sale(100), sale(50, method=CARD, n=1)], [refund(30)], opening_float=0)
    assert inconsistencies(good.model_copy(update={"sales_count": 0})) != []
    assert inconsistencies(good.model_copy(update={"refund_count": 0})) != []
    cash = good.method(CASH)
    for changed in ({"sales_count": 3}, {"refund_count": 2}, {"sales_count": 0}):
        rows = [cash.model_copy(update=changed), good.method(CARD)]
        assert inconsistencies(good.model_copy(update={"by_method": rows})) != [], changed


@FAST
@given(
    periods(), st.sampled_from(list(PaymentMethod)), st.sampled_from(["sales", "refunds"]), st.integers(1, 99)
)
def test_changing_a_methods_figure_is_found(period, method, name, by):
    sold, back, opening_float, counted = period
    good = till_figures(sold, back, opening_float=opening_float, counted_cash=counted)
    rows = [
        m.model_copy(update={name: getattr(m, name) + by}) if m.method is method else m
        for m in good.by_method
    ]
    assert inconsistencies(good.model_copy(update={"by_method": rows})) != []
    twice = good.model_copy(update={"by_method": [*good.by_method, good.by_method[0]]})
    assert "a payment method is listed twice" in inconsistencies(twice)


def test_a_z_report_is_camel_case_on_the_wire():
    figures = till_figures([sale(100)], [], opening_float=1000, counted_cash=1100)
    report = ZReport(
        store_id="S1",
        device_id="D1",
        business_day=date(2026, 3, 2),
        period_start=None,
        period_end=AT + timedelta(hours=9),
        figures=figures,
        z_report_id="01JQ7ZW3N8B4K2X7T5R9M1D6CQ",
        number=1,
        closed_by=StaffRef(staff_id="m1", name="王店長"),
    )
    wire = report.to_json_dict()
    assert wire["zReportId"] == "01JQ7ZW3N8B4K2X7T5R9M1D6CQ"
    assert wire["closedBy"] == {"staffId": "m1", "name": "王店長"}
    assert wire["figures"]["cashExpected"] == 1100
    assert wire["figures"]["overShort"] == 0
    assert wire["figures"]["byMethod"][0] == {
        "method": "cash",
        "salesCount": 1,
        "sales": 100,
        "refundCount": 0,
        "refunds": 0,
    }
    assert ZReport.model_validate(wire) == report
