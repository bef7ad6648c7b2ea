"""The catalog one store sells, as a versioned ``models.catalog.CatalogSnapshot``: what the sync issue
sends to a store node, and what field staff can load into a node by hand (``edgestore edge load-catalog``).

The version is the seller's catalog version, so a node applies a snapshot only if it is newer than the
one it holds; stock levels are this store's, derived from its deltas.
"""

from sqlalchemy import Connection, select

from cloud import catalog, sellers, stock
from cloud.media.metadata_store import MetadataStore
from cloud.tables import brands, categories, coupons, discounts, products, variants
from models.catalog import (
    Brand,
    CatalogSnapshot,
    Category,
    Condition,
    Coupon,
    CouponKind,
    Discount,
    Product,
    StockLevel,
    Variant,
)


def snapshot_for_store(
    conn: Connection, meta: MetadataStore, seller_id: str, store_id: str
) -> CatalogSnapshot:
    store = sellers.get_store(conn, seller_id, store_id)
    version = catalog.current_version(conn, seller_id)
    product_rows = conn.execute(
        select(products)
        .where(products.c.seller_id == seller_id, products.c.deleted_at.is_(None))
        .order_by(products.c.created_at, products.c.product_id)
    ).all()
    variant_rows = conn.execute(
        select(variants)
        .where(variants.c.seller_id == seller_id)
        .order_by(variants.c.product_id, variants.c.position)
    ).all()
    by_product: dict[str, list[Variant]] = {}
    for v in variant_rows:
        by_product.setdefault(v.product_id, []).append(
            Variant(
                variant_id=v.variant_id,
                name=v.name,
                name_en=v.name_en,
                price=v.price,
                barcode=v.barcode,
                sku=v.sku,
                is_default=v.is_default,
                listed=v.listed,
            )
        )
    docs = meta.get_many(r.metadata_id for r in product_rows)
    product_list = [
        Product(
            product_id=r.product_id,
            name=r.name,
            name_en=r.name_en,
            description=docs.get(r.metadata_id, {}).get("description", ""),
            category_id=r.category_id,
            sub_category_id=r.sub_category_id,
            brand_id=r.brand_id,
            condition=Condition(r.condition) if r.condition else None,
            listed=r.listed,
            image_url=r.image_url,
            variants=by_product[r.product_id],
        )
        for r in product_rows
        if by_product.get(r.product_id)
    ]
    used_brands = {p.brand_id for p in product_list if p.brand_id}
    levels = stock.levels(conn, store_id)
    known_variants = {v.variant_id for p in product_list for v in p.variants}
    product_ids = {p.product_id for p in product_list}
    return CatalogSnapshot(
        version=max(version, 1),
        store_id=store_id,
        store_name=store.name,
        categories=[
            Category(category_id=c.category_id, name=c.name, name_en=c.name_en, parent_id=c.parent_id)
            for c in conn.execute(select(categories).order_by(categories.c.category_id))
        ],
        brands=[
            Brand(brand_id=b.brand_id, name=b.name, name_en=b.name_en)
            for b in conn.execute(
                select(brands).where(brands.c.brand_id.in_(used_brands)).order_by(brands.c.brand_id)
            )
        ],
        products=product_list,
        discounts=[
            Discount(
                discount_id=d.discount_id,
                name=d.name,
                percent=d.percent,
                product_id=d.product_id,
                variant_id=d.variant_id,
                starts_at=d.starts_at,
                ends_at=d.ends_at,
                active=d.active,
            )
            for d in conn.execute(
                select(discounts).where(discounts.c.seller_id == seller_id, discounts.c.deleted_at.is_(None))
            )
            if (d.product_id is None or d.product_id in product_ids)
            and (d.variant_id is None or d.variant_id in known_variants)
        ],
        coupons=[
            Coupon(
                code=c.code,
                kind=CouponKind(c.kind),
                value=c.value,
                min_spend=c.min_spend,
                max_uses=c.max_uses,
                starts_at=c.starts_at,
                ends_at=c.ends_at,
                active=c.active,
            )
            for c in conn.execute(
                select(coupons).where(coupons.c.seller_id == seller_id, coupons.c.deleted_at.is_(None))
            )
        ],
        stock=[
            StockLevel(variant_id=vid, quantity=level)
            for vid, level in sorted(levels.items())
            if vid in known_variants
        ],
    )
