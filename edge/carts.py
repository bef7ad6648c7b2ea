"""Carts at the kiosk: open carts hold variant ids and quantities; prices are worked out when read.

A cart with its lines and the checkout that sells it are the node's busiest writes, so their statements are
``edge.prepared`` ones (compiled once, run on the driver): the lines, their catalog facts and their stock
level come in one query.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from edge.catalog import active_discounts
from edge.prepared import Prepared
from edge.tables import cart_items, carts, products, stock_levels, variants
from models.catalog import Coupon
from models.errors import Conflict, NotFound
from models.ids import new_id
from models.money import MAX_TWD, format_twd
from models.node_api import CartItemPublic, CartPublic
from models.pricing import LineInput, PricedSale, price_sale
from models.sales import CartStatus

MAX_LINE_QUANTITY = 999

MAX_AMOUNT = MAX_TWD
"""The most a cart, and so any of its lines, may come to before discounts: the bound of every TWD amount in
the schemas (``models.money.TWD``), so no cart, order or payment the node builds can be over it."""


class AmountTooLarge(Conflict):
    code = "amountTooLarge"

    def __init__(self, amount: int) -> None:
        super().__init__(
            f"the cart would come to {format_twd(amount)}, over the {format_twd(MAX_AMOUNT)} one sale may be",
            amount=amount,
            limit=MAX_AMOUNT,
        )


def prune_idle(conn: Connection, before: datetime) -> int:
    """Delete the carts nobody sold that were last touched before ``before`` (open ones, and phones' carts
    handed off to a kiosk); their lines and hand-off codes go with them (foreign keys cascade). A sold cart
    is kept: it names its order. Returns how many went."""
    done = conn.execute(
        delete(carts).where(
            carts.c.status.in_([CartStatus.OPEN, CartStatus.HANDED_OFF]), carts.c.updated_at < before
        )
    )
    return done.rowcount


_INSERT_CART = Prepared(
    carts.insert().values(
        cart_id=bindparam("cart_id"),
        status=bindparam("status"),
        created_at=bindparam("at"),
        updated_at=bindparam("at"),
    )
)
_INSERT_ITEM = Prepared(
    cart_items.insert().values(
        item_id=bindparam("item_id"),
        cart_id=bindparam("cart_id"),
        variant_id=bindparam("variant_id"),
        quantity=bindparam("quantity"),
        added_at=bindparam("at"),
    )
)
_CART = Prepared(select(carts).where(carts.c.cart_id == bindparam("cart_id")))
_SELLABLE_PRICE = Prepared(
    select(variants.c.price)
    .join(products, products.c.product_id == variants.c.product_id)
    .where(
        variants.c.variant_id == bindparam("variant_id"),
        variants.c.listed.is_(True),
        products.c.listed.is_(True),
    )
)
_LINES = Prepared(
    select(
        cart_items.c.item_id,
        cart_items.c.quantity,
        variants.c.variant_id,
        variants.c.product_id,
        variants.c.name.label("variant_name"),
        variants.c.name_en.label("variant_name_en"),
        variants.c.price,
        variants.c.listed.label("variant_listed"),
        products.c.name,
        products.c.name_en,
        products.c.listed.label("product_listed"),
        func.coalesce(stock_levels.c.quantity, 0).label("stock"),  # 0 for a variant with no deltas yet
    )
    .join(variants, variants.c.variant_id == cart_items.c.variant_id)
    .join(products, products.c.product_id == variants.c.product_id)
    .outerjoin(stock_levels, stock_levels.c.variant_id == variants.c.variant_id)
    .where(cart_items.c.cart_id == bindparam("cart_id"))
    .order_by(cart_items.c.item_id)
)


def create_cart(conn: Connection, at: datetime, items: Sequence[tuple[str, int]] = ()) -> str:
    """A new open cart holding ``items`` (variant id, quantity), added in order as ``add_item`` adds them
    (a variant named twice makes one line), with the same refusals; the lines go in with one statement."""
    cart_id = new_id()
    _INSERT_CART.run(conn, {"cart_id": cart_id, "status": CartStatus.OPEN, "at": at})
    lines: dict[str, list[Any]] = {}  # variant id -> [item id, quantity, price], in the order added
    for variant_id, quantity in items:
        line = lines.get(variant_id)
        price = line[2] if line is not None else _sellable_price(conn, variant_id)
        total = quantity + (line[1] if line is not None else 0)
        if total > MAX_LINE_QUANTITY:
            raise Conflict(f"at most {MAX_LINE_QUANTITY} units per line", code="quantityTooLarge")
        amounts = {v: held[2] * held[1] for v, held in lines.items()}
        amounts[variant_id] = price * total
        if (amount := sum(amounts.values())) > MAX_AMOUNT:
            raise AmountTooLarge(amount)
        if line is None:
            lines[variant_id] = [new_id(), quantity, price]
        else:
            line[1] = total
    _INSERT_ITEM.run_many(
        conn,
        [
            {"item_id": item_id, "cart_id": cart_id, "variant_id": v, "quantity": quantity, "at": at}
            for v, (item_id, quantity, _price) in lines.items()
        ],
    )
    return cart_id


def load_cart_row(conn: Connection, cart_id: str) -> Any:
    row = _CART.first(conn, {"cart_id": cart_id})
    if row is None:
        raise NotFound(f"cart {cart_id} not found", code="cartNotFound")
    return row


def open_cart(conn: Connection, cart_id: str) -> Any:
    """The cart, refused once it is checked out (``cartClosed``) or taken over by a kiosk
    (``cartHandedOff``: the kiosk's own cart holds its lines now, and this one is never sold)."""
    row = load_cart_row(conn, cart_id)
    if row.status == CartStatus.HANDED_OFF:
        raise Conflict(f"cart {cart_id} was handed off to a kiosk", code="cartHandedOff")
    if row.status != CartStatus.OPEN:
        raise Conflict(f"cart {cart_id} is already checked out", code="cartClosed", order_id=row.order_id)
    return row


def _sellable_price(conn: Connection, variant_id: str) -> int:
    """The price of a variant the node sells now; ``variantNotFound`` when it sells no such variant."""
    price = _SELLABLE_PRICE.scalar(conn, {"variant_id": variant_id})
    if price is None:
        raise NotFound(f"variant {variant_id} not found", code="variantNotFound", variant_id=variant_id)
    return int(price)


def add_item(conn: Connection, cart_id: str, variant_id: str, quantity: int, at: datetime) -> None:
    """Add units of a variant; adding a variant already in the cart raises that line's quantity."""
    open_cart(conn, cart_id)
    price = _sellable_price(conn, variant_id)
    existing = conn.execute(
        select(cart_items).where(cart_items.c.cart_id == cart_id, cart_items.c.variant_id == variant_id)
    ).first()
    total = quantity + (existing.quantity if existing else 0)
    if total > MAX_LINE_QUANTITY:
        raise Conflict(f"at most {MAX_LINE_QUANTITY} units per line", code="quantityTooLarge")
    _refuse_over_limit(conn, cart_id, variant_id, price, total)
    if existing is None:
        conn.execute(
            insert(cart_items).values(
                item_id=new_id(), cart_id=cart_id, variant_id=variant_id, quantity=quantity, added_at=at
            )
        )
    else:
        conn.execute(
            update(cart_items).where(cart_items.c.item_id == existing.item_id).values(quantity=total)
        )
    _touch(conn, cart_id, at)


def set_item_quantity(conn: Connection, cart_id: str, item_id: str, quantity: int, at: datetime) -> None:
    open_cart(conn, cart_id)
    line = conn.execute(
        select(cart_items.c.variant_id, variants.c.price)
        .join(variants, variants.c.variant_id == cart_items.c.variant_id)
        .where(cart_items.c.cart_id == cart_id, cart_items.c.item_id == item_id)
    ).first()
    if line is None:
        raise NotFound(f"item {item_id} is not in cart {cart_id}", code="cartItemNotFound")
    _refuse_over_limit(conn, cart_id, line.variant_id, line.price, quantity)
    conn.execute(
        update(cart_items)
        .where(cart_items.c.cart_id == cart_id, cart_items.c.item_id == item_id)
        .values(quantity=quantity)
    )
    _touch(conn, cart_id, at)


def _refuse_over_limit(conn: Connection, cart_id: str, variant_id: str, price: int, quantity: int) -> None:
    """``amountTooLarge`` when the cart, with ``variant_id``'s line at ``quantity``, would come to more than
    MAX_AMOUNT at today's prices. Checked before the change is written, not found when reading the cart."""
    amounts = {line.variant_id: line.price * line.quantity for line in cart_lines(conn, cart_id)}
    amounts[variant_id] = price * quantity
    if (amount := sum(amounts.values())) > MAX_AMOUNT:
        raise AmountTooLarge(amount)


def remove_item(conn: Connection, cart_id: str, item_id: str, at: datetime) -> None:
    open_cart(conn, cart_id)
    done = conn.execute(
        delete(cart_items).where(cart_items.c.cart_id == cart_id, cart_items.c.item_id == item_id)
    )
    if done.rowcount == 0:
        raise NotFound(f"item {item_id} is not in cart {cart_id}", code="cartItemNotFound")
    _touch(conn, cart_id, at)


def _touch(conn: Connection, cart_id: str, at: datetime) -> None:
    conn.execute(update(carts).where(carts.c.cart_id == cart_id).values(updated_at=at))


def cart_lines(conn: Connection, cart_id: str) -> list[Any]:
    """The cart's lines joined with what the catalog says of each variant now, and its stock level
    (``stock``)."""
    return _LINES.rows(conn, {"cart_id": cart_id})


def price_lines(
    conn: Connection, lines: list[Any], at: datetime, coupon: Coupon | None = None, coupon_uses: int = 0
) -> PricedSale:
    """The cart's lines priced now; ``amountTooLarge`` over MAX_AMOUNT. Adding and raising are refused
    before that, but a price raised by the cloud since can still take an open cart over: then reading it
    and checking it out (both price it here) refuse it too, rather than fail to build the cart or order."""
    subtotal = sum(r.price * r.quantity for r in lines)
    if subtotal > MAX_AMOUNT:
        raise AmountTooLarge(subtotal)
    return price_sale(
        [LineInput(r.product_id, r.variant_id, r.price, r.quantity) for r in lines],
        active_discounts(conn),
        at,
        coupon,
        coupon_uses,
    )


def get_cart(conn: Connection, cart_id: str, at: datetime) -> CartPublic:
    row = load_cart_row(conn, cart_id)
    lines = cart_lines(conn, cart_id)
    priced = price_lines(conn, lines, at)
    items = [
        CartItemPublic(
            item_id=line.item_id,
            product_id=line.product_id,
            variant_id=line.variant_id,
            name=line.name,
            variant_name=line.variant_name,
            name_en=line.name_en,
            variant_name_en=line.variant_name_en,
            quantity=line.quantity,
            unit_price=p.unit_price,
            unit_discount=p.unit_discount,
            unit_final_price=p.unit_final_price,
            line_total=p.line_total,
            stock=line.stock,
        )
        for line, p in zip(lines, priced.lines, strict=True)
    ]
    return CartPublic(
        cart_id=row.cart_id,
        status=row.status,
        items=items,
        item_count=sum(i.quantity for i in items),
        subtotal=priced.subtotal,
        discount_total=priced.discount_total,
        total=priced.total,
        order_id=row.order_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
