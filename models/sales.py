"""Carts, orders, order items and payments, as they appear on the wire.

An order item keeps the name, unit price, discount and final price it was sold at: orders never change when
the catalog does.
"""

from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, Field

from models.base import CamelModel
from models.money import CURRENCY, TWD
from models.order_states import OrderStatus

Quantity = Annotated[int, Field(ge=1, le=999, description="Units, 1-999")]


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


class Payment(CamelModel):
    payment_id: str
    order_id: str
    method: PaymentMethod
    amount: TWD
    status: PaymentStatus = PaymentStatus.CAPTURED
    created_at: AwareDatetime


class OrderItem(CamelModel):
    item_id: str
    order_id: str
    product_id: str
    variant_id: str
    name: str = Field(description="Product name as sold")
    variant_name: str
    quantity: Quantity
    unit_price: TWD
    unit_discount: TWD
    unit_final_price: TWD
    line_total: TWD
    discount_id: str | None = None


class Order(CamelModel):
    order_id: str
    store_id: str
    device_id: str | None = None
    channel: Channel = Channel.IN_STORE
    status: OrderStatus
    currency: str = CURRENCY
    subtotal: TWD
    discount_total: TWD
    coupon_code: str | None = None
    coupon_discount: TWD = 0
    total: TWD
    items: list[OrderItem]
    payments: list[Payment] = []
    catalog_version: int | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime
