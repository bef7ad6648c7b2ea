"""claim codes a store node claims its place in a store with, and the hardware id and public key of a device
that did (issue 19)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 00:20:00
"""

import sqlalchemy as sa
from alembic import op

import models.tables

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("devices", sa.Column("hardware_id", sa.String(length=128), nullable=True))
    op.add_column("devices", sa.Column("public_key", sa.Text(), nullable=True))
    op.create_table(
        "claim_codes",
        sa.Column("claim_code_id", sa.String(length=64), nullable=False),
        sa.Column("seller_id", sa.String(length=64), nullable=False),
        sa.Column("store_id", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("created_at", models.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", models.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", models.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("used_by_device_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["seller_id"], ["sellers.seller_id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["store_id"], ["stores.store_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("claim_code_id"),
        sa.UniqueConstraint("code_hash", name="ux_claim_codes_code_hash"),
    )
    op.create_index("ix_claim_codes_store_id", "claim_codes", ["store_id"])


def downgrade() -> None:
    op.drop_index("ix_claim_codes_store_id", table_name="claim_codes")
    op.drop_table("claim_codes")
    op.drop_column("devices", "public_key")
    op.drop_column("devices", "hardware_id")
