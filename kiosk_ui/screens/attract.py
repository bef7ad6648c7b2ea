"""Idle: the store's welcome, in both languages, until someone touches the screen; "take my cart from my
phone" for a shopper who built one on their phone."""

from typing import Any

from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout

from kiosk_ui.screens.base import KioskScreen
from kiosk_ui.screens.phone_cart import open_phone_cart
from kiosk_ui.widgets import Text, button


class AttractScreen(KioskScreen):
    def build(self, body: BoxLayout) -> None:
        app, words = self.app, self.words
        body.add_widget(BoxLayout())  # space above
        body.add_widget(
            Text(
                words("attract.welcome"),
                size=app.sizes.title * 1.6,
                colour=app.palette.text,
                bold=True,
                halign="center",
                size_hint_y=None,
                height=dp(app.sizes.title * 3),
            )
        )
        body.add_widget(
            Text(
                words("attract.touch"),
                size=app.sizes.title,
                colour=app.palette.muted,
                halign="center",
                size_hint_y=None,
                height=dp(app.sizes.title * 2),
            )
        )
        start = button(
            words("attract.start"),
            self.start,
            app.palette,
            app.sizes,
            accent=True,
            name="start",
            size_hint_x=0.5,
            pos_hint={"center_x": 0.5},
        )
        body.add_widget(start)
        body.add_widget(
            button(
                words("phoneCart.entry"),
                lambda: open_phone_cart(app, "attract"),
                app.palette,
                app.sizes,
                name="phoneCart",
                size_hint_x=0.5,
                pos_hint={"center_x": 0.5},
            )
        )
        body.add_widget(BoxLayout())
        corner = BoxLayout(size_hint_y=None, height=dp(app.sizes.touch))
        corner.add_widget(
            button(
                words("nav.staff"),
                lambda: app.go("staff-login"),
                app.palette,
                app.sizes,
                name="staff",
                size_hint_x=0.3,
            )
        )
        corner.add_widget(BoxLayout())
        corner.add_widget(
            button(
                words("nav.language"),
                app.toggle_language,
                app.palette,
                app.sizes,
                name="language",
                size_hint_x=0.3,
            )
        )
        body.add_widget(corner)

    def on_touch_down(self, touch: Any) -> bool:
        # Anywhere but the language button starts (a shopper does not aim at "start").
        if super().on_touch_down(touch):
            return True
        self.start()
        return True

    def start(self) -> None:
        app = self.app
        app.call_node(app.kiosk.catalog.open, lambda _: app.go("browse"))
