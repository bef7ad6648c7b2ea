"""The sellers' catalog: products with variants, categories, brands, discounts and coupons.

Postgres holds what must be consistent (names, prices, listing, the catalog version); the product's MongoDB
document holds what need not be (description, attributes, per-variant metadata, images, refund rules),
and Postgres keeps that document's id. The document is written before the Postgres transaction commits: a
failed commit leaves an orphan document nobody points to, never a product without its document.

Every change bumps the seller's catalog version in the same transaction and logs what changed at that
version, so stores can follow the catalog change by change.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic.alias_generators import to_camel
from sqlalchemy import ColumnElement, Connection, and_, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from cloud import recognition_photo_sets
from cloud.media.metadata_store import MetadataStore
from cloud.tables import (
    brands,
    catalog_changes,
    catalog_versions,
    categories,
    coupons,
    discounts,
    order_items,
    orders,
    products,
    variants,
)
from models.catalog import PHONE_CATEGORY_ID, CouponKind
from models.cloud_api import (
    BrandCreate,
    BrandPublic,
    CategoryPublic,
    CouponCreate,
    CouponPublic,
    CouponUpdate,
    DiscountCreate,
    DiscountPublic,
    DiscountUpdate,
    GroupBuy,
    ImagePublic,
    ProductCreate,
    ProductDetail,
    ProductOut,
    ProductUpdate,
    RefundRules,
    ShippingOption,
    VariantInput,
    VariantOut,
)
from models.errors import Conflict, InvalidInput, NotFound
from models.ids import new_id
from models.order_states import TERMINAL_STATES
from models.paging import decode_time_cursor, encode_time_cursor

# --- versioning -----------------------------------------------------------------------------------------


def bump_version(
    conn: Connection, seller_id: str, entity: str, entity_id: str, op: str, now: datetime
) -> int:
    """The seller's next catalog version, taken under the row lock so concurrent edits get distinct ones."""
    version = conn.execute(
        update(catalog_versions)
        .where(catalog_versions.c.seller_id == seller_id)
        .values(version=catalog_versions.c.version + 1)
        .returning(catalog_versions.c.version)
    ).scalar_one()
    conn.execute(
        insert(catalog_changes).values(
            seller_id=seller_id, version=version, entity=entity, entity_id=entity_id, op=op, at=now
        )
    )
    return int(version)


def current_version(conn: Connection, seller_id: str) -> int:
    return int(
        conn.execute(
            select(catalog_versions.c.version).where(catalog_versions.c.seller_id == seller_id)
        ).scalar_one()
    )


# --- reference data -------------------------------------------------------------------------------------


def list_categories(conn: Connection) -> list[CategoryPublic]:
    rows = conn.execute(
        select(categories).order_by(categories.c.parent_id.nullsfirst(), categories.c.category_id)
    )
    return [
        CategoryPublic(category_id=r.category_id, name=r.name, name_en=r.name_en, parent_id=r.parent_id)
        for r in rows
    ]


def visible_brands(seller_id: str) -> ColumnElement[bool]:
    """The brands a seller sees: the curated shared list and the seller's own, never another seller's."""
    return or_(brands.c.seller_id.is_(None), brands.c.seller_id == seller_id)


def _brand(row: Any) -> BrandPublic:
    return BrandPublic(
        brand_id=row.brand_id, name=row.name, name_en=row.name_en, shared=row.seller_id is None
    )


def list_brands(conn: Connection, seller_id: str) -> list[BrandPublic]:
    rows = conn.execute(
        select(brands).where(visible_brands(seller_id)).order_by(brands.c.name_en, brands.c.brand_id)
    )
    return [_brand(r) for r in rows]


def _same_brand(conn: Connection, seller_id: str, name: str, name_en: str) -> Any:
    """A brand the seller sees that has one of these names (either language, any case), or None."""
    names = [n.lower() for n in (name, name_en) if n]
    return conn.execute(
        select(brands)
        .where(
            visible_brands(seller_id),
            or_(
                func.lower(brands.c.name).in_(names),
                and_(brands.c.name_en != "", func.lower(brands.c.name_en).in_(names)),
            ),
        )
        .order_by(brands.c.seller_id.nullsfirst())  # the curated brand first: that is the one to use
    ).first()


