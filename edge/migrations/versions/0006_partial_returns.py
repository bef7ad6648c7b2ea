"""partial returns of in-store sales: the returns, their lines, their idempotency keys (issue 17)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 10:00:00

Orders returned before this were returned whole, by a status change: they have no rows here.
"""

import sqlalchemy as sa
from alembic import op

import models.tables

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_returns",
        sa.Column("return_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("store_id", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("refund", sa.Integer(), nullable=False),
        sa.Column("refund_method", sa.String(length=16), nullable=False),
        sa.Column("staff_id", sa.String(length=64), nullable=True),
        sa.Column("staff_name", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", models.tables.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("refund >= 0", name="refund_not_negative"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.order_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("return_id"),
    )
    op.create_index("ix_order_returns_order_id", "order_returns", ["order_id"])
    op.create_table(
        "order_return_items",
        sa.Column("return_id", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("returned_before", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name="return_quantity_positive"),
        sa.ForeignKeyConstraint(["return_id"], ["order_returns.return_id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["item_id"], ["order_items.item_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("return_id", "item_id"),
    )
    op.create_table(
        "return_keys",
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("return_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", models.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["return_id"], ["order_returns.return_id"]),
        sa.PrimaryKeyConstraint("idempotency_key"),
    )


def downgrade() -> None:
    op.drop_table("return_keys")
    op.drop_table("order_return_items")
    op.drop_index("ix_order_returns_order_id", table_name="order_returns")
    op.drop_table("order_returns")
