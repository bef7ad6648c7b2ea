"""What a store device may say: the checks every uplink record passes before anyone applies it.

A Pi sits in a shop, so its credentials must be assumed stolen some day. The broker's ACL keeps a device on
its own store's topics, and ``validate_payload`` keeps a payload on the envelope's store; the checks here go
further, record by record: an order, its items and payments, a stock delta, a status change, a footfall
event and a Z-report must belong to the sender's store and device, name only its seller's own products,
variants, discounts and coupons, attach no child to an order the device did not create, and add up
(``total = lines - discounts - coupon``, payments cover the total; a Z-report's figures as
``models.end_of_day.inconsistencies`` has them).

The same functions run on both sides, so they are written once here and fed what each side knows:
- the cloud, on every record it ingests, with its registry and the seller's catalog (``SellerFacts`` built
  from Postgres for one batch);
- the store node, before it puts a record in its outbox, with its own catalog cache: a node never emits
  what the cloud would refuse.

A refusal is a ``MessageRejected`` whose reason the receiver dead-letters; the stream goes on. Prices that
differ from the catalog the node held are not refused (the shopper paid them): they come back as
``PriceDifference``s for the seller's bell.

A partial return is judged against the receiver's copy of the sale: its lines, the units other returns
brought back already and the refund ``models.returns`` gives for the units it brings back, so a device can
neither bring back more than was sold nor refund more than was paid.
"""

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from models.end_of_day import ZReport, inconsistencies
from models.errors import IllegalTransition
from models.footfall import FootfallEvent
from models.money import CURRENCY
from models.order_states import Actor, check_transition
from models.returns import OrderReturn, refund_for
from models.sales import Channel, Order, OrderItem, PaymentStatus
from models.stock import StockDelta, StockReason
from sync_protocol.envelope import OrderTransition, UplinkPayload
from sync_protocol.errors import MessageRejected, RejectReason


@dataclass(frozen=True)
class Sender:
    """Who sent a record, as the registry has it (never as the record claims)."""

    store_id: str
    device_id: str


@dataclass(frozen=True)
class VariantFacts:
    """A variant of the sender's seller. ``price`` is its list price and ``version`` the catalog version at
    which that price was set; ``None`` when the price is the one the sender itself held (the node's own
    cache), so it always applies."""

    product_id: str
    price: int
    version: int | None = None

    def price_at(self, held_version: int | None) -> int | None:
        """The list price a node holding catalog ``held_version`` saw, when it can be told; None when the
        variant changed after that version (its older price is not kept, so nothing can be said)."""
        if self.version is None:
            return self.price
        if held_version is None or self.version > held_version:
            return None
        return self.price


@dataclass(frozen=True)
class SoldItem:
    """A line of a sale as the receiver holds it (``models.returns.SoldLine``)."""

    item_id: str
    quantity: int
    line_total: int


@dataclass(frozen=True)
class SoldOrder:
    """A sale as the receiver holds it, for judging its returns: who made it (``creator_key``), its lines,
    its coupon and the ways it was paid."""

    creator: str
    lines: tuple[SoldItem, ...]
    coupon_discount: int
    payment_methods: frozenset[str]

    @classmethod
    def of(cls, order: Order) -> "SoldOrder":
        return cls(
            creator_key(order.store_id, order.device_id),
            tuple(SoldItem(i.item_id, i.quantity, i.line_total) for i in order.items),
            order.coupon_discount,
            frozenset(p.method.value for p in order.payments),
        )


@dataclass(frozen=True)
class HeldReturn:
    """A return the receiver holds already: its order, and per line the units it brought back as
    ``(item id, returned before, quantity)``."""

    order_id: str
    units: tuple[tuple[str, int, int], ...]

    @classmethod
    def of(cls, order_return: OrderReturn) -> "HeldReturn":
        return cls(
            order_return.order_id,
            tuple((i.item_id, i.returned_before, i.quantity) for i in order_return.items),
        )