def create_brand(conn: Connection, seller_id: str, body: BrandCreate) -> BrandPublic:
    """A brand of the seller's own: only that seller (and its stores) sees it. The shared list is curated
    (seeded by migrations), so one seller's addition never shows up in another's list. A name the seller
    already sees, shared or own, is that brand (409 ``brandExists`` with its id); another seller's brand of
    the same name neither blocks it nor is revealed."""
    existing = _same_brand(conn, seller_id, body.name, body.name_en)
    if existing is None:
        brand_id = new_id()
        inserted = conn.execute(
            pg_insert(brands)
            .values(brand_id=brand_id, name=body.name, name_en=body.name_en, seller_id=seller_id)
            .on_conflict_do_nothing()
            .returning(brands.c.brand_id)
        ).first()
        if inserted is not None:
            return BrandPublic(brand_id=brand_id, name=body.name, name_en=body.name_en, shared=False)
        # A concurrent create of the same name by this seller won: the per-owner name index made this insert
        # wait for its commit and then do nothing; its brand is visible now.
        existing = _same_brand(conn, seller_id, body.name, body.name_en)
    raise Conflict(
        f"brand {body.name} exists as {existing.brand_id}", code="brandExists", brand_id=existing.brand_id
    )


def _category_chain(conn: Connection, category_id: str | None) -> list[str]:
    chain: list[str] = []
    while category_id is not None and category_id not in chain:
        row = conn.execute(
            select(categories.c.parent_id).where(categories.c.category_id == category_id)
        ).first()
        if row is None:
            break
        chain.append(category_id)
        category_id = row.parent_id
    return chain


def _check_product_rules(conn: Connection, seller_id: str, fields: dict[str, Any]) -> None:
    """References exist (the brand among those the seller sees), the sub-category sits under the category,
    and phones have brand and condition."""
    _check_product_references(conn, seller_id, fields)
    _check_sub_category(conn, fields)
    _check_phone_fields(conn, fields)


def _check_product_references(conn: Connection, seller_id: str, fields: dict[str, Any]) -> None:
    """The category and sub-category named exist, and the brand is one the seller sees."""
    for key, column in (
        ("category_id", categories.c.category_id),
        ("sub_category_id", categories.c.category_id),
    ):
        value = fields.get(key)
        if value is not None and conn.execute(select(column).where(column == value)).first() is None:
            raise InvalidInput(f"unknown {to_camel(key)} {value}", field=to_camel(key))
    brand_id = fields.get("brand_id")
    if brand_id is not None:
        visible = select(brands.c.brand_id).where(brands.c.brand_id == brand_id, visible_brands(seller_id))
        if conn.execute(visible).first() is None:
            # Another seller's brand gets the answer a missing one gets: its existence is not revealed.
            raise InvalidInput(f"unknown brandId {brand_id}", code="unknownBrand", field="brandId")


def _check_sub_category(conn: Connection, fields: dict[str, Any]) -> None:
    """A sub-category comes with a category, and sits (at any depth) under it."""
    sub = fields.get("sub_category_id")
    if sub is None:
        return
    if fields.get("category_id") is None:
        raise InvalidInput("a subCategoryId needs a categoryId", field="categoryId")
    if fields["category_id"] not in _category_chain(conn, sub)[1:]:
        raise InvalidInput(f"{sub} is not a sub-category of {fields['category_id']}", field="subCategoryId")


def _check_phone_fields(conn: Connection, fields: dict[str, Any]) -> None:
    """A product filed under phones (through its category or sub-category) names a brand and a condition."""
    category, sub = fields.get("category_id"), fields.get("sub_category_id")
    if PHONE_CATEGORY_ID in _category_chain(conn, category) + _category_chain(conn, sub):
        for key in ("brand_id", "condition"):
            if fields.get(key) is None:
                raise InvalidInput(
                    f"phones need a {to_camel(key)}", code="phoneNeedsBrandAndCondition", field=to_camel(key)
                )


# --- products -------------------------------------------------------------------------------------------


def _normalise_variants(
    inputs: list[VariantInput], default_price: int | None, name: str
) -> list[VariantInput]:
    """The variants to store: exactly one default (the first unless one is marked), ids for new ones."""
    if not inputs:
        assert default_price is not None  # guaranteed by ProductCreate's validator
        inputs = [VariantInput(name=name, price=default_price, is_default=True)]
    defaults = [v for v in inputs if v.is_default]
    if len(defaults) > 1:
        raise InvalidInput("only one variant can be the default", code="twoDefaultVariants", field="variants")
    out = []
    for i, v in enumerate(inputs):
        out.append(
            v.model_copy(
                update={
                    "variant_id": v.variant_id or new_id(),
                    "is_default": v.is_default or (not defaults and i == 0),
                }
            )
        )
    ids = [v.variant_id for v in out]
    if len(set(ids)) != len(ids):
        raise InvalidInput("variant ids repeat", field="variants")
    return out


