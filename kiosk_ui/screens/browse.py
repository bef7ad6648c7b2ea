"""Browse and search: the categories, the search line with its on-screen keyboard (Zhuyin or Latin), and
the products as a grid that fetches the next page as it is scrolled (RecycleView: only the tiles on screen
exist, so a 10,000-product catalog scrolls as smoothly as a small one)."""

from functools import partial
from typing import Any

from kivy.metrics import dp
from kivy.properties import StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.recycleview import RecycleView
from kivy.uix.recycleview.views import RecycleDataViewBehavior
from kivy.uix.scrollview import ScrollView

from kiosk_ui.screens.base import KioskScreen
from kiosk_ui.screens.keypad import keypad
from kiosk_ui.screens.phone_cart import open_phone_cart
from kiosk_ui.theme import SMALL
from kiosk_ui.widgets import Panel, Text, button, text_width
from models.node_api import ProductSummary

LOAD_MORE_AT = 0.15  # of the list left below the view


class ProductTile(RecycleDataViewBehavior, ButtonBehavior, BoxLayout):
    """One product in the grid: its name, its price after discount, and whether it is in stock."""

    title = StringProperty("")
    price = StringProperty("")
    note = StringProperty("")
    product_id = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(orientation="vertical", padding=dp(8), **kwargs)
        self._labels: list[Text] = []

    def refresh_view_attrs(self, rv: Any, index: int, data: dict[str, Any]) -> None:
        screen: BrowseScreen = rv.screen
        palette, sizes = screen.app.palette, screen.app.sizes
        if not self._labels:
            with self.canvas.before:
                from kivy.graphics import Color, Rectangle

                Color(*palette.surface)
                self._rect = Rectangle(pos=self.pos, size=self.size)
            self.bind(
                pos=lambda *_: setattr(self._rect, "pos", self.pos),
                size=lambda *_: setattr(self._rect, "size", self.size),
            )
            self._labels = [
                Text("", size=sizes.body, colour=palette.text, bold=True, lines=2),
                Text("", size=sizes.price, colour=palette.text),
                Text("", size=sizes.body * 0.85, colour=palette.muted),
            ]
            for label in self._labels:
                self.add_widget(label)
        self._labels[0].text, self._labels[1].text, self._labels[2].text = (
            data["title"],
            data["price"],
            data["note"],
        )
        super().refresh_view_attrs(rv, index, data)
        self.kiosk_name = f"product:{self.product_id}"
        self._screen = screen

    def on_release(self) -> None:
        self._screen.open_product(self.product_id)


