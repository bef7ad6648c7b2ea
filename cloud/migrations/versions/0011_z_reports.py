"""the stores' Z-reports, as their nodes send them: end of day (issue 17)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10 18:00:00

0009, not 0010: another branch adds 0010 (partial returns), and the merge re-chains this onto it.
"""

import sqlalchemy as sa
from alembic import op

import models.tables

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "z_reports",
        sa.Column("z_report_id", sa.String(length=64), nullable=False),
        sa.Column("seller_id", sa.String(length=64), nullable=False),
        sa.Column("store_id", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("business_day", sa.Date(), nullable=False),
        sa.Column("period_end", models.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("received_at", models.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["seller_id"], ["sellers.seller_id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["store_id"], ["stores.store_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("z_report_id"),
        sa.UniqueConstraint("device_id", "number", name="ux_z_reports_device_number"),
    )
    op.create_index("ix_z_reports_store_end", "z_reports", ["store_id", "period_end", "z_report_id"])


def downgrade() -> None:
    op.drop_index("ix_z_reports_store_end", table_name="z_reports")
    op.drop_table("z_reports")
