"""The node's read-only catalog cache: loading a versioned snapshot, searching, and product detail."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from edge import node_state, product_revisions, search_index, stock
from edge.prepared import Prepared
from edge.snapshot_stream import SnapshotParts, parts_of
from edge.tables import brands, categories, coupons, discounts, product_search, products, variants
from edge.tables import product_revisions as revisions
from models.catalog import CatalogHead, CatalogSnapshot, Category, Coupon, Discount, Product, StockLevel
from models.errors import Conflict, NotFound
from models.ids import new_id
from models.node_api import (
    CatalogChanges,
    DiscountPublic,
    Page,
    ProductPublic,
    ProductSummary,
    VariantPublic,
)
from models.paging import decode_cursor, encode_cursor
from models.pricing import LineInput, best_discount, price_line
from models.stock import StockDelta, StockReason


def load_snapshot(
    conn: Connection,
    snapshot: CatalogSnapshot | SnapshotParts,
    at: datetime,
    *,
    take_stock: bool = True,
    uncounted: dict[str, int] | None = None,
) -> int:
    """Apply a whole catalog at a newer version, in the caller's (write) transaction.

    Products and variants are upserted; ones missing from the snapshot are unlisted, not deleted, because
    carts and past orders still refer to them. With ``take_stock``, the snapshot's levels are a count: the
    difference to the current level is written as a ``count`` delta, plus ``uncounted`` (sales made here
    that the levels do not include yet). Each product whose listing changed gets the snapshot's version as
    its revision (``edge.product_revisions``); the store's name, when the snapshot names it, is kept.
    Returns the number of products applied.

    A snapshot read from its file (``edge.snapshot_stream``) is applied a chunk of products at a time as it
    is read; a fault found in it (a ``ValueError``) stops the apply, and the caller's transaction, rolled
    back, leaves the catalog as it was.
    """
    parts = parts_of(snapshot)
    head = parts.head
    first = node_state.catalog_version(conn) is None
    _check_newer(conn, head.version)
    store_id = _claim_store(conn, head.store_id)
    if head.store_name is not None:
        node_state.put(conn, node_state.STORE_NAME, head.store_name)
    rules_before = product_revisions.listing_rules_digest(conn)
    _replace_small_tables(conn, head)
    count = _replace_products(conn, parts.products())
    product_revisions.after_change(conn, head.version, rules_before)
    if first:  # a phone's copy from before the node's first catalog is nothing the node can bring up to date
        node_state.put(conn, node_state.CATALOG_RESET_VERSION, str(head.version))
    if take_stock:
        _take_stock(conn, head, parts.stock(), store_id, at, uncounted or {})
    else:
        for _levels in parts.stock():
            pass  # read all the same: a snapshot whose levels name unknown variants is refused whole
    node_state.put(conn, node_state.CATALOG_VERSION, str(head.version))
    return count


def _check_newer(conn: Connection, version: int) -> None:
    """A snapshot replaces the catalog only with a newer version: an older one is refused."""
    current = node_state.catalog_version(conn)
    if current is not None and version <= current:
        raise Conflict(
            f"catalog version {version} is not newer than the loaded version {current}",
            code="staleCatalog",
            loaded_version=current,
        )


def _claim_store(conn: Connection, snapshot_store_id: str | None) -> str:
    """The node's store: the one it has, or the one the snapshot names (then kept); a snapshot for another
    store than the node's, or no store on either side, is refused."""
    store_id = node_state.get(conn, node_state.STORE_ID)
    if snapshot_store_id is not None:
        if store_id is not None and store_id != snapshot_store_id:
            raise Conflict(
                f"this node belongs to store {store_id}, the catalog is for {snapshot_store_id}",
                code="wrongStore",
            )
        store_id = snapshot_store_id
        node_state.put(conn, node_state.STORE_ID, store_id)
    if store_id is None:
        raise Conflict(
            "the node has no store id: set EDGESTORE_STORE_ID or load a catalog that names one",
            code="noStoreId",
        )
    return store_id


