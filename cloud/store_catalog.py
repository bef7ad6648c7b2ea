"""The catalog one store sells, as a versioned ``models.catalog.CatalogSnapshot``, and the changes between
two versions as a ``sync_protocol`` ``CatalogDelta``: what sync sends to a store node, and what field staff
can load into a node by hand (``edgestore edge load-catalog``).

The version is the seller's catalog version, so a node applies a snapshot only if it is newer than the
one it holds, and a delta only if it starts from it. Snapshot stock levels are this store's, derived from
its deltas; the snapshot also says which of them it counts (feed position, each device's stockDeltas seqs)
so a node can add what it sold since. It carries the store's staff accounts as of that feed position, with
their PIN hashes: a node that starts from a snapshot never sees the feed before it.
"""

import gzip
import hashlib
from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, select

from cloud import catalog, sellers, staff, stock
from cloud.media.blob_store import BlobStore
from cloud.media.metadata_store import MetadataStore
from cloud.tables import (
    brands,
    catalog_changes,
    categories,
    coupons,
    devices,
    discounts,
    products,
    stores,
    sync_streams,
    variants,
)
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
from sync_protocol.encoding import DEFAULT_MAX_DOWNLINK_BYTES, encode
from sync_protocol.envelope import (
    MAX_CATALOG_CHANGES,
    CatalogAnnouncement,
    CatalogChange,
    CatalogDelta,
    CatalogEntity,
    ChangeOp,
)
from sync_protocol.streams import Stream

SNAPSHOT_PREFIX = "catalog-snapshots"
"""Blob keys of published snapshots: ``catalog-snapshots/{storeId}/{version}-{sha256}.json.gz`` (gzip-coded;
``.json`` before, identity)."""
# Level 6 on a 97 MB 100k-product catalog: see docs/performance.md; the cloud compresses once per version.
SNAPSHOT_GZIP_LEVEL = 6


def _products(
    conn: Connection, meta: MetadataStore, seller_id: str, only: Collection[str] | None = None
) -> list[Product]:
    """The seller's live products that have variants (all, or ``only`` these ids), oldest first."""
    stmt = (
        select(products)
        .where(products.c.seller_id == seller_id, products.c.deleted_at.is_(None))
        .order_by(products.c.created_at, products.c.product_id)
    )
    vstmt = select(variants).where(variants.c.seller_id == seller_id)
    if only is not None:
        stmt = stmt.where(products.c.product_id.in_(list(only)))
        vstmt = vstmt.where(variants.c.product_id.in_(list(only)))
    product_rows = conn.execute(stmt).all()
    by_product: dict[str, list[Variant]] = {}
    for v in conn.execute(vstmt.order_by(variants.c.product_id, variants.c.position)):
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
    return [
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


def _brands(conn: Connection, seller_id: str, brand_ids: Collection[str]) -> list[Brand]:
    """The brands the seller's products name, among those the seller sees (curated or its own): another
    seller's brand never reaches this seller's stores, whatever a product row says.

    Brands change nothing in ``catalog_changes``: a brand reaches a store only with a product that names it
    (in a snapshot, or in a delta beside that product), so creating one, shared or private, moves no
    seller's catalog version and logs nothing in anyone's change log."""
    return [
        Brand(brand_id=b.brand_id, name=b.name, name_en=b.name_en)
        for b in conn.execute(
            select(brands)
            .where(brands.c.brand_id.in_(list(brand_ids)), catalog.visible_brands(seller_id))
            .order_by(brands.c.brand_id)
        )
    ]


def _discount(d: Any) -> Discount:
    return Discount(
        discount_id=d.discount_id,
        name=d.name,
        percent=d.percent,
        product_id=d.product_id,
        variant_id=d.variant_id,
        starts_at=d.starts_at,
        ends_at=d.ends_at,
        active=d.active,
    )


def _coupon(c: Any) -> Coupon:
    return Coupon(
        code=c.code,
        kind=CouponKind(c.kind),
        value=c.value,
        min_spend=c.min_spend,
        max_uses=c.max_uses,
        starts_at=c.starts_at,
        ends_at=c.ends_at,
        active=c.active,
    )


def _sells(d: Any, product_ids: Collection[str], variant_ids: Collection[str]) -> bool:
    """Whether a discount applies to something the store's catalog holds."""
    return (d.product_id is None or d.product_id in product_ids) and (
        d.variant_id is None or d.variant_id in variant_ids
    )


def snapshot_for_store(
    conn: Connection, meta: MetadataStore, seller_id: str, store_id: str
) -> CatalogSnapshot:
    store = sellers.get_store(conn, seller_id, store_id)
    version = catalog.current_version(conn, seller_id)
    product_list = _products(conn, meta, seller_id)
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
        brands=_brands(conn, seller_id, {p.brand_id for p in product_list if p.brand_id}),
        products=product_list,
        discounts=[
            _discount(d)
            for d in conn.execute(
                select(discounts).where(discounts.c.seller_id == seller_id, discounts.c.deleted_at.is_(None))
            )
            if _sells(d, product_ids, known_variants)
        ],
        coupons=[
            _coupon(c)
            for c in conn.execute(
                select(coupons).where(coupons.c.seller_id == seller_id, coupons.c.deleted_at.is_(None))
            )
        ],
        stock=[
            StockLevel(variant_id=vid, quantity=level)
            for vid, level in sorted(levels.items())
            if vid in known_variants
        ],
        downlink_seq=conn.execute(
            select(stores.c.downlink_seq).where(stores.c.store_id == store_id)
        ).scalar_one(),
        stock_counted={
            row.device_id: [int(row.high_water), *sorted(int(s) for s in row.above)]
            for row in conn.execute(
                select(sync_streams.c.device_id, sync_streams.c.high_water, sync_streams.c.above)
                .join(devices, devices.c.device_id == sync_streams.c.device_id)
                .where(devices.c.store_id == store_id, sync_streams.c.stream == Stream.STOCK_DELTAS.value)
            )
        },
        # Read in the same transaction as downlinkSeq: the accounts as of that feed position.
        staff=staff.records_for_store(conn, store_id),
    )


