"""what a device's last status said: online, and its health (software version, uptime, addresses, outbox
backlog) for the Devices page (issue 19)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 01:50:00
"""

import sqlalchemy as sa
from alembic import op

import models.tables

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("devices", sa.Column("online", sa.Boolean(), nullable=False, server_default="false"))
    op.add_column("devices", sa.Column("health", sa.JSON(), nullable=True))
    op.add_column("devices", sa.Column("health_at", models.tables.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("devices", "health_at")
    op.drop_column("devices", "health")
    op.drop_column("devices", "online")
