"""What every screen has: the app (its view-models, palette, sizes, words), a header with the language
button and the cart, and ``render()`` that redraws the whole screen from the view-models."""

from typing import TYPE_CHECKING, Any

from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen

from kiosk_ui.widgets import Panel, Text, button
from plumbing.i18n import Translator

if TYPE_CHECKING:
    from kiosk_ui.app import KioskApp


class KioskScreen(Screen):
    def __init__(self, app: "KioskApp", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app = app

    @property
    def words(self) -> Translator:
        return self.app.kiosk.session.words

    def on_pre_enter(self, *_: object) -> None:
        self.render()

    def render(self) -> None:
        self.clear_widgets()
        body = Panel(
            self.app.palette.background,
            orientation="vertical",
            padding=dp(self.app.sizes.gap),
            spacing=dp(self.app.sizes.gap),
        )
        self.build(body)
        if all(child.size_hint_y is None for child in body.children):
            body.add_widget(BoxLayout())  # what is left goes below: a screen of fixed rows starts at the top
        self.add_widget(body)
        self.app.collector.rendered()  # the tree it replaced is freed after this frame (kiosk_ui/garbage.py)

    def build(self, body: BoxLayout) -> None:
        """Draw the screen's view-model into ``body``. Every screen of ``kiosk_ui.routes`` draws its own;
        this base draws nothing (the background panel alone)."""

    def problem_line(self, text: str | None = None) -> Text:
        """What went wrong, in the danger colour, under the header (the app's last problem by default)."""
        app = self.app
        return Text(
            text if text is not None else app.problem,
            size=app.sizes.body,
            colour=app.palette.danger,
            size_hint_y=None,
            height=dp(app.sizes.touch * 0.6),
        )

    def header(self, title: str, *, back: str | None = None, cart: bool = True) -> BoxLayout:
        """The top row: back, the title, the language toggle, the cart with its count."""
        app, words = self.app, self.words
        row = BoxLayout(size_hint_y=None, height=dp(app.sizes.touch), spacing=dp(app.sizes.gap))
        if back:
            row.add_widget(
                button(
                    words("nav.back"),
                    lambda: app.go(back),
                    app.palette,
                    app.sizes,
                    name="back",
                    size_hint_x=None,
                    width=dp(app.sizes.touch * 1.6),
                )
            )
        row.add_widget(Text(title, size=app.sizes.title, colour=app.palette.text, bold=True))
        row.add_widget(
            button(
                words("nav.language"),
                app.toggle_language,
                app.palette,
                app.sizes,
                name="language",
                size_hint_x=None,
                width=dp(app.sizes.touch * 1.6),
            )
        )
        if cart:
            row.add_widget(
                button(
                    words("nav.cart", n=app.kiosk.cart.count),
                    lambda: app.go("cart"),
                    app.palette,
                    app.sizes,
                    accent=True,
                    name="cart",
                    size_hint_x=None,
                    width=dp(app.sizes.touch * 2.4),
                )
            )
        return row