def _write_variants(conn: Connection, seller_id: str, product_id: str, items: list[VariantInput]) -> None:
    for position, v in enumerate(items):
        values = {
            "name": v.name,
            "name_en": v.name_en,
            "price": v.price,
            "barcode": v.barcode,
            "sku": v.sku,
            "is_default": v.is_default,
            "listed": v.listed,
            "position": position,
        }
        updated = conn.execute(
            update(variants)
            .where(variants.c.variant_id == v.variant_id, variants.c.product_id == product_id)
            .values(**values)
        ).rowcount
        if not updated:
            taken = conn.execute(
                select(variants.c.variant_id).where(variants.c.variant_id == v.variant_id)
            ).first()
            if taken:  # an id of another product (maybe another seller's): refuse, do not reveal
                raise InvalidInput(
                    f"variantId {v.variant_id} is not a variant of this product", field="variants"
                )
            conn.execute(
                insert(variants).values(
                    variant_id=v.variant_id, product_id=product_id, seller_id=seller_id, **values
                )
            )


def _variant_documents(items: list[VariantInput]) -> list[dict[str, Any]]:
    """The variants' part of the product's document: each one's metadata, by variant id."""
    return [{"variantId": v.variant_id, "metadata": v.metadata} for v in items]


def create_product(
    conn: Connection, meta: MetadataStore, seller_id: str, body: ProductCreate, now: datetime
) -> ProductDetail:
    fields = body.model_dump(
        by_alias=False, include={"category_id", "sub_category_id", "brand_id", "condition"}
    )
    _check_product_rules(conn, seller_id, fields)
    items = _normalise_variants(body.variants, body.price, body.name)
    product_id, metadata_id = new_id(), new_id()
    version = bump_version(conn, seller_id, "product", product_id, "upsert", now)
    meta.put(
        {
            "_id": metadata_id,
            "productId": product_id,
            "sellerId": seller_id,
            "description": body.description,
            "attributes": body.attributes,
            "variants": _variant_documents(items),
            "images": [],
            "refundRules": body.refund_rules.to_json_dict(),
            "updatedAt": now.isoformat(),
        }
    )
    conn.execute(
        insert(products).values(
            product_id=product_id,
            seller_id=seller_id,
            name=body.name,
            name_en=body.name_en,
            category_id=body.category_id,
            sub_category_id=body.sub_category_id,
            brand_id=body.brand_id,
            condition=body.condition.value if body.condition else None,
            listed=body.listed,
            metadata_id=metadata_id,
            shipping=[s.to_json_dict() for s in body.shipping],
            group_buy=body.group_buy.to_json_dict() if body.group_buy else None,
            stocked_often=body.stocked_often,
            storage_condition=body.storage_condition.value,
            catalog_version=version,
            created_at=now,
            updated_at=now,
        )
    )
    _write_variants(conn, seller_id, product_id, items)
    return get_product(conn, meta, seller_id, product_id)


def _product_row(conn: Connection, seller_id: str, product_id: str, *, lock: bool = False) -> Any:
    query = select(products).where(
        products.c.product_id == product_id,
        products.c.seller_id == seller_id,
        products.c.deleted_at.is_(None),
    )
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound(f"product {product_id} not found", code="productNotFound")
    return row


def _variant_rows(conn: Connection, product_ids: list[str]) -> dict[str, list[Any]]:
    rows = conn.execute(
        select(variants).where(variants.c.product_id.in_(product_ids)).order_by(variants.c.position)
    ).all()
    out: dict[str, list[Any]] = {pid: [] for pid in product_ids}
    for r in rows:
        out[r.product_id].append(r)
    return out


