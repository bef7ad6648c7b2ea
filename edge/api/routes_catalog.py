"""Catalog routes: search and product detail, read from the node's cache."""

from typing import Annotated

from fastapi import APIRouter, Query

from edge import catalog
from edge.api.deps import CursorQuery, LimitQuery, NodeDep, ProductIdPath
from models.catalog import Category
from models.node_api import CatalogChanges, Page, ProductPublic, ProductSummary
from models.paging import PlainInt

router = APIRouter(prefix="/catalog", tags=["catalog"])


@router.get("/products")
def search_products(
    node: NodeDep,
    q: Annotated[
        str | None, Query(max_length=100, description="Part of a name (zh-TW or English), SKU or barcode")
    ] = None,
    category_id: Annotated[str | None, Query(alias="categoryId", max_length=64)] = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 20,
) -> Page[ProductSummary]:
    with node.db.read() as conn:
        return catalog.search_products(
            conn, at=node.now(), q=q, category_id=category_id, cursor=cursor, limit=limit
        )


@router.get("/changes")
def catalog_changes(
    node: NodeDep,
    # Optional (0: no copy yet, answered reset) so a bare request is a well-formed one, and a forged cursor is
    # refused as invalidCursor on this route as on every paged one.
    since: Annotated[
        int,
        Query(ge=0, le=2_147_483_647, description="The catalog version the caller's copy is at; 0: none"),
        PlainInt,
    ] = 0,
    cursor: CursorQuery = None,
    limit: LimitQuery = 100,
) -> CatalogChanges:
    """What changed since catalog version ``since``, for a phone keeping a copy: listed products changed
    since (``items``, with stock and price now) and products unlisted since (``removed``), a page at a
    time; ``reset`` when the copy must be fetched again whole."""
    with node.db.read() as conn:
        return catalog.catalog_changes(conn, since=since, at=node.now(), cursor=cursor, limit=limit)


@router.get("/products/{productId}")
def get_product(product_id: ProductIdPath, node: NodeDep) -> ProductPublic:
    with node.db.read() as conn:
        return catalog.get_product(conn, product_id, node.now())


@router.get("/categories")
def list_categories(node: NodeDep) -> list[Category]:
    with node.db.read() as conn:
        return catalog.list_categories(conn)
