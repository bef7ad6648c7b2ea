"""The on-screen keyboard of the search box: Latin letters and digits (English names, barcodes, SKUs), and
Zhuyin (ㄅㄆㄇ) symbols, matched by the node against the initials it indexes for each Chinese name, so 「ㄓㄓㄋㄔ」
finds 珍珠奶茶 without an input method."""

from enum import StrEnum

from kiosk_ui.viewmodels.observable import Observable


class Layout(StrEnum):
    LATIN = "latin"
    ZHUYIN = "zhuyin"
    CARRIER = "carrier"  # a mobile barcode carrier: / and 0-9 A-Z . + -
    DIGITS = "digits"  # a donation code or a tax ID


# Rows of keys. Zhuyin: the 37 symbols in the order every Taiwanese child learns them (ㄅㄆㄇㄈ...), since a
# syllable without an initial starts with its medial or final, which must be typeable too.
ROWS: dict[Layout, tuple[str, ...]] = {
    Layout.LATIN: ("1234567890", "QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM"),
    Layout.ZHUYIN: ("ㄅㄆㄇㄈㄉㄊㄋㄌㄍㄎ", "ㄏㄐㄑㄒㄓㄔㄕㄖㄗㄘ", "ㄙㄧㄨㄩㄚㄛㄜㄝㄞㄟ", "ㄠㄡㄢㄣㄤㄥㄦ"),
    Layout.CARRIER: ("1234567890", "QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM/.+-"),
    Layout.DIGITS: ("1234567890",),
}
MAX_QUERY = 40


class Keyboard(Observable):
    def __init__(self) -> None:
        super().__init__()
        self.layout = Layout.ZHUYIN
        self.text = ""

    @property
    def rows(self) -> tuple[str, ...]:
        return ROWS[self.layout]

    def press(self, key: str) -> None:
        if len(self.text) < MAX_QUERY:
            self.text += key
            self.changed()

    def backspace(self) -> None:
        if self.text:
            self.text = self.text[:-1]
            self.changed()

    def clear(self) -> None:
        self.text = ""
        self.changed()

    def switch_layout(self) -> None:
        """The search box's two layouts, one after the other."""
        self.layout = Layout.LATIN if self.layout is Layout.ZHUYIN else Layout.ZHUYIN
        self.changed()

    def use(self, layout: Layout, text: str = "") -> None:
        """A fixed layout for one field (a coupon code, an e-invoice value), starting from ``text``."""
        self.layout, self.text = layout, text
        self.changed()
