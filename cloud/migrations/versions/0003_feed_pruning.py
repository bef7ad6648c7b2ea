"""device feed positions and the store feed's pruned end (sync issue)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 10:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("devices", sa.Column("downlink_seq", sa.BigInteger(), nullable=True))
    op.add_column("stores", sa.Column("feed_pruned_seq", sa.BigInteger(), server_default="0", nullable=False))


def downgrade() -> None:
    op.drop_column("stores", "feed_pruned_seq")
    op.drop_column("devices", "downlink_seq")
