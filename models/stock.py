"""Stock is a sum of signed deltas per (store, variant); it is never sent or stored as an overwritten level."""

from enum import StrEnum

from pydantic import AwareDatetime, Field

from models.base import CamelModel


class StockReason(StrEnum):
    SALE = "sale"  # negative: goods sold
    REFUND = "refund"  # positive: goods came back with a refund or return
    RESTOCK = "restock"  # positive: delivery received
    ADJUSTMENT = "adjustment"  # either sign: write-off, damage, correction, with a note
    COUNT = "count"  # either sign: a stock take set the level; the delta is the difference


class StockDelta(CamelModel):
    delta_id: str
    store_id: str
    variant_id: str
    quantity: int = Field(description="Signed change in units; never zero")
    reason: StockReason
    ref_id: str | None = Field(default=None, description="The order or adjustment that caused it")
    note: str | None = None
    created_at: AwareDatetime


def level_of(deltas: list[int]) -> int:
    """A stock level is the sum of its deltas: concurrent sales and restocks both survive."""
    return sum(deltas)
