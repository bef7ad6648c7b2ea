"""Take my cart from my phone: a big keypad for the 6-digit hand-off code the phone shows and, beside it,
the camera looking for the phone's QR code twice a second (``kiosk_ui.hardware.handoff_qr`` on the worker
thread). A code, typed or seen, is claimed from the node; the phone's cart becomes the session's and the cart
screen follows. Reached from the attract and the browse screens (``open_phone_cart``)."""

import contextlib
import io
from functools import partial
from typing import TYPE_CHECKING

from kivy.clock import Clock
from kivy.core.image import Image as CoreImage
from kivy.graphics.texture import Texture
from kivy.metrics import dp, sp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.image import Image

from kiosk_ui.hardware.handoff_qr import handoff_code_in
from kiosk_ui.screens.base import KioskScreen
from kiosk_ui.viewmodels.phone_cart import CODE_DIGITS, PhoneCart
from kiosk_ui.viewmodels.problems import explain
from kiosk_ui.widgets import Text, button
from node_client.errors import NodeClientError

if TYPE_CHECKING:
    from kiosk_ui.app import KioskApp

LOOK_EVERY_S = 0.5
ROUTE = "phone-cart"


def open_phone_cart(app: "KioskApp", back: str) -> None:
    """The entry on the attract and browse screens: the phone-cart screen, whose back button returns to
    ``back``."""
    screen = app.screens.get_screen(ROUTE)
    assert isinstance(screen, PhoneCartScreen)
    screen.back = back
    app.go(ROUTE)


