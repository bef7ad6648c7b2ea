"""Paying: cash (the amount given, the change shown) or card / mobile pay through the terminal, then the
node's checkout.

With a card the terminal charges first and the node checks out after the approval, with one idempotency
key for every attempt of this payment (a retry after a timeout cannot sell twice). If the checkout then
fails for good, the charge is voided: nobody pays for a sale the node did not record.
"""

from dataclasses import dataclass
from enum import StrEnum

from kiosk_ui.hardware.payment import Outcome, PaymentTerminal
from kiosk_ui.viewmodels.cart import Cart
from kiosk_ui.viewmodels.einvoice import EInvoiceChoice
from kiosk_ui.viewmodels.node_api import NodeApi
from kiosk_ui.viewmodels.observable import Observable
from models.ids import new_id
from models.node_api import format_receipt_token
from models.sales import Order, PaymentMethod
from node_client.errors import NodeClientError

MAX_TENDER = 100_000  # NT$: more than any note pile a kiosk takes


class Step(StrEnum):
    CHOOSING = "choosing"
    CASH = "cash"
    WAITING_FOR_CARD = "waitingForCard"
    DONE = "done"


@dataclass(frozen=True)
class CashDue:
    tendered: int
    change: int

    @property
    def enough(self) -> bool:
        return self.change >= 0


class Payment(Observable):
    def __init__(self, node: NodeApi, cart: Cart, terminal: PaymentTerminal) -> None:
        super().__init__()
        self.node, self.cart, self.terminal = node, cart, terminal
        self.step = Step.CHOOSING
        self.tendered = 0
        self.order: Order | None = None
        self.declined: Outcome | None = None
        # One key per payment: every retry of this checkout is the same sale to the node.
        self.idempotency_key = f"kiosk-{new_id()}"
        self.einvoice = EInvoiceChoice()
        self.receipt_code: str | None = None  # XXXX-XXXX, for the shopper's phone to fetch the receipt

    @property
    def total(self) -> int:
        return self.cart.total

    def pay_cash(self) -> None:
        self.step, self.tendered = Step.CASH, 0
        self.changed()

    def tender(self, digit: str) -> None:
        """The keypad: digits of the amount the shopper hands over."""
        value = self.tendered * 10 + int(digit)
        if value <= MAX_TENDER:
            self.tendered = value
            self.changed()

    def tender_note(self, amount: int) -> None:
        """A note button (100, 500, 1000): adds that much."""
        self.tendered = min(self.tendered + amount, MAX_TENDER)
        self.changed()

    def clear_tender(self) -> None:
        self.tendered = 0
        self.changed()

    @property
    def cash(self) -> CashDue:
        return CashDue(self.tendered, self.tendered - self.total)

    def confirm_cash(self) -> Order:
        if not self.cash.enough:
            raise ValueError("not enough cash for the total")
        return self._checkout(PaymentMethod.CASH)

    def pay_card(self) -> Order | None:
        """Blocks while the shopper taps (call it off the UI thread); None when the card did not pay."""
        self.step, self.declined = Step.WAITING_FOR_CARD, None
        self.changed()
        result = self.terminal.charge(self.total)
        if not result.approved:
            self.step, self.declined = Step.CHOOSING, result.outcome
            self.changed()
            return None
        try:
            return self._checkout(PaymentMethod.CARD)
        except Exception:
            assert result.reference is not None
            self.terminal.void(result.reference)
            self.step = Step.CHOOSING
            self.changed()
            raise

    def cancel_card(self) -> None:
        self.terminal.cancel()

    def fetch_receipt_code(self) -> str | None:
        """After the sale: the order's receipt token from the node, as the receipt prints it (``XXXX-XXXX``);
        the shopper's phone fetches the receipt with it over Bluetooth. None when the node does not give it
        (gone, or a node without receipts for phones): the receipt prints without it, the sale is done."""
        cart_id = self.cart.cart_id
        if self.receipt_code is None and self.order is not None and cart_id is not None:
            try:
                access = self.node.receipt_access(cart_id)
            except NodeClientError:
                return None
            self.receipt_code = format_receipt_token(access.receipt_token)
        return self.receipt_code

    def _checkout(self, method: PaymentMethod) -> Order:
        cart_id = self.cart.cart_id
        assert cart_id is not None
        # The total shown (and charged) goes with the sale: prices that moved since are refused, not sold.
        self.order = self.node.checkout(
            cart_id,
            method,
            coupon_code=self.cart.coupon_code,
            idempotency_key=self.idempotency_key,
            expected_total=self.total,
            einvoice=self.einvoice.chosen,
        )
        self.step = Step.DONE
        self.changed()
        return self.order
