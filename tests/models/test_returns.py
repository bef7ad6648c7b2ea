"""Partial returns (models/returns.py): the coupon apportioned by largest remainder, the refund of returned
units, and what an order's returns add up to, property-tested over random orders and random ways of
bringing their units back."""

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from models.errors import Conflict, NotFound
from models.returns import (
    OrderReturn,
    OrderWithReturns,
    ReturnedItem,
    coupon_shares,
    everything_back,
    paid_per_line,
    plan_return,
    refund_for,
    refund_of_units,
    refunded_amount,
    returned_quantities,
)
from models.sales import Order, OrderItem, Payment, PaymentMethod, PaymentStatus

FAST = settings(max_examples=300, derandomize=True, database=None, deadline=None)
AT = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
ORDER_ID = "01JORDER000000000000000000"


def make_order(lines: list[tuple[int, int, int]], coupon_discount: int = 0) -> Order:
    """An in-store order of ``lines`` (unit price, unit discount, quantity), with a coupon."""
    items = [
        OrderItem(
            item_id=f"01JITEM{n:019d}",
            order_id=ORDER_ID,
            product_id="p-tea",
            variant_id=f"v-{n}",
            name="珍珠奶茶",
            variant_name="大杯",
            quantity=quantity,
            unit_price=price,
            unit_discount=discount,
            unit_final_price=price - discount,
            line_total=(price - discount) * quantity,
        )
        for n, (price, discount, quantity) in enumerate(lines)
    ]
    merchandise = sum(i.line_total for i in items)
    return Order(
        order_id=ORDER_ID,
        store_id="store-1",
        device_id="node-1",
        status="completed",
        subtotal=sum(i.unit_price * i.quantity for i in items),
        discount_total=sum(i.unit_discount * i.quantity for i in items),
        coupon_code="SAVE" if coupon_discount else None,
        coupon_discount=coupon_discount,
        total=merchandise - coupon_discount,
        items=items,
        payments=[
            Payment(
                payment_id="01JPAY00000000000000000000",
                order_id=ORDER_ID,
                method=PaymentMethod.CARD,
                amount=merchandise - coupon_discount,
                created_at=AT,
            )
        ],
        created_at=AT,
        updated_at=AT,
    )


def a_return(n: int, items: list[ReturnedItem], refund: int) -> OrderReturn:
    return OrderReturn(
        return_id=f"01JRET{n:020d}",
        order_id=ORDER_ID,
        store_id="store-1",
        device_id="node-1",
        items=items,
        refund=refund,
        refund_method=PaymentMethod.CARD,
        created_at=AT,
    )


@st.composite
def orders(draw: st.DrawFn) -> Order:
    """Up to 6 lines of any price, discount and quantity, and a coupon of any size the merchandise allows."""
    lines = draw(
        st.lists(
            st.tuples(st.integers(0, 5000), st.integers(0, 100), st.integers(1, 12)).map(
                lambda t: (t[0], min(t[1], t[0]), t[2])
            ),
            min_size=1,
            max_size=6,
        )
    )
    merchandise = sum((price - discount) * quantity for price, discount, quantity in lines)
    return make_order(lines, draw(st.integers(0, merchandise)))


@st.composite
def orders_and_returns(draw: st.DrawFn) -> tuple[Order, list[dict[str, int]]]:
    """An order and a random way of bringing every unit back: each return takes some units of some lines."""
    order = draw(orders())
    left = {i.item_id: i.quantity for i in order.items}
    returns: list[dict[str, int]] = []
    while any(left.values()):
        wanted = {}
        for item_id, units in left.items():
            if units and draw(st.booleans()):
                wanted[item_id] = draw(st.integers(1, units))
        if not wanted:  # at least one unit per return
            item_id = next(i for i, units in left.items() if units)
            wanted[item_id] = 1
        for item_id, units in wanted.items():
            left[item_id] -= units
        returns.append(wanted)
    return order, returns


def bring_back(order: Order, wanted_per_return: list[dict[str, int]]) -> list[OrderReturn]:
    """The returns made one after the other, each planned after the ones before (as the node does)."""
    made: list[OrderReturn] = []
    for n, wanted in enumerate(wanted_per_return):
        items, refund = plan_return(order, made, wanted)
        made.append(a_return(n, items, refund))
    return made


@FAST
@given(orders())
def test_the_coupons_shares_add_up_to_it_and_none_exceeds_its_line(order):
    shares = coupon_shares(order.items, order.coupon_discount)
    assert sum(shares.values()) == order.coupon_discount
    for item in order.items:
        assert 0 <= shares[item.item_id] <= item.line_total
    assert sum(paid_per_line(order.items, order.coupon_discount).values()) == order.total


@FAST
@given(orders())
def test_shares_follow_line_totals_to_within_a_dollar(order):
    merchandise = sum(i.line_total for i in order.items)
    for item in order.items:
        exact = order.coupon_discount * item.line_total / merchandise if merchandise else 0
        assert abs(coupon_shares(order.items, order.coupon_discount)[item.item_id] - exact) < 1


def test_largest_remainders_get_the_dollars_left_and_ties_go_to_the_lower_item():
    order = make_order([(100, 0, 1), (100, 0, 1), (100, 0, 1)], coupon_discount=100)  # 33.3 each
    assert list(coupon_shares(order.items, 100).values()) == [34, 33, 33]
    order = make_order([(50, 0, 1), (30, 0, 1), (20, 0, 1)], coupon_discount=7)  # 3.5, 2.1, 1.4
    assert list(coupon_shares(order.items, 7).values()) == [4, 2, 1]


@FAST
@given(orders_and_returns())
def test_bringing_every_unit_back_in_any_returns_refunds_exactly_the_total(case):
    order, wanted = case
    made = bring_back(order, wanted)
    assert sum(r.refund for r in made) == order.total
    assert everything_back(order, made)
    assert returned_quantities(order.items, made) == {i.item_id: i.quantity for i in order.items}
    # No return refunds more than the shopper paid, nor do the returns so far together.
    refunded = 0
    for r in made:
        assert 0 <= r.refund <= order.total
        refunded += r.refund
        assert refunded <= order.total
    # More is refused: every unit is back.
    with pytest.raises(Conflict) as refused:
        plan_return(order, made, {order.items[0].item_id: 1})
    assert refused.value.code == "returnTooLarge"


@FAST
@given(orders_and_returns(), st.randoms(use_true_random=False))
def test_a_returns_refund_depends_on_its_units_only_not_on_when_it_is_counted(case, rng):
    order, wanted = case
    made = bring_back(order, wanted)
    shuffled = list(made)
    rng.shuffle(shuffled)
    for r in shuffled:  # the cloud may meet them in any order: each checks out on its own
        assert refund_for(order.items, order.coupon_discount, r.items) == r.refund


@FAST
@given(orders(), st.data())
def test_one_unit_at_a_time_refunds_each_unit_within_a_dollar_of_its_price(order, data):
    paid = paid_per_line(order.items, order.coupon_discount)
    item = data.draw(st.sampled_from(order.items))
    refunds = [
        refund_of_units(paid[item.item_id], item.quantity, before, 1) for before in range(item.quantity)
    ]
    assert sum(refunds) == paid[item.item_id]
    assert max(refunds) - min(refunds) <= 1


def test_a_worked_example_a_coupon_over_two_lines():
    # 2 teas at 45 (line 90) and a cake at 60 (line 60), a NT$50 coupon: shares 30 and 20 (exact).
    order = make_order([(50, 5, 2), (60, 0, 1)], coupon_discount=50)
    tea, cake = (i.item_id for i in order.items)
    assert coupon_shares(order.items, 50) == {tea: 30, cake: 20}
    first, refund = plan_return(order, [], {tea: 1})
    assert (first, refund) == ([ReturnedItem(item_id=tea, quantity=1, returned_before=0)], 30)
    made = [a_return(0, first, refund)]
    second, refund = plan_return(order, made, {tea: 1, cake: 1})
    assert second[0].returned_before == 1
    assert refund == 30 + 40
    made.append(a_return(1, second, refund))
    assert sum(r.refund for r in made) == order.total == 100
    assert everything_back(order, made)


def test_refusals_name_the_line():
    order = make_order([(50, 0, 2)])
    with pytest.raises(NotFound) as unknown:
        plan_return(order, [], {"01JNOTALINE000000000000000": 1})
    assert (unknown.value.code, unknown.value.details["item_id"]) == (
        "orderItemNotFound",
        "01JNOTALINE000000000000000",
    )
    with pytest.raises(Conflict) as too_many:
        plan_return(order, [], {order.items[0].item_id: 3})
    assert too_many.value.code == "returnTooLarge"
    assert too_many.value.details == {"item_id": order.items[0].item_id, "requested": 3, "returnable": 2}


def test_the_refunded_amount_is_the_returns_refunds_until_a_whole_refund_makes_it_the_total():
    order = make_order([(50, 0, 2)])
    items, refund = plan_return(order, [], {order.items[0].item_id: 1})
    made = [a_return(0, items, refund)]
    assert refunded_amount(order.total, order.payments, made) == 50
    refunded = order.model_copy(
        update={"payments": [order.payments[0].model_copy(update={"status": PaymentStatus.REFUNDED})]}
    )
    assert (
        refunded_amount(order.total, refunded.payments, made) == order.total == 100
    )  # the whole refund gave back the rest


def test_the_order_as_it_stands_shows_units_back_per_line_and_its_returns_but_the_sale_does_not():
    order = make_order([(50, 0, 2), (30, 0, 1)])
    items, refund = plan_return(order, [], {order.items[0].item_id: 2})
    standing = OrderWithReturns.of(order, [a_return(0, items, refund)])
    wire = standing.to_json_dict()
    assert wire["returnedQuantities"] == {order.items[0].item_id: 2, order.items[1].item_id: 0}
    assert wire["refundedAmount"] == 100
    assert wire["returns"][0]["items"] == [
        {"itemId": order.items[0].item_id, "quantity": 2, "returnedBefore": 0}
    ]
    assert "returns" not in order.to_json_dict()  # the sale on the wire is as it was sold


def test_a_return_names_each_line_once_and_units_within_an_order_lines_bounds():
    item = ReturnedItem(item_id="01JITEM0000000000000000001", quantity=1)
    with pytest.raises(ValidationError):
        a_return(0, [item, item], 10)
    with pytest.raises(ValidationError):
        ReturnedItem(item_id="x", quantity=1, returned_before=999)
    with pytest.raises(ValidationError):
        ReturnedItem(item_id="x", quantity=0)
    with pytest.raises(ValueError, match="units"):
        refund_of_units(100, 2, 1, 2)
