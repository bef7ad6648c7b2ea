"""Stock is a sum of signed deltas per (store, variant); it is never sent or stored as an overwritten level."""

from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, Field, field_validator

from models.base import CamelModel
from models.catalog import Ident

LOW_STOCK_THRESHOLD = 5
"""A level under this rings the seller's low-stock bell (the cloud's ``low_stock_threshold`` setting)."""
MAX_DELTA_UNITS = 1_000_000
"""Units one delta may move either way: a container load, far below what the database's integers hold."""
DeltaQuantity = Annotated[
    int,
    Field(
        strict=True, ge=-MAX_DELTA_UNITS, le=MAX_DELTA_UNITS, description="Signed change in units; never zero"
    ),
]


class StockReason(StrEnum):
    SALE = "sale"  # negative: goods sold
    REFUND = "refund"  # positive: goods came back with a refund or return
    RESTOCK = "restock"  # positive: delivery received
    ADJUSTMENT = "adjustment"  # either sign: write-off, damage, correction, with a note
    COUNT = "count"  # either sign: a stock take set the level; the delta is the difference


class StockDelta(CamelModel):
    delta_id: Ident
    store_id: Ident
    variant_id: Ident
    quantity: DeltaQuantity
    reason: StockReason
    ref_id: Ident | None = Field(default=None, description="The order or adjustment that caused it")
    note: Annotated[str, Field(max_length=1000)] | None = None
    created_at: AwareDatetime

    @field_validator("quantity")
    @classmethod
    def _moves_stock(cls, value: int) -> int:
        # A zero delta changes nothing and the database refuses it: refuse it here, where the sender learns.
        if value == 0:
            raise ValueError("a stock delta moves at least one unit")
        return value


def level_of(deltas: list[int]) -> int:
    """A stock level is the sum of its deltas: concurrent sales and restocks both survive."""
    return sum(deltas)