@dataclass(frozen=True)
class SellerFacts:
    """What the receiver knows about the ids a set of records names, limited to the sender's seller.

    ``variants``: the seller's variants among those named; ``product_ids``: the seller's products among
    those named; ``foreign_ids``: the variant and product ids named that belong to another seller. A
    variant that is neither the seller's nor another's was removed from the catalog since the node sold it
    (the cloud deletes a variant taken out of a product): such a sale stands when its product is the
    seller's. ``discount_ids`` and ``coupon_codes`` (upper case: shoppers type codes in any case): the
    seller's own among those named. ``order_stores``: for order ids that exist already, the store (and
    device) that created each, ``storeId/deviceId``. ``child_orders``: for item and payment ids that exist
    already, the order each belongs to. ``staff_stores``: for staff ids named that are accounts the receiver
    keeps, the store each works at (an account made at a node is unknown to the cloud: it is judged by the
    node, which alone can know it). ``z_report_owners``: for Z-report ids that exist already, the store and
    device that closed each (``creator_key``); ``z_report_numbers``: for (device id, number) pairs named
    that a Z-report holds already, that report's id. ``sold_orders``: the sales named by returns, as the receiver holds them;
    ``held_returns``: by return id, every return the receiver holds of those sales, and any return held
    under an id a record names. Everything else a record names that is missing here is not the seller's.
    """

    variants: Mapping[str, VariantFacts] = field(default_factory=dict)
    product_ids: frozenset[str] = frozenset()
    foreign_ids: frozenset[str] = frozenset()
    discount_ids: frozenset[str] = frozenset()
    coupon_codes: frozenset[str] = frozenset()
    order_stores: Mapping[str, str] = field(default_factory=dict)
    child_orders: Mapping[str, str] = field(default_factory=dict)
    staff_stores: Mapping[str, str] = field(default_factory=dict)
    z_report_owners: Mapping[str, str] = field(default_factory=dict)
    z_report_numbers: Mapping[tuple[str, int], str] = field(default_factory=dict)
    sold_orders: Mapping[str, SoldOrder] = field(default_factory=dict)
    held_returns: Mapping[str, HeldReturn] = field(default_factory=dict)


@dataclass(frozen=True)
class PriceDifference:
    """A line sold at another list price than the catalog the node held: kept, and told to the seller."""

    order_id: str
    item_id: str
    variant_id: str
    sold_at: int
    catalog_price: int


def creator_key(store_id: str, device_id: str | None) -> str:
    """How ``SellerFacts.order_stores`` names the store and device that created an order."""
    return f"{store_id}/{device_id or ''}"


def _refuse(reason: RejectReason, detail: str) -> MessageRejected:
    return MessageRejected(reason, detail)


def _foreign(detail: str) -> MessageRejected:
    return _refuse(RejectReason.FOREIGN_REFERENCE, detail)


def _amounts(detail: str) -> MessageRejected:
    return _refuse(RejectReason.BAD_AMOUNTS, detail)


# --- orders ----------------------------------------------------------------------------------------------


def check_order(order: Order, sender: Sender, facts: SellerFacts) -> tuple[PriceDifference, ...]:
    """Refuse an order the sender may not report; the lines sold at another price than its catalog."""
    _check_order_origin(order, sender, facts)
    _check_order_children(order, facts)
    _check_order_amounts(order)
    return _check_order_catalog(order, facts)


def _check_order_origin(order: Order, sender: Sender, facts: SellerFacts) -> None:
    if order.store_id != sender.store_id:
        raise _foreign(f"order {order.order_id} is for store {order.store_id}, not the sender's")
    if order.device_id != sender.device_id:
        raise _foreign(f"order {order.order_id} was made by device {order.device_id}, not by the sender")
    creator = facts.order_stores.get(order.order_id)
    if creator is not None and creator != creator_key(sender.store_id, sender.device_id):
        raise _foreign(f"order id {order.order_id} belongs to an order the sender did not create")
    if order.channel is not Channel.IN_STORE:
        raise _refuse(RejectReason.BAD_PAYLOAD, f"a store sells in store, not {order.channel.value}")
    try:
        check_transition(None, order.status, Actor.STORE)
    except IllegalTransition:
        raise _refuse(
            RejectReason.BAD_PAYLOAD, f"an in-store sale is not created {order.status.value}"
        ) from None
    if order.currency != CURRENCY:
        raise _refuse(RejectReason.BAD_PAYLOAD, f"currency {order.currency[:8]!r} is not {CURRENCY}")


