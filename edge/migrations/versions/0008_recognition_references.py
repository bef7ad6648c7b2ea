"""recognition references: the reference photos of this store's variants and their embeddings per model
(issue 18)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 20:00:00
"""

import sqlalchemy as sa
from alembic import op

import models.tables

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recognition_photos",
        sa.Column("photo_id", sa.String(length=64), nullable=False),
        sa.Column("variant_id", sa.String(length=64), nullable=False),
        sa.Column("image", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", models.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("photo_id"),
    )
    op.create_index("ix_recognition_photos_variant_id", "recognition_photos", ["variant_id"])
    op.create_table(
        "recognition_embeddings",
        sa.Column("photo_id", sa.String(length=64), nullable=False),
        sa.Column("model_key", sa.String(length=64), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["photo_id"], ["recognition_photos.photo_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("photo_id", "model_key"),
    )


def downgrade() -> None:
    op.drop_table("recognition_embeddings")
    op.drop_index("ix_recognition_photos_variant_id", table_name="recognition_photos")
    op.drop_table("recognition_photos")