def _out(row: Any, vrows: list[Any]) -> dict[str, Any]:
    default = next((v for v in vrows if v.is_default), vrows[0] if vrows else None)
    return {
        "product_id": row.product_id,
        "name": row.name,
        "name_en": row.name_en,
        "category_id": row.category_id,
        "sub_category_id": row.sub_category_id,
        "brand_id": row.brand_id,
        "condition": row.condition,
        "listed": row.listed,
        "image_url": row.image_url,
        "price": default.price if default else 0,
        "variant_count": len(vrows),
        "catalog_version": row.catalog_version,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def get_product(conn: Connection, meta: MetadataStore, seller_id: str, product_id: str) -> ProductDetail:
    row = _product_row(conn, seller_id, product_id)
    vrows = _variant_rows(conn, [product_id])[product_id]
    doc = meta.get(row.metadata_id) or {}
    variant_meta = {v["variantId"]: v.get("metadata", {}) for v in doc.get("variants", [])}
    return ProductDetail(
        **_out(row, vrows),
        description=doc.get("description", ""),
        variants=[
            VariantOut(
                variant_id=v.variant_id,
                name=v.name,
                name_en=v.name_en,
                price=v.price,
                barcode=v.barcode,
                sku=v.sku,
                is_default=v.is_default,
                listed=v.listed,
                metadata=variant_meta.get(v.variant_id, {}),
            )
            for v in vrows
        ],
        attributes=doc.get("attributes", {}),
        images=[_image(i) for i in doc.get("images", [])],
        shipping=[ShippingOption.model_validate(s) for s in row.shipping],
        refund_rules=RefundRules.model_validate(doc["refundRules"]) if doc.get("refundRules") else None,
        group_buy=GroupBuy.model_validate(row.group_buy) if row.group_buy else None,
        stocked_often=row.stocked_often,
        storage_condition=row.storage_condition,
        metadata_id=row.metadata_id,
    )


_IMAGE_FIELDS = {f.alias or name for name, f in ImagePublic.model_fields.items()}


def _image(stored: dict[str, Any]) -> ImagePublic:
    # The document also keeps the object keys (for deletion); the API shows only the public fields.
    return ImagePublic.model_validate({k: v for k, v in stored.items() if k in _IMAGE_FIELDS})


def list_products(
    conn: Connection,
    seller_id: str,
    *,
    q: str | None = None,
    category_id: str | None = None,
    listed: bool | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[ProductOut], str | None]:
    """Newest first, keyset-paged on (createdAt, productId)."""
    query = select(products).where(products.c.seller_id == seller_id, products.c.deleted_at.is_(None))
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(products.c.name.ilike(pattern), products.c.name_en.ilike(pattern)))
    if category_id:
        query = query.where(
            or_(products.c.category_id == category_id, products.c.sub_category_id == category_id)
        )
    if listed is not None:
        query = query.where(products.c.listed.is_(listed))
    after = decode_time_cursor(cursor)
    if after:
        at, last_id = after
        query = query.where(
            or_(
                products.c.created_at < at, and_(products.c.created_at == at, products.c.product_id < last_id)
            )
        )
    rows = conn.execute(
        query.order_by(products.c.created_at.desc(), products.c.product_id.desc()).limit(limit + 1)
    ).all()
    page = rows[:limit]
    vrows = _variant_rows(conn, [r.product_id for r in page])
    items = [ProductOut(**_out(r, vrows[r.product_id])) for r in page]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = encode_time_cursor(last.created_at, last.product_id)
    return items, next_cursor


@dataclass(frozen=True)
class VariantChoice:
    """A variant with its product's names: what a form offers when the seller picks a product or a variant."""

    product_id: str
    product_name: str
    product_name_en: str
    variant_id: str
    variant_name: str
    variant_name_en: str
    price: int


def list_variant_choices(conn: Connection, seller_id: str) -> list[VariantChoice]:
    """Every variant of the seller's live products, by product name, each product's in its own order."""
    rows = conn.execute(
        select(
            products.c.product_id,
            products.c.name,
            products.c.name_en,
            variants.c.variant_id,
            variants.c.name.label("variant_name"),
            variants.c.name_en.label("variant_name_en"),
            variants.c.price,
        )
        .join(variants, variants.c.product_id == products.c.product_id)
        .where(products.c.seller_id == seller_id, products.c.deleted_at.is_(None))
        .order_by(products.c.name, products.c.product_id, variants.c.position)
    ).all()
    return [
        VariantChoice(
            r.product_id, r.name, r.name_en, r.variant_id, r.variant_name, r.variant_name_en, r.price
        )
        for r in rows
    ]


