"""Paying: the total, then cash (notes and a keypad for what is handed over, the change shown) or a card
on the terminal (tap or insert; cancel while it waits; a decline or a time-out says so)."""

from functools import partial

from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout

from kiosk_ui.screens.base import KioskScreen
from kiosk_ui.screens.keypad import keypad
from kiosk_ui.viewmodels.payment import Payment, Step
from kiosk_ui.widgets import Text, button
from models.einvoice import EInvoiceKind
from models.sales import Order

NOTES = (100, 500, 1000)


class PayScreen(KioskScreen):
    @property
    def payment(self) -> Payment:
        payment = self.app.kiosk.payment
        assert payment is not None
        return payment

    def build(self, body: BoxLayout) -> None:
        app, words, payment = self.app, self.words, self.payment
        body.add_widget(self.header(words("pay.title"), back="cart", cart=False))
        body.add_widget(
            Text(
                words("pay.total", amount=words.money(payment.total)),
                size=app.sizes.title,
                colour=app.palette.text,
                bold=True,
                size_hint_y=None,
                height=dp(app.sizes.touch),
            )
        )
        if payment.declined is not None:
            body.add_widget(
                Text(
                    words(f"pay.{payment.declined.value}"),
                    size=app.sizes.body,
                    colour=app.palette.danger,
                    size_hint_y=None,
                    height=dp(app.sizes.touch * 0.6),
                )
            )
        if app.problem:
            body.add_widget(self.problem_line())
        if payment.step is Step.CASH:
            self._cash(body)
        elif payment.step is Step.WAITING_FOR_CARD:
            body.add_widget(
                Text(words("pay.tapCard"), size=app.sizes.title, colour=app.palette.text, halign="center")
            )
            body.add_widget(
                button(words("pay.cancel"), payment.cancel_card, app.palette, app.sizes, name="cancelCard")
            )
        elif self.editing_einvoice:
            self._einvoice(body)
        else:
            body.add_widget(self._einvoice_row())
            body.add_widget(BoxLayout())
            row = BoxLayout(size_hint_y=None, height=dp(app.sizes.touch * 1.5), spacing=dp(app.sizes.gap))
            row.add_widget(
                button(
                    words("pay.cash"),
                    self.cash,
                    app.palette,
                    app.sizes,
                    accent=True,
                    name="cash",
                    height=dp(app.sizes.touch * 1.5),
                )
            )
            row.add_widget(
                button(
                    words("pay.card"),
                    self.card,
                    app.palette,
                    app.sizes,
                    accent=True,
                    name="card",
                    height=dp(app.sizes.touch * 1.5),
                )
            )
            body.add_widget(row)
            body.add_widget(BoxLayout())

    editing_einvoice = False

    def _einvoice_row(self) -> BoxLayout:
        """Where the e-invoice goes, as chosen so far, and the button to change it."""
        app, words, chosen = self.app, self.words, self.payment.einvoice.chosen
        row = BoxLayout(size_hint_y=None, height=dp(app.sizes.touch), spacing=dp(app.sizes.gap))
        said = words(f"einvoice.{chosen.kind.value}", value=chosen.value or "")
        row.add_widget(
            Text(words("einvoice.label", choice=said), size=app.sizes.body, colour=app.palette.text)
        )
        row.add_widget(
            button(
                words("einvoice.change"),
                self.edit_einvoice,
                app.palette,
                app.sizes,
                name="einvoice",
                size_hint_x=None,
                width=dp(app.sizes.touch * 2),
            )
        )
        return row

    def _einvoice(self, body: BoxLayout) -> None:
        """The four choices; for one with a value, its keyboard and what is typed; confirm."""
        app, words, choice = self.app, self.words, self.payment.einvoice
        kinds = BoxLayout(size_hint_y=None, height=dp(app.sizes.touch), spacing=dp(app.sizes.gap))
        for kind in EInvoiceKind:
            kinds.add_widget(
                button(
                    words(f"einvoice.kind.{kind.value}"),
                    partial(self.choose_einvoice, kind),
                    app.palette,
                    app.sizes,
                    accent=kind is choice.kind,
                    name=f"einvoice:{kind.value}",
                )
            )
        body.add_widget(kinds)
        typed = BoxLayout(size_hint_y=None, height=dp(app.sizes.touch), spacing=dp(app.sizes.gap))
        hint = words(choice.problem) if choice.problem else ""
        if choice.kind is not EInvoiceKind.NONE:
            typed.add_widget(
                Text(choice.keyboard.text, size=app.sizes.price, colour=app.palette.text, size_hint_x=0.4)
            )
        typed.add_widget(Text(hint, size=app.sizes.body, colour=app.palette.danger, lines=2))
        typed.add_widget(
            button(
                words("einvoice.confirm"),
                self.confirm_einvoice,
                app.palette,
                app.sizes,
                accent=True,
                name="einvoiceConfirm",
                size_hint_x=None,
                width=dp(app.sizes.touch * 1.6),
            )
        )
        body.add_widget(typed)
        if choice.kind is not EInvoiceKind.NONE:
            body.add_widget(keypad(app, choice.keyboard, self.render, switchable=False))

    def edit_einvoice(self) -> None:
        self.editing_einvoice = True
        self.render()

    def choose_einvoice(self, kind: EInvoiceKind) -> None:
        self.payment.einvoice.choose(kind)
        self.render()

    def confirm_einvoice(self) -> None:
        if self.payment.einvoice.confirm():
            self.editing_einvoice = False
        self.render()

    def _cash(self, body: BoxLayout) -> None:
        app, words, payment = self.app, self.words, self.payment
        due = payment.cash
        body.add_widget(
            Text(
                words("pay.given", amount=words.money(due.tendered)),
                size=app.sizes.price,
                colour=app.palette.text,
                size_hint_y=None,
                height=dp(app.sizes.touch * 0.7),
            )
        )
        change = words("pay.change", amount=words.money(due.change)) if due.enough else words("pay.short")
        body.add_widget(
            Text(
                change,
                size=app.sizes.price,
                colour=app.palette.text if due.enough else app.palette.muted,
                size_hint_y=None,
                height=dp(app.sizes.touch * 0.7),
            )
        )
        notes = BoxLayout(size_hint_y=None, height=dp(app.sizes.touch), spacing=dp(app.sizes.gap))
        for note in NOTES:
            notes.add_widget(
                button(
                    words.money(note),
                    partial(self.note, note),
                    app.palette,
                    app.sizes,
                    name=f"note:{note}",
                )
            )
        body.add_widget(notes)
        keys = GridLayout(cols=6, spacing=dp(4), size_hint_y=None, height=dp(app.sizes.key) * 2 + dp(4))
        for digit in "1234567890":
            keys.add_widget(
                button(
                    digit,
                    partial(self.digit, digit),
                    app.palette,
                    app.sizes,
                    name=f"digit:{digit}",
                    height=dp(app.sizes.key),
                )
            )
        keys.add_widget(
            button(
                words("keyboard.clear"),
                self.clear,
                app.palette,
                app.sizes,
                name="clearCash",
                height=dp(app.sizes.key),
            )
        )
        keys.add_widget(
            button(
                words("pay.confirmCash"),
                self.confirm_cash,
                app.palette,
                app.sizes,
                accent=True,
                name="confirmCash",
                height=dp(app.sizes.key),
                disabled=not due.enough,
            )
        )
        body.add_widget(keys)

    # --- touches --------------------------------------------------------------------------------------

    def cash(self) -> None:
        self.payment.pay_cash()
        self.render()

    def note(self, amount: int) -> None:
        self.payment.tender_note(amount)
        self.render()

    def digit(self, digit: str) -> None:
        self.payment.tender(digit)
        self.render()

    def clear(self) -> None:
        self.payment.clear_tender()
        self.render()

    def confirm_cash(self) -> None:
        self.app.call_node(self.payment.confirm_cash, self._paid)

    def card(self) -> None:
        payment = self.payment
        payment.step = Step.WAITING_FOR_CARD
        self.render()
        self.app.call_node(payment.pay_card, lambda order: self._paid(order) if order else self.render())

    def _paid(self, order: Order) -> None:
        self.app.go("receipt")
