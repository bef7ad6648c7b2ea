"""orders keep the shopper's e-invoice choice, as the store sent it (issue 17)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 18:00:00

0007, not 0008: another branch adds 0008, and the merge re-chains this onto it. Orders received before have
none (the shopper was not asked).
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("einvoice", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    op.drop_column("orders", "einvoice")