def _check_order_children(order: Order, facts: SellerFacts) -> None:
    if not order.items:
        raise _refuse(RejectReason.BAD_PAYLOAD, f"order {order.order_id} has no lines")
    ids = Counter([i.item_id for i in order.items] + [p.payment_id for p in order.payments])
    twice = sorted(k for k, n in ids.items() if n > 1)
    if twice:
        raise _refuse(RejectReason.BAD_PAYLOAD, f"id {twice[0]} appears twice in order {order.order_id}")
    for child_id, owner in [(i.item_id, i.order_id) for i in order.items] + [
        (p.payment_id, p.order_id) for p in order.payments
    ]:
        if owner != order.order_id:
            raise _foreign(f"{child_id} names order {owner}, inside order {order.order_id}")
        held_by = facts.child_orders.get(child_id)
        if held_by is not None and held_by != order.order_id:
            raise _foreign(f"id {child_id} already belongs to another order")


def _check_order_amounts(order: Order) -> None:
    for item in order.items:
        _check_line_amounts(item)
    subtotal = sum(item.unit_price * item.quantity for item in order.items)
    discounts = sum(item.unit_discount * item.quantity for item in order.items)
    _check_order_totals(order, subtotal, discounts)
    _check_payments_cover(order)


def _check_line_amounts(item: OrderItem) -> None:
    """One line adds up: its discount within its price, final price and line total worked out from them."""
    if item.unit_discount > item.unit_price:
        raise _amounts(f"line {item.item_id}: discount {item.unit_discount} above price {item.unit_price}")
    if item.unit_final_price != item.unit_price - item.unit_discount:
        raise _amounts(f"line {item.item_id}: unit final price is not price minus discount")
    if item.line_total != item.unit_final_price * item.quantity:
        raise _amounts(f"line {item.item_id}: line total is not unit final price x quantity")


def _check_order_totals(order: Order, subtotal: int, discounts: int) -> None:
    """The order's totals are its lines' (list price and discounts, times quantity) less the coupon."""
    if order.subtotal != subtotal:
        raise _amounts(f"subtotal {order.subtotal} is not the lines' {subtotal}")
    if order.discount_total != discounts:
        raise _amounts(f"discount total {order.discount_total} is not the lines' {discounts}")
    if order.coupon_code is None and order.coupon_discount:
        raise _amounts("a coupon discount without a coupon")
    if order.coupon_discount > subtotal - discounts:
        raise _amounts("the coupon takes more than the merchandise total")
    expected = subtotal - discounts - order.coupon_discount
    if order.total != expected:
        raise _amounts(f"total {order.total} is not lines - discounts - coupon = {expected}")


def _check_payments_cover(order: Order) -> None:
    """A new sale's payments are all captured and together cover its total."""
    paid = 0
    for payment in order.payments:
        if payment.status is not PaymentStatus.CAPTURED:
            raise _amounts(f"payment {payment.payment_id} of a new sale is {payment.status.value}")
        paid += payment.amount
    if paid < order.total:
        raise _amounts(f"payments of {paid} do not cover the total {order.total}")