@dataclass(frozen=True)
class GroupBuyProgress:
    """A product on group buy and how far it got: units sold so far against its minimum and maximum."""

    product_id: str
    name: str
    name_en: str
    group_buy: GroupBuy
    sold: int


def group_buy_progress(conn: Connection, seller_id: str) -> list[GroupBuyProgress]:
    """The seller's live products with a group buy, the soonest to end first. Units sold count every order
    not undone (cancelled, refunded, returned), as the group-buy bell counts them."""
    sold = (
        select(order_items.c.product_id, func.sum(order_items.c.quantity).label("sold"))
        .join(orders, orders.c.order_id == order_items.c.order_id)
        .where(orders.c.seller_id == seller_id, orders.c.status.not_in([s.value for s in TERMINAL_STATES]))
        .group_by(order_items.c.product_id)
        .subquery()
    )
    rows = conn.execute(
        select(products.c.product_id, products.c.name, products.c.name_en, products.c.group_buy, sold.c.sold)
        .outerjoin(sold, sold.c.product_id == products.c.product_id)
        .where(
            products.c.seller_id == seller_id,
            products.c.deleted_at.is_(None),
            products.c.group_buy.is_not(None),
        )
    ).all()
    found = [
        GroupBuyProgress(
            r.product_id, r.name, r.name_en, GroupBuy.model_validate(r.group_buy), int(r.sold or 0)
        )
        for r in rows
        if r.group_buy  # a JSON null is not a group buy
    ]
    return sorted(found, key=lambda g: (g.group_buy.ends_at, g.product_id))


def update_product(
    conn: Connection, meta: MetadataStore, seller_id: str, product_id: str, body: ProductUpdate, now: datetime
) -> ProductDetail:
    row = _product_row(conn, seller_id, product_id, lock=True)
    changes = body.model_dump(exclude_unset=True, by_alias=False)
    merged = {
        k: changes.get(k, getattr(row, k))
        for k in ("category_id", "sub_category_id", "brand_id", "condition")
    }
    _check_product_rules(conn, seller_id, merged)
    version = bump_version(conn, seller_id, "product", product_id, "upsert", now)
    doc = meta.get(row.metadata_id) or {
        "_id": row.metadata_id,
        "productId": product_id,
        "sellerId": seller_id,
        "images": [],
    }
    values: dict[str, Any] = {
        "catalog_version": version,
        "updated_at": now,
        **_changed_columns(body, changes),
    }
    if body.variants is not None:
        items = _replace_variants(conn, seller_id, product_id, body.variants, row.name, now)
        doc["variants"] = _variant_documents(items)
    _change_document(doc, body, changes, now)
    meta.put(doc)
    conn.execute(update(products).where(products.c.product_id == product_id).values(**values))
    return get_product(conn, meta, seller_id, product_id)


def _changed_columns(body: ProductUpdate, changes: dict[str, Any]) -> dict[str, Any]:
    """The product row's columns the update sets (``changes``: the fields the request gave, even as null),
    enums and nested objects as the row stores them."""
    values: dict[str, Any] = {}
    for key in ("name", "name_en", "category_id", "sub_category_id", "brand_id", "listed", "stocked_often"):
        if key in changes:
            values[key] = changes[key]
    if "condition" in changes:
        values["condition"] = body.condition.value if body.condition else None
    if "storage_condition" in changes:
        values["storage_condition"] = body.storage_condition.value if body.storage_condition else "ambient"
    if "shipping" in changes:
        values["shipping"] = [s.to_json_dict() for s in body.shipping or []]
    if "group_buy" in changes:
        values["group_buy"] = body.group_buy.to_json_dict() if body.group_buy else None
    return values


def _replace_variants(
    conn: Connection,
    seller_id: str,
    product_id: str,
    inputs: list[VariantInput],
    product_name: str,
    now: datetime,
) -> list[VariantInput]:
    """The product's variants become ``inputs``: those left out are deleted (with their recognition photos),
    the others written. Returns them as stored (ids given to new ones, one default)."""
    items = _normalise_variants(inputs, None, product_name)
    keep = {v.variant_id for v in items}
    leaving = conn.execute(
        select(variants.c.variant_id).where(
            variants.c.product_id == product_id, variants.c.variant_id.not_in(keep)
        )
    ).scalars()
    recognition_photo_sets.forget(conn, seller_id, now, variant_ids=list(leaving))
    conn.execute(
        variants.delete().where(variants.c.product_id == product_id, variants.c.variant_id.not_in(keep))
    )
    _write_variants(conn, seller_id, product_id, items)
    return items