class PhoneCartScreen(KioskScreen):
    back = "attract"
    looking = False
    still: Texture | None = None

    @property
    def phone(self) -> PhoneCart:
        return self.app.kiosk.phone_cart

    def on_pre_enter(self, *_: object) -> None:
        kiosk = self.app.kiosk
        kiosk.phone_cart.reset()
        self.still = None
        if kiosk.camera is not None:
            kiosk.camera.start()
            self.looking = True
            self._look = Clock.schedule_interval(lambda _dt: self._refresh(), LOOK_EVERY_S)
        super().on_pre_enter()

    def on_leave(self, *_: object) -> None:
        camera = self.app.kiosk.camera
        if self.looking and camera is not None:
            self._look.cancel()
            camera.stop()
            self.looking = False

    # --- the camera -----------------------------------------------------------------------------------

    def _refresh(self) -> None:
        camera = self.app.kiosk.camera
        if camera is None or self.app.busy or self.phone.confirming is not None:
            return

        def look() -> tuple[bytes, str | None]:
            still = camera.capture()
            return still, handoff_code_in(still)

        self.app.call_node(look, self._seen, redraw=False)

    def _seen(self, seen: tuple[bytes, str | None]) -> None:
        still, code = seen
        if self.app.screens.current != ROUTE:
            return
        self.still = CoreImage(io.BytesIO(still), ext="jpg").texture
        self.preview.texture, self.preview.opacity = self.still, 1
        if code is not None and self.phone.scanned(code):
            self.submit(code, scanned=True)

    # --- drawing --------------------------------------------------------------------------------------

    def build(self, body: BoxLayout) -> None:
        app, words, phone = self.app, self.words, self.phone
        body.add_widget(self.header(words("phoneCart.title"), back=self.back, cart=False))
        problem = explain(words, phone.refusal) if phone.refusal is not None else app.problem
        body.add_widget(self.problem_line(problem))
        if phone.confirming is not None:
            self._confirm(body)
            return
        row = BoxLayout(spacing=dp(app.sizes.gap))
        left = BoxLayout(orientation="vertical", spacing=dp(app.sizes.gap))
        # The last still across redraws (a key press redraws); nothing, not a white box, before the first.
        self.preview = Image(fit_mode="contain", texture=self.still, opacity=1 if self.still else 0)
        if app.kiosk.camera is not None:
            left.add_widget(self.preview)
            left.add_widget(
                Text(
                    words("phoneCart.howTo"),
                    size=app.sizes.body,
                    colour=app.palette.text,
                    lines=3,
                    size_hint_y=None,
                    height=dp(app.sizes.body * 4),
                )
            )
        else:  # the keypad alone: what to type, large, beside it
            left.add_widget(
                Text(words("phoneCart.noCamera"), size=app.sizes.title, colour=app.palette.text, lines=4)
            )
        row.add_widget(left)
        row.add_widget(self._keypad())
        body.add_widget(row)

    def _keypad(self) -> BoxLayout:
        app, words, phone = self.app, self.words, self.phone
        sizes = app.sizes
        side = BoxLayout(orientation="vertical", spacing=dp(sizes.gap), size_hint_x=0.55)
        shown = " ".join(phone.code.ljust(CODE_DIGITS, "_"))
        code = Text(
            shown,
            size=sizes.title * 1.3,
            colour=app.palette.text,
            bold=True,
            halign="center",
            size_hint_y=None,
            height=dp(sizes.touch * 0.8),
        )
        code.kiosk_name = "handoffCode"
        side.add_widget(code)
        keys = GridLayout(cols=3, spacing=dp(4))
        for key in "123456789":
            keys.add_widget(self._digit(key))
        keys.add_widget(
            button(words("keyboard.clear"), self.clear, app.palette, sizes, name="clearCode", size_hint_y=1)
        )
        keys.add_widget(self._digit("0"))
        keys.add_widget(
            button(
                words("keyboard.backspace"),
                self.backspace,
                app.palette,
                sizes,
                name="backspace",
                size_hint_y=1,
            )
        )
        side.add_widget(keys)
        return side

    def _digit(self, key: str) -> object:
        app = self.app
        return button(
            key,
            partial(self.press, key),
            app.palette,
            app.sizes,
            name=f"digit:{key}",
            size_hint_y=1,
            font_size=sp(app.sizes.title),
        )

    def _confirm(self, body: BoxLayout) -> None:
        app, words = self.app, self.words
        body.add_widget(
            Text(
                words("phoneCart.replace", n=app.kiosk.cart.count),
                size=app.sizes.title,
                colour=app.palette.text,
                halign="center",
                lines=3,
            )
        )
        choices = BoxLayout(size_hint_y=None, height=dp(app.sizes.touch * 1.2), spacing=dp(app.sizes.gap))
        choices.add_widget(
            button(words("phoneCart.keep"), self.keep, app.palette, app.sizes, name="keepCart", size_hint_y=1)
        )
        choices.add_widget(
            button(
                words("phoneCart.usePhone"),
                self.use_phone,
                app.palette,
                app.sizes,
                accent=True,
                name="usePhoneCart",
                size_hint_y=1,
            )
        )
        body.add_widget(choices)

    # --- touches --------------------------------------------------------------------------------------

    def press(self, key: str) -> None:
        phone = self.phone
        phone.press(key)
        self.render()
        if phone.complete:
            self.submit(phone.code)

    def backspace(self) -> None:
        self.phone.backspace()
        self.render()

    def clear(self) -> None:
        self.phone.clear()
        self.render()

    def keep(self) -> None:
        self.phone.keep_own_cart()
        self.render()

    def use_phone(self) -> None:
        code = self.phone.confirming
        if code is not None:
            self._claim(code, scanned=False)

    def submit(self, code: str, *, scanned: bool = False) -> None:
        if self.phone.must_confirm(code):
            self.render()
            return
        self._claim(code, scanned=scanned)

    def _claim(self, code: str, *, scanned: bool) -> None:
        kiosk = self.app.kiosk

        def claim() -> bool:
            taken = kiosk.phone_cart.claim(code, scanned=scanned)
            if taken and not kiosk.catalog.loaded:
                # "back" from the cart browses, as after any start; a catalog that does not come is
                # fetched by the browse screen's own touches, the cart is taken either way.
                with contextlib.suppress(NodeClientError):
                    kiosk.catalog.open()
            return taken

        self.app.call_node(claim, lambda taken: self.app.go("cart") if taken else self.render())
