"""curated shared brands beside each seller's own; image upload grants used once (issue 15)

Brands were one list every seller wrote to. Now a brand with ``seller_id`` NULL is curated and shared (the
list below, seeded here), and ``POST /brands`` makes a brand of the caller's own. What the shared list held
before is sorted out once, here:

* a brand named like a curated one (either language, any case) stays shared: it *is* that brand;
* a brand only one seller's products name becomes that seller's own;
* a brand several sellers' products name stays shared (splitting it would mean rewriting their products);
* a brand no product names is deleted: nobody can be told to own it, and its creator can add it again.

``upload_grant_uses`` records each step of an image upload grant when it happens, so a grant is used once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# (brand id, zh-TW name, English name). The phone makers come first: a phone needs a brand
# (models.catalog.PHONE_CATEGORY_ID), so the brands of the phones sold in Taiwan must be on the list.
CURATED_BRANDS = (
    ("apple", "Apple", "Apple"),
    ("samsung", "三星", "Samsung"),
    ("asus", "華碩", "ASUS"),
    ("google", "Google", "Google"),
    ("sony", "索尼", "Sony"),
    ("xiaomi", "小米", "Xiaomi"),
    ("oppo", "OPPO", "OPPO"),
    ("vivo", "vivo", "vivo"),
    ("realme", "realme", "realme"),
    ("motorola", "摩托羅拉", "Motorola"),
    ("nokia", "諾基亞", "Nokia"),
    ("htc", "宏達電", "HTC"),
    ("oneplus", "一加", "OnePlus"),
    ("huawei", "華為", "Huawei"),
    ("sharp", "夏普", "Sharp"),
    ("nothing", "Nothing", "Nothing"),
    # electronics and phone accessories
    ("acer", "宏碁", "Acer"),
    ("lenovo", "聯想", "Lenovo"),
    ("lg", "LG", "LG"),
    ("panasonic", "國際牌", "Panasonic"),
    ("tatung", "大同", "Tatung"),
    ("logitech", "羅技", "Logitech"),
    ("anker", "Anker", "Anker"),
    # food and drink
    ("uni-president", "統一", "Uni-President"),
    ("imei", "義美", "I-Mei"),
    ("hey-song", "黑松", "Hey Song"),
    ("wei-chuan", "味全", "Wei Chuan"),
    ("kuang-chuan", "光泉", "Kuang Chuan"),
    ("want-want", "旺旺", "Want Want"),
    ("kuai-kuai", "乖乖", "Kuai Kuai"),
    ("taisugar", "台糖", "Taisugar"),
    ("nestle", "雀巢", "Nestlé"),
)


def _curated_values() -> tuple[str, dict[str, str]]:
    """A VALUES list of the curated brands for the statements below, and its bind parameters."""
    rows: list[str] = []
    params: dict[str, str] = {}
    for i, (brand_id, name, name_en) in enumerate(CURATED_BRANDS):
        rows.append(f"(:id{i}, :name{i}, :en{i})")
        params |= {f"id{i}": brand_id, f"name{i}": name, f"en{i}": name_en}
    return "VALUES " + ", ".join(rows), params


def upgrade() -> None:
    op.add_column("brands", sa.Column("seller_id", sa.String(length=64), nullable=True))
    op.create_foreign_key(
        "brands_seller_id_fkey", "brands", "sellers", ["seller_id"], ["seller_id"], ondelete="CASCADE"
    )
    values, params = _curated_values()
    conn = op.get_bind()
    # Seed the curated list, skipping a brand already there under its id or one of its names (the first
    # migration's seed, or the same brand a seller added).
    conn.execute(
        sa.text(
            f"""
            INSERT INTO brands (brand_id, name, name_en, seller_id)
            SELECT c.brand_id, c.name, c.name_en, NULL FROM ({values}) AS c (brand_id, name, name_en)
            WHERE NOT EXISTS (
                SELECT 1 FROM brands b
                WHERE b.brand_id = c.brand_id
                   OR lower(b.name) IN (lower(c.name), lower(c.name_en))
                   OR (b.name_en <> '' AND lower(b.name_en) IN (lower(c.name), lower(c.name_en)))
            )
            """
        ),
        params,
    )
    # Every other brand was some seller's addition to the shared list (see the docstring for what happens).
    uncurated = f"""
        brands.brand_id NOT IN (SELECT c.brand_id FROM ({values}) AS c (brand_id, name, name_en))
        AND NOT EXISTS (
            SELECT 1 FROM ({values}) AS c (brand_id, name, name_en)
            WHERE lower(brands.name) IN (lower(c.name), lower(c.name_en))
               OR (brands.name_en <> '' AND lower(brands.name_en) IN (lower(c.name), lower(c.name_en)))
        )
    """
    conn.execute(
        sa.text(
            f"""
            UPDATE brands SET seller_id = used.seller_id
            FROM (
                SELECT brand_id, min(seller_id) AS seller_id FROM products
                WHERE brand_id IS NOT NULL
                GROUP BY brand_id
                HAVING count(DISTINCT seller_id) = 1
            ) AS used
            WHERE brands.brand_id = used.brand_id AND {uncurated}
            """
        ),
        params,
    )
    conn.execute(
        sa.text(
            f"""
            DELETE FROM brands
            WHERE seller_id IS NULL
              AND NOT EXISTS (SELECT 1 FROM products p WHERE p.brand_id = brands.brand_id)
              AND {uncurated}
            """
        ),
        params,
    )
    op.create_index(
        "ux_brands_shared_name",
        "brands",
        [sa.text("lower(name)")],
        unique=True,
        postgresql_where=sa.text("seller_id IS NULL"),
    )
    op.create_index(
        "ux_brands_seller_name",
        "brands",
        ["seller_id", sa.text("lower(name)")],
        unique=True,
        postgresql_where=sa.text("seller_id IS NOT NULL"),
    )

    op.create_table(
        "upload_grant_uses",
        sa.Column("blob_key", sa.String(length=512), nullable=False),
        sa.Column("step", sa.String(length=8), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("blob_key", "step"),
    )


def downgrade() -> None:
    op.drop_table("upload_grant_uses")
    op.drop_index("ux_brands_seller_name", table_name="brands")
    op.drop_index("ux_brands_shared_name", table_name="brands")
    # Sellers' own brands become shared again (the old model had no other kind); the curated rows stay,
    # since products may name them.
    op.drop_constraint("brands_seller_id_fkey", "brands", type_="foreignkey")
    op.drop_column("brands", "seller_id")
