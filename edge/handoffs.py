"""Cart hand-off: a shopper builds a cart on their phone, and a kiosk takes it over by a six-digit code.

The phone asks for a code for its open cart (``issue``); the kiosk claims the code (``claim``) and gets a
new open cart holding the same lines, while the phone's cart becomes ``handedOff`` and takes no more
changes. A new cart, not the phone's: the phone knows its cart's id, and after the hand-off only the kiosk
may read or change what it sells, so the phone's id must not lead to the kiosk's cart.

Codes are six random digits (``secrets``), unique among live ones, good for ``handoff_ttl_seconds`` and
once. Guessing is slowed node-wide by ``edge.throttle`` (the routes count the failures named in
``GUESS_FAILURES``).
"""

import secrets
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, select, update

from edge.carts import create_cart, open_cart
from edge.tables import cart_handoffs, cart_items, carts
from models.errors import Conflict, NotFound
from models.ids import new_id
from models.node_api import CartHandoff, handoff_qr
from models.sales import CartStatus

GUESS_FAILURES = frozenset({"handoffNotFound", "handoffExpired", "handoffUsed"})
"""The refusals of a claim that count as a failed guess of a code."""


def issue(conn: Connection, cart_id: str, at: datetime, ttl: timedelta) -> CartHandoff:
    """A new code for the open, non-empty cart; its earlier unclaimed codes expire now (only the code the
    phone shows last works)."""
    open_cart(conn, cart_id)
    if (
        conn.execute(select(cart_items.c.item_id).where(cart_items.c.cart_id == cart_id).limit(1)).first()
        is None
    ):
        raise Conflict("the cart is empty", code="cartEmpty")
    conn.execute(
        update(cart_handoffs)
        .where(
            cart_handoffs.c.cart_id == cart_id,
            cart_handoffs.c.claimed_at.is_(None),
            cart_handoffs.c.expires_at > at,
        )
        .values(expires_at=at)
    )
    code = _free_code(conn, at)
    expires_at = at + ttl
    conn.execute(
        insert(cart_handoffs).values(code=code, cart_id=cart_id, created_at=at, expires_at=expires_at)
    )
    return CartHandoff(code=code, cart_id=cart_id, expires_at=expires_at, qr=handoff_qr(code))


def _free_code(conn: Connection, at: datetime) -> str:
    """Six random digits no live code has. A dead code's row (claimed or expired) gives way to the new one:
    a claim of it then finds the new code, which is the one someone was shown last."""
    while True:  # a shop has a handful of live codes among a million: this loops once
        code = f"{secrets.randbelow(1_000_000):06d}"
        row = conn.execute(select(cart_handoffs).where(cart_handoffs.c.code == code)).first()
        if row is None:
            return code
        if row.claimed_at is not None or row.expires_at <= at:
            conn.execute(delete(cart_handoffs).where(cart_handoffs.c.code == code))
            return code


def claim(conn: Connection, code: str, at: datetime) -> str:
    """Take over the cart a code was issued for: the id of a new open cart with the same lines (variant ids
    and quantities); the phone's cart is ``handedOff`` from now on. Single use: ``handoffNotFound``,
    ``handoffExpired``, ``handoffUsed``."""
    row = conn.execute(select(cart_handoffs).where(cart_handoffs.c.code == code)).first()
    if row is None:
        raise NotFound(f"no hand-off code {code}", code="handoffNotFound")
    if row.claimed_at is not None:
        raise Conflict(f"hand-off code {code} was used already", code="handoffUsed")
    if row.expires_at <= at:
        raise Conflict(f"hand-off code {code} has expired", code="handoffExpired")
    open_cart(conn, row.cart_id)  # checked out on the phone meanwhile: cartClosed
    new_cart_id = create_cart(conn, at)
    lines = conn.execute(
        select(cart_items.c.variant_id, cart_items.c.quantity)
        .where(cart_items.c.cart_id == row.cart_id)
        .order_by(cart_items.c.item_id)
    ).all()
    if lines:
        conn.execute(
            insert(cart_items),
            [
                {
                    "item_id": new_id(),
                    "cart_id": new_cart_id,
                    "variant_id": line.variant_id,
                    "quantity": line.quantity,
                    "added_at": at,
                }
                for line in lines
            ],
        )
    conn.execute(
        update(carts)
        .where(carts.c.cart_id == row.cart_id)
        .values(status=CartStatus.HANDED_OFF, updated_at=at)
    )
    conn.execute(
        update(cart_handoffs)
        .where(cart_handoffs.c.code == code)
        .values(claimed_at=at, claimed_cart_id=new_cart_id)
    )
    return new_cart_id
