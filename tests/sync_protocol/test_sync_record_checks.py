"""The checks every uplink record passes (sync_protocol.record_checks): what a store device may say."""

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.catalog import Coupon, CouponKind, Discount
from models.errors import CouponNotApplicable
from models.footfall import FootfallEvent
from models.order_states import Actor, OrderStatus
from models.pricing import LineInput, price_sale
from models.sales import Channel, Order, OrderItem, Payment, PaymentMethod, PaymentStatus
from models.staff import StaffRef
from models.stock import StockReason
from sync_protocol.errors import MessageRejected, RejectReason
from sync_protocol.record_checks import (
    HeldReturn,
    SellerFacts,
    Sender,
    SoldItem,
    SoldOrder,
    VariantFacts,
    check_footfall,
    check_order,
    check_record,
    check_stock_delta,
    check_transition_origin,
    check_z_report,
    creator_key,
)
from tests.sync_protocol.sync_factories import (
    AT,
    DEVICE,
    OTHER_DEVICE,
    OTHER_STORE,
    STORE,
    footfall,
    order,
    order_return,
    stock_delta,
    transition,
    ulid,
    z_report,
)

SENDER = Sender(STORE, DEVICE)
FACTS = SellerFacts(
    variants={"v-tea": VariantFacts("p-tea", 55)},
    discount_ids=frozenset({"d-1"}),
    coupon_codes=frozenset({"WELCOME10"}),
)


def refused(
    reason: RejectReason, payload: object, facts: SellerFacts = FACTS, sender: Sender = SENDER
) -> str:
    with pytest.raises(MessageRejected) as caught:
        check_record(payload, sender, facts)  # type: ignore[arg-type]
    assert caught.value.reason is reason, caught.value.detail
    return caught.value.detail


def changed(o: Order, **fields: object) -> Order:
    return o.model_copy(update=fields)


def changed_item(o: Order, **fields: object) -> Order:
    return changed(o, items=[o.items[0].model_copy(update=fields)])


def test_a_sale_as_a_node_makes_it_passes():
    assert check_order(order(), SENDER, FACTS) == ()
    assert check_order(order(coupon_code="welcome10"), SENDER, FACTS) == ()  # codes are typed in any case


# --- the sender's own store, device, seller ------------------------------------------------------------


def test_an_order_of_another_store_or_device_is_foreign():
    refused(RejectReason.FOREIGN_REFERENCE, order(store_id=OTHER_STORE))
    refused(RejectReason.FOREIGN_REFERENCE, changed(order(), device_id=OTHER_DEVICE))
    refused(RejectReason.FOREIGN_REFERENCE, order(), sender=Sender(STORE, OTHER_DEVICE))


def test_an_order_id_that_exists_for_another_store_is_foreign():
    o = order()
    theirs = SellerFacts(
        variants=FACTS.variants, discount_ids=FACTS.discount_ids, order_stores={o.order_id: "elsewhere/dev"}
    )
    refused(RejectReason.FOREIGN_REFERENCE, o, theirs)
    mine = SellerFacts(
        variants=FACTS.variants,
        discount_ids=FACTS.discount_ids,
        order_stores={o.order_id: creator_key(STORE, DEVICE)},
    )
    assert check_order(o, SENDER, mine) == ()  # a redelivery of its own order


def test_children_cannot_attach_to_another_order():
    o = order()
    refused(RejectReason.FOREIGN_REFERENCE, changed_item(o, order_id=ulid(99)))
    refused(
        RejectReason.FOREIGN_REFERENCE,
        changed(o, payments=[o.payments[0].model_copy(update={"order_id": ulid(99)})]),
    )
    taken = SellerFacts(
        variants=FACTS.variants, discount_ids=FACTS.discount_ids, child_orders={o.items[0].item_id: ulid(99)}
    )
    assert "already belongs" in refused(RejectReason.FOREIGN_REFERENCE, o, taken)
    twice = changed(o, items=[o.items[0], o.items[0]], subtotal=220, discount_total=22, total=198)
    refused(RejectReason.BAD_PAYLOAD, twice)


def test_variants_products_discounts_and_coupons_must_be_the_sellers():
    o = order()
    refused(RejectReason.FOREIGN_REFERENCE, changed_item(o, variant_id="v-theirs"))
    refused(RejectReason.FOREIGN_REFERENCE, changed_item(o, product_id="p-theirs"))
    refused(RejectReason.FOREIGN_REFERENCE, changed_item(o, discount_id="d-theirs"))
    refused(RejectReason.FOREIGN_REFERENCE, order(coupon_code="THEIRS"))


