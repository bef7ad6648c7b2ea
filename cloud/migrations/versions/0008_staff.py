"""store staff (their accounts go down each store's feed) and who made a store's order transition (issue 17)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 10:00:00
"""

import sqlalchemy as sa
from alembic import op

import models.tables

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("seller_id", sa.String(length=64), nullable=False),
        sa.Column("store_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("pin_hash", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("removed_at", models.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", models.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["seller_id"], ["sellers.seller_id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["store_id"], ["stores.store_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("staff_id"),
    )
    op.create_index("ix_staff_store_id", "staff", ["store_id"])
    op.create_index(
        "ux_staff_store_name",
        "staff",
        ["store_id", "name_key"],
        unique=True,
        postgresql_where=sa.text("removed_at IS NULL"),
    )
    op.add_column("order_events", sa.Column("staff_id", sa.String(length=64), nullable=True))
    op.add_column("order_events", sa.Column("staff_name", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("order_events", "staff_name")
    op.drop_column("order_events", "staff_id")
    op.drop_index("ux_staff_store_name", table_name="staff")
    op.drop_index("ix_staff_store_id", table_name="staff")
    op.drop_table("staff")
