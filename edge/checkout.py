"""Checkout: a cart becomes a completed in-store order in one SQLite write transaction.

In that one transaction: validate the cart and stock, price it (discounts, coupon), write the order, its
items and payment, enter the sale in the till's journal (for the end of day), make its receipt token, write a
negative stock delta per line, close the cart, remember the idempotency key, and queue the outbox messages for the cloud. Any error rolls all of it back: nothing is ever half-written.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from edge import catalog, node_state, outbox, receipts, stock, till
from edge.carts import cart_lines, open_cart, price_lines
from edge.orders import get_order
from edge.tables import carts, checkout_keys, coupon_redemptions, order_items, orders, payments
from models.errors import Conflict, CouponNotApplicable, InsufficientStock
from models.ids import new_id
from models.money import CURRENCY
from models.node_api import CartQuote, CheckoutRequest
from models.order_states import Actor, OrderStatus, check_transition
from models.pricing import PricedSale
from models.sales import CartStatus, Channel, Order, PaymentStatus
from models.stock import StockReason


@dataclass(frozen=True)
class CheckoutResult:
    order: Order
    created: bool  # False when an idempotent retry returned the order made before


def checkout(
    conn: Connection, cart_id: str, request: CheckoutRequest, *, device_id: str, at: datetime
) -> CheckoutResult:
    """Run inside ``Database.write()`` so stock is read and written under one lock."""
    if request.idempotency_key is not None:
        earlier = _earlier_checkout(conn, cart_id, request.idempotency_key)
        if earlier is not None:
            return earlier
    open_cart(conn, cart_id)
    store_id = _store_id(conn)
    lines = _lines_to_sell(conn, cart_id)
    priced = _price_with_coupon(conn, lines, request.coupon_code, at)
    if request.expected_total is not None and priced.total != request.expected_total:
        raise Conflict(
            f"the cart now comes to {priced.total}, not the {request.expected_total} expected",
            code="totalChanged",
            total=priced.total,
        )
    check_transition(None, OrderStatus.COMPLETED, Actor.STORE)
    order_id = new_id()
    _write_order(conn, order_id, lines, priced, request, store_id=store_id, device_id=device_id, at=at)
    till.record_sale(conn, order_id, at)
    receipts.record(conn, order_id)  # here, not on a replay: one token per sale, printed on its receipt
    _close_cart(conn, cart_id, order_id, request.idempotency_key, at)
    order = get_order(conn, order_id)
    outbox.enqueue(conn, order, at)
    for p in priced.lines:
        stock.add_delta(
            conn,
            store_id=store_id,
            variant_id=p.variant_id,
            quantity=-p.quantity,
            reason=StockReason.SALE,
            ref_id=order_id,
            at=at,
        )
    return CheckoutResult(order, created=True)


def _earlier_checkout(conn: Connection, cart_id: str, idempotency_key: str) -> CheckoutResult | None:
    """The order an earlier checkout with this key made, for a retry of it; None when the key is new. A key
    used for another cart is refused."""
    previous = conn.execute(
        select(checkout_keys).where(checkout_keys.c.idempotency_key == idempotency_key)
    ).first()
    if previous is None:
        return None
    if previous.cart_id != cart_id:
        raise Conflict(
            "this idempotency key was used for another cart",
            code="idempotencyKeyReused",
            cart_id=cart_id,
        )
    return CheckoutResult(get_order(conn, previous.order_id), created=False)


def _store_id(conn: Connection) -> str:
    """The store the node sells for: it has one once a catalog is loaded."""
    store_id = node_state.get(conn, node_state.STORE_ID)
    if store_id is None:
        raise Conflict("this node has no store yet: load a catalog first", code="noStoreId")
    return store_id


def _lines_to_sell(conn: Connection, cart_id: str) -> list[Row[Any]]:
    """The cart's lines, once there is one, each still sold and in stock for its quantity."""
    lines = cart_lines(conn, cart_id)
    if not lines:
        raise Conflict("the cart is empty", code="cartEmpty")
    for line in lines:
        if not (line.variant_listed and line.product_listed):
            raise Conflict(
                f"variant {line.variant_id} is no longer sold",
                code="variantUnavailable",
                variant_id=line.variant_id,
            )
    levels = stock.levels(conn, [line.variant_id for line in lines])
    for line in lines:
        if levels[line.variant_id] < line.quantity:
            raise InsufficientStock(
                line.variant_id, requested=line.quantity, available=levels[line.variant_id]
            )
    return lines


