"""orders keep the shopper's e-invoice choice (issue 17)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 18:00:00

0003, not 0004: another branch adds 0004, and the merge re-chains this onto it. The column is nullable and
orders sold before have none (the shopper was not asked).
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


# Plain ALTER TABLE, not batch mode: batch mode copies the table and drops the old one, and with foreign keys
# on (the node always has them on) dropping orders would cascade to every order's items and payments.


def upgrade() -> None:
    op.add_column("orders", sa.Column("einvoice", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    op.drop_column("orders", "einvoice")  # SQLite 3.35 and later