def _change_document(
    doc: dict[str, Any], body: ProductUpdate, changes: dict[str, Any], now: datetime
) -> None:
    """The document fields the update changes (a null clears them), and its time of change."""
    if "description" in changes:
        doc["description"] = body.description or ""
    if "attributes" in changes:
        doc["attributes"] = body.attributes or {}
    if "refund_rules" in changes:
        doc["refundRules"] = body.refund_rules.to_json_dict() if body.refund_rules else None
    doc["updatedAt"] = now.isoformat()


def delete_product(conn: Connection, seller_id: str, product_id: str, now: datetime) -> None:
    """Soft delete: orders keep pointing at it, stores are told to drop it at the next version."""
    _product_row(conn, seller_id, product_id, lock=True)
    version = bump_version(conn, seller_id, "product", product_id, "delete", now)
    recognition_photo_sets.forget(conn, seller_id, now, product_id=product_id)
    conn.execute(
        update(products)
        .where(products.c.product_id == product_id)
        .values(deleted_at=now, updated_at=now, listed=False, catalog_version=version)
    )


def set_images(conn: Connection, meta: MetadataStore, seller_id: str, product_id: str, now: datetime) -> None:
    """After an image was added or removed: new version, and the list thumbnail follows the first image."""
    row = _product_row(conn, seller_id, product_id, lock=True)
    doc = meta.get(row.metadata_id) or {}
    images = doc.get("images", [])
    version = bump_version(conn, seller_id, "product", product_id, "upsert", now)
    conn.execute(
        update(products)
        .where(products.c.product_id == product_id)
        .values(image_url=images[0]["thumbUrl"] if images else None, catalog_version=version, updated_at=now)
    )


def product_metadata_id(conn: Connection, seller_id: str, product_id: str) -> str:
    return str(_product_row(conn, seller_id, product_id).metadata_id)


# --- discounts and coupons ------------------------------------------------------------------------------


def _check_window(starts_at: datetime | None, ends_at: datetime | None) -> None:
    if starts_at and ends_at and ends_at <= starts_at:
        raise InvalidInput("endsAt must be after startsAt", field="endsAt")


def _discount(row: Any) -> DiscountPublic:
    return DiscountPublic(
        discount_id=row.discount_id,
        name=row.name,
        description=row.description,
        percent=row.percent,
        product_id=row.product_id,
        variant_id=row.variant_id,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        active=row.active,
    )


def create_discount(conn: Connection, seller_id: str, body: DiscountCreate, now: datetime) -> DiscountPublic:
    _check_window(body.starts_at, body.ends_at)
    if body.product_id is not None:
        _product_row(conn, seller_id, body.product_id)
    if body.variant_id is not None:
        owner = conn.execute(
            select(variants.c.product_id).where(
                variants.c.variant_id == body.variant_id, variants.c.seller_id == seller_id
            )
        ).first()
        if owner is None:
            raise NotFound(f"variant {body.variant_id} not found", code="variantNotFound")
        if body.product_id is not None and owner.product_id != body.product_id:
            raise InvalidInput("variantId is not a variant of productId", field="variantId")
    discount_id = new_id()
    bump_version(conn, seller_id, "discount", discount_id, "upsert", now)
    conn.execute(
        insert(discounts).values(
            discount_id=discount_id, seller_id=seller_id, created_at=now, **body.to_row()
        )
    )
    return get_discount(conn, seller_id, discount_id)


def _live_row(conn: Connection, table: Any, key: Any, seller_id: str, ident: str, what: str) -> Any:
    """The seller's row with that id, unless deleted; another seller's is 'not found' like a missing one."""
    row = conn.execute(
        select(table).where(key == ident, table.c.seller_id == seller_id, table.c.deleted_at.is_(None))
    ).first()
    if row is None:
        raise NotFound(f"{what} {ident} not found", code=f"{what}NotFound")
    return row


def get_discount(conn: Connection, seller_id: str, discount_id: str) -> DiscountPublic:
    return _discount(_live_row(conn, discounts, discounts.c.discount_id, seller_id, discount_id, "discount"))


def list_discounts(conn: Connection, seller_id: str) -> list[DiscountPublic]:
    rows = conn.execute(
        select(discounts)
        .where(discounts.c.seller_id == seller_id, discounts.c.deleted_at.is_(None))
        .order_by(discounts.c.created_at.desc())
    )
    return [_discount(r) for r in rows]