def _write_order(
    conn: Connection,
    order_id: str,
    lines: list[Row[Any]],
    priced: PricedSale,
    request: CheckoutRequest,
    *,
    store_id: str,
    device_id: str,
    at: datetime,
) -> None:
    """The completed sale: the order (with the shopper's e-invoice choice), a line item per cart line, the
    payment of its total, and the coupon's redemption (which counts the coupon's uses)."""
    conn.execute(
        insert(orders).values(
            order_id=order_id,
            store_id=store_id,
            device_id=device_id,
            channel=Channel.IN_STORE,
            status=OrderStatus.COMPLETED,
            currency=CURRENCY,
            subtotal=priced.subtotal,
            discount_total=priced.discount_total,
            coupon_code=priced.coupon_code,
            coupon_discount=priced.coupon_discount,
            total=priced.total,
            catalog_version=node_state.catalog_version(conn),
            einvoice=request.einvoice.to_json_dict() if request.einvoice else None,
            created_at=at,
            updated_at=at,
        )
    )
    conn.execute(
        insert(order_items),
        [
            {
                "item_id": new_id(),
                "order_id": order_id,
                "product_id": p.product_id,
                "variant_id": p.variant_id,
                "name": line.name,
                "variant_name": line.variant_name,
                "quantity": p.quantity,
                "unit_price": p.unit_price,
                "unit_discount": p.unit_discount,
                "unit_final_price": p.unit_final_price,
                "line_total": p.line_total,
                "discount_id": p.discount_id,
            }
            for line, p in zip(lines, priced.lines, strict=True)
        ],
    )
    conn.execute(
        insert(payments).values(
            payment_id=new_id(),
            order_id=order_id,
            method=request.payment_method,
            amount=priced.total,
            status=PaymentStatus.CAPTURED,
            created_at=at,
        )
    )
    if priced.coupon_code is not None:
        conn.execute(
            insert(coupon_redemptions).values(order_id=order_id, code=priced.coupon_code, redeemed_at=at)
        )


def _close_cart(
    conn: Connection, cart_id: str, order_id: str, idempotency_key: str | None, at: datetime
) -> None:
    """The cart checked out into the order, and the idempotency key (if any) remembered for a retry."""
    conn.execute(
        update(carts)
        .where(carts.c.cart_id == cart_id)
        .values(status=CartStatus.CHECKED_OUT, order_id=order_id, updated_at=at)
    )
    if idempotency_key is not None:
        conn.execute(
            insert(checkout_keys).values(
                idempotency_key=idempotency_key, cart_id=cart_id, order_id=order_id, created_at=at
            )
        )


def quote(conn: Connection, cart_id: str, coupon_code: str | None, at: datetime) -> CartQuote:
    """The open cart priced as checkout would price it now, with ``coupon_code`` (refused as checkout
    refuses it); stock is not checked here, checkout checks it."""
    open_cart(conn, cart_id)
    lines = cart_lines(conn, cart_id)
    priced = _price_with_coupon(conn, lines, coupon_code, at)
    return CartQuote(
        cart_id=cart_id,
        subtotal=priced.subtotal,
        discount_total=priced.discount_total,
        coupon_code=priced.coupon_code,
        coupon_discount=priced.coupon_discount,
        total=priced.total,
    )


def _price_with_coupon(conn: Connection, lines: list[Row[Any]], code: str | None, at: datetime) -> PricedSale:
    if code is None:
        return price_lines(conn, lines, at)
    coupon = catalog.get_coupon(conn, code)
    if coupon is None:
        raise CouponNotApplicable(f"coupon {code} does not exist", reason="unknown")
    uses = conn.execute(
        select(func.count()).select_from(coupon_redemptions).where(coupon_redemptions.c.code == coupon.code)
    ).scalar_one()
    return price_lines(conn, lines, at, coupon, uses)
