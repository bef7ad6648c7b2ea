"""Small builders for sync messages, shared by the sync_protocol tests. Deterministic: no clock, no randomness."""

from datetime import UTC, datetime, timedelta

from models.end_of_day import TillRefund, TillSale, ZReport, till_figures
from models.footfall import Direction, FootfallEvent, FootfallSource
from models.order_states import Actor, OrderStatus
from models.returns import OrderReturn, ReturnedItem, refund_for
from models.sales import Order, OrderItem, Payment, PaymentMethod
from models.staff import StaffRef
from models.stock import StockDelta, StockReason
from sync_protocol.envelope import (
    Batch,
    Envelope,
    OrderStatusUpdate,
    OrderTransition,
    StockAdjustment,
    UplinkPayload,
    make_envelope,
)
from sync_protocol.hlc import HLC

STORE = "01JSTORE0000000000000000A1"
OTHER_STORE = "01JSTORE0000000000000000B2"
DEVICE = "01JDEV00000000000000000NA1"
OTHER_DEVICE = "01JDEV00000000000000000NB2"
CLOUD = "cloud-1"
T0 = 1_750_000_000_000  # milliseconds since the epoch: 2025-06-15
AT = datetime.fromtimestamp(T0 / 1000, UTC)

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(n: int) -> str:
    """A valid ULID string for the number ``n`` (sortable by ``n``)."""
    chars = []
    for _ in range(26):
        n, digit = divmod(n, 32)
        chars.append(_CROCKFORD[digit])
    return "".join(reversed(chars))


def stock_delta(
    n: int = 1, *, quantity: int = -1, variant_id: str = "v-tea", store_id: str = STORE
) -> StockDelta:
    return StockDelta(
        delta_id=ulid(10_000 + n),
        store_id=store_id,
        variant_id=variant_id,
        quantity=quantity,
        reason=StockReason.SALE if quantity < 0 else StockReason.RESTOCK,
        ref_id=None,
        created_at=AT + timedelta(seconds=n),
    )


def order(n: int = 1, *, store_id: str = STORE, coupon_code: str | None = None) -> Order:
    order_id = ulid(20_000 + n)
    return Order(
        order_id=order_id,
        store_id=store_id,
        device_id=DEVICE,
        status=OrderStatus.COMPLETED,
        subtotal=110,
        discount_total=12,
        coupon_code=coupon_code,
        coupon_discount=10 if coupon_code else 0,
        total=88 if coupon_code else 98,
        items=[
            OrderItem(
                item_id=ulid(30_000 + n),
                order_id=order_id,
                product_id="p-tea",
                variant_id="v-tea",
                name="珍珠奶茶",
                variant_name="大杯",
                quantity=2,
                unit_price=55,
                unit_discount=6,
                unit_final_price=49,
                line_total=98,
            )
        ],
        payments=[
            Payment(
                payment_id=ulid(40_000 + n),
                order_id=order_id,
                method=PaymentMethod.CASH,
                amount=88 if coupon_code else 98,
                created_at=AT,
            )
        ],
        created_at=AT,
        updated_at=AT,
    )


def footfall(
    n: int = 1, *, direction: Direction = Direction.IN, at: datetime = AT, store_id: str = STORE
) -> FootfallEvent:
    return FootfallEvent(
        event_id=ulid(50_000 + n),
        store_id=store_id,
        device_id=DEVICE,
        occurred_at=at,
        direction=direction,
        source=FootfallSource.FUSED,
    )


def transition(
    source: OrderStatus | None,
    target: OrderStatus,
    actor: Actor,
    *,
    device: str = DEVICE,
    wall: int = T0,
    counter: int = 0,
    order_id: str = "order-1",
    note: str | None = None,
) -> OrderTransition:
    return OrderTransition(
        order_id=order_id,
        from_status=source,
        to_status=target,
        actor=actor,
        hlc=HLC(wall, counter, device).encode(),
        device_id=device,
        note=note,
    )


def z_report(number: int = 1, *, store_id: str = STORE, device: str = DEVICE) -> ZReport:
    """A Z-report of a period with two sales (cash, card) and a cash refund, the drawer counted NT$20 short."""
    sales = [
        TillSale(ulid(20_001), AT, 110, 12, 0, ((PaymentMethod.CASH, 98),)),
        TillSale(ulid(20_002), AT, 300, 0, 50, ((PaymentMethod.CARD, 250),)),
    ]
    refunds = [TillRefund(ulid(20_001), AT, ((PaymentMethod.CASH, 98),))]
    return ZReport(
        store_id=store_id,
        device_id=device,
        business_day=AT.date(),
        period_start=AT - timedelta(hours=10),
        period_end=AT + timedelta(hours=1),
        figures=till_figures(sales, refunds, opening_float=2000, counted_cash=1980),
        z_report_id=ulid(80_000 + number),
        number=number,
        closed_by=StaffRef(staff_id=ulid(7), name="王店長"),
        note="零錢不夠",
    )


def order_return(
    n: int = 1,
    sold: Order | None = None,
    *,
    quantity: int = 1,
    before: int = 0,
    refund: int | None = None,
    device: str = DEVICE,
    store_id: str = STORE,
) -> OrderReturn:
    """A partial return of ``quantity`` units of the first line of ``sold`` (``order(1)`` by default),
    after ``before`` came back; its refund is what the rule gives unless said."""
    sold = sold or order(1)
    items = [ReturnedItem(item_id=sold.items[0].item_id, quantity=quantity, returned_before=before)]
    return OrderReturn(
        return_id=ulid(80_000 + n),
        order_id=sold.order_id,
        store_id=store_id,
        device_id=device,
        items=items,
        refund=refund_for(sold.items, sold.coupon_discount, items) if refund is None else refund,
        refund_method=PaymentMethod.CASH,
        created_at=AT,
    )


def envelope(
    seq: int,
    payload: UplinkPayload | None = None,
    *,
    device: str = DEVICE,
    store_id: str = STORE,
    wall: int = T0,
) -> Envelope:
    return make_envelope(
        message_id=ulid(60_000 + seq),
        store_id=store_id,
        device_id=device,
        seq=seq,
        hlc=HLC(wall + seq, 0, device),
        payload=payload if payload is not None else stock_delta(seq),
    )


def batch(envelopes: list[Envelope], n: int = 1) -> Batch:
    head = envelopes[0]
    return Batch(
        batch_id=ulid(70_000 + n),
        store_id=head.store_id,
        device_id=head.device_id,
        stream=head.stream,
        messages=tuple(envelopes),
    )


def refund_update(seq: int = 7) -> OrderStatusUpdate:
    """A refund made in the cloud, as the store's feed carries it down."""
    return OrderStatusUpdate(
        store_id=STORE,
        seq=seq,
        latest_seq=9,
        transition=transition(OrderStatus.COMPLETED, OrderStatus.REFUNDED, Actor.SELLER, device=CLOUD),
    )


def stock_adjustment(seq: int = 8) -> StockAdjustment:
    """A restock made in the cloud, as the store's feed carries it down."""
    return StockAdjustment(store_id=STORE, seq=seq, latest_seq=9, delta=stock_delta(quantity=24))
