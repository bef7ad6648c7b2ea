"""Browsing and searching the store's catalog: categories, a query from the on-screen keyboard, pages of
products fetched as the shopper scrolls (a 10,000-product catalog is never fetched whole), one product
opened with its variants, stock and discount."""

from kiosk_ui.viewmodels.node_api import NodeApi
from kiosk_ui.viewmodels.observable import Observable
from models.catalog import Category
from models.node_api import ProductPublic, ProductSummary, VariantPublic

PAGE = 30


class Catalog(Observable):
    def __init__(self, node: NodeApi) -> None:
        super().__init__()
        self.node = node
        self.categories: list[Category] = []
        self.category_id: str | None = None
        self.query = ""
        self.items: list[ProductSummary] = []
        self.next_cursor: str | None = None
        self.loaded = False

    def open(self) -> None:
        """The browse screen opens: top-level categories and the first page of everything."""
        self.categories = [c for c in self.node.list_categories() if c.parent_id is None]
        self.category_id, self.query = None, ""
        self._first_page()

    def choose_category(self, category_id: str | None) -> None:
        self.category_id = category_id
        self._first_page()

    def search(self, query: str) -> None:
        self.query = query.strip()
        self._first_page()

    def _first_page(self) -> None:
        page = self.node.search_products(self.query or None, category_id=self.category_id, limit=PAGE)
        self.items, self.next_cursor, self.loaded = page.items, page.next_cursor, True
        self.changed()

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None

    def load_more(self) -> None:
        """The next page, when the list is scrolled near its end."""
        if self.next_cursor is None:
            return
        page = self.node.search_products(
            self.query or None, category_id=self.category_id, cursor=self.next_cursor, limit=PAGE
        )
        self.items = self.items + page.items
        self.next_cursor = page.next_cursor
        self.changed()


class ProductDetail(Observable):
    """One product opened: pick a variant (the default one first) and a quantity."""

    def __init__(self, node: NodeApi, product_id: str) -> None:
        super().__init__()
        self.product: ProductPublic = node.get_product(product_id)
        self.variant: VariantPublic = next(
            (v for v in self.product.variants if v.is_default), self.product.variants[0]
        )
        self.quantity = 1

    def choose(self, variant_id: str) -> None:
        self.variant = next(v for v in self.product.variants if v.variant_id == variant_id)
        self.quantity = 1
        self.changed()

    def more(self) -> None:
        if self.quantity < max(self.variant.stock, 1):
            self.quantity += 1
            self.changed()

    def fewer(self) -> None:
        if self.quantity > 1:
            self.quantity -= 1
            self.changed()

    @property
    def in_stock(self) -> bool:
        return self.variant.stock > 0
