"""Receipt tokens: a shopper's phone fetches its receipt later by the order id and the token printed on it.

Each sale made here gets a token at checkout, in the sale's own transaction: 8 characters of Crockford's
base32 (40 bits), printed as ``XXXX-XXXX``. The order id alone is no secret (it is on the receipt and in the
cloud), so the token is what lets a receipt be read without a staff login. A wrong token and an unknown
order get the same answer (``receiptNotFound``), so a guesser learns nothing of which orders exist, and
failures are slowed per order (``edge.throttle``).
"""

import secrets

from sqlalchemy import Connection, bindparam, insert, select

from edge.carts import load_cart_row
from edge.orders import get_order_view
from edge.prepared import Prepared
from edge.tables import receipt_tokens
from models.errors import Conflict, NotFound
from models.node_api import (
    RECEIPT_TOKEN_ALPHABET,
    RECEIPT_TOKEN_LENGTH,
    ReceiptAccess,
    ReceiptPublic,
    normalize_receipt_token,
)
from models.sales import CartStatus

GUESS_FAILURES = frozenset({"receiptNotFound"})


def new_token() -> str:
    return "".join(secrets.choice(RECEIPT_TOKEN_ALPHABET) for _ in range(RECEIPT_TOKEN_LENGTH))


_INSERT_TOKEN = Prepared(
    insert(receipt_tokens).values(order_id=bindparam("order_id"), token=bindparam("token"))
)


def record(conn: Connection, order_id: str) -> str:
    """A token for a sale just made (in its checkout's transaction)."""
    token = new_token()
    _INSERT_TOKEN.run(conn, {"order_id": order_id, "token": token})
    return token


def _not_found() -> NotFound:
    return NotFound("no receipt for that order and token", code="receiptNotFound")


def access(conn: Connection, cart_id: str) -> ReceiptAccess:
    """The order a checked-out cart became, with its receipt token: whoever holds the cart's id (the kiosk
    that sold it: a phone's cart is handed off, never sold as such) may read the receipt later."""
    cart = load_cart_row(conn, cart_id)
    if cart.status != CartStatus.CHECKED_OUT or cart.order_id is None:
        raise Conflict(f"cart {cart_id} is not checked out", code="cartNotCheckedOut")
    token = conn.execute(
        select(receipt_tokens.c.token).where(receipt_tokens.c.order_id == cart.order_id)
    ).scalar_one_or_none()
    if token is None:  # sold before receipt tokens existed
        raise _not_found()
    return ReceiptAccess(order_id=cart.order_id, receipt_token=token)


def receipt(conn: Connection, order_id: str, token: str) -> ReceiptPublic:
    """The sale as its receipt shows it, as it stands (refunds included), for the holder of its token; ``receiptNotFound`` alike for a wrong token, a
    malformed one and an unknown order."""
    wanted = normalize_receipt_token(token)
    held = conn.execute(
        select(receipt_tokens.c.token).where(receipt_tokens.c.order_id == order_id)
    ).scalar_one_or_none()
    if wanted is None or held is None or not secrets.compare_digest(wanted, held):
        raise _not_found()
    return ReceiptPublic.of(get_order_view(conn, order_id))
