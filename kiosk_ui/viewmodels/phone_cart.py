"""Taking a cart from a phone: a shopper who built a cart on their phone (over Bluetooth) is shown a 6-digit
hand-off code and a QR code of it; at the kiosk they type the code on a big keypad, or hold the QR up to
the camera (``kiosk_ui.hardware.handoff_qr``). The node's ``claim_handoff(code)`` gives the phone's cart to
this kiosk, and it becomes the session's cart: the shopper goes on to the cart screen and pays as usual.

When the kiosk's own cart already holds something, the phone's cart *replaces* it, and only after the
shopper says so (``confirming``): the code is claimed only then, so saying "keep this cart" leaves the
phone's code unused. (Merging the two would mean adding each line again and explaining the ones out of
stock; replacing is one call and says exactly what happens.) The kiosk's old cart is left open and unsold on the node,
as any cart a shopper walks away from, and deleted with them a day later.

A refusal (a wrong, expired or used code, too many tries, the node gone) is kept in ``refusal`` for the
screen to say in words (``problems.explain``), and the keypad clears for another try. A code the camera read
and the node refused is not sent again while the same QR stays in view.
"""

from kiosk_ui.viewmodels.cart import Cart
from kiosk_ui.viewmodels.node_api import NodeApi
from kiosk_ui.viewmodels.observable import Observable
from node_client.errors import NodeClientError

CODE_DIGITS = 6


class PhoneCart(Observable):
    def __init__(self, node: NodeApi, cart: Cart) -> None:
        super().__init__()
        self.node, self.cart = node, cart
        self.code = ""  # the digits typed so far
        self.refusal: NodeClientError | None = None  # why the last code was not taken
        self.confirming: str | None = None  # a code waiting for "replace the kiosk's cart?"
        self.claiming: str | None = None  # a code on its way to the node (claimed on the worker thread)
        self._refused_scan: str | None = None

    @property
    def complete(self) -> bool:
        return len(self.code) == CODE_DIGITS

    def press(self, digit: str) -> None:
        if digit.isdigit() and len(digit) == 1 and len(self.code) < CODE_DIGITS:
            self.code += digit
            self.refusal = None
            self.changed()

    def backspace(self) -> None:
        self.code = self.code[:-1]
        self.changed()

    def clear(self) -> None:
        self.code = ""
        self.changed()

    def scanned(self, code: str) -> bool:
        """The camera read ``code``: True when it is one to try (not the one just refused, not one already
        waiting for the shopper's answer, not one being claimed now: a look that was under way when the
        sixth digit was typed must not claim it a second time); it shows as typed."""
        if code in (self._refused_scan, self.confirming, self.claiming):
            return False
        self.code, self.refusal = code, None
        self.changed()
        return True

    def must_confirm(self, code: str) -> bool:
        """Whether taking ``code`` needs the shopper's yes first (the kiosk's cart is not empty): if so the
        code waits in ``confirming``."""
        if self.cart.count == 0:
            return False
        self.confirming = code
        self.changed()
        return True

    def keep_own_cart(self) -> None:
        """The shopper keeps the kiosk's cart: the phone's code is left unused."""
        self.confirming, self.code = None, ""
        self.changed()

    def claim(self, code: str, *, scanned: bool = False) -> bool:
        """Take the phone's cart from the node (on the worker thread): True when it is the session's cart
        now; False with ``refusal`` set (and the keypad cleared) when the node said no or did not answer."""
        self.confirming, self.claiming = None, code
        try:
            claimed = self.node.claim_handoff(code)
        except NodeClientError as error:
            self.refusal, self.code = error, ""
            self._refused_scan = code if scanned else None
            self.changed()
            return False
        finally:
            self.claiming = None
        self.cart.take(claimed)
        self.reset()
        return True

    def reset(self) -> None:
        self.code, self.refusal, self.confirming, self._refused_scan = "", None, None, None
        self.changed()
