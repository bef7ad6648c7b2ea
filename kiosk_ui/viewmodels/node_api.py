"""What the view-models need of the node: the part of ``node_client.NodeClient`` they call, as a Protocol,
so a view-model's signature says what it uses (and the kiosk's benchmark can count the calls)."""

from collections.abc import Iterable, Iterator
from typing import Protocol

from models.catalog import Category
from models.einvoice import EInvoice
from models.end_of_day import XReport, ZReport
from models.node_api import (
    CartPublic,
    CartQuote,
    EnrollmentResult,
    Health,
    Page,
    ProductPublic,
    ProductSummary,
    ReceiptAccess,
    ReferencesDeleted,
    StaffSession,
)
from models.order_states import OrderStatus
from models.returns import OrderReturn, OrderWithReturns
from models.sales import Order, PaymentMethod


class NodeApi(Protocol):
    def health(self) -> Health: ...

    def list_categories(self) -> list[Category]: ...

    def search_products(
        self,
        q: str | None = None,
        *,
        category_id: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Page[ProductSummary]: ...

    def get_product(self, product_id: str) -> ProductPublic: ...

    def create_cart(self, items: Iterable[tuple[str, int]] = ()) -> CartPublic: ...

    def add_item(self, cart_id: str, variant_id: str, quantity: int = 1) -> CartPublic: ...

    def set_item_quantity(self, cart_id: str, item_id: str, quantity: int) -> CartPublic: ...

    def remove_item(self, cart_id: str, item_id: str) -> CartPublic: ...

    def quote_cart(self, cart_id: str, coupon_code: str | None = None) -> CartQuote: ...

    def claim_handoff(self, code: str) -> CartPublic: ...

    def checkout(
        self,
        cart_id: str,
        payment_method: PaymentMethod,
        *,
        coupon_code: str | None = None,
        idempotency_key: str | None = None,
        expected_total: int | None = None,
        einvoice: EInvoice | None = None,
    ) -> Order: ...

    def receipt_access(self, cart_id: str) -> ReceiptAccess: ...

    # staff mode

    def staff_login(self, name: str, pin: str) -> StaffSession: ...

    def staff_logout(self) -> None: ...

    def get_order(self, order_id: str) -> OrderWithReturns: ...

    def iter_orders(
        self, *, status: OrderStatus | None = None, page_size: int = 100
    ) -> Iterator[OrderWithReturns]: ...

    def transition_order(
        self, order_id: str, to_status: OrderStatus, note: str | None = None
    ) -> OrderWithReturns: ...

    def return_items(
        self,
        order_id: str,
        items: Iterable[tuple[str, int]],
        note: str | None = None,
        idempotency_key: str | None = None,
    ) -> OrderReturn: ...

    def end_of_day_preview(self, opening_float: int = 0, counted_cash: int | None = None) -> XReport: ...

    def close_day(
        self,
        opening_float: int,
        *,
        counted_cash: int | None = None,
        note: str | None = None,
        idempotency_key: str | None = None,
    ) -> ZReport: ...

    # teaching the recogniser a product (a staff token)

    def enroll(self, variant_id: str, images: Iterable[bytes]) -> EnrollmentResult: ...

    def delete_references(self, variant_id: str) -> ReferencesDeleted: ...
