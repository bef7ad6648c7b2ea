"""After paying: the order number (large, for the counter), what was bought, the totals, a QR code of the
order and the receipt code a shopper's phone fetches the receipt with (when the node gives one); the printer
prints the same, once the node has answered for the code. "Done" (or the idle timeout) starts over for the next shopper."""

import io

from kivy.core.image import Image as CoreImage
from kivy.logger import Logger
from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.image import Image
from kivy.uix.scrollview import ScrollView

from kiosk_ui.hardware.printer import Receipt
from kiosk_ui.screens.base import KioskScreen
from kiosk_ui.viewmodels.payment import Payment
from kiosk_ui.viewmodels.receipt import order_number, qr_png, receipt_of
from kiosk_ui.widgets import Text, button


def receipt_code(payment: Payment) -> str | None:
    """The receipt code, or None on any failure: the receipt is printed whatever the node says."""
    try:
        return payment.fetch_receipt_code()
    except Exception:  # the node's refusals are None already; anything else is logged, not a lost printout
        Logger.exception("kiosk: no receipt code")
        return None


class ReceiptScreen(KioskScreen):
    def on_pre_enter(self, *_: object) -> None:
        super().on_pre_enter()
        payment = self.app.kiosk.payment
        if payment is not None and payment.order is not None:
            # The receipt code for the shopper's phone, then the printout: with the code when the node gives
            # it, without when it does not (the sale is done either way).
            self.app.call_node(lambda: receipt_code(payment), self._with_code, redraw=False)

    def _with_code(self, _code: str | None) -> None:
        app, payment = self.app, self.app.kiosk.payment
        if app.screens.current != "receipt" or payment is None or payment.order is None:
            return
        self.render()
        if app.kiosk.printer is not None:
            receipt = self._receipt()
            printer = app.kiosk.printer
            app.call_node(lambda: printer.print_receipt(receipt), lambda _: None, redraw=False)

    def _receipt(self) -> Receipt:
        app, payment = self.app, self.app.kiosk.payment
        assert payment is not None
        assert payment.order is not None
        return receipt_of(
            payment.order,
            self.words,
            tendered=payment.tendered or None,
            english=app.kiosk.cart.english_names,
            receipt_code=payment.receipt_code,
        )

    def build(self, body: BoxLayout) -> None:
        app, words, payment = self.app, self.words, self.app.kiosk.payment
        assert payment is not None
        assert payment.order is not None
        order = payment.order
        receipt = self._receipt()
        body.add_widget(
            Text(
                words("receipt.thanks"),
                size=app.sizes.title,
                colour=app.palette.text,
                bold=True,
                halign="center",
                size_hint_y=None,
                height=dp(app.sizes.touch),
            )
        )
        middle = BoxLayout(spacing=dp(app.sizes.gap))
        scroll = ScrollView()
        lines = BoxLayout(orientation="vertical", size_hint_y=None, spacing=dp(2))
        lines.bind(minimum_height=lines.setter("height"))
        for line in [*receipt.lines, *receipt.totals]:
            row = BoxLayout(size_hint_y=None, height=dp(app.sizes.body * 1.8))
            row.add_widget(Text(line.text, size=app.sizes.body, colour=app.palette.text))
            row.add_widget(
                Text(
                    line.amount, size=app.sizes.body, colour=app.palette.text, halign="right", size_hint_x=0.4
                )
            )
            lines.add_widget(row)
        scroll.add_widget(lines)
        middle.add_widget(scroll)
        side = BoxLayout(orientation="vertical", size_hint_x=0.4)
        side.add_widget(
            Text(
                words("receipt.order", number=order_number(order)),
                size=app.sizes.title,
                colour=app.palette.text,
                bold=True,
                halign="center",
                size_hint_y=None,
                height=dp(app.sizes.touch),
            )
        )
        texture = CoreImage(io.BytesIO(qr_png(order.order_id)), ext="png").texture
        texture.mag_filter = "nearest"  # a QR code's squares stay sharp when scaled up
        side.add_widget(Image(texture=texture, fit_mode="contain"))
        if payment.receipt_code is not None:
            code = Text(
                words("receipt.code", code=payment.receipt_code),
                size=app.sizes.body,
                colour=app.palette.text,
                bold=True,
                halign="center",
                lines=2,  # the code on a line of its own rather than cut off on a 7-inch screen
                size_hint_y=None,
                height=dp(app.sizes.body * 3),
            )
            code.kiosk_name = "receiptCode"
            side.add_widget(code)
            side.add_widget(
                Text(
                    words("receipt.bluetooth"),
                    size=app.sizes.body * 0.85,
                    colour=app.palette.muted,
                    halign="center",
                    lines=2,
                    size_hint_y=None,
                    height=dp(app.sizes.body * 2.6),
                )
            )
        middle.add_widget(side)
        body.add_widget(middle)
        body.add_widget(
            button(words("receipt.done"), self.done, app.palette, app.sizes, accent=True, name="done")
        )

    def done(self) -> None:
        self.app.kiosk.end_session()
        self.app.go("attract")