def _check_order_catalog(order: Order, facts: SellerFacts) -> tuple[PriceDifference, ...]:
    differences: list[PriceDifference] = []
    for item in order.items:
        variant = facts.variants.get(item.variant_id)
        if variant is None:
            if item.variant_id in facts.foreign_ids or item.product_id not in facts.product_ids:
                raise _foreign(f"variant {item.variant_id} of product {item.product_id} is not the seller's")
            continue  # removed from the catalog since: the sale stands, its price cannot be compared
        if variant.product_id != item.product_id:
            raise _foreign(f"variant {item.variant_id} is not of product {item.product_id}")
        if item.discount_id is not None and item.discount_id not in facts.discount_ids:
            raise _foreign(f"discount {item.discount_id} is not the seller's")
        price = variant.price_at(order.catalog_version)
        if price is not None and price != item.unit_price:
            differences.append(
                PriceDifference(order.order_id, item.item_id, item.variant_id, item.unit_price, price)
            )
    if order.coupon_code is not None and order.coupon_code.upper() not in facts.coupon_codes:
        raise _foreign(f"coupon {order.coupon_code} is not the seller's")
    return tuple(differences)


# --- stock, status, footfall, Z-reports ------------------------------------------------------------------

_SIGN_OF_REASON: Mapping[StockReason, int] = MappingProxyType(
    {StockReason.SALE: -1, StockReason.REFUND: 1, StockReason.RESTOCK: 1}
)
"""Reasons that move stock one way only; adjustments and counts go either way."""


def check_stock_delta(delta: StockDelta, sender: Sender, facts: SellerFacts) -> None:
    if delta.store_id != sender.store_id:
        raise _foreign(f"stock delta {delta.delta_id} is for store {delta.store_id}, not the sender's")
    # A variant that is not the seller's now but nobody else's either was removed since: its stock still
    # moves at the store (a late sale, a return), and counting it touches nothing of anyone else.
    if delta.variant_id in facts.foreign_ids:
        raise _foreign(f"variant {delta.variant_id} is another seller's")
    sign = _SIGN_OF_REASON.get(delta.reason)
    if sign is not None and delta.quantity * sign < 0:
        raise _amounts(f"a {delta.reason.value} of {delta.quantity} units goes the wrong way")


def check_transition_origin(
    change: OrderTransition, sender: Sender, order_creator: str | None, staff_store: str | None = None
) -> None:
    """A status change reported by a store: made by the sender, at the store, on one of the store's
    orders (``order_creator`` from ``creator_key``, None when the order is unknown), and, when it names who
    made it, not by another store's staff (``staff_store``: the store of the account it names, when known)."""
    if change.device_id != sender.device_id or change.actor is not Actor.STORE:
        raise _foreign(f"a change of order {change.order_id} not made by the sender at the store")
    if order_creator is None or not order_creator.startswith(f"{sender.store_id}/"):
        raise _foreign(f"order {change.order_id} is not the sender's store's")
    if change.staff is not None:
        _check_staff(change.staff.staff_id, staff_store, sender)


def _check_staff(staff_id: str, staff_store: str | None, sender: Sender) -> None:
    """A change made at the counter names a staff member who is not another store's (one the receiver does
    not know was made at the node, and is the node's word)."""
    if staff_store is not None and staff_store != sender.store_id:
        raise _foreign(f"staff {staff_id} works at another store")


def check_return(order_return: OrderReturn, sender: Sender, facts: SellerFacts) -> None:
    """A partial return reported by a store: made by the sender, on a sale of its store, bringing back units
    of that sale's lines that were sold and that no other return brought back, refunding what the rule
    (``models.returns``) gives for them the way the sale was paid."""
    sold = _check_return_origin(order_return, sender, facts)
    _check_returned_units(order_return, sold, facts)
    expected = refund_for(sold.lines, sold.coupon_discount, order_return.items)
    if order_return.refund != expected:
        raise _amounts(f"refund {order_return.refund} is not the {expected} paid for the units brought back")
    if order_return.refund_method.value not in sold.payment_methods:
        raise _amounts(f"a refund in {order_return.refund_method.value}, not the way the sale was paid")


