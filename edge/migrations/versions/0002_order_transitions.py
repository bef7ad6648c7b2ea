"""order transitions seen at the node (sync issue)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 09:10:00
"""

import sqlalchemy as sa
from alembic import op

import models.tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_transitions",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("hlc", sa.String(length=96), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=16), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("received_at", models.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.order_id"]),
        sa.PrimaryKeyConstraint("order_id", "hlc", "to_status"),
    )


def downgrade() -> None:
    op.drop_table("order_transitions")
