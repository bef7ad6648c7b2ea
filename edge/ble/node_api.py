"""What the bridge needs of the node: the part of ``node_client.NodeClient`` it calls, as a Protocol, so the
bridge's signature says what it uses. These are all the node calls a phone can cause."""

from collections.abc import Iterable
from typing import Protocol

from models.node_api import (
    CartHandoff,
    CartPublic,
    CatalogChanges,
    Health,
    Page,
    ProductPublic,
    ProductSummary,
    ReceiptPublic,
)


class BridgeNodeApi(Protocol):
    def health(self) -> Health: ...

    def search_products(
        self,
        q: str | None = None,
        *,
        category_id: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Page[ProductSummary]: ...

    def catalog_changes(
        self, since: int, *, cursor: str | None = None, limit: int | None = None
    ) -> CatalogChanges: ...

    def get_product(self, product_id: str) -> ProductPublic: ...

    def create_cart(self, items: Iterable[tuple[str, int]] = ()) -> CartPublic: ...

    def get_cart(self, cart_id: str) -> CartPublic: ...

    def add_item(self, cart_id: str, variant_id: str, quantity: int = 1) -> CartPublic: ...

    def set_item_quantity(self, cart_id: str, item_id: str, quantity: int) -> CartPublic: ...

    def remove_item(self, cart_id: str, item_id: str) -> CartPublic: ...

    def hand_off_cart(self, cart_id: str) -> CartHandoff: ...

    def get_receipt(self, order_id: str, token: str) -> ReceiptPublic: ...