def _check_return_origin(ret: OrderReturn, sender: Sender, facts: SellerFacts) -> SoldOrder:
    """Made by the sender, by a staff member not of another store, under an id no other order's return
    holds, on a sale of the sender's store: that sale."""
    if ret.store_id != sender.store_id or ret.device_id != sender.device_id:
        raise _foreign(f"return {ret.return_id} was not made by the sender")
    if ret.staff is not None:
        _check_staff(ret.staff.staff_id, facts.staff_stores.get(ret.staff.staff_id), sender)
    held = facts.held_returns.get(ret.return_id)
    if held is not None and held.order_id != ret.order_id:
        raise _foreign(f"return id {ret.return_id} belongs to a return of another order")
    sold = facts.sold_orders.get(ret.order_id)
    if sold is None or not sold.creator.startswith(f"{sender.store_id}/"):
        raise _foreign(f"order {ret.order_id} is not the sender's store's")
    return sold


def _check_returned_units(ret: OrderReturn, sold: SoldOrder, facts: SellerFacts) -> None:
    """Each line is the sale's, and the units brought back were sold and are not another return's."""
    lines = {line.item_id: line for line in sold.lines}
    taken = [
        units
        for return_id, other in facts.held_returns.items()
        if other.order_id == ret.order_id and return_id != ret.return_id  # a redelivery is not its own rival
        for units in other.units
    ]
    for item in ret.items:
        line = lines.get(item.item_id)
        if line is None:
            raise _foreign(f"line {item.item_id} is not of order {ret.order_id}")
        first, end = item.returned_before, item.returned_before + item.quantity
        if end > line.quantity:
            raise _amounts(f"line {item.item_id}: units {first + 1}-{end} of {line.quantity} sold")
        for item_id, before, quantity in taken:
            if item_id == item.item_id and first < before + quantity and before < end:
                raise _amounts(f"line {item.item_id}: units {first + 1}-{end} were brought back already")


def check_footfall(event: FootfallEvent, sender: Sender) -> None:
    if event.store_id != sender.store_id or event.device_id != sender.device_id:
        raise _foreign(f"footfall event {event.event_id} was not counted by the sender")


def check_z_report(report: ZReport, sender: Sender, facts: SellerFacts) -> None:
    """A Z-report closed at the sender's till (its store and device), under an id and a number no other
    report of the receiver holds, by no other store's staff, whose figures add up."""
    if report.store_id != sender.store_id or report.device_id != sender.device_id:
        raise _foreign(f"Z-report {report.z_report_id} was not closed at the sender's till")
    owner = facts.z_report_owners.get(report.z_report_id)
    if owner is not None and owner != creator_key(sender.store_id, sender.device_id):
        raise _foreign(f"Z-report id {report.z_report_id} belongs to another till's report")
    # A redelivery names the report the receiver holds under both its id and its number: an id held under
    # another number, or a number held under another id, is another report.
    held = facts.z_report_numbers.get((report.device_id, report.number))
    if (held is not None or owner is not None) and held != report.z_report_id:
        raise _refuse(RejectReason.BAD_PAYLOAD, f"the till's Z-report {report.number} is another report")
    staff_store = facts.staff_stores.get(report.closed_by.staff_id)
    if staff_store is not None and staff_store != sender.store_id:
        raise _foreign(f"staff {report.closed_by.staff_id} works at another store")
    if report.period_start is not None and report.period_start > report.period_end:
        raise _refuse(RejectReason.BAD_PAYLOAD, f"Z-report {report.number} ends before it starts")
    problems = inconsistencies(report.figures)
    if problems:
        raise _amounts(f"Z-report {report.number}: {problems[0]}")


def check_record(payload: UplinkPayload, sender: Sender, facts: SellerFacts) -> tuple[PriceDifference, ...]:
    """Every check that applies to ``payload``: the one entry point both sides call."""
    if isinstance(payload, Order):
        return check_order(payload, sender, facts)
    if isinstance(payload, StockDelta):
        check_stock_delta(payload, sender, facts)
    elif isinstance(payload, OrderTransition):
        check_transition_origin(
            payload,
            sender,
            facts.order_stores.get(payload.order_id),
            facts.staff_stores.get(payload.staff.staff_id) if payload.staff else None,
        )
    elif isinstance(payload, ZReport):
        check_z_report(payload, sender, facts)
    elif isinstance(payload, OrderReturn):
        check_return(payload, sender, facts)
    else:
        check_footfall(payload, sender)
    return ()
