"""the till's journal and the Z-reports that close it: end of day (issue 17)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10 18:00:00

0005, not 0006: another branch adds 0006 (partial returns), and the merge re-chains this onto it.

What the till did before this revision is entered in the journal as still open, so the node's first
Z-report covers it: no sale or refund made at the till escapes a Z-report.
"""

import sqlalchemy as sa
from alembic import op

import models.tables

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "till_entries",
        sa.Column("entry_id", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("at", models.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("z_report_number", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.order_id"]),
        sa.PrimaryKeyConstraint("entry_id"),
    )
    op.create_index("ix_till_entries_order_id", "till_entries", ["order_id"])
    op.create_index("ix_till_entries_z_report_number", "till_entries", ["z_report_number"])
    op.create_table(
        "z_reports",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("z_report_id", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("closed_at", models.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("number"),
        sa.UniqueConstraint("idempotency_key"),
        sa.UniqueConstraint("z_report_id"),
    )
    # The sales made here, and the refunds this node's counter made (a change the cloud sent down gave
    # nothing back at this till), as edge.till enters them.
    op.execute(
        "INSERT INTO till_entries (entry_id, kind, order_id, at) "
        "SELECT 'sale:' || order_id, 'sale', order_id, created_at FROM orders"
    )
    op.execute(
        "INSERT OR IGNORE INTO till_entries (entry_id, kind, order_id, at) "
        "SELECT 'refund:' || order_id, 'refund', order_id, received_at FROM order_transitions "
        "WHERE actor = 'store' AND to_status IN ('refunded', 'returned', 'cancelled') "
        "AND device_id = (SELECT value FROM node_state WHERE key = 'deviceId')"
    )


def downgrade() -> None:
    op.drop_table("z_reports")
    op.drop_index("ix_till_entries_z_report_number", table_name="till_entries")
    op.drop_index("ix_till_entries_order_id", table_name="till_entries")
    op.drop_table("till_entries")
