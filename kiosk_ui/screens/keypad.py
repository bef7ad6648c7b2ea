"""The on-screen keyboard as widgets, drawn from the ``Keyboard`` view-model: the search box's (Zhuyin or
Latin) and the coupon code's (Latin) are the same keyboard."""

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout

from kiosk_ui.viewmodels.keyboard import Keyboard, Layout
from kiosk_ui.widgets import button

if TYPE_CHECKING:
    from kiosk_ui.app import KioskApp


def keypad(
    app: "KioskApp", keyboard: Keyboard, changed: Callable[[], None], *, switchable: bool = True
) -> BoxLayout:
    """Keys that type into ``keyboard``; ``changed`` runs after each key (search again, redraw)."""
    words, sizes = app.kiosk.session.words, app.sizes

    def act(step: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            step()
            changed()

        return run

    rows = keyboard.rows
    pad = BoxLayout(
        orientation="vertical",
        size_hint_y=None,
        spacing=dp(4),
        height=dp(sizes.key) * (len(rows) + 1) + dp(4) * len(rows),
    )
    for keys in rows:
        line = GridLayout(cols=max(len(r) for r in rows), spacing=dp(4))
        for key in keys:
            line.add_widget(
                button(
                    key,
                    act(partial(keyboard.press, key)),
                    app.palette,
                    sizes,
                    name=f"key:{key}",
                    height=dp(sizes.key),
                )
            )
        pad.add_widget(line)
    controls = BoxLayout(spacing=dp(4))
    if switchable:
        other = Layout.LATIN if keyboard.layout is Layout.ZHUYIN else Layout.ZHUYIN
        controls.add_widget(
            button(
                words(f"keyboard.{other.value}"),
                act(keyboard.switch_layout),
                app.palette,
                sizes,
                name="layout",
                height=dp(sizes.key),
            )
        )
    controls.add_widget(
        button(
            words("keyboard.backspace"),
            act(keyboard.backspace),
            app.palette,
            sizes,
            name="backspace",
            height=dp(sizes.key),
        )
    )
    controls.add_widget(
        button(
            words("keyboard.clear"),
            act(keyboard.clear),
            app.palette,
            sizes,
            name="clear",
            height=dp(sizes.key),
        )
    )
    pad.add_widget(controls)
    return pad