def test_a_sale_of_a_variant_removed_since_stands_when_its_product_is_the_sellers():
    """The cloud deletes a variant taken out of a product; a node that sold it before it heard keeps the
    sale, and so does the cloud. Another seller's variant, or a product not the seller's, is refused."""
    removed = changed_item(order(), variant_id="v-removed")
    facts = SellerFacts(
        variants=FACTS.variants, product_ids=frozenset({"p-tea"}), discount_ids=FACTS.discount_ids
    )
    assert check_order(removed, SENDER, facts) == ()
    foreign = SellerFacts(
        variants=FACTS.variants,
        product_ids=frozenset({"p-tea"}),
        discount_ids=FACTS.discount_ids,
        foreign_ids=frozenset({"v-removed"}),
    )
    refused(RejectReason.FOREIGN_REFERENCE, removed, foreign)
    refused(RejectReason.FOREIGN_REFERENCE, changed_item(removed, product_id="p-theirs"), facts)


def test_an_in_store_sale_is_created_completed_in_store_in_twd():
    for status in (OrderStatus.REFUNDED, OrderStatus.RETURNED, OrderStatus.UNPAID, OrderStatus.SHIPPING):
        refused(RejectReason.BAD_PAYLOAD, changed(order(), status=status))
    refused(RejectReason.BAD_PAYLOAD, changed(order(), channel=Channel.ONLINE))
    refused(RejectReason.BAD_PAYLOAD, changed(order(), currency="USD"))


# --- amounts -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"total": 1},
        {"total": 97},
        {"subtotal": 111},
        {"discount_total": 0},
        {"coupon_discount": 5},  # a coupon discount with no coupon
        {"items": []},
    ],
)
def test_totals_must_add_up(fields):
    reason = RejectReason.BAD_PAYLOAD if "items" in fields else RejectReason.BAD_AMOUNTS
    refused(reason, changed(order(), **fields))


@pytest.mark.parametrize(
    "fields",
    [
        {"unit_final_price": 55},
        {"line_total": 1},
        {"unit_discount": 60, "unit_final_price": -5},
    ],
)
def test_lines_must_add_up(fields):
    refused(RejectReason.BAD_AMOUNTS, changed_item(order(), **fields))


def test_payments_cover_the_total_and_are_captured():
    o = order()
    refused(RejectReason.BAD_AMOUNTS, changed(o, payments=[]))
    refused(RejectReason.BAD_AMOUNTS, changed(o, payments=[o.payments[0].model_copy(update={"amount": 97})]))
    refused(
        RejectReason.BAD_AMOUNTS,
        changed(o, payments=[o.payments[0].model_copy(update={"status": PaymentStatus.REFUNDED})]),
    )
    split = [
        o.payments[0].model_copy(update={"amount": 50}),
        o.payments[0].model_copy(update={"payment_id": ulid(77), "amount": 49, "method": PaymentMethod.CARD}),
    ]
    assert check_order(changed(o, payments=split), SENDER, FACTS) == ()


def test_the_coupon_takes_no_more_than_the_merchandise():
    o = order(coupon_code="WELCOME10")
    refused(RejectReason.BAD_AMOUNTS, changed(o, coupon_discount=100, total=0))


# --- prices --------------------------------------------------------------------------------------------


def test_a_price_other_than_the_catalog_is_kept_and_reported():
    facts = SellerFacts(variants={"v-tea": VariantFacts("p-tea", 60)}, discount_ids=frozenset({"d-1"}))
    [difference] = check_order(order(), SENDER, facts)
    assert (difference.sold_at, difference.catalog_price, difference.variant_id) == (55, 60, "v-tea")


def test_a_price_changed_after_the_nodes_catalog_version_is_not_judged():
    o = changed(order(), catalog_version=7)
    at_8 = SellerFacts(
        variants={"v-tea": VariantFacts("p-tea", 60, version=8)}, discount_ids=frozenset({"d-1"})
    )
    assert check_order(o, SENDER, at_8) == ()  # the node held version 7: its price is not known any more
    at_7 = SellerFacts(
        variants={"v-tea": VariantFacts("p-tea", 60, version=7)}, discount_ids=frozenset({"d-1"})
    )
    assert len(check_order(o, SENDER, at_7)) == 1
    assert check_order(changed(o, catalog_version=None), SENDER, at_7) == ()


# --- stock, status, footfall ---------------------------------------------------------------------------


