"""cloud recognition photos: which reference photos came from the seller's cloud-enrolled set (their cloud
photo id), and the cloud photos the node refused for good (issue 18)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 23:00:00
"""

import sqlalchemy as sa
from alembic import op

import models.tables

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("recognition_photos", sa.Column("cloud_photo_id", sa.String(length=64), nullable=True))
    op.create_index(
        "ux_recognition_photos_cloud_photo_id",
        "recognition_photos",
        ["cloud_photo_id"],
        unique=True,
        sqlite_where=sa.text("cloud_photo_id IS NOT NULL"),
    )
    op.create_table(
        "recognition_photo_refusals",
        sa.Column("cloud_photo_id", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("refused_at", models.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cloud_photo_id"),
    )


def downgrade() -> None:
    op.drop_table("recognition_photo_refusals")
    op.drop_index("ux_recognition_photos_cloud_photo_id", table_name="recognition_photos")
    # A plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not a batch copy: dropping the old table of a
    # copy would cascade to recognition_embeddings.
    op.drop_column("recognition_photos", "cloud_photo_id")
