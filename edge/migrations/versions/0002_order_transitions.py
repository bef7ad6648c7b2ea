"""order transitions seen at the node, dead letters of refused downlink messages (sync issue)

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
    op.create_table(
        "dead_letters",
        sa.Column("dead_letter_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", models.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("dead_letter_id"),
    )


def downgrade() -> None:
    op.drop_table("dead_letters")
    op.drop_table("order_transitions")
