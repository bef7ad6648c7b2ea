"""each variant's stock level at each store, kept beside its deltas (issue 22)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 13:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stock_levels",
        sa.Column("store_id", sa.String(length=64), nullable=False),
        sa.Column("variant_id", sa.String(length=64), nullable=False),
        sa.Column("level", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("store_id", "variant_id"),
    )
    # The levels so far: what summing the deltas gave until now.
    op.execute(
        "INSERT INTO stock_levels (store_id, variant_id, level) "
        "SELECT store_id, variant_id, SUM(quantity) FROM stock_deltas GROUP BY store_id, variant_id"
    )


def downgrade() -> None:
    op.drop_table("stock_levels")
