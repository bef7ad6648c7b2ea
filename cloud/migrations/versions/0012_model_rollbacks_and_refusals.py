"""model files: rollbacks, what each device serves, and the files a device refused (issue 18)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 20:30:00
"""

import sqlalchemy as sa
from alembic import op

import models.tables

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("model_files", sa.Column("rolled_back_from", sa.Integer(), nullable=True))
    op.add_column("devices", sa.Column("models", sa.JSON(), nullable=True))
    op.create_table(
        "model_refusals",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.String(length=64), nullable=False),
        sa.Column("store_id", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("refused_at", models.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.device_id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["seller_id"], ["sellers.seller_id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["store_id"], ["stores.store_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("device_id", "name", "version"),
    )
    op.create_index("ix_model_refusals_seller_model", "model_refusals", ["seller_id", "name", "version"])


def downgrade() -> None:
    op.drop_index("ix_model_refusals_seller_model", table_name="model_refusals")
    op.drop_table("model_refusals")
    op.drop_column("devices", "models")
    op.drop_column("model_files", "rolled_back_from")