def test_stock_deltas_are_the_stores_for_the_sellers_variants_and_go_the_right_way():
    check_stock_delta(stock_delta(), SENDER, FACTS)
    refused(RejectReason.FOREIGN_REFERENCE, stock_delta(store_id=OTHER_STORE))
    theirs = SellerFacts(variants=FACTS.variants, foreign_ids=frozenset({"v-theirs"}))
    refused(RejectReason.FOREIGN_REFERENCE, stock_delta(variant_id="v-theirs"), theirs)
    check_stock_delta(stock_delta(variant_id="v-removed"), SENDER, theirs)  # removed since: it still counts
    wrong_way = stock_delta(quantity=5).model_copy(update={"reason": StockReason.SALE})
    refused(RejectReason.BAD_AMOUNTS, wrong_way)
    back = stock_delta(quantity=-5).model_copy(update={"reason": StockReason.REFUND})
    refused(RejectReason.BAD_AMOUNTS, back)
    for reason in (StockReason.ADJUSTMENT, StockReason.COUNT):
        for quantity in (-3, 3):
            check_stock_delta(
                stock_delta(quantity=quantity).model_copy(update={"reason": reason}), SENDER, FACTS
            )


def test_a_status_change_is_the_senders_on_its_stores_order():
    change = transition(OrderStatus.COMPLETED, OrderStatus.RETURNED, Actor.STORE)
    mine = creator_key(STORE, OTHER_DEVICE)  # another counter of the same store sold it
    check_transition_origin(change, SENDER, mine)
    with pytest.raises(MessageRejected):
        check_transition_origin(change, SENDER, creator_key(OTHER_STORE, DEVICE))
    with pytest.raises(MessageRejected):
        check_transition_origin(change, SENDER, None)
    theirs = transition(OrderStatus.COMPLETED, OrderStatus.RETURNED, Actor.STORE, device=OTHER_DEVICE)
    with pytest.raises(MessageRejected):
        check_transition_origin(theirs, SENDER, mine)
    as_seller = transition(OrderStatus.COMPLETED, OrderStatus.REFUNDED, Actor.SELLER)
    with pytest.raises(MessageRejected):
        check_transition_origin(as_seller, SENDER, mine)


def test_a_status_change_names_no_other_stores_staff():
    """Who made a change at the counter: one of the store's accounts, or one the receiver does not know
    (made at the node itself); never an account of another store."""
    mine = creator_key(STORE, DEVICE)
    change = transition(OrderStatus.COMPLETED, OrderStatus.RETURNED, Actor.STORE).model_copy(
        update={"staff": StaffRef(staff_id=ulid(7), name="王店長")}
    )
    check_transition_origin(change, SENDER, mine, STORE)
    check_transition_origin(change, SENDER, mine, None)
    with pytest.raises(MessageRejected) as caught:
        check_transition_origin(change, SENDER, mine, OTHER_STORE)
    assert caught.value.reason is RejectReason.FOREIGN_REFERENCE
    facts = SellerFacts(order_stores={change.order_id: mine}, staff_stores={ulid(7): OTHER_STORE})
    assert "another store" in refused(RejectReason.FOREIGN_REFERENCE, change, facts)
    check_record(change, SENDER, SellerFacts(order_stores={change.order_id: mine}))


def test_footfall_is_counted_by_the_sender():
    check_footfall(footfall(), SENDER)
    with pytest.raises(MessageRejected):
        check_footfall(footfall(store_id=OTHER_STORE), SENDER)
    other: FootfallEvent = footfall().model_copy(update={"device_id": OTHER_DEVICE})
    with pytest.raises(MessageRejected):
        check_footfall(other, SENDER)


