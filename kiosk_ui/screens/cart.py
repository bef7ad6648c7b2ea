"""The cart: each line with its discount, quantity changed or removed, a coupon code, the total, pay."""

from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.scrollview import ScrollView

from kiosk_ui.screens.base import KioskScreen
from kiosk_ui.screens.keypad import keypad
from kiosk_ui.theme import SMALL
from kiosk_ui.viewmodels.keyboard import Layout
from kiosk_ui.widgets import Panel, Text, button
from models.node_api import CartItemPublic


class CartScreen(KioskScreen):
    entering_coupon = False

    def build(self, body: BoxLayout) -> None:
        app, words, cart = self.app, self.words, self.app.kiosk.cart
        # Typing a code on a 7-inch screen, the keyboard needs the header's and the totals' room.
        compact = self.entering_coupon and app.sizes is SMALL
        if not compact:
            body.add_widget(self.header(words("cart.title"), back="browse", cart=False))
        if app.problem:
            body.add_widget(self.problem_line())
        if cart.cart is None or not cart.cart.items:
            body.add_widget(
                Text(words("cart.empty"), size=app.sizes.title, colour=app.palette.muted, halign="center")
            )
            return
        scroll = ScrollView()
        lines = BoxLayout(orientation="vertical", size_hint_y=None, spacing=dp(app.sizes.gap))
        lines.bind(minimum_height=lines.setter("height"))
        for item in cart.cart.items:
            lines.add_widget(self._line(item))
        scroll.add_widget(lines)
        body.add_widget(scroll)
        body.add_widget(self._coupon_row())
        totals = BoxLayout(size_hint_y=None, height=dp(app.sizes.touch), spacing=dp(app.sizes.gap))
        if cart.cart.discount_total or cart.coupon_discount:
            totals.add_widget(
                Text(
                    words("cart.saved", amount=words.money(cart.cart.discount_total + cart.coupon_discount)),
                    size=app.sizes.body,
                    colour=app.palette.muted,
                )
            )
        totals.add_widget(
            Text(
                words("cart.total", amount=words.money(cart.total)),
                size=app.sizes.price,
                colour=app.palette.text,
                bold=True,
                halign="right",
            )
        )
        totals.add_widget(
            button(
                words("cart.pay"),
                self.pay,
                app.palette,
                app.sizes,
                accent=True,
                name="pay",
                size_hint_x=None,
                width=dp(app.sizes.touch * 2.4),
            )
        )
        if not compact:
            body.add_widget(totals)
        if self.entering_coupon:
            body.add_widget(keypad(app, app.kiosk.keyboard, self.render, switchable=False))

    def _line(self, item: CartItemPublic) -> Panel:
        app, words = self.app, self.words
        row = Panel(
            app.palette.surface,
            size_hint_y=None,
            height=dp(app.sizes.touch),
            spacing=dp(app.sizes.gap),
            padding=(dp(8), 0),
        )
        name = f"{words.name(item.name, item.name_en)} {words.name(item.variant_name, item.variant_name_en)}".strip()
        if item.unit_discount:
            name = words("cart.lineDiscount", name=name, amount=words.money(item.unit_discount))
        row.add_widget(Text(name, size=app.sizes.body, colour=app.palette.text))
        row.add_widget(
            button(
                "−",
                lambda: self.change(item.item_id, item.quantity - 1),
                app.palette,
                app.sizes,
                name=f"fewer:{item.item_id}",
                size_hint_x=None,
                width=dp(app.sizes.touch),
            )
        )
        row.add_widget(
            Text(
                str(item.quantity),
                size=app.sizes.body,
                colour=app.palette.text,
                halign="center",
                size_hint_x=None,
                width=dp(app.sizes.touch * 0.8),
            )
        )
        row.add_widget(
            button(
                "+",
                lambda: self.change(item.item_id, item.quantity + 1),
                app.palette,
                app.sizes,
                name=f"more:{item.item_id}",
                size_hint_x=None,
                width=dp(app.sizes.touch),
            )
        )
        row.add_widget(
            Text(
                words.money(item.line_total),
                size=app.sizes.body,
                colour=app.palette.text,
                halign="right",
                size_hint_x=None,
                width=dp(app.sizes.touch * 1.8),
            )
        )
        return row

    def _coupon_row(self) -> BoxLayout:
        app, words, cart, keyboard = self.app, self.words, self.app.kiosk.cart, self.app.kiosk.keyboard
        row = BoxLayout(size_hint_y=None, height=dp(app.sizes.touch), spacing=dp(app.sizes.gap))
        if self.entering_coupon:
            row.add_widget(
                Text(keyboard.text or words("cart.couponHint"), size=app.sizes.body, colour=app.palette.text)
            )
            row.add_widget(
                button(
                    words("cart.couponUse"),
                    self.use_coupon,
                    app.palette,
                    app.sizes,
                    accent=True,
                    name="couponUse",
                    size_hint_x=None,
                    width=dp(app.sizes.touch * 1.6),
                )
            )
        elif cart.coupon_code:
            row.add_widget(
                Text(
                    words("cart.couponHeld", code=cart.coupon_code),
                    size=app.sizes.body,
                    colour=app.palette.text,
                )
            )
            row.add_widget(
                button(
                    words("cart.couponDrop"),
                    self.drop_coupon,
                    app.palette,
                    app.sizes,
                    name="couponDrop",
                    size_hint_x=None,
                    width=dp(app.sizes.touch * 2),
                )
            )
        else:
            row.add_widget(
                button(words("cart.coupon"), self.enter_coupon, app.palette, app.sizes, name="coupon")
            )
        return row

    def change(self, item_id: str, quantity: int) -> None:
        cart = self.app.kiosk.cart
        self.app.call_node(lambda: cart.set_quantity(item_id, quantity), lambda _: self.render())

    def enter_coupon(self) -> None:
        keyboard = self.app.kiosk.keyboard
        keyboard.clear()
        if keyboard.layout is not Layout.LATIN:
            keyboard.switch_layout()
        self.entering_coupon = True
        self.render()

    def use_coupon(self) -> None:
        """The node checks the code (a quote with it); a code it refuses is said on the screen."""
        cart, keyboard = self.app.kiosk.cart, self.app.kiosk.keyboard
        code = keyboard.text
        keyboard.clear()
        self.entering_coupon = False
        self.app.call_node(lambda: cart.use_coupon(code), lambda _: self.render())

    def drop_coupon(self) -> None:
        self.app.kiosk.cart.drop_coupon()
        self.render()

    def pay(self) -> None:
        self.app.kiosk.new_payment()
        self.app.go("pay")