def catalog_delta(
    conn: Connection,
    meta: MetadataStore,
    seller_id: str,
    store_id: str,
    held_version: int,
    *,
    max_bytes: int = DEFAULT_MAX_DOWNLINK_BYTES,
) -> CatalogDelta | None:
    """The changes from ``held_version`` to the seller's current version, each entity as it is now; None
    when there is nothing newer, or when a delta cannot say it (too many changes, more than ``max_bytes`` as
    JSON, a log that does not reach back that far): the node then takes a snapshot.

    ``max_bytes`` is the most a node takes in one downlink message (compressed or not, it bounds what it
    inflates to): a larger delta would be refused there and come again at every status, where a snapshot
    travels by URL whatever its size."""
    current = catalog.current_version(conn, seller_id)
    if held_version >= current or held_version < 1:
        return None
    touched = _touched_since(conn, seller_id, held_version)
    if touched is None:
        return None  # the log does not reach back to the node's version
    if sum(len(ids) for ids in touched.values()) > MAX_CATALOG_CHANGES // 2:
        return None  # a snapshot says it more cheaply
    changes = [
        *_product_changes(conn, meta, seller_id, touched.get("product", set())),
        *_discount_changes(conn, seller_id, touched.get("discount", set())),
        *_coupon_changes(conn, touched.get("coupon", set())),
    ]
    delta = CatalogDelta(
        store_id=store_id, from_version=held_version, to_version=current, changes=tuple(changes)
    )
    return delta if len(encode(delta)) <= max_bytes else None


def _touched_since(conn: Connection, seller_id: str, held_version: int) -> dict[str, set[str]] | None:
    """The ids of each kind of entity (``product``, ``discount``, ``coupon``) the seller's catalog changed
    after ``held_version``; None when the change log does not start right after it (nothing newer, or
    pruned)."""
    rows = conn.execute(
        select(catalog_changes.c.entity, catalog_changes.c.entity_id, catalog_changes.c.version)
        .where(catalog_changes.c.seller_id == seller_id, catalog_changes.c.version > held_version)
        .order_by(catalog_changes.c.version)
    ).all()
    if not rows or rows[0].version != held_version + 1:
        return None
    touched: dict[str, set[str]] = {}
    for row in rows:
        touched.setdefault(row.entity, set()).add(row.entity_id)
    return touched


def _product_changes(
    conn: Connection, meta: MetadataStore, seller_id: str, product_ids: set[str]
) -> list[CatalogChange]:
    """The changed products as they are now (gone ones removed), preceded by the brands they name: a brand
    reaches a store only beside a product that names it."""
    live = {p.product_id: p for p in _products(conn, meta, seller_id, product_ids)}
    changes = [
        _upsert(CatalogEntity.BRAND, brand.brand_id, brand)
        for brand in _brands(conn, seller_id, {p.brand_id for p in live.values() if p.brand_id})
    ]
    for product_id in sorted(product_ids):
        if product_id in live:
            changes.append(_upsert(CatalogEntity.PRODUCT, product_id, live[product_id]))
        else:
            changes.append(_remove(CatalogEntity.PRODUCT, product_id))
    return changes