def test_a_z_report_is_closed_at_the_senders_till_and_its_figures_add_up():
    report = z_report()
    check_z_report(report, SENDER, SellerFacts())
    mine = creator_key(STORE, DEVICE)
    again = SellerFacts(
        z_report_owners={report.z_report_id: mine}, z_report_numbers={(DEVICE, 1): report.z_report_id}
    )
    assert check_record(report, SENDER, again) == ()  # a redelivery
    refused(RejectReason.FOREIGN_REFERENCE, z_report(store_id=OTHER_STORE))
    refused(RejectReason.FOREIGN_REFERENCE, z_report(device=OTHER_DEVICE))
    refused(RejectReason.FOREIGN_REFERENCE, report, sender=Sender(STORE, OTHER_DEVICE))
    # Its id is another till's report, or the till numbered another report alike.
    taken = SellerFacts(z_report_owners={report.z_report_id: creator_key(STORE, OTHER_DEVICE)})
    assert "another till" in refused(RejectReason.FOREIGN_REFERENCE, report, taken)
    renumbered = SellerFacts(z_report_numbers={(DEVICE, 1): ulid(99)})
    assert "another report" in refused(RejectReason.BAD_PAYLOAD, report, renumbered)
    held_as_2 = SellerFacts(
        z_report_owners={report.z_report_id: mine}, z_report_numbers={(DEVICE, 2): report.z_report_id}
    )
    assert "another report" in refused(RejectReason.BAD_PAYLOAD, report, held_as_2)
    # Closed by another store's manager.
    elsewhere = SellerFacts(staff_stores={ulid(7): OTHER_STORE})
    assert "another store" in refused(RejectReason.FOREIGN_REFERENCE, report, elsewhere)
    check_record(report, SENDER, SellerFacts(staff_stores={ulid(7): STORE}))
    backwards = report.model_copy(update={"period_start": report.period_end + timedelta(seconds=1)})
    assert "ends before it starts" in refused(RejectReason.BAD_PAYLOAD, backwards)


@pytest.mark.parametrize(
    "change",
    [
        {"net_sales": 1},
        {"refunds": 0},
        {"cash_expected": 2100},
        {"over_short": 0},
        {"takings": 0},
        {"discounts": 0},
    ],
)
def test_a_z_report_whose_figures_do_not_add_up_is_refused(change):
    report = z_report()
    figures = report.figures.model_copy(update=change)
    refused(RejectReason.BAD_AMOUNTS, report.model_copy(update={"figures": figures}))


# --- partial returns ------------------------------------------------------------------------------------

SOLD = order(1, coupon_code="WELCOME10")  # 2 units of a line of 98, a coupon of 10: 88 paid


def sold_facts(*held: HeldReturn, creator: str = creator_key(STORE, DEVICE), **more: object) -> SellerFacts:
    """What the receiver holds of ``SOLD`` and its returns."""
    line = SOLD.items[0]
    return SellerFacts(
        sold_orders={
            SOLD.order_id: SoldOrder(
                creator, (SoldItem(line.item_id, line.quantity, line.line_total),), 10, frozenset({"cash"})
            )
        },
        held_returns={ulid(90_000 + n): h for n, h in enumerate(held)},
        **more,  # type: ignore[arg-type]
    )


def held(before: int, quantity: int, order_id: str = SOLD.order_id) -> HeldReturn:
    return HeldReturn(order_id, ((SOLD.items[0].item_id, before, quantity),))


def test_a_return_as_the_node_makes_it_passes_whatever_arrived_before():
    first, second = order_return(1, SOLD), order_return(2, SOLD, before=1)
    assert (first.refund, second.refund) == (44, 44)  # 88 paid for 2 units
    check_record(first, SENDER, sold_facts())
    check_record(second, SENDER, sold_facts())  # the first not arrived yet: its units are not claimed
    check_record(second, SENDER, sold_facts(held(0, 1)))
    check_record(first, SENDER, sold_facts(held(1, 1)))  # in either order
    # A redelivery is not its own rival.
    check_record(first, SENDER, replace(sold_facts(), held_returns={first.return_id: held(0, 1)}))


def test_a_return_is_the_senders_on_its_stores_sale_and_lines():
    ret = order_return(1, SOLD)
    refused(RejectReason.FOREIGN_REFERENCE, order_return(1, SOLD, store_id=OTHER_STORE), sold_facts())
    refused(RejectReason.FOREIGN_REFERENCE, order_return(1, SOLD, device=OTHER_DEVICE), sold_facts())
    refused(RejectReason.FOREIGN_REFERENCE, ret, SellerFacts())  # a sale the receiver does not hold
    refused(RejectReason.FOREIGN_REFERENCE, ret, sold_facts(creator=creator_key(OTHER_STORE, DEVICE)))
    check_record(ret, SENDER, sold_facts(creator=creator_key(STORE, OTHER_DEVICE)))  # another counter's
    other_line = ret.model_copy(update={"items": [ret.items[0].model_copy(update={"item_id": ulid(5)})]})
    assert "not of order" in refused(RejectReason.FOREIGN_REFERENCE, other_line, sold_facts())
    taken_id = replace(sold_facts(), held_returns={ret.return_id: held(0, 1, order_id=ulid(6))})
    assert "another order" in refused(RejectReason.FOREIGN_REFERENCE, ret, taken_id)
    by_staff = ret.model_copy(update={"staff": StaffRef(staff_id=ulid(7), name="王店長")})
    check_record(by_staff, SENDER, sold_facts(staff_stores={ulid(7): STORE}))
    check_record(by_staff, SENDER, sold_facts())  # an account made at the node: the node's word
    refused(RejectReason.FOREIGN_REFERENCE, by_staff, sold_facts(staff_stores={ulid(7): OTHER_STORE}))


