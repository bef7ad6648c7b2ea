"""The whole kiosk without a window: its view-models, the node's client, the hardware and the clock. The
Kivy app shows one; the view-models' tests build one against a real node."""

import contextlib
from dataclasses import dataclass, field

from kiosk_ui.hardware.camera import Camera
from kiosk_ui.hardware.payment import PaymentTerminal
from kiosk_ui.hardware.printer import ReceiptPrinter
from kiosk_ui.viewmodels.cart import Cart
from kiosk_ui.viewmodels.catalog import Catalog
from kiosk_ui.viewmodels.keyboard import Keyboard
from kiosk_ui.viewmodels.node_api import NodeApi
from kiosk_ui.viewmodels.payment import Payment
from kiosk_ui.viewmodels.phone_cart import PhoneCart
from kiosk_ui.viewmodels.scan import Recognizer
from kiosk_ui.viewmodels.session import Session
from kiosk_ui.viewmodels.staff import StaffMode
from node_client.errors import NodeClientError
from plumbing.clock import Clock as Now


@dataclass
class Kiosk:
    """Everything the screens show and use."""

    node: NodeApi
    terminal: PaymentTerminal
    printer: ReceiptPrinter | None
    now: Now
    session: Session = field(init=False)
    catalog: Catalog = field(init=False)
    cart: Cart = field(init=False)
    keyboard: Keyboard = field(init=False)
    staff: StaffMode = field(init=False)
    phone_cart: PhoneCart = field(init=False)
    locale: str = "zh-TW"
    camera: Camera | None = None
    recognizer: Recognizer | None = None
    payment: Payment | None = None
    product_id: str | None = None

    def __post_init__(self) -> None:
        self.session = Session(self.now(), locale=self.locale)
        self.catalog = Catalog(self.node)
        self.cart = Cart(self.node)
        self.keyboard = Keyboard()
        self.staff = StaffMode(self.node)
        self.phone_cart = PhoneCart(self.node, self.cart)

    def new_payment(self) -> Payment:
        self.payment = Payment(self.node, self.cart, self.terminal)
        return self.payment

    def end_session(self) -> None:
        """The next shopper starts clean: no cart, no typing, no staff login (the node ends the token)."""
        # A node that is gone cannot end the token: it expires there on its own.
        with contextlib.suppress(NodeClientError):
            self.staff.logout()
        self.cart.clear()
        self.phone_cart.reset()
        self.keyboard.clear()
        self.payment, self.product_id = None, None
        self.session.reset(self.now())