class ProductGrid(RecycleView):
    def __init__(self, screen: "BrowseScreen", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.screen = screen
        from kivy.uix.recyclegridlayout import RecycleGridLayout

        sizes = screen.app.sizes
        layout = RecycleGridLayout(
            cols=sizes.columns,
            default_size=(None, dp(sizes.touch * 1.6)),
            default_size_hint=(1, None),
            size_hint_y=None,
            spacing=dp(sizes.gap),
        )
        layout.bind(minimum_height=layout.setter("height"))
        self.add_widget(layout)
        # After the layout: a RecycleView given its view class first never makes a view.
        self.viewclass = ProductTile
        self.bind(scroll_y=self._near_end)

    def _near_end(self, _rv: Any, scroll_y: float) -> None:
        if scroll_y < LOAD_MORE_AT:
            self.screen.load_more()


class BrowseScreen(KioskScreen):
    def build(self, body: BoxLayout) -> None:
        app, words, kiosk = self.app, self.words, self.app.kiosk
        if not (
            self.keyboard_open and app.sizes is SMALL
        ):  # a 7-inch screen gives the header's room to results
            body.add_widget(self.header(words("browse.title")))
        body.add_widget(self._search_row())
        if app.problem:
            body.add_widget(self.problem_line())
        if not self.keyboard_open:  # while typing, the results get the room
            body.add_widget(self._categories())
        self.grid = ProductGrid(self)
        self.grid.data = [self._tile(p) for p in kiosk.catalog.items]
        if kiosk.catalog.loaded and not kiosk.catalog.items:
            body.add_widget(
                Text(words("browse.nothing"), size=app.sizes.body, colour=app.palette.muted, halign="center")
            )
        else:
            body.add_widget(self.grid)
        if self.keyboard_open:
            body.add_widget(self._keyboard())

    keyboard_open = False

    def _tile(self, product: ProductSummary) -> dict[str, Any]:
        """A tile's three lines: the name, the price to pay, and under it the price before a discount or
        "sold out" (the price line stays short, so it never needs shortening)."""
        words = self.words
        if product.stock <= 0:
            note = words("browse.soldOut")
        elif product.final_price < product.price:
            note = words("browse.was", was=words.money(product.price))
        else:
            note = ""
        return {
            "title": words.name(product.name, product.name_en),
            "price": words.money(product.final_price),
            "note": note,
            "product_id": product.product_id,
        }

    def _search_row(self) -> BoxLayout:
        app, words, keyboard = self.app, self.words, self.app.kiosk.keyboard
        row = BoxLayout(size_hint_y=None, height=dp(app.sizes.touch), spacing=dp(app.sizes.gap))
        shown = Panel(app.palette.surface, padding=(dp(12), 0))
        shown.add_widget(
            Text(
                keyboard.text or words("browse.searchHint"),
                size=app.sizes.body,
                colour=app.palette.text if keyboard.text else app.palette.muted,
            )
        )
        row.add_widget(shown)
        if app.kiosk.session.can_scan:
            row.add_widget(
                button(
                    words("browse.scan"),
                    lambda: app.go("scan"),
                    app.palette,
                    app.sizes,
                    name="scan",
                    size_hint_x=None,
                    width=dp(app.sizes.touch * 1.6),
                )
            )
        if not self.keyboard_open:  # while typing, the search line keeps its room
            label = words("phoneCart.entry")
            row.add_widget(
                button(
                    label,
                    lambda: open_phone_cart(app, "browse"),
                    app.palette,
                    app.sizes,
                    name="phoneCart",
                    size_hint_x=None,
                    width=max(dp(app.sizes.touch * 2.2), text_width(label, app.sizes.body) + dp(24)),
                )
            )
        row.add_widget(
            button(
                words("browse.keyboard") if not self.keyboard_open else words("browse.hideKeyboard"),
                self.toggle_keyboard,
                app.palette,
                app.sizes,
                name="keyboard",
                size_hint_x=None,
                width=dp(app.sizes.touch * 2.2),
            )
        )
        return row

    def _categories(self) -> ScrollView:
        app, words, catalog = self.app, self.words, self.app.kiosk.catalog
        strip = ScrollView(size_hint_y=None, height=dp(app.sizes.touch), do_scroll_y=False)
        row = BoxLayout(size_hint_x=None, spacing=dp(app.sizes.gap))
        row.bind(minimum_width=row.setter("width"))
        choices = [(None, words("browse.all"))] + [
            (c.category_id, words.name(c.name, c.name_en)) for c in catalog.categories
        ]
        for category_id, label in choices:
            chosen = category_id == catalog.category_id
            row.add_widget(
                button(
                    label,
                    partial(self.choose_category, category_id),
                    app.palette,
                    app.sizes,
                    accent=chosen,
                    name=f"category:{category_id or 'all'}",
                    size_hint_x=None,
                    width=max(dp(app.sizes.touch * 1.6), text_width(label, app.sizes.body) + dp(32)),
                )
            )
        strip.add_widget(row)
        return strip

    def _keyboard(self) -> BoxLayout:
        return keypad(self.app, self.app.kiosk.keyboard, self._search)

    # --- touches --------------------------------------------------------------------------------------

    def toggle_keyboard(self) -> None:
        self.keyboard_open = not self.keyboard_open
        self.render()

    def _search(self) -> None:
        """After every key: the node searches what is typed so far (the list follows the typing)."""
        kiosk = self.app.kiosk
        text = kiosk.keyboard.text
        self.app.call_node(lambda: kiosk.catalog.search(text), lambda _: self.render())

    def choose_category(self, category_id: str | None) -> None:
        catalog = self.app.kiosk.catalog
        self.app.call_node(lambda: catalog.choose_category(category_id), lambda _: self.render())

    def load_more(self) -> None:
        catalog = self.app.kiosk.catalog
        if catalog.has_more and not self.app.busy:
            self.app.call_node(catalog.load_more, lambda _: self._append())

    def _append(self) -> None:
        self.grid.data = [self._tile(p) for p in self.app.kiosk.catalog.items]

    def open_product(self, product_id: str) -> None:
        self.app.kiosk.product_id = product_id
        self.app.go("product")
