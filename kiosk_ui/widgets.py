"""The kiosk's few building blocks, themed once: panels with a background, labels that wrap or shorten
instead of overflowing, and buttons that are big enough to touch. Screens build from these only."""

from collections.abc import Callable
from typing import Any

from kivy.core.text import Label as CoreLabel
from kivy.graphics import Color, Rectangle
from kivy.metrics import dp, sp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.label import Label

from kiosk_ui.theme import Colour, Palette, Sizes


def text_width(text: str, size: float) -> float:
    """How wide ``text`` draws at ``size`` sp in the kiosk's font (Chinese is about twice Latin's width)."""
    label = CoreLabel(text=text, font_size=sp(size))
    label.refresh()
    return float(label.texture.size[0])


class Panel(BoxLayout):
    """A box with a background colour."""

    def __init__(self, colour: Colour, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        with self.canvas.before:
            self._colour = Color(*colour)
            self._rect = Rectangle(pos=self.pos, size=self.size)
        self.bind(pos=self._redraw, size=self._redraw)

    def _redraw(self, *_: object) -> None:
        self._rect.pos, self._rect.size = self.pos, self.size


class Text(Label):
    """Text that never spills out of its box: wrapped to its width (``lines`` > 1) or shortened with an
    ellipsis (one line)."""

    def __init__(
        self,
        text: str,
        *,
        size: float,
        colour: Colour,
        bold: bool = False,
        lines: int = 1,
        halign: str = "left",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            text=text,
            font_size=sp(size),
            color=colour,
            bold=bold,
            halign=halign,
            valign="middle",
            shorten=lines == 1,
            shorten_from="right",
            max_lines=lines,
            **kwargs,
        )
        self.bind(size=self._fit)

    def _fit(self, *_: object) -> None:
        self.text_size = (self.width, self.height if self.max_lines == 1 else None)


def button(
    text: str,
    on_press: Callable[[], object],
    palette: Palette,
    sizes: Sizes,
    *,
    accent: bool = False,
    name: str = "",
    **kwargs: Any,
) -> Button:
    """A touch target ``sizes.touch`` dp tall unless told otherwise (never under 48 dp: the keyboard's keys
    are ``sizes.key``); ``name`` lets tests and screenshots find it."""
    options: dict[str, Any] = {
        "text": text,
        "font_size": sp(sizes.body),
        "background_normal": "",
        "background_disabled_normal": "",
        "background_color": palette.accent if accent else palette.surface,
        "color": palette.on_accent if accent else palette.text,
        "size_hint_y": None,
        "height": dp(sizes.touch),
        "halign": "center",
        "valign": "middle",
        "shorten": True,
    }
    widget = Button(**(options | kwargs))
    widget.bind(size=lambda w, s: setattr(w, "text_size", (s[0] - dp(8), None)))
    widget.bind(on_release=lambda *_: on_press())
    widget.kiosk_name = name
    return widget