def _discount_changes(conn: Connection, seller_id: str, discount_ids: set[str]) -> list[CatalogChange]:
    """The changed discounts as they are now; one deleted, or on nothing the store's catalog holds, is
    removed."""
    if not discount_ids:
        return []
    # Which products and variants the store's catalog holds (ids only: no metadata documents needed).
    in_catalog = (
        select(variants.c.product_id, variants.c.variant_id)
        .join(products, products.c.product_id == variants.c.product_id)
        .where(products.c.seller_id == seller_id, products.c.deleted_at.is_(None))
    )
    catalog_rows = conn.execute(in_catalog).all()
    store_products = {r.product_id for r in catalog_rows}
    store_variants = {r.variant_id for r in catalog_rows}
    changes: list[CatalogChange] = []
    for d in conn.execute(select(discounts).where(discounts.c.discount_id.in_(list(discount_ids)))):
        if d.deleted_at is None and _sells(d, store_products, store_variants):
            changes.append(_upsert(CatalogEntity.DISCOUNT, d.discount_id, _discount(d)))
        else:
            changes.append(_remove(CatalogEntity.DISCOUNT, d.discount_id))
    return changes


def _coupon_changes(conn: Connection, coupon_ids: set[str]) -> list[CatalogChange]:
    """The changed coupons as they are now, by code (what the store knows them by); deleted ones removed."""
    changes: list[CatalogChange] = []
    for c in conn.execute(select(coupons).where(coupons.c.coupon_id.in_(list(coupon_ids)))):
        if c.deleted_at is None:
            changes.append(_upsert(CatalogEntity.COUPON, c.code, _coupon(c)))
        else:
            changes.append(_remove(CatalogEntity.COUPON, c.code))
    return changes


def _upsert(entity: CatalogEntity, entity_id: str, model: Any) -> CatalogChange:
    return CatalogChange(entity=entity, op=ChangeOp.UPSERT, entity_id=entity_id, data=model.to_json_dict())


def _remove(entity: CatalogEntity, entity_id: str) -> CatalogChange:
    return CatalogChange(entity=entity, op=ChangeOp.REMOVE, entity_id=entity_id)


def publish_snapshot(
    conn: Connection, meta: MetadataStore, blobs: BlobStore, seller_id: str, store_id: str, base_url: str
) -> CatalogAnnouncement:
    """Write the store's snapshot to the blob store (once per content) and announce it: the node fetches
    it from the cloud's file route, checks size and SHA-256, and applies it if it is newer."""
    return store_snapshot(blobs, snapshot_for_store(conn, meta, seller_id, store_id), base_url)


def store_snapshot(blobs: BlobStore, snapshot: CatalogSnapshot, base_url: str) -> CatalogAnnouncement:
    """A snapshot as it travels: its JSON's size and SHA-256 in the announcement, its bytes stored gzip-coded
    (once per content) under a key the cloud's file route serves with ``Content-Encoding: gzip``."""
    if snapshot.store_id is None:
        raise ValueError("a snapshot to announce names its store")
    data = snapshot.model_dump_json(by_alias=True).encode()
    sha = hashlib.sha256(data).hexdigest()
    # A tenth of the bytes on the wire; the announcement's size and SHA-256 stay the JSON's, which every HTTP
    # client gets back by decoding, so a node that predates this reads it as before. ``.json.gz``: a key of
    # its own, never an older identity object under the same name.
    key = f"{SNAPSHOT_PREFIX}/{snapshot.store_id}/{snapshot.version}-{sha}.json.gz"
    if not blobs.exists(key):
        # mtime=0: the same JSON makes the same bytes (and ETag) whichever cloud process publishes it.
        coded = gzip.compress(data, compresslevel=SNAPSHOT_GZIP_LEVEL, mtime=0)
        blobs.put(key, coded, "application/json", content_encoding="gzip")
    return CatalogAnnouncement(
        store_id=snapshot.store_id,
        version=snapshot.version,
        snapshot_url=f"{base_url}/files/{key}",
        sha256=sha,
        size=len(data),
    )
