"""Pricing a sale: per-unit discounts, then an order-level coupon. Pure functions over integers.

Rules (docs/domain.md repeats them for people):
- A line's discount is the best (largest percent) active discount that applies to its variant, its product or
  the whole store at the moment of sale; it is taken per unit and rounded half up to the dollar, so
  ``unitFinalPrice * quantity == lineTotal`` always holds.
- A coupon applies to the merchandise total after line discounts, if that total reaches its minimum spend,
  it is active and in its window, and it has uses left. An amount coupon never takes the total below zero.
- The order keeps the names, unit prices and discounts it was sold at, whatever the catalog does later.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from models.catalog import Coupon, CouponKind, Discount
from models.errors import CouponNotApplicable
from models.money import percent_of


@dataclass(frozen=True)
class LineInput:
    product_id: str
    variant_id: str
    unit_price: int
    quantity: int


@dataclass(frozen=True)
class PricedLine:
    product_id: str
    variant_id: str
    quantity: int
    unit_price: int
    unit_discount: int
    unit_final_price: int
    line_total: int
    discount_id: str | None
    discount_percent: int


@dataclass(frozen=True)
class PricedSale:
    lines: tuple[PricedLine, ...]
    subtotal: int  # list price x quantity, summed
    discount_total: int  # line discounts, summed
    coupon_code: str | None
    coupon_discount: int
    total: int  # what the shopper pays


def best_discount(
    discounts: Iterable[Discount], product_id: str, variant_id: str, at: datetime
) -> Discount | None:
    """The largest applicable discount; ties go to the lowest id so the choice is deterministic."""
    candidates = [d for d in discounts if d.applies(product_id, variant_id, at)]
    if not candidates:
        return None
    return min(candidates, key=lambda d: (-d.percent, d.discount_id))


def price_line(line: LineInput, discount: Discount | None) -> PricedLine:
    if line.quantity <= 0:
        raise ValueError("quantity must be positive")
    percent = discount.percent if discount else 0
    unit_discount = percent_of(line.unit_price, percent)
    unit_final = line.unit_price - unit_discount
    return PricedLine(
        product_id=line.product_id,
        variant_id=line.variant_id,
        quantity=line.quantity,
        unit_price=line.unit_price,
        unit_discount=unit_discount,
        unit_final_price=unit_final,
        line_total=unit_final * line.quantity,
        discount_id=discount.discount_id if discount and percent else None,
        discount_percent=percent,
    )


def coupon_discount(coupon: Coupon, merchandise_total: int, at: datetime, uses_so_far: int) -> int:
    """What ``coupon`` takes off a merchandise total; raises ``CouponNotApplicable`` with the reason."""
    if not coupon.active:
        raise CouponNotApplicable(f"coupon {coupon.code} is not active", reason="inactive")
    if coupon.starts_at is not None and at < coupon.starts_at:
        raise CouponNotApplicable(f"coupon {coupon.code} is not valid yet", reason="notStarted")
    if coupon.ends_at is not None and at >= coupon.ends_at:
        raise CouponNotApplicable(f"coupon {coupon.code} has expired", reason="expired")
    if coupon.max_uses is not None and uses_so_far >= coupon.max_uses:
        raise CouponNotApplicable(f"coupon {coupon.code} has been used up", reason="usedUp")
    if merchandise_total < coupon.min_spend:
        raise CouponNotApplicable(
            f"coupon {coupon.code} needs a minimum spend of {coupon.min_spend}", reason="minimumSpend"
        )
    if coupon.kind is CouponKind.PERCENT:
        return percent_of(merchandise_total, coupon.value)
    return min(coupon.value, merchandise_total)


def price_sale(
    lines: Sequence[LineInput],
    discounts: Iterable[Discount],
    at: datetime,
    coupon: Coupon | None = None,
    coupon_uses: int = 0,
) -> PricedSale:
    """Price every line with its best discount, then apply the coupon to the discounted total."""
    discounts = list(discounts)
    priced = tuple(
        price_line(line, best_discount(discounts, line.product_id, line.variant_id, at)) for line in lines
    )
    merchandise = sum(p.line_total for p in priced)
    off = coupon_discount(coupon, merchandise, at, coupon_uses) if coupon else 0
    return PricedSale(
        lines=priced,
        subtotal=sum(p.unit_price * p.quantity for p in priced),
        discount_total=sum(p.unit_discount * p.quantity for p in priced),
        coupon_code=coupon.code if coupon else None,
        coupon_discount=off,
        total=merchandise - off,
    )
