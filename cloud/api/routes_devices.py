"""A store's devices (store nodes, door sensors): register one by hand, list them with what their last status
said (``cloud.devices``), rename one, revoke one. A Pi that claims its place with a code is registered by
``routes_claim_codes``."""

from typing import Annotated

from fastapi import APIRouter, Path, status

from cloud import devices
from cloud.api.deps import CloudDep, DeviceAdminSellerId, NowDep, StoreIdPath
from models.cloud_api import DeviceCreate, DevicePublic, DeviceRegistered, DeviceUpdate
from models.ids import ULID_PATTERN

router = APIRouter(tags=["devices"])

DeviceIdPath = Annotated[str, Path(alias="deviceId", pattern=ULID_PATTERN)]


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
    store_id: StoreIdPath, cloud: CloudDep, now: NowDep, seller_id: DeviceAdminSellerId
) -> list[DevicePublic]:
    """The store's devices, revoked ones too, each with what its last status said: online, its health
    (software version, model versions, address, uptime) and its sync lag (outbox backlog, feed behind)."""
    with cloud.db.read() as conn:
        return devices.list_devices(conn, seller_id, store_id, now)


@router.patch("/stores/{storeId}/devices/{deviceId}")
def rename_device(
    store_id: StoreIdPath,
    device_id: DeviceIdPath,
    body: DeviceUpdate,
    cloud: CloudDep,
    now: NowDep,
    seller_id: DeviceAdminSellerId,
) -> DevicePublic:
    """Rename a device (the name is the seller's; the device never sees it)."""
    with cloud.db.transaction() as conn:
        return devices.rename(conn, seller_id, store_id, device_id, body, now)


@router.delete("/stores/{storeId}/devices/{deviceId}")
def revoke_device(
    store_id: StoreIdPath,
    device_id: DeviceIdPath,
    cloud: CloudDep,
    now: NowDep,
    seller_id: DeviceAdminSellerId,
) -> DevicePublic:
    """Revoke a device: the broker drops its connection at once and refuses it from then on; its status no
    longer counts and its feed position no longer holds the store's feed back."""
    with cloud.db.transaction() as conn:
        revoked = devices.revoke(conn, seller_id, store_id, device_id, now)
    cloud.refresh_broker_credentials()
    return revoked
