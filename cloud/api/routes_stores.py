"""A seller's stores (shops): a seller has many; each physical one has a store node."""

from typing import Annotated

from fastapi import APIRouter, Path, status

from cloud import devices, sellers, store_catalog
from cloud.api.deps import CloudDep, DeviceAdminSellerId, NowDep, SellerId, StoreIdPath
from models.catalog import CatalogSnapshot
from models.cloud_api import (
    DeviceCreate,
    DevicePublic,
    DeviceRegistered,
    StoreCreate,
    StorePublic,
    StoreUpdate,
)
from models.ids import ULID_PATTERN

router = APIRouter(tags=["stores"])

DeviceIdPath = Annotated[str, Path(alias="deviceId", pattern=ULID_PATTERN)]


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


@router.post("/stores/{storeId}/devices", status_code=status.HTTP_201_CREATED)
def register_device(
    store_id: StoreIdPath, body: DeviceCreate, cloud: CloudDep, now: NowDep, seller_id: DeviceAdminSellerId
) -> DeviceRegistered:
    """Register a store node or door sensor. The response carries its MQTT password, once; the broker's
    password file is rewritten so the device can connect at once."""
    with cloud.db.transaction() as conn:
        registered = devices.register(conn, seller_id, store_id, body, now)
    cloud.refresh_broker_credentials()
    return registered


@router.get("/stores/{storeId}/devices")
def list_devices(
    store_id: StoreIdPath, cloud: CloudDep, seller_id: DeviceAdminSellerId
) -> list[DevicePublic]:
    with cloud.db.read() as conn:
        return devices.list_devices(conn, seller_id, store_id)


@router.delete("/stores/{storeId}/devices/{deviceId}")
def revoke_device(
    store_id: StoreIdPath,
    device_id: DeviceIdPath,
    cloud: CloudDep,
    now: NowDep,
    seller_id: DeviceAdminSellerId,
) -> DevicePublic:
    """Revoke a device: its broker credentials stop working at its next connection."""
    with cloud.db.transaction() as conn:
        revoked = devices.revoke(conn, seller_id, store_id, device_id, now)
    cloud.refresh_broker_credentials()
    return revoked
