"""Carts, orders, order items and payments, as they appear on the wire.

An order item keeps the name, unit price, discount and final price it was sold at: orders never change when
the catalog does.
"""

from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, Field

from models.base import CamelModel
from models.catalog import Ident, Name
from models.einvoice import EInvoice
from models.money import CURRENCY, TWD
from models.order_states import OrderStatus

Quantity = Annotated[int, Field(ge=1, le=999, strict=True, description="Units, 1-999")]
CouponCode = Annotated[str, Field(min_length=1, max_length=32)]
MAX_ORDER_LINES = 200
"""Lines in one order: far above any basket a shop rings up, and a bound on what one sync message holds."""
MAX_ORDER_PAYMENTS = 10


class PaymentMethod(StrEnum):
    CASH = "cash"
    CARD = "card"


class PaymentStatus(StrEnum):
    CAPTURED = "captured"
    REFUNDED = "refunded"


class Channel(StrEnum):
    IN_STORE = "inStore"  # sold at a store node (kiosk or counter)
    ONLINE = "online"


class CartStatus(StrEnum):
    OPEN = "open"
    CHECKED_OUT = "checkedOut"
    # Taken over by a kiosk with a hand-off code: its lines were copied into a new cart there, and this one
    # (whose id the phone knows) takes no more changes and is never sold.
    HANDED_OFF = "handedOff"


class Payment(CamelModel):
    payment_id: Ident
    order_id: Ident
    method: PaymentMethod
    amount: TWD
    status: PaymentStatus = PaymentStatus.CAPTURED
    created_at: AwareDatetime


class OrderItem(CamelModel):
    item_id: Ident
    order_id: Ident
    product_id: Ident
    variant_id: Ident
    name: Name = Field(description="Product name as sold")
    variant_name: Name
    quantity: Quantity
    unit_price: TWD
    unit_discount: TWD
    unit_final_price: TWD
    line_total: TWD
    discount_id: Ident | None = None


class Order(CamelModel):
    order_id: Ident
    store_id: Ident
    device_id: Ident | None = None
    channel: Channel = Channel.IN_STORE
    status: OrderStatus
    currency: str = CURRENCY
    subtotal: TWD
    discount_total: TWD
    coupon_code: CouponCode | None = None
    coupon_discount: TWD = 0
    total: TWD
    items: list[OrderItem] = Field(max_length=MAX_ORDER_LINES)
    payments: list[Payment] = Field(default=[], max_length=MAX_ORDER_PAYMENTS)
    catalog_version: Annotated[int, Field(strict=True, ge=1, le=2_147_483_647)] | None = None
    einvoice: EInvoice | None = Field(
        default=None,
        # Absent rather than null when there is none: an order without one is then exactly what readers of
        # sync schema version 1, which refuse unknown fields, read (docs/sync-protocol.md, "Versioning").
        exclude_if=lambda choice: choice is None,
        description="Where the sale's e-invoice went (電子發票); absent when the shopper was not asked",
    )
    created_at: AwareDatetime
    updated_at: AwareDatetime