def _replace_small_tables(conn: Connection, snapshot: CatalogHead) -> None:
    """Categories, brands, discounts and coupons: replaced outright by the snapshot's."""
    for table in (categories, brands, discounts, coupons):
        conn.execute(delete(table))
    _insert_many(conn, categories, [c.to_row() for c in snapshot.categories])
    _insert_many(conn, brands, [b.to_row() for b in snapshot.brands])
    _insert_many(conn, discounts, [d.to_row() for d in snapshot.discounts])
    _insert_many(conn, coupons, [c.to_row() for c in snapshot.coupons])


def _replace_products(conn: Connection, chunks: Iterable[Sequence[Product]]) -> int:
    """The snapshot's products listed and searchable, every other one unlisted (kept for carts and past
    orders); how many the snapshot has. Written a chunk of products at a time, each table in one statement
    per chunk (a whole catalog is 100,000 products: one statement per row cost minutes)."""
    conn.execute(update(products).values(listed=False))
    conn.execute(update(variants).values(listed=False))
    conn.execute(delete(product_search))
    count = 0
    for chunk in chunks:
        _upsert_products(conn, chunk)
        count += len(chunk)
    return count


def _upserting(table: Any, key: str) -> Any:
    """An upsert of ``table``'s rows on ``key``, every other column taken from the row, for executemany."""
    stmt = sqlite_insert(table)
    return stmt.on_conflict_do_update(
        index_elements=[table.c[key]],
        set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name != key},
    )


def _upsert_products(conn: Connection, batch: Sequence[Product]) -> None:
    """``upsert_product`` for many products whose old variants are unlisted already."""
    conn.execute(_upserting(products, "product_id"), [p.to_row(exclude={"variants"}) for p in batch])
    rows = [v.to_row() | {"product_id": p.product_id} for p in batch for v in p.variants]
    if rows:
        conn.execute(_upserting(variants, "variant_id"), rows)
    search_index.put_many(conn, batch)


def _take_stock(
    conn: Connection,
    head: CatalogHead,
    chunks: Iterable[Sequence[StockLevel]],
    store_id: str,
    at: datetime,
    uncounted: dict[str, int],
) -> None:
    """The snapshot's levels as a count: each variant's difference to its level here (plus ``uncounted``)
    written as a ``count`` delta, a chunk of levels at a time, and the feed position the levels include
    remembered."""
    for chunk in chunks:
        counted = {level.variant_id: level.quantity for level in chunk}
        deltas = [
            StockDelta(
                delta_id=new_id(),
                store_id=store_id,
                variant_id=variant_id,
                quantity=difference,
                reason=StockReason.COUNT,
                note=f"catalog v{head.version}",
                created_at=at,
            )
            for variant_id, current_level in sorted(stock.levels(conn, counted).items())
            if (difference := counted[variant_id] + uncounted.get(variant_id, 0) - current_level)
        ]
        # The snapshot's levels are the cloud's (a catalog file stands in for the cloud): it holds them
        # already, and sending them back would count them twice.
        stock.record_new(conn, deltas)
    if head.downlink_seq is not None:  # the cloud's levels include its feed up to here
        node_state.put(conn, node_state.DOWNLINK_SEQ, str(head.downlink_seq))


def upsert_product(conn: Connection, product: Product) -> None:
    """Insert or update one product with its variants (a variant it no longer has is unlisted) and its
    search text. The caller records the change's revision (``product_revisions.after_change``), once per
    snapshot or delta, at the version it applies."""
    row = product.to_row(exclude={"variants"})
    stmt = sqlite_insert(products).values(**row)
    conn.execute(stmt.on_conflict_do_update(index_elements=[products.c.product_id], set_=row))
    conn.execute(update(variants).where(variants.c.product_id == product.product_id).values(listed=False))
    for variant in product.variants:
        vrow = variant.to_row() | {"product_id": product.product_id}
        vstmt = sqlite_insert(variants).values(**vrow)
        conn.execute(vstmt.on_conflict_do_update(index_elements=[variants.c.variant_id], set_=vrow))
    search_index.put(conn, product)


