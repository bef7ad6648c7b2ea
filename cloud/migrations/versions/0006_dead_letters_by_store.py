"""dead letters counted per store (issue 15: GET /sync/status shows a seller how many were refused)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 15:10:00
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_dead_letters_store", "dead_letters", ["store_id"])


def downgrade() -> None:
    op.drop_index("ix_dead_letters_store", table_name="dead_letters")
