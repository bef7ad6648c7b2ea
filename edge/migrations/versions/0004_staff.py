"""staff accounts, their sessions and login failures; who made a store's order transition (issue 17)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08 10:00:00
"""

import sqlalchemy as sa
from alembic import op

import models.tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("pin_hash", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("updated_at", models.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("staff_id"),
    )
    op.create_index("ix_staff_name_key", "staff", ["name_key"])
    op.create_table(
        "staff_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", models.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", models.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.staff_id"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_staff_sessions_staff_id", "staff_sessions", ["staff_id"])
    op.create_table(
        "staff_login_failures",
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", models.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_until", models.tables.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name_key"),
    )
    op.create_index("ix_staff_login_failures_last_failure_at", "staff_login_failures", ["last_failure_at"])
    # Nullable columns: SQLite adds them in place, no table copy.
    op.add_column("order_transitions", sa.Column("staff_id", sa.String(length=64), nullable=True))
    op.add_column("order_transitions", sa.Column("staff_name", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("order_transitions") as batch:
        batch.drop_column("staff_name")
        batch.drop_column("staff_id")
    op.drop_index("ix_staff_login_failures_last_failure_at", table_name="staff_login_failures")
    op.drop_table("staff_login_failures")
    op.drop_index("ix_staff_sessions_staff_id", table_name="staff_sessions")
    op.drop_table("staff_sessions")
    op.drop_index("ix_staff_name_key", table_name="staff")
    op.drop_table("staff")