def update_discount(
    conn: Connection, seller_id: str, discount_id: str, body: DiscountUpdate, now: datetime
) -> DiscountPublic:
    current = get_discount(conn, seller_id, discount_id)
    changes = body.model_dump(exclude_unset=True, by_alias=False)
    _check_window(changes.get("starts_at", current.starts_at), changes.get("ends_at", current.ends_at))
    bump_version(conn, seller_id, "discount", discount_id, "upsert", now)
    if changes:
        conn.execute(update(discounts).where(discounts.c.discount_id == discount_id).values(**changes))
    return get_discount(conn, seller_id, discount_id)


def delete_discount(conn: Connection, seller_id: str, discount_id: str, now: datetime) -> None:
    get_discount(conn, seller_id, discount_id)
    bump_version(conn, seller_id, "discount", discount_id, "delete", now)
    conn.execute(
        update(discounts).where(discounts.c.discount_id == discount_id).values(deleted_at=now, active=False)
    )


def _coupon(row: Any) -> CouponPublic:
    return CouponPublic(
        coupon_id=row.coupon_id,
        code=row.code,
        kind=row.kind,
        value=row.value,
        min_spend=row.min_spend,
        max_uses=row.max_uses,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        active=row.active,
    )


def create_coupon(conn: Connection, seller_id: str, body: CouponCreate, now: datetime) -> CouponPublic:
    if body.kind is CouponKind.PERCENT and body.value > 100:
        raise InvalidInput("a percent coupon's value is at most 100", field="value")
    _check_window(body.starts_at, body.ends_at)
    code = body.code.upper()  # codes are typed by shoppers: one spelling, case-insensitive
    taken = conn.execute(
        select(coupons.c.coupon_id).where(coupons.c.seller_id == seller_id, coupons.c.code == code)
    ).first()
    if taken:
        raise Conflict(f"coupon code {code} exists", code="couponCodeTaken", field="code")
    coupon_id = new_id()
    bump_version(conn, seller_id, "coupon", coupon_id, "upsert", now)
    conn.execute(
        insert(coupons).values(
            coupon_id=coupon_id,
            seller_id=seller_id,
            created_at=now,
            **{**body.to_row(), "code": code, "kind": body.kind.value},
        )
    )
    return get_coupon(conn, seller_id, coupon_id)


def get_coupon(conn: Connection, seller_id: str, coupon_id: str) -> CouponPublic:
    return _coupon(_live_row(conn, coupons, coupons.c.coupon_id, seller_id, coupon_id, "coupon"))


def coupon_uses(conn: Connection, seller_id: str) -> dict[str, int]:
    """How many of the seller's orders carry each coupon code (codes in capitals, as coupons keep them)."""
    code = func.upper(orders.c.coupon_code)
    rows = conn.execute(
        select(code, func.count())
        .where(orders.c.seller_id == seller_id, orders.c.coupon_code.is_not(None))
        .group_by(code)
    ).all()
    return {str(c): int(n) for c, n in rows}


def list_coupons(conn: Connection, seller_id: str) -> list[CouponPublic]:
    rows = conn.execute(
        select(coupons)
        .where(coupons.c.seller_id == seller_id, coupons.c.deleted_at.is_(None))
        .order_by(coupons.c.created_at.desc())
    )
    return [_coupon(r) for r in rows]


def update_coupon(
    conn: Connection, seller_id: str, coupon_id: str, body: CouponUpdate, now: datetime
) -> CouponPublic:
    current = get_coupon(conn, seller_id, coupon_id)
    changes = body.model_dump(exclude_unset=True, by_alias=False)
    _check_window(current.starts_at, changes.get("ends_at", current.ends_at))
    bump_version(conn, seller_id, "coupon", coupon_id, "upsert", now)
    if changes:
        conn.execute(update(coupons).where(coupons.c.coupon_id == coupon_id).values(**changes))
    return get_coupon(conn, seller_id, coupon_id)


def delete_coupon(conn: Connection, seller_id: str, coupon_id: str, now: datetime) -> None:
    get_coupon(conn, seller_id, coupon_id)
    bump_version(conn, seller_id, "coupon", coupon_id, "delete", now)
    conn.execute(update(coupons).where(coupons.c.coupon_id == coupon_id).values(deleted_at=now, active=False))
