"""End of day in staff mode: the opening float and the counted cash typed on the digits, the X-report's
figures (sales and refunds by method, the cash the drawer should hold, over or short), and for a manager
"close the day" into a numbered Z-report after a confirmation."""

from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout

from kiosk_ui.screens.base import KioskScreen
from kiosk_ui.screens.keypad import keypad
from kiosk_ui.theme import SMALL
from kiosk_ui.viewmodels.keyboard import Keyboard, Layout
from kiosk_ui.viewmodels.staff import EndOfDay
from kiosk_ui.widgets import Text, button
from models.end_of_day import TillFigures
from plumbing.i18n import N_


class EndOfDayScreen(KioskScreen):
    def on_pre_enter(self, *_: object) -> None:
        kiosk = self.app.kiosk
        self.day = EndOfDay(kiosk.node, kiosk.staff)
        self.float_keys, self.counted_keys = Keyboard(), Keyboard()
        self.float_keys.use(Layout.DIGITS)
        self.counted_keys.use(Layout.DIGITS)
        self.typing_counted = False
        self.confirming = False
        super().on_pre_enter()

    def build(self, body: BoxLayout) -> None:
        app, words, day = self.app, self.words, self.day
        if not (app.sizes is SMALL and day.preview is None):
            body.add_widget(self.header(words("eod.title"), back="staff", cart=False))
        if app.problem:
            body.add_widget(self.problem_line())
        if day.closed is not None:
            body.add_widget(
                Text(
                    words("eod.closed", number=day.closed.number),
                    size=app.sizes.title,
                    colour=app.palette.text,
                    bold=True,
                    size_hint_y=None,
                    height=dp(app.sizes.touch),
                )
            )
            self._figures(body, day.closed.figures)
            return
        row = BoxLayout(size_hint_y=None, height=dp(app.sizes.touch), spacing=dp(app.sizes.gap))
        row.add_widget(
            button(
                words("eod.float", amount=words.money(self._amount(self.float_keys))),
                self.type_float,
                app.palette,
                app.sizes,
                accent=not self.typing_counted,
                name="float",
            )
        )
        counted = self.counted_keys.text
        row.add_widget(
            button(
                words("eod.counted", amount=words.money(int(counted)) if counted else "…"),
                self.type_counted,
                app.palette,
                app.sizes,
                accent=self.typing_counted,
                name="counted",
            )
        )
        row.add_widget(
            button(
                words("eod.preview"),
                self.look,
                app.palette,
                app.sizes,
                name="preview",
                size_hint_x=None,
                width=dp(app.sizes.touch * 1.8),
            )
        )
        body.add_widget(row)
        if day.preview is None:
            body.add_widget(
                keypad(
                    app,
                    self.counted_keys if self.typing_counted else self.float_keys,
                    self.render,
                    switchable=False,
                )
            )
            return
        self._figures(body, day.preview.figures)
        if self.app.kiosk.staff.is_manager:
            label = words("eod.confirm") if self.confirming else words("eod.close")
            body.add_widget(
                button(
                    label,
                    self.close,
                    app.palette,
                    app.sizes,
                    accent=True,
                    name="confirmClose" if self.confirming else "close",
                )
            )

    def _figures(self, body: BoxLayout, figures: TillFigures) -> None:
        app, words = self.app, self.words
        cash = next((m for m in figures.by_method if m.method.value == "cash"), None)
        card = next((m for m in figures.by_method if m.method.value == "card"), None)
        lines = [
            (words("eod.sales", n=figures.sales_count), words.money(figures.net_sales)),
            (words("eod.cashSales"), words.money(cash.sales if cash else 0)),
            (words("eod.cardSales"), words.money(card.sales if card else 0)),
            (words("eod.refunds", n=figures.refund_count), words.money(-figures.refunds)),
            (words("eod.expected"), words.money(figures.cash_expected)),
        ]
        if figures.counted_cash is not None and figures.over_short is not None:
            lines.append((words("eod.countedLine"), words.money(figures.counted_cash)))
            key = (
                N_("eod.short")
                if figures.over_short < 0
                else N_("eod.over")
                if figures.over_short > 0
                else N_("eod.even")
            )
            lines.append((words(key), words.money(abs(figures.over_short))))
        for text, amount in lines:
            row = BoxLayout(size_hint_y=None, height=dp(app.sizes.body * 1.8))
            row.add_widget(Text(text, size=app.sizes.body, colour=app.palette.text))
            row.add_widget(
                Text(amount, size=app.sizes.body, colour=app.palette.text, halign="right", size_hint_x=0.4)
            )
            body.add_widget(row)

    @staticmethod
    def _amount(keys: Keyboard) -> int:
        return int(keys.text) if keys.text else 0

    # --- touches --------------------------------------------------------------------------------------

    def type_float(self) -> None:
        self.typing_counted, self.day.preview = False, None
        self.render()

    def type_counted(self) -> None:
        self.typing_counted, self.day.preview = True, None
        self.render()

    def look(self) -> None:
        day = self.day
        day.opening_float = self._amount(self.float_keys)
        day.counted_cash = int(self.counted_keys.text) if self.counted_keys.text else None
        self.app.call_node(day.look, lambda _: self.render())

    def close(self) -> None:
        if not self.confirming:
            self.confirming = True
            self.render()
            return
        self.confirming = False
        self.app.call_node(self.day.close, lambda _: self.render())