def unlist_product(conn: Connection, product_id: str) -> None:
    """Gone from the store's catalog: hidden from browsing and carts, kept for past orders. The caller
    records the revision, as for ``upsert_product``."""
    conn.execute(update(products).where(products.c.product_id == product_id).values(listed=False))
    conn.execute(update(variants).where(variants.c.product_id == product_id).values(listed=False))
    conn.execute(delete(product_search).where(product_search.c.product_id == product_id))


def upsert_row(conn: Connection, table: Any, row: dict[str, Any]) -> None:
    """Insert or replace one row of a small catalog table (category, brand, discount, coupon)."""
    key = list(table.primary_key.columns)
    stmt = sqlite_insert(table).values(**row)
    conn.execute(stmt.on_conflict_do_update(index_elements=key, set_=row))


def _insert_many(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(table), rows)


def count_products(conn: Connection) -> int:
    """How many products the node's catalog holds (listed or not)."""
    return int(conn.execute(select(func.count()).select_from(products)).scalar_one())


_DISCOUNTS = Prepared(select(discounts))


def active_discounts(conn: Connection) -> list[Discount]:
    """Every discount the node holds (each says when it is active); read at every pricing of a cart."""
    return [Discount.model_validate(row._asdict()) for row in _DISCOUNTS.rows(conn)]


def get_coupon(conn: Connection, code: str) -> Coupon | None:
    # Codes are matched case-insensitively: shoppers type them.
    row = conn.execute(select(coupons).where(func.upper(coupons.c.code) == code.upper())).first()
    return Coupon.model_validate(dict(row._mapping)) if row else None


def search_products(
    conn: Connection,
    *,
    at: datetime,
    q: str | None = None,
    category_id: str | None = None,
    cursor: str | None = None,
    limit: int = 20,
) -> Page[ProductSummary]:
    """Listed products matching ``q`` (any part of a zh-TW or English name, variant, SKU or barcode, or the
    Zhuyin initials of a name: ``edge.search_index``) and ``categoryId`` (a category or sub-category), in id
    order, one page at a time."""
    stmt = (
        select(products).where(products.c.listed.is_(True)).order_by(products.c.product_id).limit(limit + 1)
    )
    if q:
        stmt = stmt.join(product_search, product_search.c.product_id == products.c.product_id).where(
            search_index.condition(q)
        )
    if category_id:
        stmt = stmt.where(
            (products.c.category_id == category_id) | (products.c.sub_category_id == category_id)
        )
    after = decode_cursor(cursor)
    if after is not None:
        stmt = stmt.where(products.c.product_id > after)
    rows = conn.execute(stmt).all()
    page, more = rows[:limit], len(rows) > limit
    details = _variant_details(conn, [r.product_id for r in page], at)
    items = [_summary(row, details[row.product_id]) for row in page]
    return Page(items=items, next_cursor=encode_cursor(page[-1].product_id) if more and page else None)


