"""A seller's stores (shops): a seller has many; each physical one has a store node (its devices:
``routes_devices``)."""

from fastapi import APIRouter, status

from cloud import sellers, store_catalog
from cloud.api.deps import CloudDep, DeviceAdminSellerId, NowDep, SellerId, StoreIdPath
from models.catalog import CatalogSnapshot
from models.cloud_api import StoreCreate, StorePublic, StoreUpdate

router = APIRouter(tags=["stores"])


@router.post("/stores", status_code=status.HTTP_201_CREATED)
def create_store(body: StoreCreate, cloud: CloudDep, now: NowDep, seller_id: SellerId) -> StorePublic:
    with cloud.db.transaction() as conn:
        return sellers.create_store(conn, seller_id, body, now)


@router.get("/stores")
def list_stores(cloud: CloudDep, seller_id: DeviceAdminSellerId) -> list[StorePublic]:
    with cloud.db.read() as conn:
        return sellers.list_stores(conn, seller_id)


@router.get("/stores/{storeId}")
def get_store(store_id: StoreIdPath, cloud: CloudDep, seller_id: DeviceAdminSellerId) -> StorePublic:
    with cloud.db.read() as conn:
        return sellers.get_store(conn, seller_id, store_id)


@router.patch("/stores/{storeId}")
def update_store(
    store_id: StoreIdPath, body: StoreUpdate, cloud: CloudDep, now: NowDep, seller_id: SellerId
) -> StorePublic:
    with cloud.db.transaction() as conn:
        return sellers.update_store(conn, seller_id, store_id, body, now)


@router.get("/stores/{storeId}/catalog-snapshot")
def catalog_snapshot(store_id: StoreIdPath, cloud: CloudDep, seller_id: SellerId) -> CatalogSnapshot:
    """The store's whole catalog at the seller's current version, with this store's stock levels: the file
    ``edgestore edge load-catalog`` takes (and what sync sends a new or long-offline node)."""
    with cloud.db.read() as conn:
        return store_catalog.snapshot_for_store(conn, cloud.metadata, seller_id, store_id)
