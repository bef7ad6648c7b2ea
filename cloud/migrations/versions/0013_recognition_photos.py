"""recognition photos enrolled in the cloud, their set's version per seller, and the version each device holds
(issue 18)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 23:20:00
"""

import sqlalchemy as sa
from alembic import op

import models.tables

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("devices", sa.Column("recognition_photos", sa.Integer(), nullable=True))
    op.create_table(
        "recognition_photos",
        sa.Column("photo_id", sa.String(length=64), nullable=False),
        sa.Column("seller_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("variant_id", sa.String(length=64), nullable=False),
        sa.Column("blob_key", sa.String(length=512), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("created_at", models.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["seller_id"], ["sellers.seller_id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["product_id"], ["products.product_id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["variant_id"], ["variants.variant_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("photo_id"),
    )
    op.create_index("ix_recognition_photos_seller_id", "recognition_photos", ["seller_id"])
    op.create_index("ix_recognition_photos_variant_id", "recognition_photos", ["variant_id"])
    op.create_table(
        "recognition_photo_sets",
        sa.Column("seller_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", models.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["seller_id"], ["sellers.seller_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("seller_id"),
    )


def downgrade() -> None:
    op.drop_table("recognition_photo_sets")
    op.drop_index("ix_recognition_photos_variant_id", table_name="recognition_photos")
    op.drop_index("ix_recognition_photos_seller_id", table_name="recognition_photos")
    op.drop_table("recognition_photos")
    op.drop_column("devices", "recognition_photos")
