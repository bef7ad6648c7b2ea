"""Partial returns: some units of some lines of an in-store sale come back, and the shopper gets back what
those units cost them.

What a unit cost: its line's final price (line discounts are in ``unitFinalPrice`` already) less its share of
the order's coupon. The coupon is apportioned over the lines in proportion to their line totals by largest
remainder (``coupon_shares``), so the shares are whole dollars adding up to the coupon exactly, and the
lines' paid amounts (``lineTotal - share``) add up to the order's total exactly.

A line's paid amount is spread over its units cumulatively: once ``k`` of its ``n`` units are back,
``paid * k // n`` of it has been refunded. A return that brings back units ``b+1 .. b+q`` of a line (``b``
units came back before it: ``returnedBefore``) refunds the difference (``refund_of_units``). So:

- returns that bring every unit back, however many and however split, refund exactly the order's total;
- no set of returns refunds more than was paid, since the units they bring back never overlap;
- a return's refund depends only on which units it brings back, never on when it arrives, so the cloud can
  check a store's returns (``sync_protocol.record_checks``) in whatever order they reach it.

The order itself keeps its status (``completed``) while partly returned: its returns are records of their own
(``OrderReturn``), each with its refund, and the node moves the order to ``returned`` by the ordinary
transition when a return brings back its last units (docs/domain.md, "Partial returns").
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, Protocol, Self

from pydantic import AwareDatetime, Field, model_validator

from models.base import CamelModel
from models.errors import Conflict, NotFound
from models.ids import ULID_PATTERN, Ident
from models.money import TWD
from models.sales import MAX_ORDER_LINES, Order, Payment, PaymentMethod, PaymentStatus, Quantity
from models.staff import StaffRef

MAX_RETURN_NOTE = 500
"""As long as a status change's note: what a manager types at the counter."""
ReturnNote = Annotated[str, Field(max_length=MAX_RETURN_NOTE)]


class SoldLine(Protocol):
    """What the refund of a line's units needs (``models.sales.OrderItem`` or a database row)."""

    @property
    def item_id(self) -> str: ...
    @property
    def quantity(self) -> int: ...
    @property
    def line_total(self) -> int: ...


class ReturnedItem(CamelModel):
    """Units of one line brought back by a return: units ``returnedBefore + 1`` to ``returnedBefore +
    quantity`` of it, counting the units earlier returns of the order brought back first."""

    item_id: Ident
    quantity: Quantity
    returned_before: Annotated[int, Field(strict=True, ge=0, le=998)] = Field(
        default=0, description="Units of this line earlier returns brought back"
    )


