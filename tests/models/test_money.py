"""Money is whole TWD; percents round half up to the dollar."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from models.money import CURRENCY, TWD, Percent, format_twd, percent_of

FAST = settings(max_examples=200, derandomize=True, database=None, deadline=None)

amounts = st.integers(min_value=0, max_value=100_000_000)
percents = st.integers(min_value=0, max_value=100)


def test_currency_is_twd():
    assert CURRENCY == "TWD"


@pytest.mark.parametrize(
    ("amount", "percent", "expected"),
    [
        (99, 10, 10),  # 9.9 -> 10
        (95, 10, 10),  # 9.5 -> 10: half rounds up
        (94, 10, 9),  # 9.4 -> 9
        (5, 10, 1),  # 0.5 -> 1
        (4, 10, 0),  # 0.4 -> 0
        (1, 50, 1),  # 0.5 -> 1
        (1, 49, 0),  # 0.49 -> 0
        (3, 50, 2),  # 1.5 -> 2
        (5, 50, 3),  # 2.5 -> 3, where round-half-even would give 2
        (1280, 15, 192),
        (1999, 20, 400),  # 399.8 -> 400
        (1000, 0, 0),
        (1000, 100, 1000),
        (0, 37, 0),
        (0, 0, 0),
        (100_000_000, 100, 100_000_000),
        (100_000_000, 1, 1_000_000),
    ],
)
def test_percent_of_rounds_half_up(amount, percent, expected):
    assert percent_of(amount, percent) == expected


@pytest.mark.parametrize(("amount", "percent"), [(-1, 10), (-100, 0), (100, -1), (100, 101), (0, 1000)])
def test_percent_of_rejects_bad_inputs(amount, percent):
    with pytest.raises(ValueError, match="must"):
        percent_of(amount, percent)


def test_percent_of_returns_an_int():
    assert type(percent_of(95, 10)) is int


@FAST
@given(amount=amounts, percent=percents)
def test_percent_of_is_between_zero_and_the_amount(amount, percent):
    result = percent_of(amount, percent)
    assert 0 <= result <= amount


@FAST
@given(amount=amounts, percent=percents)
def test_percent_of_is_the_exact_value_rounded_half_up(amount, percent):
    result = percent_of(amount, percent)
    exact_times_100 = amount * percent
    # result is the nearest integer, with exact halves going up: |100*result - exact| <= 50, and == 50 only
    # when rounding up.
    assert -50 < 100 * result - exact_times_100 <= 50


@FAST
@given(amount=amounts)
def test_zero_and_hundred_percent(amount):
    assert percent_of(amount, 0) == 0
    assert percent_of(amount, 100) == amount


@FAST
@given(amount=amounts, p=percents, q=percents)
def test_percent_of_is_monotonic_in_percent(amount, p, q):
    low, high = sorted((p, q))
    assert percent_of(amount, low) <= percent_of(amount, high)


@FAST
@given(a=amounts, b=amounts, percent=percents)
def test_percent_of_is_monotonic_in_amount(a, b, percent):
    low, high = sorted((a, b))
    assert percent_of(low, percent) <= percent_of(high, percent)


@FAST
@given(amount=amounts, percent=percents)
def test_discount_and_remainder_add_up(amount, percent):
    off = percent_of(amount, percent)
    assert off + (amount - off) == amount
    assert amount - off >= 0


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (0, "NT$0"),
        (5, "NT$5"),
        (999, "NT$999"),
        (1000, "NT$1,000"),
        (1280, "NT$1,280"),
        (1_234_567, "NT$1,234,567"),
        (-1, "-NT$1"),
        (-1280, "-NT$1,280"),
    ],
)
def test_format_twd(amount, text):
    assert format_twd(amount) == text


def test_twd_schema_type_bounds():
    twd = TypeAdapter(TWD)
    assert twd.validate_python(0) == 0
    assert twd.validate_python(100_000_000) == 100_000_000
    for bad in (-1, 100_000_001, 1.5):
        with pytest.raises(ValidationError):
            twd.validate_python(bad)


def test_percent_schema_type_bounds():
    percent = TypeAdapter(Percent)
    assert percent.validate_python(0) == 0
    assert percent.validate_python(100) == 100
    for bad in (-1, 101):
        with pytest.raises(ValidationError):
            percent.validate_python(bad)
