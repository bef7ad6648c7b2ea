"""Staff mode: log in (name on the Latin keyboard, PIN on the digits, shown as dots), then find an order by
its receipt number or a scanned QR code, see it, and (a manager) take it back after a confirmation."""

from functools import partial

from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout

from kiosk_ui.screens.base import KioskScreen
from kiosk_ui.screens.keypad import keypad
from kiosk_ui.theme import SMALL
from kiosk_ui.viewmodels.keyboard import Keyboard, Layout
from kiosk_ui.viewmodels.staff import OrderNotFound
from kiosk_ui.widgets import Text, button
from models.returns import OrderWithReturns


class StaffLoginScreen(KioskScreen):
    def on_pre_enter(self, *_: object) -> None:
        self.name_keys, self.pin_keys = Keyboard(), Keyboard()
        self.name_keys.use(Layout.LATIN)
        self.pin_keys.use(Layout.DIGITS)
        self.typing_pin = False
        super().on_pre_enter()

    def build(self, body: BoxLayout) -> None:
        app, words = self.app, self.words
        body.add_widget(self.header(words("staff.login"), back="attract", cart=False))
        if app.problem:
            body.add_widget(self.problem_line())
        row = BoxLayout(size_hint_y=None, height=dp(app.sizes.touch), spacing=dp(app.sizes.gap))
        row.add_widget(
            button(
                words("staff.name", name=self.name_keys.text or "…"),
                self.type_name,
                app.palette,
                app.sizes,
                accent=not self.typing_pin,
                name="staffName",
            )
        )
        row.add_widget(
            button(
                words("staff.pin", dots="●" * len(self.pin_keys.text) or "…"),
                self.type_pin,
                app.palette,
                app.sizes,
                accent=self.typing_pin,
                name="staffPin",
            )
        )
        row.add_widget(
            button(
                words("staff.enter"),
                self.login,
                app.palette,
                app.sizes,
                accent=True,
                name="staffLogin",
                size_hint_x=None,
                width=dp(app.sizes.touch * 1.8),
            )
        )
        body.add_widget(row)
        keys = self.pin_keys if self.typing_pin else self.name_keys
        body.add_widget(keypad(app, keys, self.render, switchable=False))

    def type_name(self) -> None:
        self.typing_pin = False
        self.render()

    def type_pin(self) -> None:
        self.typing_pin = True
        self.render()

    def login(self) -> None:
        staff, name, pin = self.app.kiosk.staff, self.name_keys.text, self.pin_keys.text
        self.pin_keys.clear()  # a PIN is typed once, whatever the answer
        self.app.call_node(lambda: staff.login(name, pin), lambda _: self.app.go("staff"))


