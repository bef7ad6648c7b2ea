"""How the kiosk looks: two palettes (dark by default, light), and sizes for the two screens it runs on.

Touch targets are at least 64 dp tall (the guideline's minimum is 48 dp; a kiosk is used standing, often
with a bag in the other hand), text is large enough to read from a step back, and every colour pair used
for text has a contrast ratio of at least 4.5:1 (a test checks it).
"""

from dataclasses import dataclass
from enum import StrEnum

Colour = tuple[float, float, float, float]


def hex_colour(value: str) -> Colour:
    value = value.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return (r, g, b, 1.0)


class ThemeName(StrEnum):
    DARK = "dark"
    LIGHT = "light"


@dataclass(frozen=True)
class Palette:
    background: Colour
    surface: Colour
    text: Colour
    muted: Colour
    accent: Colour  # buttons that move the sale on
    on_accent: Colour
    danger: Colour
    banner: Colour
    on_banner: Colour


PALETTES = {
    ThemeName.DARK: Palette(
        background=hex_colour("#111418"),
        surface=hex_colour("#1d232b"),
        text=hex_colour("#f4f6f8"),
        muted=hex_colour("#a9b3bf"),
        accent=hex_colour("#c7361b"),
        on_accent=hex_colour("#ffffff"),
        danger=hex_colour("#ff8a80"),
        banner=hex_colour("#f2b705"),
        on_banner=hex_colour("#111418"),
    ),
    ThemeName.LIGHT: Palette(
        background=hex_colour("#f4f5f7"),
        surface=hex_colour("#ffffff"),
        text=hex_colour("#14171a"),
        muted=hex_colour("#4d5763"),
        accent=hex_colour("#b3311a"),
        on_accent=hex_colour("#ffffff"),
        danger=hex_colour("#a51d12"),
        banner=hex_colour("#f2b705"),
        on_banner=hex_colour("#14171a"),
    ),
}


@dataclass(frozen=True)
class Sizes:
    """In dp / sp; the 7-inch 800x480 panel gets smaller type and fewer columns than the 10-inch one."""

    touch: float
    gap: float
    body: float
    title: float
    price: float
    columns: int  # of the product grid
    key: float  # on-screen keyboard keys


SMALL = Sizes(touch=64, gap=8, body=18, title=26, price=22, columns=3, key=48)
LARGE = Sizes(touch=72, gap=12, body=22, title=34, price=28, columns=4, key=64)


def sizes_for(width: int, height: int) -> Sizes:
    return LARGE if min(width, height) >= 720 else SMALL


def contrast(a: Colour, b: Colour) -> float:
    """WCAG contrast ratio of two colours."""

    def luminance(c: Colour) -> float:
        def channel(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

        return 0.2126 * channel(c[0]) + 0.7152 * channel(c[1]) + 0.0722 * channel(c[2])

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
