"""The seller's catalog: products with variants, categories, brands, discounts, coupons, the version."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from cloud import catalog
from cloud.api.deps import CloudDep, CursorQuery, LimitQuery, NowDep, ProductIdPath, SellerId
from models.cloud_api import (
    BrandCreate,
    BrandPublic,
    CatalogVersion,
    CategoryPublic,
    CouponCreate,
    CouponPublic,
    CouponUpdate,
    DiscountCreate,
    DiscountPublic,
    DiscountUpdate,
    ProductCreate,
    ProductDetail,
    ProductOut,
    ProductUpdate,
)
from models.ids import ULID_PATTERN
from models.node_api import Page

router = APIRouter(tags=["catalog"])

DiscountIdPath = Annotated[str, Path(alias="discountId", pattern=ULID_PATTERN)]
CouponIdPath = Annotated[str, Path(alias="couponId", pattern=ULID_PATTERN)]


@router.get("/categories")
def list_categories(cloud: CloudDep, _seller: SellerId) -> list[CategoryPublic]:
    """Categories and sub-categories (``parentId``); products under "phones" need brand and condition."""
    with cloud.db.read() as conn:
        return catalog.list_categories(conn)


@router.get("/brands")
def list_brands(cloud: CloudDep, seller_id: SellerId) -> list[BrandPublic]:
    """The curated brands every seller sees (``shared``) and the caller's own."""
    with cloud.db.read() as conn:
        return catalog.list_brands(conn, seller_id)


@router.post("/brands", status_code=status.HTTP_201_CREATED)
def create_brand(body: BrandCreate, cloud: CloudDep, seller_id: SellerId) -> BrandPublic:
    """A brand of the caller's own, seen by no other seller; a name the caller already sees is 409
    ``brandExists`` with that brand's ``brandId``."""
    with cloud.db.transaction() as conn:
        return catalog.create_brand(conn, seller_id, body)


@router.get("/catalog/version")
def catalog_version(cloud: CloudDep, seller_id: SellerId) -> CatalogVersion:
    """The seller's catalog version: it rises with every product, discount or coupon change."""
    with cloud.db.read() as conn:
        return CatalogVersion(version=catalog.current_version(conn, seller_id))


@router.post("/products", status_code=status.HTTP_201_CREATED)
def create_product(body: ProductCreate, cloud: CloudDep, now: NowDep, seller_id: SellerId) -> ProductDetail:
    """Create a product. With no ``variants`` a default variant is made from ``name`` and ``price``."""
    with cloud.db.transaction() as conn:
        return catalog.create_product(conn, cloud.metadata, seller_id, body, now)


@router.get("/products")
def list_products(
    cloud: CloudDep,
    seller_id: SellerId,
    q: Annotated[str | None, Query(max_length=100, description="Part of the name, zh-TW or English")] = None,
    category_id: Annotated[str | None, Query(alias="categoryId", max_length=64)] = None,
    listed: bool | None = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> Page[ProductOut]:
    with cloud.db.read() as conn:
        items, next_cursor = catalog.list_products(
            conn, seller_id, q=q, category_id=category_id, listed=listed, cursor=cursor, limit=limit
        )
    return Page[ProductOut](items=items, next_cursor=next_cursor)


@router.get("/products/{productId}")
def get_product(product_id: ProductIdPath, cloud: CloudDep, seller_id: SellerId) -> ProductDetail:
    with cloud.db.read() as conn:
        return catalog.get_product(conn, cloud.metadata, seller_id, product_id)


@router.patch("/products/{productId}")
def update_product(
    product_id: ProductIdPath, body: ProductUpdate, cloud: CloudDep, now: NowDep, seller_id: SellerId
) -> ProductDetail:
    with cloud.db.transaction() as conn:
        return catalog.update_product(conn, cloud.metadata, seller_id, product_id, body, now)


@router.delete("/products/{productId}", status_code=status.HTTP_204_NO_CONTENT)
def delete_product(product_id: ProductIdPath, cloud: CloudDep, now: NowDep, seller_id: SellerId) -> Response:
    with cloud.db.transaction() as conn:
        catalog.delete_product(conn, seller_id, product_id, now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/discounts", status_code=status.HTTP_201_CREATED)
def create_discount(
    body: DiscountCreate, cloud: CloudDep, now: NowDep, seller_id: SellerId
) -> DiscountPublic:
    """A percent-off sale on a variant, a product, or (neither given) all the seller's products."""
    with cloud.db.transaction() as conn:
        return catalog.create_discount(conn, seller_id, body, now)


@router.get("/discounts")
def list_discounts(cloud: CloudDep, seller_id: SellerId) -> list[DiscountPublic]:
    with cloud.db.read() as conn:
        return catalog.list_discounts(conn, seller_id)


@router.patch("/discounts/{discountId}")
def update_discount(
    discount_id: DiscountIdPath, body: DiscountUpdate, cloud: CloudDep, now: NowDep, seller_id: SellerId
) -> DiscountPublic:
    with cloud.db.transaction() as conn:
        return catalog.update_discount(conn, seller_id, discount_id, body, now)


@router.delete("/discounts/{discountId}", status_code=status.HTTP_204_NO_CONTENT)
def delete_discount(
    discount_id: DiscountIdPath, cloud: CloudDep, now: NowDep, seller_id: SellerId
) -> Response:
    with cloud.db.transaction() as conn:
        catalog.delete_discount(conn, seller_id, discount_id, now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/coupons", status_code=status.HTTP_201_CREATED)
def create_coupon(body: CouponCreate, cloud: CloudDep, now: NowDep, seller_id: SellerId) -> CouponPublic:
    """A code shoppers enter: percent or amount off, minimum spend, single-use or limited uses, a window."""
    with cloud.db.transaction() as conn:
        return catalog.create_coupon(conn, seller_id, body, now)


@router.get("/coupons")
def list_coupons(cloud: CloudDep, seller_id: SellerId) -> list[CouponPublic]:
    with cloud.db.read() as conn:
        return catalog.list_coupons(conn, seller_id)


@router.patch("/coupons/{couponId}")
def update_coupon(
    coupon_id: CouponIdPath, body: CouponUpdate, cloud: CloudDep, now: NowDep, seller_id: SellerId
) -> CouponPublic:
    with cloud.db.transaction() as conn:
        return catalog.update_coupon(conn, seller_id, coupon_id, body, now)


@router.delete("/coupons/{couponId}", status_code=status.HTTP_204_NO_CONTENT)
def delete_coupon(coupon_id: CouponIdPath, cloud: CloudDep, now: NowDep, seller_id: SellerId) -> Response:
    with cloud.db.transaction() as conn:
        catalog.delete_coupon(conn, seller_id, coupon_id, now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
