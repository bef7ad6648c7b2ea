"""One product: its variants to pick from, price with the active discount, stock here, quantity, add."""

from functools import partial

from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout

from kiosk_ui.screens.base import KioskScreen
from kiosk_ui.viewmodels.catalog import ProductDetail
from kiosk_ui.widgets import Text, button


class ProductScreen(KioskScreen):
    detail: ProductDetail | None = None

    def on_pre_enter(self, *_: object) -> None:
        self.detail = None
        self.render()
        app = self.app
        product_id = app.kiosk.product_id
        assert product_id is not None
        app.call_node(lambda: ProductDetail(app.kiosk.node, product_id), self._loaded)

    def _loaded(self, detail: ProductDetail) -> None:
        self.detail = detail
        self.render()

    def build(self, body: BoxLayout) -> None:
        app, words, detail = self.app, self.words, self.detail
        if detail is None:
            body.add_widget(self.header(words("product.loading"), back="browse"))
            if app.problem:
                body.add_widget(self.problem_line())
            return
        product, variant = detail.product, detail.variant
        body.add_widget(self.header(words.name(product.name, product.name_en), back="browse"))
        if product.description:
            body.add_widget(
                Text(
                    product.description,
                    size=app.sizes.body * 0.9,
                    colour=app.palette.muted,
                    lines=3,
                    size_hint_y=None,
                    height=dp(app.sizes.body * 4),
                )
            )
        if len(product.variants) > 1:
            grid = GridLayout(cols=app.sizes.columns, spacing=dp(app.sizes.gap), size_hint_y=None)
            grid.bind(minimum_height=grid.setter("height"))
            for v in product.variants:
                grid.add_widget(
                    button(
                        words.name(v.name, v.name_en),
                        partial(self.choose, v.variant_id),
                        app.palette,
                        app.sizes,
                        accent=v.variant_id == variant.variant_id,
                        name=f"variant:{v.variant_id}",
                    )
                )
            body.add_widget(grid)
        price = words.money(variant.final_price)
        if variant.discount_percent:
            price = words(
                "product.discount",
                price=price,
                was=words.money(variant.price),
                percent=variant.discount_percent,
            )
        body.add_widget(
            Text(
                price,
                size=app.sizes.price,
                colour=app.palette.text,
                bold=True,
                size_hint_y=None,
                height=dp(app.sizes.touch),
            )
        )
        stock = words("product.inStock", n=variant.stock) if variant.stock > 0 else words("product.soldOut")
        body.add_widget(
            Text(
                stock,
                size=app.sizes.body,
                colour=app.palette.muted if variant.stock > 0 else app.palette.danger,
                size_hint_y=None,
                height=dp(app.sizes.touch * 0.6),
            )
        )
        if app.problem:
            body.add_widget(self.problem_line())
        body.add_widget(BoxLayout())
        row = BoxLayout(size_hint_y=None, height=dp(app.sizes.touch), spacing=dp(app.sizes.gap))
        row.add_widget(
            button(
                "−",
                self.fewer,
                app.palette,
                app.sizes,
                name="fewer",
                size_hint_x=None,
                width=dp(app.sizes.touch),
            )
        )
        row.add_widget(
            Text(
                str(detail.quantity),
                size=app.sizes.title,
                colour=app.palette.text,
                halign="center",
                size_hint_x=None,
                width=dp(app.sizes.touch),
            )
        )
        row.add_widget(
            button(
                "+",
                self.more,
                app.palette,
                app.sizes,
                name="more",
                size_hint_x=None,
                width=dp(app.sizes.touch),
            )
        )
        add = button(
            words("product.add"),
            self.add,
            app.palette,
            app.sizes,
            accent=True,
            name="add",
            disabled=not detail.in_stock,
        )
        row.add_widget(add)
        body.add_widget(row)

    def choose(self, variant_id: str) -> None:
        assert self.detail is not None
        self.detail.choose(variant_id)
        self.render()

    def more(self) -> None:
        assert self.detail is not None
        self.detail.more()
        self.render()

    def fewer(self) -> None:
        assert self.detail is not None
        self.detail.fewer()
        self.render()

    def add(self) -> None:
        app, detail = self.app, self.detail
        assert detail is not None
        variant_id, quantity = detail.variant.variant_id, detail.quantity
        app.call_node(lambda: app.kiosk.cart.add(variant_id, quantity), lambda _: app.go("browse"))
