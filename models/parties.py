"""Who is who: sellers, their stores, and the devices (store nodes, sensors) registered to a store."""

from enum import StrEnum

from pydantic import AwareDatetime

from models.base import CamelModel


class SellerStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Seller(CamelModel):
    seller_id: str
    account: str
    name: str
    phone: str | None = None
    address: str | None = None
    status: SellerStatus = SellerStatus.ACTIVE


class ShopType(StrEnum):
    PHYSICAL = "physical"  # a shop with a store node
    ONLINE = "online"
    POP_UP = "popUp"


class Store(CamelModel):
    store_id: str
    seller_id: str
    name: str
    address: str | None = None
    shop_type: ShopType = ShopType.PHYSICAL
    opening_hours: str | None = None


class DeviceKind(StrEnum):
    STORE_NODE = "storeNode"  # the Raspberry Pi running edge/
    DOOR_SENSOR = "doorSensor"


class Device(CamelModel):
    device_id: str
    store_id: str
    kind: DeviceKind = DeviceKind.STORE_NODE
    name: str | None = None
    last_seen_at: AwareDatetime | None = None
