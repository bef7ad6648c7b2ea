"""Checkout: a cart becomes a completed in-store order in one SQLite write transaction.

In that one transaction: validate the cart and stock, price it (discounts, coupon), write the order, its
items and payment, enter the sale in the till's journal (for the end of day), make its receipt token, write a
negative stock delta per line, close the cart, remember the idempotency key, and queue the outbox messages for the cloud. Any error rolls all of it back: nothing is ever half-written.

Every checkout waits for the one write lock, so the CPU it spends holding it is what bounds the node's
sales per second (docs/performance.md). Hence: ``edge.prepared`` statements, one query for the lines with
their stock, one for the node's facts, the lines' rows and stock deltas each in one ``executemany``, and
the order returned as built rather than read back (a test checks it equals the order read back).
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, String, bindparam, func, insert, select, text, update

from edge import catalog, node_state, outbox, receipts, stock, till
from edge.carts import cart_lines, open_cart, price_lines
from edge.orders import get_order
from edge.prepared import Prepared
from edge.tables import carts, checkout_keys, coupon_redemptions, order_items, orders, payments
from models.errors import Conflict, CouponNotApplicable, InsufficientStock
from models.ids import new_id
from models.money import CURRENCY
from models.node_api import CartQuote, CheckoutRequest
from models.order_states import Actor, OrderStatus, check_transition
from models.pricing import PricedSale
from models.sales import CartStatus, Channel, Order, OrderItem, Payment, PaymentStatus
from models.stock import StockDelta, StockReason


def _insert_all(table: Any) -> Prepared:
    """An insert naming every column of ``table``, each bound by its name."""
    return Prepared(insert(table).values({column.name: bindparam(column.name) for column in table.c}))


_EARLIER = Prepared(
    select(checkout_keys.c.cart_id, checkout_keys.c.order_id).where(
        checkout_keys.c.idempotency_key == bindparam("key")
    )
)
_NODE_FACTS = Prepared(
    text("SELECT key, value FROM node_state WHERE key IN (:store, :catalog)")
    .bindparams(store=node_state.STORE_ID, catalog=node_state.CATALOG_VERSION)
    .columns(key=String(), value=String())
)
_INSERT_ORDER = _insert_all(orders)
_INSERT_ITEM = _insert_all(order_items)
_INSERT_PAYMENT = _insert_all(payments)
_CLOSE_CART = Prepared(
    update(carts)
    .where(carts.c.cart_id == bindparam("cart"))
    .values(status=CartStatus.CHECKED_OUT, order_id=bindparam("order_id"), updated_at=bindparam("at"))
)
_INSERT_KEY = _insert_all(checkout_keys)


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
    facts = {row.key: row.value for row in _NODE_FACTS.rows(conn)}
    store_id = _store_id(facts.get(node_state.STORE_ID))
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
    catalog_version = facts.get(node_state.CATALOG_VERSION)
    order = _write_order(
        conn,
        order_id,
        lines,
        priced,
        request,
        store_id=store_id,
        device_id=device_id,
        catalog_version=int(catalog_version) if catalog_version is not None else None,
        at=at,
    )
    till.record_sale(conn, order_id, at)
    receipts.record(conn, order_id)  # here, not on a replay: one token per sale, printed on its receipt
    _close_cart(conn, cart_id, order_id, request.idempotency_key, at)
    deltas = [
        StockDelta(
            delta_id=new_id(),
            store_id=store_id,
            variant_id=p.variant_id,
            quantity=-p.quantity,
            reason=StockReason.SALE,
            ref_id=order_id,
            created_at=at,
        )
        for p in priced.lines
    ]
    stock.record_new(conn, deltas)
    outbox.enqueue_many(conn, [order, *deltas], at)  # the sale, then its deltas: one check of who sends
    return CheckoutResult(order, created=True)


def _earlier_checkout(conn: Connection, cart_id: str, idempotency_key: str) -> CheckoutResult | None:
    """The order an earlier checkout with this key made, for a retry of it; None when the key is new. A key
    used for another cart is refused."""
    previous = _EARLIER.first(conn, {"key": idempotency_key})
    if previous is None:
        return None
    if previous.cart_id != cart_id:
        raise Conflict(
            "this idempotency key was used for another cart",
            code="idempotencyKeyReused",
            cart_id=cart_id,
        )
    return CheckoutResult(get_order(conn, previous.order_id), created=False)


def _store_id(store_id: str | None) -> str:
    """The store the node sells for: it has one once a catalog is loaded."""
    if store_id is None:
        raise Conflict("this node has no store yet: load a catalog first", code="noStoreId")
    return store_id


def _lines_to_sell(conn: Connection, cart_id: str) -> list[Any]:
    """The cart's lines, once there is one, each still sold and in stock for its quantity (the level comes
    with the line: ``cart_lines``)."""
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
    for line in lines:
        if line.stock < line.quantity:
            raise InsufficientStock(line.variant_id, requested=line.quantity, available=line.stock)
    return lines


def _write_order(
    conn: Connection,
    order_id: str,
    lines: list[Any],
    priced: PricedSale,
    request: CheckoutRequest,
    *,
    store_id: str,
    device_id: str,
    catalog_version: int | None,
    at: datetime,
) -> Order:
    """The completed sale: the order (with the shopper's e-invoice choice), a line item per cart line, the
    payment of its total, and the coupon's redemption (which counts the coupon's uses). Returns the order
    as ``get_order`` would read it back: built from the very rows written."""
    at = at.astimezone(UTC)  # as it reads back: stored in UTC
    order_row = {
        "order_id": order_id,
        "store_id": store_id,
        "device_id": device_id,
        "channel": Channel.IN_STORE,
        "status": OrderStatus.COMPLETED,
        "currency": CURRENCY,
        "subtotal": priced.subtotal,
        "discount_total": priced.discount_total,
        "coupon_code": priced.coupon_code,
        "coupon_discount": priced.coupon_discount,
        "total": priced.total,
        "catalog_version": catalog_version,
        "einvoice": request.einvoice.to_json_dict() if request.einvoice else None,
        "created_at": at,
        "updated_at": at,
    }
    item_rows = [
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
    ]
    payment_row = {
        "payment_id": new_id(),
        "order_id": order_id,
        "method": request.payment_method,
        "amount": priced.total,
        "status": PaymentStatus.CAPTURED,
        "created_at": at,
    }
    _INSERT_ORDER.run(conn, order_row)
    _INSERT_ITEM.run_many(conn, item_rows)
    _INSERT_PAYMENT.run(conn, payment_row)
    if priced.coupon_code is not None:
        conn.execute(
            insert(coupon_redemptions).values(order_id=order_id, code=priced.coupon_code, redeemed_at=at)
        )
    return Order(
        **order_row,
        items=[OrderItem(**row) for row in item_rows],
        payments=[Payment(**payment_row)],
    )


def _close_cart(
    conn: Connection, cart_id: str, order_id: str, idempotency_key: str | None, at: datetime
) -> None:
    """The cart checked out into the order, and the idempotency key (if any) remembered for a retry."""
    _CLOSE_CART.run(conn, {"cart": cart_id, "order_id": order_id, "at": at})
    if idempotency_key is not None:
        _INSERT_KEY.run(
            conn,
            {"idempotency_key": idempotency_key, "cart_id": cart_id, "order_id": order_id, "created_at": at},
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


def _price_with_coupon(conn: Connection, lines: list[Any], code: str | None, at: datetime) -> PricedSale:
    if code is None:
        return price_lines(conn, lines, at)
    coupon = catalog.get_coupon(conn, code)
    if coupon is None:
        raise CouponNotApplicable(f"coupon {code} does not exist", reason="unknown")
    uses = conn.execute(
        select(func.count()).select_from(coupon_redemptions).where(coupon_redemptions.c.code == coupon.code)
    ).scalar_one()
    return price_lines(conn, lines, at, coupon, uses)