class StaffScreen(KioskScreen):
    confirming = False

    def on_pre_enter(self, *_: object) -> None:
        self.number = Keyboard()
        self.number.use(Layout.CARRIER)  # digits and capitals: an order's number or id
        self.not_found = ""
        self.confirming = False
        super().on_pre_enter()

    def build(self, body: BoxLayout) -> None:
        app, words, staff = self.app, self.words, self.app.kiosk.staff
        session = staff.session
        title = words(
            "staff.hello",
            name=session.name if session else "",
            role=words(f"staff.role.{session.role.value}") if session else "",
        )
        typing = staff.order is None
        if not (typing and app.sizes is SMALL):  # a 7-inch screen gives the header's room to the keyboard
            body.add_widget(self.header(title, back=None, cart=False))
        if app.problem or self.not_found:
            body.add_widget(self.problem_line(self.not_found or app.problem))
        row = BoxLayout(size_hint_y=None, height=dp(app.sizes.touch), spacing=dp(app.sizes.gap))
        row.add_widget(
            Text(self.number.text or words("staff.findHint"), size=app.sizes.body, colour=app.palette.text)
        )
        row.add_widget(
            button(
                words("staff.find"),
                self.find,
                app.palette,
                app.sizes,
                accent=True,
                name="find",
                size_hint_x=None,
                width=dp(app.sizes.touch * 1.6),
            )
        )
        row.add_widget(
            button(
                words("staff.endOfDay"),
                lambda: app.go("end-of-day"),
                app.palette,
                app.sizes,
                name="endOfDay",
                size_hint_x=None,
                width=dp(app.sizes.touch * 1.8),
            )
        )
        if app.kiosk.camera is not None:  # any staff member: the node's enrolment takes a cashier's token
            row.add_widget(
                button(
                    words("staff.enrol"),
                    lambda: app.go("enrol"),
                    app.palette,
                    app.sizes,
                    name="enrol",
                    size_hint_x=None,
                    width=dp(app.sizes.touch * 2.2),
                )
            )
        row.add_widget(
            button(
                words("staff.logout"),
                self.logout,
                app.palette,
                app.sizes,
                name="staffLogout",
                size_hint_x=None,
                width=dp(app.sizes.touch * 1.8),
            )
        )
        body.add_widget(row)
        if staff.order is not None:
            self._order(body, staff.order)
        else:
            body.add_widget(keypad(app, self.number, self.render, switchable=False))

    def _order(self, body: BoxLayout, order: OrderWithReturns) -> None:
        app, words, staff = self.app, self.words, self.app.kiosk.staff
        body.add_widget(
            Text(
                words(
                    "staff.order",
                    number=order.order_id[-6:],
                    status=words(f"status.{order.status.value}"),
                    total=words.money(order.total),
                ),
                size=app.sizes.price,
                colour=app.palette.text,
                bold=True,
                size_hint_y=None,
                height=dp(app.sizes.touch),
            )
        )
        for item in order.items:
            body.add_widget(
                self._line(
                    order,
                    item.item_id,
                    f"{item.name} {item.variant_name}",
                    item.quantity,
                    words.money(item.line_total),
                )
            )
        body.add_widget(BoxLayout())
        actions = BoxLayout(size_hint_y=None, height=dp(app.sizes.touch), spacing=dp(app.sizes.gap))
        actions.add_widget(
            button(words("staff.another"), self.another, app.palette, app.sizes, name="another")
        )
        if self.confirming and staff.taking:
            actions.add_widget(
                button(
                    words("staff.confirmUnits", refund=words.money(staff.refund_due)),
                    self.take_units,
                    app.palette,
                    app.sizes,
                    accent=True,
                    name="confirmUnits",
                )
            )
        elif self.confirming:
            left = order.total - order.refunded_amount
            actions.add_widget(
                button(
                    words("staff.confirmReturn", total=words.money(left)),
                    self.take_back,
                    app.palette,
                    app.sizes,
                    accent=True,
                    name="confirmReturn",
                )
            )
        elif staff.can_return and staff.taking:
            actions.add_widget(
                button(
                    words("staff.returnUnits", refund=words.money(staff.refund_due)),
                    self.confirm,
                    app.palette,
                    app.sizes,
                    accent=True,
                    name="returnUnits",
                )
            )
        elif staff.can_return:
            actions.add_widget(
                button(
                    words("staff.return"), self.confirm, app.palette, app.sizes, accent=True, name="return"
                )
            )
        elif not staff.is_manager:
            actions.add_widget(
                Text(words("staff.managerOnly"), size=app.sizes.body, colour=app.palette.muted)
            )
        body.add_widget(actions)

    def _line(self, order: OrderWithReturns, item_id: str, name: str, sold: int, amount: str) -> BoxLayout:
        """A line of the order: what was sold and brought back; for a manager, how many units to take back."""
        app, words, staff = self.app, self.words, self.app.kiosk.staff
        row = BoxLayout(size_hint_y=None, height=dp(app.sizes.touch), spacing=dp(app.sizes.gap))
        back = order.returned_quantities.get(item_id, 0)
        said = words("staff.line", name=name, quantity=sold, amount=amount)
        if back:
            said = words("staff.lineBack", line=said, n=back)
        row.add_widget(Text(said, size=app.sizes.body, colour=app.palette.text))
        if staff.can_return and staff.left(item_id):
            row.add_widget(
                button(
                    "−",
                    partial(self.take, item_id, -1),
                    app.palette,
                    app.sizes,
                    name=f"takeLess:{item_id}",
                    size_hint_x=None,
                    width=dp(app.sizes.touch),
                )
            )
            row.add_widget(
                Text(
                    str(staff.taking.get(item_id, 0)),
                    size=app.sizes.body,
                    colour=app.palette.text,
                    halign="center",
                    size_hint_x=None,
                    width=dp(app.sizes.touch * 0.7),
                )
            )
            row.add_widget(
                button(
                    "+",
                    partial(self.take, item_id, 1),
                    app.palette,
                    app.sizes,
                    name=f"take:{item_id}",
                    size_hint_x=None,
                    width=dp(app.sizes.touch),
                )
            )
        return row

    # --- touches --------------------------------------------------------------------------------------

    def find(self) -> None:
        staff, typed = self.app.kiosk.staff, self.number.text
        self.not_found = ""

        def work() -> OrderWithReturns | None:
            try:
                return staff.find(typed)
            except OrderNotFound:
                return None

        def done(order: OrderWithReturns | None) -> None:
            self.not_found = "" if order is not None else self.words("staff.notFound", number=typed)
            self.render()

        self.app.call_node(work, done)

    def another(self) -> None:
        self.app.kiosk.staff.order = None
        self.number.clear()
        self.confirming = False
        self.render()

    def confirm(self) -> None:
        self.confirming = True
        self.render()

    def take(self, item_id: str, more: int) -> None:
        self.confirming = False
        self.app.kiosk.staff.take(item_id, more)
        self.render()

    def take_units(self) -> None:
        staff = self.app.kiosk.staff
        self.confirming = False
        self.app.call_node(staff.return_units, lambda _: self.render())

    def take_back(self) -> None:
        staff = self.app.kiosk.staff
        self.confirming = False
        self.app.call_node(staff.return_order, lambda _: self.render())

    def logout(self) -> None:
        staff = self.app.kiosk.staff
        self.app.call_node(staff.logout, lambda _: self.app.go("attract"))
