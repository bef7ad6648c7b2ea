"""Money: integer New Taiwan dollars (TWD), never floats.

Retail prices in Taiwan are whole dollars, so every amount is an ``int`` of TWD. Percent discounts are whole
percents (a "9折" sale is 10 percent off) and round half up to the dollar, the way tills in Taiwan round.
"""

from typing import Annotated

from pydantic import Field

CURRENCY = "TWD"

MAX_TWD = 100_000_000
"""The most any amount may be: one sale, one price. Far above any till, and well inside a 32-bit integer."""
TWD = Annotated[int, Field(ge=0, le=MAX_TWD, strict=True, description="Whole New Taiwan dollars")]
"""A non-negative amount in TWD, as used in schemas."""

Percent = Annotated[int, Field(ge=0, le=100, description="Whole percent, 0-100")]


def percent_of(amount: int, percent: int) -> int:
    """``percent`` percent of ``amount``, rounded half up to a whole dollar.

    >>> percent_of(99, 10)
    10
    >>> percent_of(95, 10)
    10
    >>> percent_of(94, 10)
    9
    """
    if amount < 0:
        raise ValueError("amount must not be negative")
    if not 0 <= percent <= 100:
        raise ValueError("percent must be between 0 and 100")
    return (amount * percent + 50) // 100


def format_twd(amount: int) -> str:
    """``NT$1,280``, for messages in English (errors, logs). What a person reads in their language is
    written by ``plumbing.i18n`` (``Translator.money``), with the locale's digits and grouping."""
    sign = "-" if amount < 0 else ""
    return f"{sign}NT${abs(amount):,}"
