"""The shopper's cart: made on the node at the first add (so an abandoned look costs the node nothing),
lines with their discounts, the quantity changed or a line removed, and a coupon code.

A coupon is checked when it is typed: the node quotes the cart with it, priced as checkout will price it,
so the shopper sees what they will pay (and a card is charged that) before paying. The quote follows every
change of the cart; a coupon the cart no longer reaches (under its minimum spend) is dropped and the
screen says why.
"""

from kiosk_ui.viewmodels.node_api import NodeApi
from kiosk_ui.viewmodels.observable import Observable
from models.node_api import CartPublic, CartQuote
from node_client.errors import Conflict

COUPON_MIN, COUPON_MAX = 3, 32


class Cart(Observable):
    def __init__(self, node: NodeApi) -> None:
        super().__init__()
        self.node = node
        self.cart: CartPublic | None = None
        self.quote: CartQuote | None = None  # with the coupon held; None without one

    @property
    def cart_id(self) -> str | None:
        return self.cart.cart_id if self.cart else None

    @property
    def coupon_code(self) -> str | None:
        return self.quote.coupon_code if self.quote else None

    @property
    def count(self) -> int:
        return self.cart.item_count if self.cart else 0

    @property
    def total(self) -> int:
        """What the shopper pays: after line discounts and the coupon."""
        if self.quote is not None:
            return self.quote.total
        return self.cart.total if self.cart else 0

    @property
    def english_names(self) -> dict[str, tuple[str, str]]:
        """The English product and variant names of the cart's lines, by variant id (for the receipt)."""
        items = self.cart.items if self.cart else []
        return {i.variant_id: (i.name_en, i.variant_name_en) for i in items}

    @property
    def coupon_discount(self) -> int:
        return self.quote.coupon_discount if self.quote else 0

    def add(self, variant_id: str, quantity: int = 1) -> None:
        if self.cart is None:
            self.cart = self.node.create_cart()
        self._changed(self.node.add_item(self.cart.cart_id, variant_id, quantity))

    def set_quantity(self, item_id: str, quantity: int) -> None:
        assert self.cart is not None
        if quantity <= 0:
            self.remove(item_id)
            return
        self._changed(self.node.set_item_quantity(self.cart.cart_id, item_id, quantity))

    def remove(self, item_id: str) -> None:
        assert self.cart is not None
        self._changed(self.node.remove_item(self.cart.cart_id, item_id))

    def _changed(self, cart: CartPublic) -> None:
        self.cart = cart
        code = self.coupon_code
        self.quote = None
        self.changed()
        if code is not None:
            self.use_coupon(code)  # raises (coupon dropped) when the cart no longer reaches it

    def use_coupon(self, code: str) -> bool:
        """Check the code on the node and hold it: False when it cannot be a code at all; ``Conflict``
        (couponNotApplicable) when the node says it does not apply to this cart."""
        code = code.strip().upper()
        if self.cart is None or not COUPON_MIN <= len(code) <= COUPON_MAX:
            return False
        try:
            self.quote = self.node.quote_cart(self.cart.cart_id, code)
        except Conflict:
            self.quote = None
            self.changed()
            raise
        self.changed()
        return True

    def drop_coupon(self) -> None:
        self.quote = None
        self.changed()

    def take(self, cart: CartPublic) -> None:
        """Another cart becomes this session's (one a phone handed over): its lines, no coupon yet."""
        self.cart, self.quote = cart, None
        self.changed()

    def clear(self) -> None:
        """The session ended: the node's cart is left open and expires there; the kiosk forgets it."""
        self.cart, self.quote = None, None
        self.changed()
