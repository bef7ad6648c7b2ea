"""Catalog routes: search and product detail, read from the node's cache."""

from typing import Annotated

from fastapi import APIRouter, Query

from edge import catalog
from edge.api.deps import CursorQuery, LimitQuery, NodeDep, ProductIdPath
from models.catalog import Category
from models.node_api import Page, ProductPublic, ProductSummary

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


@router.get("/products/{productId}")
def get_product(product_id: ProductIdPath, node: NodeDep) -> ProductPublic:
    with node.db.read() as conn:
        return catalog.get_product(conn, product_id, node.now())


@router.get("/categories")
def list_categories(node: NodeDep) -> list[Category]:
    with node.db.read() as conn:
        return catalog.list_categories(conn)