def catalog_changes(
    conn: Connection, *, since: int, at: datetime, cursor: str | None = None, limit: int = 100
) -> CatalogChanges:
    """What changed for a phone whose cached catalog is at version ``since``: listed products whose listing
    changed after it (as the search lists them, with stock and price now) and products unlisted after it,
    in product id order, one page at a time. ``reset`` (nothing else) when changes cannot bring the copy up
    to date: the node has no catalog, ``since`` is newer than the node's version (a catalog it never had)
    or older than its reset version (discounts or categories changed since, or revisions were not kept)."""
    after = decode_cursor(cursor)  # a forged cursor is refused even when the answer is a reset
    current = node_state.catalog_version(conn)
    reset_at = node_state.catalog_reset_version(conn)
    if current is None or since > current or (reset_at is not None and since < reset_at):
        return CatalogChanges(catalog_version=current, reset=True, items=[], removed=[])
    stmt = (
        select(products)
        .join(revisions, revisions.c.product_id == products.c.product_id)
        .where(revisions.c.version > since)
        .order_by(products.c.product_id)
        .limit(limit + 1)
    )
    if after is not None:
        stmt = stmt.where(products.c.product_id > after)
    rows = conn.execute(stmt).all()
    page, more = rows[:limit], len(rows) > limit
    listed = [r for r in page if r.listed]
    details = _variant_details(conn, [r.product_id for r in listed], at)
    return CatalogChanges(
        catalog_version=current,
        reset=False,
        items=[_summary(r, details[r.product_id]) for r in listed],
        removed=[r.product_id for r in page if not r.listed],
        next_cursor=encode_cursor(page[-1].product_id) if more and page else None,
    )


def get_product(conn: Connection, product_id: str, at: datetime) -> ProductPublic:
    row = conn.execute(
        select(products).where(products.c.product_id == product_id, products.c.listed.is_(True))
    ).first()
    if row is None:
        raise NotFound(f"product {product_id} not found", code="productNotFound")
    variant_list = _variant_details(conn, [product_id], at)[product_id]
    summary = _summary(row, variant_list)
    all_discounts = active_discounts(conn)
    product_discounts = [
        d
        for d in all_discounts
        if d.product_id == product_id or (d.product_id is None and d.variant_id is None)
    ]
    best = best_discount(product_discounts, product_id, "", at)
    return ProductPublic(
        **summary.to_row(),
        description=row.description,
        sub_category_id=row.sub_category_id,
        brand_id=row.brand_id,
        condition=row.condition,
        variants=variant_list,
        active_discount=DiscountPublic(
            discount_id=best.discount_id, name=best.name, percent=best.percent, ends_at=best.ends_at
        )
        if best
        else None,
    )


def _variant_details(
    conn: Connection, product_ids: Sequence[str], at: datetime
) -> dict[str, list[VariantPublic]]:
    rows = conn.execute(
        select(variants)
        .where(variants.c.product_id.in_(product_ids), variants.c.listed.is_(True))
        .order_by(variants.c.is_default.desc(), variants.c.variant_id)
    ).all()
    levels = stock.levels(conn, [r.variant_id for r in rows])
    all_discounts = active_discounts(conn)
    result: dict[str, list[VariantPublic]] = defaultdict(list)
    for r in rows:
        result[r.product_id].append(variant_public(r, levels[r.variant_id], all_discounts, at))
    return result


def variant_public(
    row: Row[Any], level: int, all_discounts: Iterable[Discount], at: datetime
) -> VariantPublic:
    priced = price_line(
        LineInput(row.product_id, row.variant_id, row.price, 1),
        best_discount(all_discounts, row.product_id, row.variant_id, at),
    )
    return VariantPublic(
        variant_id=row.variant_id,
        name=row.name,
        name_en=row.name_en,
        barcode=row.barcode,
        sku=row.sku,
        is_default=row.is_default,
        price=row.price,
        discount_percent=priced.discount_percent,
        final_price=priced.unit_final_price,
        stock=level,
    )


def _summary(row: Row[Any], variant_list: list[VariantPublic]) -> ProductSummary:
    default = next((v for v in variant_list if v.is_default), variant_list[0] if variant_list else None)
    return ProductSummary(
        product_id=row.product_id,
        name=row.name,
        name_en=row.name_en,
        category_id=row.category_id,
        image_url=row.image_url,
        price=default.price if default else 0,
        final_price=default.final_price if default else 0,
        stock=sum(v.stock for v in variant_list),
    )


def list_categories(conn: Connection) -> list[Category]:
    rows = conn.execute(
        select(categories).order_by(categories.c.parent_id.is_not(None), categories.c.category_id)
    )
    return [Category.model_validate(dict(r._mapping)) for r in rows]
