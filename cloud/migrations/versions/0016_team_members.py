"""a seller's team members (field staff) with invitations, and the member a session belongs to (issue 19)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 02:00:00
"""

import sqlalchemy as sa
from alembic import op

import models.tables

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "team_members",
        sa.Column("team_member_id", sa.String(length=64), nullable=False),
        sa.Column("seller_id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("invite_hash", sa.String(length=64), nullable=True),
        sa.Column("invite_expires_at", models.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("invited_at", models.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", models.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("removed_at", models.tables.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["seller_id"], ["sellers.seller_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("team_member_id"),
        sa.UniqueConstraint("invite_hash", name="ux_team_members_invite_hash"),
    )
    op.create_index("ix_team_members_seller_id", "team_members", ["seller_id"])
    op.create_index(
        "ux_team_members_email",
        "team_members",
        [sa.text("lower(email)")],
        unique=True,
        postgresql_where=sa.text("removed_at IS NULL"),
    )
    op.add_column("sessions", sa.Column("team_member_id", sa.String(length=64), nullable=True))
    op.create_foreign_key(
        "sessions_team_member_id_fkey",
        "sessions",
        "team_members",
        ["team_member_id"],
        ["team_member_id"],
        ondelete="CASCADE",
    )
    op.create_index("ix_sessions_team_member_id", "sessions", ["team_member_id"])


def downgrade() -> None:
    # The members' sessions would become the owner's: end them first.
    op.execute("DELETE FROM sessions WHERE team_member_id IS NOT NULL")
    op.drop_index("ix_sessions_team_member_id", table_name="sessions")
    op.drop_constraint("sessions_team_member_id_fkey", "sessions", type_="foreignkey")
    op.drop_column("sessions", "team_member_id")
    op.drop_index("ux_team_members_email", table_name="team_members")
    op.drop_index("ix_team_members_seller_id", table_name="team_members")
    op.drop_table("team_members")