def test_a_return_brings_back_only_units_sold_and_not_brought_back_already():
    assert "of 2 sold" in refused(
        RejectReason.BAD_AMOUNTS, order_return(1, SOLD, quantity=2, before=1, refund=44), sold_facts()
    )
    assert "already" in refused(RejectReason.BAD_AMOUNTS, order_return(1, SOLD), sold_facts(held(0, 1)))
    assert "already" in refused(
        RejectReason.BAD_AMOUNTS, order_return(1, SOLD, quantity=2), sold_facts(held(1, 1))
    )
    check_record(order_return(1, SOLD), SENDER, sold_facts(held(0, 1, order_id=ulid(6))))  # another sale's


def test_a_return_refunds_what_was_paid_for_its_units_the_way_it_was_paid():
    assert "refund 45" in refused(RejectReason.BAD_AMOUNTS, order_return(1, SOLD, refund=45), sold_facts())
    by_card = order_return(1, SOLD).model_copy(update={"refund_method": PaymentMethod.CARD})
    assert "way the sale was paid" in refused(RejectReason.BAD_AMOUNTS, by_card, sold_facts())


# --- what the node's own pricing makes always passes ---------------------------------------------------


COUPONS = (
    st.none()
    | st.builds(
        Coupon,
        code=st.just("SALE"),
        kind=st.just(CouponKind.AMOUNT),
        value=st.integers(1, 1_000_000),
        min_spend=st.integers(0, 5_000),
    )
    | st.builds(
        Coupon,
        code=st.just("SALE"),
        kind=st.just(CouponKind.PERCENT),
        value=st.integers(1, 100),
        min_spend=st.integers(0, 5_000),
    )
)


@given(
    prices=st.lists(st.integers(0, 100_000), min_size=4, max_size=4),
    lines=st.lists(st.tuples(st.integers(0, 3), st.integers(1, 999)), min_size=1, max_size=8),
    percents=st.lists(st.integers(0, 100), min_size=4, max_size=4),
    coupon=COUPONS,
)
def test_every_sale_the_pricing_makes_passes_the_checks(prices, lines, percents, coupon):
    """Whatever discounts and coupon apply, an order built from ``models.pricing`` as the node builds it
    adds up: the checks never refuse a sale the node rang up honestly."""
    discounts = [
        Discount(discount_id=f"d-{i}", name=f"d{i}", percent=p, variant_id=f"v-{i}")
        for i, p in enumerate(percents)
    ]
    inputs = [LineInput(f"p-{v}", f"v-{v}", prices[v], q) for v, q in lines]
    try:
        priced = price_sale(inputs, discounts, AT, coupon)
    except CouponNotApplicable:  # the minimum spend was not reached: no sale to check
        return
    if priced.subtotal > 100_000_000:
        return  # above what one order may hold (models.money.TWD): the node refuses to price it
    order_id = ulid(1)
    items = [
        OrderItem(
            item_id=ulid(100 + n),
            order_id=order_id,
            product_id=p.product_id,
            variant_id=p.variant_id,
            name="品名",
            variant_name="預設",
            quantity=p.quantity,
            unit_price=p.unit_price,
            unit_discount=p.unit_discount,
            unit_final_price=p.unit_final_price,
            line_total=p.line_total,
            discount_id=p.discount_id,
        )
        for n, p in enumerate(priced.lines)
    ]
    payment = Payment(
        payment_id=ulid(2), order_id=order_id, method=PaymentMethod.CASH, amount=priced.total, created_at=AT
    )
    sale = Order(
        order_id=order_id,
        store_id=STORE,
        device_id=DEVICE,
        status=OrderStatus.COMPLETED,
        subtotal=priced.subtotal,
        discount_total=priced.discount_total,
        coupon_code=priced.coupon_code,
        coupon_discount=priced.coupon_discount,
        total=priced.total,
        items=items,
        payments=[payment],
        created_at=AT,
        updated_at=AT + timedelta(seconds=1),
    )
    facts = SellerFacts(
        variants={f"v-{i}": VariantFacts(f"p-{i}", price) for i, price in enumerate(prices)},
        discount_ids=frozenset(d.discount_id for d in discounts),
        coupon_codes=frozenset({"SALE"}),
    )
    assert check_order(sale, SENDER, facts) == ()
