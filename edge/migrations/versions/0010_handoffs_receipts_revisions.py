"""phones over Bluetooth: cart hand-off codes, receipt tokens, and per product the catalog version its
listing last changed at (for catalog changes since a version)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 04:00:00
"""

import sqlalchemy as sa
from alembic import op

import models.tables

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cart_handoffs",
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column("cart_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", models.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", models.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", models.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_cart_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["cart_id"], ["carts.cart_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_index("ix_cart_handoffs_cart_id", "cart_handoffs", ["cart_id"])
    op.create_table(
        "receipt_tokens",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("token", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.order_id"]),
        sa.PrimaryKeyConstraint("order_id"),
    )
    # Empty here: the node fills it for the products it holds when it opens (edge.catalog_changes), which
    # needs the node's own digest of each product, not something a migration should compute.
    op.create_table(
        "product_revisions",
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("product_id"),
    )
    op.create_index("ix_product_revisions_version", "product_revisions", ["version"])


def downgrade() -> None:
    op.drop_index("ix_product_revisions_version", table_name="product_revisions")
    op.drop_table("product_revisions")
    op.drop_table("receipt_tokens")
    op.drop_index("ix_cart_handoffs_cart_id", table_name="cart_handoffs")
    op.drop_table("cart_handoffs")