class OrderReturn(CamelModel):
    """A partial return, made at the store that sold the order: what came back, what was refunded (the
    way it was paid) and who took it. Sent to the cloud on the ``orderReturns`` stream."""

    return_id: Annotated[str, Field(pattern=ULID_PATTERN)]
    order_id: Ident
    store_id: Ident
    device_id: Ident
    items: list[ReturnedItem] = Field(min_length=1, max_length=MAX_ORDER_LINES)
    refund: TWD = Field(description="What was paid for these units, given back")
    refund_method: PaymentMethod = Field(description="How it went back: the way the order was paid")
    staff: StaffRef | None = Field(default=None, description="The staff member who took the return")
    note: ReturnNote | None = None
    created_at: AwareDatetime

    @model_validator(mode="after")
    def _each_line_once(self) -> Self:
        ids = [item.item_id for item in self.items]
        if len(set(ids)) != len(ids):
            raise ValueError("a return names each line once")
        return self

    def to_rows(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The rows of ``models.tables.order_returns`` and ``order_return_items`` that keep it (the node's
        and the cloud's alike)."""
        row = self.to_row(exclude={"items", "staff"}) | {
            "refund_method": self.refund_method.value,
            "staff_id": self.staff.staff_id if self.staff else None,
            "staff_name": self.staff.name if self.staff else None,
        }
        return row, [item.to_row() | {"return_id": self.return_id} for item in self.items]

    @classmethod
    def from_rows(cls, row: Mapping[str, Any], items: Iterable[Mapping[str, Any]]) -> Self:
        """A return read back from its rows (``to_rows``)."""
        fields = {k: v for k, v in row.items() if k not in ("staff_id", "staff_name")}
        staff = StaffRef(staff_id=row["staff_id"], name=row["staff_name"]) if row["staff_id"] else None
        lines = [ReturnedItem(**{k: v for k, v in item.items() if k != "return_id"}) for item in items]
        return cls(**fields, items=lines, staff=staff)


class OrderWithReturns(Order):
    """An order as it stands: as sold, and what its partial returns brought back and refunded. Read from
    the node's and the cloud's APIs; the sale itself travels as ``Order``, without these fields."""

    returned_quantities: dict[str, int] = Field(
        default={}, description="Per line (item id): units brought back by partial returns"
    )
    refunded_amount: TWD = Field(
        default=0,
        description="What went back to the shopper: the partial returns' refunds, or the whole total once "
        "the order is refunded or returned as a whole",
    )
    returns: list[OrderReturn] = Field(default=[], description="Its partial returns, oldest first")

    @classmethod
    def of(cls, order: Order, returns: Sequence[OrderReturn], **extra: object) -> Self:
        """``order`` with its returns and what follows from them (``extra``: a subclass's own fields)."""
        fields = dict(order)
        fields.update(
            returned_quantities=returned_quantities(order.items, returns),
            refunded_amount=refunded_amount(order.total, order.payments, returns),
            returns=list(returns),
            **extra,
        )
        return cls.model_validate(fields)


# --- the refund rule --------------------------------------------------------------------------------------


def coupon_shares(lines: Sequence[SoldLine], coupon_discount: int) -> dict[str, int]:
    """Each line's share of the coupon (by item id), in proportion to its line total, in whole dollars that
    add up to ``coupon_discount`` exactly: every line gets the floor of its exact share, and the dollars left
    go one each to the lines with the largest remainders (ties to the lower item id, so every replica
    apportions alike). No share exceeds its line total."""
    merchandise = sum(line.line_total for line in lines)
    if not 0 <= coupon_discount <= merchandise:
        raise ValueError(f"a coupon of {coupon_discount} on merchandise of {merchandise}")
    if merchandise == 0:
        return {line.item_id: 0 for line in lines}
    shares: dict[str, int] = {}
    remainders: dict[str, int] = {}
    for line in lines:
        shares[line.item_id], remainders[line.item_id] = divmod(
            coupon_discount * line.line_total, merchandise
        )
    left = coupon_discount - sum(shares.values())
    for item_id in sorted(remainders, key=lambda i: (-remainders[i], i))[:left]:
        shares[item_id] += 1
    return shares


def paid_per_line(lines: Sequence[SoldLine], coupon_discount: int) -> dict[str, int]:
    """What the shopper paid for each line: its total less its share of the coupon. Adds up to the order's
    total."""
    shares = coupon_shares(lines, coupon_discount)
    return {line.item_id: line.line_total - shares[line.item_id] for line in lines}


def refund_of_units(paid: int, sold: int, before: int, quantity: int) -> int:
    """The refund for units ``before + 1 .. before + quantity`` of a line of ``sold`` units that cost
    ``paid`` in all: what was refunded once they are back, less what was refunded before them."""
    if not (sold >= 1 and before >= 0 and quantity >= 1 and before + quantity <= sold):
        raise ValueError(f"units {before + 1}-{before + quantity} of a line of {sold}")
    return paid * (before + quantity) // sold - paid * before // sold


def refund_for(lines: Sequence[SoldLine], coupon_discount: int, items: Iterable[ReturnedItem]) -> int:
    """What a return bringing back ``items`` refunds, on an order of ``lines`` with that coupon."""
    paid = paid_per_line(lines, coupon_discount)
    sold = {line.item_id: line.quantity for line in lines}
    return sum(
        refund_of_units(paid[item.item_id], sold[item.item_id], item.returned_before, item.quantity)
        for item in items
    )


# --- an order's returns -----------------------------------------------------------------------------------


def returned_quantities(lines: Iterable[SoldLine], returns: Iterable[OrderReturn]) -> dict[str, int]:
    """Units brought back per line (every line of the order, 0 for none)."""
    back = {line.item_id: 0 for line in lines}
    for order_return in returns:
        for item in order_return.items:
            back[item.item_id] = back.get(item.item_id, 0) + item.quantity
    return back


def refunded_amount(total: int, payments: Iterable[Payment], returns: Iterable[OrderReturn]) -> int:
    """What went back to the shopper of an order of ``total``. Once a whole-order refund or return stood
    (its payments are marked refunded), the whole total: that refund gave back what the partial returns had
    not. Otherwise the partial returns' refunds, which never add up to more than the total."""
    if any(p.status is PaymentStatus.REFUNDED for p in payments):
        return total
    return min(total, sum(r.refund for r in returns))


def plan_return(
    order: Order, returns: Sequence[OrderReturn], wanted: Mapping[str, int]
) -> tuple[list[ReturnedItem], int]:
    """The lines and refund of a new return bringing back ``wanted`` (item id -> units) of ``order``,
    after its earlier ``returns``. Refuses an item the order does not have (404 ``orderItemNotFound``) and
    more units than are left to bring back (409 ``returnTooLarge``)."""
    lines = {line.item_id: line for line in order.items}
    back = returned_quantities(order.items, returns)
    items: list[ReturnedItem] = []
    for item_id, quantity in wanted.items():
        line = lines.get(item_id)
        if line is None:
            raise NotFound(
                f"order {order.order_id} has no line {item_id}", code="orderItemNotFound", item_id=item_id
            )
        left = line.quantity - back[item_id]
        if quantity > left:
            raise Conflict(
                f"line {item_id} has {left} of {line.quantity} units left to return, {quantity} asked",
                code="returnTooLarge",
                item_id=item_id,
                requested=quantity,
                returnable=left,
            )
        items.append(ReturnedItem(item_id=item_id, quantity=quantity, returned_before=back[item_id]))
    return items, refund_for(order.items, order.coupon_discount, items)


def everything_back(order: Order, returns: Iterable[OrderReturn]) -> bool:
    """Whether the returns brought back every unit the order sold."""
    back = returned_quantities(order.items, returns)
    return all(back[line.item_id] >= line.quantity for line in order.items)
