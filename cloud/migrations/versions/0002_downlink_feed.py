"""downlink feed per store, HLC stamps on order events, model file versions (sync issue)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 08:50:00
"""

import sqlalchemy as sa
from alembic import op

import models.tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("stores", sa.Column("downlink_seq", sa.BigInteger(), server_default="0", nullable=False))
    op.add_column("order_events", sa.Column("hlc", sa.String(length=96), nullable=True))
    op.add_column("order_events", sa.Column("device_id", sa.String(length=64), nullable=True))
    op.create_table(
        "downlink_feed",
        sa.Column("store_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", models.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.store_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("store_id", "seq"),
    )
    op.create_table(
        "model_files",
        sa.Column("seller_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("blob_key", sa.String(length=512), nullable=False),
        sa.Column("created_at", models.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["seller_id"], ["sellers.seller_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("seller_id", "name", "version"),
    )


def downgrade() -> None:
    op.drop_table("model_files")
    op.drop_table("downlink_feed")
    op.drop_column("order_events", "device_id")
    op.drop_column("order_events", "hlc")
    op.drop_column("stores", "downlink_seq")
