"""SQLAlchemy table definitions for data that edge (SQLite) and cloud (Postgres) hold in the same shape.

Declarations only: no engine, no I/O. Each side copies the tables it needs into its own ``MetaData`` with
``Table.to_metadata`` and adds its own tables beside them. Columns are snake_case in SQL (no quoting needed
on Postgres); the JSON on the wire is camelCase.
"""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData()

ID = String(64)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stored: datetime = value
        return stored.replace(tzinfo=UTC) if stored.tzinfo is None else stored.astimezone(UTC)


categories = Table(
    "categories",
    metadata,
    Column("category_id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("name_en", String(200), nullable=False, default=""),
    Column("parent_id", ID, nullable=True),
)

brands = Table(
    "brands",
    metadata,
    Column("brand_id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("name_en", String(200), nullable=False, default=""),
)

products = Table(
    "products",
    metadata,
    Column("product_id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("name_en", String(200), nullable=False, default=""),
    Column("description", Text, nullable=False, default=""),
    Column("category_id", ID, nullable=True, index=True),
    Column("sub_category_id", ID, nullable=True),
    Column("brand_id", ID, nullable=True),
    Column("condition", String(16), nullable=True),
    Column("listed", Boolean, nullable=False, default=True),
    Column("image_url", Text, nullable=True),
)

variants = Table(
    "variants",
    metadata,
    Column("variant_id", ID, primary_key=True),
    Column(
        "product_id", ID, ForeignKey("products.product_id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("name", String(200), nullable=False),
    Column("name_en", String(200), nullable=False, default=""),
    Column("price", Integer, CheckConstraint("price >= 0", name="price_not_negative"), nullable=False),
    Column("barcode", String(32), nullable=True, index=True),
    Column("sku", String(64), nullable=True),
    Column("is_default", Boolean, nullable=False, default=False),
    Column("listed", Boolean, nullable=False, default=True),
)

discounts = Table(
    "discounts",
    metadata,
    Column("discount_id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column(
        "percent", Integer, CheckConstraint("percent BETWEEN 0 AND 100", name="percent_range"), nullable=False
    ),
    Column("product_id", ID, nullable=True, index=True),
    Column("variant_id", ID, nullable=True, index=True),
    Column("starts_at", UTCDateTime, nullable=True),
    Column("ends_at", UTCDateTime, nullable=True),
    Column("active", Boolean, nullable=False, default=True),
)

coupons = Table(
    "coupons",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("value", Integer, nullable=False),
    Column("min_spend", Integer, nullable=False, default=0),
    Column("max_uses", Integer, nullable=True),
    Column("starts_at", UTCDateTime, nullable=True),
    Column("ends_at", UTCDateTime, nullable=True),
    Column("active", Boolean, nullable=False, default=True),
)

orders = Table(
    "orders",
    metadata,
    Column("order_id", ID, primary_key=True),
    Column("store_id", ID, nullable=False),
    Column("device_id", ID, nullable=True),
    Column("channel", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("currency", String(3), nullable=False, default="TWD"),
    Column("subtotal", Integer, nullable=False),
    Column("discount_total", Integer, nullable=False),
    Column("coupon_code", String(32), nullable=True),
    Column("coupon_discount", Integer, nullable=False, default=0),
    Column("total", Integer, CheckConstraint("total >= 0", name="total_not_negative"), nullable=False),
    Column("catalog_version", Integer, nullable=True),
    # The shopper's e-invoice choice, {"kind", "value"} (models.einvoice.EInvoice); null when not asked.
    Column("einvoice", JSON(none_as_null=True), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_orders_store_created", "store_id", "created_at"),
)

order_items = Table(
    "order_items",
    metadata,
    Column("item_id", ID, primary_key=True),
    Column("order_id", ID, ForeignKey("orders.order_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("product_id", ID, nullable=False),
    Column("variant_id", ID, nullable=False),
    Column("name", String(200), nullable=False),
    Column("variant_name", String(200), nullable=False),
    Column("quantity", Integer, CheckConstraint("quantity > 0", name="quantity_positive"), nullable=False),
    Column("unit_price", Integer, nullable=False),
    Column("unit_discount", Integer, nullable=False),
    Column("unit_final_price", Integer, nullable=False),
    Column("line_total", Integer, nullable=False),
    Column("discount_id", ID, nullable=True),
)

payments = Table(
    "payments",
    metadata,
    Column("payment_id", ID, primary_key=True),
    Column("order_id", ID, ForeignKey("orders.order_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("method", String(16), nullable=False),
    Column("amount", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

order_returns = Table(
    "order_returns",
    metadata,
    Column("return_id", ID, primary_key=True),
    Column("order_id", ID, ForeignKey("orders.order_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("store_id", ID, nullable=False),
    Column("device_id", ID, nullable=False),
    Column("refund", Integer, CheckConstraint("refund >= 0", name="refund_not_negative"), nullable=False),
    Column("refund_method", String(16), nullable=False),
    # Who took the return at the counter, as the return says (a cloud account's id or a node-local one's).
    Column("staff_id", ID, nullable=True),
    Column("staff_name", String(64), nullable=True),
    Column("note", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)
"""Partial returns of in-store sales (``models.returns.OrderReturn``): made at the node that sold the order,
kept by the cloud as it sent them."""

order_return_items = Table(
    "order_return_items",
    metadata,
    Column("return_id", ID, ForeignKey("order_returns.return_id", ondelete="CASCADE"), primary_key=True),
    Column("item_id", ID, ForeignKey("order_items.item_id", ondelete="CASCADE"), primary_key=True),
    Column(
        "quantity", Integer, CheckConstraint("quantity > 0", name="return_quantity_positive"), nullable=False
    ),
    # Units of the line earlier returns brought back: this return's units follow them (models.returns).
    Column("returned_before", Integer, nullable=False),
)

stock_deltas = Table(
    "stock_deltas",
    metadata,
    Column("delta_id", ID, primary_key=True),
    Column("store_id", ID, nullable=False),
    Column("variant_id", ID, nullable=False),
    Column("quantity", Integer, CheckConstraint("quantity <> 0", name="delta_not_zero"), nullable=False),
    Column("reason", String(16), nullable=False),
    Column("ref_id", ID, nullable=True, index=True),
    Column("note", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_stock_deltas_store_variant", "store_id", "variant_id"),
)

footfall_events = Table(
    "footfall_events",
    metadata,
    Column("event_id", ID, primary_key=True),
    Column("store_id", ID, nullable=False),
    Column("device_id", ID, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("direction", String(8), nullable=False),
    Column("source", String(8), nullable=False),
    Index("ix_footfall_store_time", "store_id", "occurred_at"),
)
