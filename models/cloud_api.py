"""Request and response bodies of the cloud's HTTP API (``/api/v1`` for sellers and their dashboard).

Names follow their role, as in ``models.node_api``: ``...Create``/``...Update`` come in, ``...Public`` goes
out. Updates are partial: a field left out is not changed.
"""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, AwareDatetime, Field, StrictInt, model_validator
from pydantic_core import PydanticCustomError

from models.base import CamelModel
from models.catalog import Barcode, Condition, CouponKind, Ident, Name
from models.device_keys import MAX_PUBLIC_KEY_CHARS, ed25519_public_key
from models.end_of_day import ZReport
from models.errors import InvalidInput
from models.money import TWD, Percent
from models.order_states import OrderStatus
from models.parties import DeviceKind, ShopType
from models.returns import OrderWithReturns
from models.staff import Pin, StaffName, StaffRef, StaffRole
from models.stock import StockReason
from models.team import Role

Account = Annotated[str, Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@+-]+$")]
Password = Annotated[str, Field(min_length=8, max_length=256)]
Phone = Annotated[str, Field(min_length=6, max_length=32, pattern=r"^\+?[0-9 ()-]+$")]
Address = Annotated[str, Field(min_length=1, max_length=500)]
Note = Annotated[str, Field(max_length=500)]

# Integers in request bodies are StrictInt (TWD and Quantity are strict too): a JSON integer only, so "2",
# true or 2.0 are refused rather than quietly taken as numbers.

FIRST_YEAR, LAST_YEAR = 2000, 2999
"""The years a date or time given to the API may fall in. Far enough either way for any sale, discount or
report; and a year 1 or 9999 moment overflows when moved to UTC (Python has no year 0 or 10000)."""


def _within_years(moment: datetime) -> datetime:
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise PydanticCustomError(
            "dateOutOfRange", "the year must be {first} to {last}", {"first": FIRST_YEAR, "last": LAST_YEAR}
        )
    return moment


def require_day_within_years(field: str, day: date | None) -> None:
    """``invalidDateRange`` (422) for a query's day outside FIRST_YEAR..LAST_YEAR: checked before any query,
    since a day in year 1 or 9999 overflows when its start is moved to UTC. The node's and the cloud's."""
    if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise InvalidInput(
            f"{field} must be a day in the years {FIRST_YEAR} to {LAST_YEAR}",
            code="invalidDateRange",
            field=field,
        )


Moment = Annotated[AwareDatetime, AfterValidator(_within_years)]
"""A date and time with an offset, in FIRST_YEAR..LAST_YEAR: what request bodies take."""


class PartialUpdate(CamelModel):
    """A PATCH body: a field left out is not changed; ``null`` clears a field only where ``NULLABLE`` says
    it may be cleared (everything else is required once set, so ``null`` there is a 422)."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _no_null_for_required(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name, field in cls.model_fields.items():
                alias = field.alias or name
                for key in (alias, name):
                    if key in data and data[key] is None and name not in cls.NULLABLE:
                        raise ValueError(f"{alias} cannot be null")
        return data


# --- sellers and sessions ---------------------------------------------------------------------------------


class SellerCreate(CamelModel):
    account: Account
    password: Password
    name: Name
    phone: Phone | None = None
    address: Address | None = None


class SellerUpdate(PartialUpdate):
    NULLABLE = frozenset({"phone", "address"})
    name: Name | None = None
    phone: Phone | None = None
    address: Address | None = None


class SellerPublic(CamelModel):
    seller_id: str
    account: str
    name: str
    phone: str | None
    address: str | None
    status: str
    created_at: AwareDatetime


class LoginRequest(CamelModel):
    account: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


# --- the seller's team (models.team) ----------------------------------------------------------------------

# A team member's email is their login: the login form's account field takes it, so it fits that field's
# characters and length.
Email = Annotated[
    str,
    Field(
        min_length=6,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$",
        description="The member's login; unique among sellers' accounts and team members",
    ),
]


class TeamMemberCreate(CamelModel):
    """An invitation: who, and the role they get once they accept."""

    email: Email
    name: Name
    role: Literal["fieldStaff"]


class TeamMemberPublic(CamelModel):
    team_member_id: str
    email: str
    name: str
    role: Role
    status: Literal["invited", "inviteExpired", "active"]
    invited_at: AwareDatetime
    invite_expires_at: AwareDatetime | None = Field(description="Until an invitation is accepted")
    accepted_at: AwareDatetime | None


class TeamMemberInvited(CamelModel):
    """The answer to an invitation: the link the invitee opens, shown this once (the cloud keeps its hash)."""

    team_member: TeamMemberPublic
    invite_token: str = Field(description="For POST /team-members/accept")
    invite_url: str = Field(description="The page the invitee opens to set a password: /invite/{token}")
    expires_at: AwareDatetime


class InviteAccept(CamelModel):
    token: Annotated[str, Field(min_length=1, max_length=128)]
    password: Password


class SessionPublic(CamelModel):
    token: str = Field(description="Send as 'Authorization: Bearer <token>'; also set as a cookie")
    expires_at: AwareDatetime
    role: Role = Field(description="owner, or the team member's role (fieldStaff)")
    seller: SellerPublic | None = Field(description="The seller's profile; null for a team member")
    team_member: TeamMemberPublic | None = Field(default=None, description="Who logged in, for a team member")


# --- stores -----------------------------------------------------------------------------------------------


class StoreCreate(CamelModel):
    name: Name
    address: Address | None = None
    shop_type: ShopType = ShopType.PHYSICAL
    opening_hours: Annotated[str, Field(max_length=200)] | None = None


class StoreUpdate(PartialUpdate):
    NULLABLE = frozenset({"address", "opening_hours"})
    name: Name | None = None
    address: Address | None = None
    shop_type: ShopType | None = None
    opening_hours: Annotated[str, Field(max_length=200)] | None = None


class StorePublic(CamelModel):
    store_id: str
    name: str
    address: str | None
    shop_type: ShopType
    opening_hours: str | None
    created_at: AwareDatetime
    updated_at: AwareDatetime


# --- staff ------------------------------------------------------------------------------------------------


class StaffCreate(CamelModel):
    name: StaffName
    role: StaffRole = StaffRole.CASHIER
    pin: Pin | None = Field(default=None, description="Left out: the cloud makes a 6-digit PIN, shown once")


class StaffUpdate(PartialUpdate):
    """A field left out is unchanged. ``pin`` sets a new PIN; ``newPin: true`` has the cloud make one (shown
    once). Either ends the person's logins at the store node."""

    name: StaffName | None = None
    role: StaffRole | None = None
    pin: Pin | None = None
    new_pin: bool = False

    @model_validator(mode="after")
    def _one_way_to_a_pin(self) -> "StaffUpdate":
        if self.pin is not None and self.new_pin:
            raise ValueError("give a pin or ask for a new one, not both")
        return self


class StaffPublic(CamelModel):
    staff_id: str
    store_id: str
    name: str
    role: StaffRole
    version: int = Field(description="Goes up with every change; the store node keeps the newest")
    created_at: AwareDatetime
    updated_at: AwareDatetime


class StaffSaved(StaffPublic):
    pin: str | None = Field(
        description="The PIN the cloud made, shown this once (only its hash is kept); null when the seller "
        "gave it or it did not change"
    )


# --- catalog ----------------------------------------------------------------------------------------------


class StorageCondition(StrEnum):
    AMBIENT = "ambient"
    CHILLED = "chilled"
    FROZEN = "frozen"


class ShippingMethod(StrEnum):
    HOME_DELIVERY = "homeDelivery"
    CONVENIENCE_STORE = "convenienceStore"  # 超商取貨
    STORE_PICKUP = "storePickup"


class ShippingOption(CamelModel):
    method: ShippingMethod
    fee: TWD = 0


class RefundRules(CamelModel):
    """Per product, as the owner asked: whether and for how long buyers may return or get refunds."""

    returnable: bool = True
    return_days: Annotated[StrictInt, Field(ge=0, le=365)] = 7  # Taiwan's 7-day cooling-off period by default
    refundable: bool = True
    note: Note = ""


class GroupBuy(CamelModel):
    min_quantity: Annotated[StrictInt, Field(ge=1, le=100_000)]
    max_quantity: Annotated[StrictInt, Field(ge=1, le=100_000)] | None = None
    ends_at: Moment

    @model_validator(mode="after")
    def _bounds(self) -> "GroupBuy":
        if self.max_quantity is not None and self.max_quantity < self.min_quantity:
            raise ValueError("maxQuantity must be at least minQuantity")
        return self


Attributes = Annotated[
    dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=500)]], Field(max_length=50)
]


class VariantInput(CamelModel):
    """A variant in a create or update. With ``variantId`` it updates that variant; without, it is new."""

    variant_id: Ident | None = None
    name: Name
    name_en: Annotated[str, Field(max_length=200)] = ""
    price: TWD
    barcode: Barcode | None = None
    sku: Annotated[str, Field(max_length=64)] | None = None
    is_default: bool = False
    listed: bool = True
    metadata: Attributes = {}


class ProductCreate(CamelModel):
    name: Name
    name_en: Annotated[str, Field(max_length=200)] = ""
    description: Annotated[str, Field(max_length=20_000)] = ""
    category_id: Ident | None = None
    sub_category_id: Ident | None = None
    brand_id: Ident | None = None
    condition: Condition | None = None
    listed: bool = True
    price: TWD | None = Field(
        default=None, description="Price of the default variant when no variants are given"
    )
    variants: Annotated[list[VariantInput], Field(max_length=100)] = []
    attributes: Attributes = {}
    shipping: Annotated[list[ShippingOption], Field(max_length=5)] = []
    refund_rules: RefundRules = RefundRules()
    group_buy: GroupBuy | None = None
    stocked_often: bool = False
    storage_condition: StorageCondition = StorageCondition.AMBIENT

    @model_validator(mode="after")
    def _has_a_price(self) -> "ProductCreate":
        if not self.variants and self.price is None:
            raise ValueError("give a price or at least one variant: every product has a default variant")
        return self


class ProductUpdate(PartialUpdate):
    """Partial update. ``variants``, when given, is the whole new list: variants left out are removed
    (the default variant can't be removed, only replaced by marking another one default)."""

    NULLABLE = frozenset(
        {"category_id", "sub_category_id", "brand_id", "condition", "refund_rules", "group_buy"}
    )

    name: Name | None = None
    name_en: Annotated[str, Field(max_length=200)] | None = None
    description: Annotated[str, Field(max_length=20_000)] | None = None
    category_id: Ident | None = None
    sub_category_id: Ident | None = None
    brand_id: Ident | None = None
    condition: Condition | None = None
    listed: bool | None = None
    variants: Annotated[list[VariantInput], Field(min_length=1, max_length=100)] | None = None
    attributes: Attributes | None = None
    shipping: Annotated[list[ShippingOption], Field(max_length=5)] | None = None
    refund_rules: RefundRules | None = None
    group_buy: GroupBuy | None = None
    stocked_often: bool | None = None
    storage_condition: StorageCondition | None = None


class ImagePublic(CamelModel):
    image_id: str
    url: str
    thumb_url: str
    width: int
    height: int
    content_type: str


class VariantOut(CamelModel):
    variant_id: str
    name: str
    name_en: str
    price: TWD
    barcode: str | None
    sku: str | None
    is_default: bool
    listed: bool
    metadata: dict[str, Any] = {}


class ProductOut(CamelModel):
    product_id: str
    name: str
    name_en: str
    category_id: str | None
    sub_category_id: str | None
    brand_id: str | None
    condition: Condition | None
    listed: bool
    image_url: str | None
    price: TWD = Field(description="The default variant's price")
    variant_count: int
    catalog_version: int
    created_at: AwareDatetime
    updated_at: AwareDatetime


class ProductDetail(ProductOut):
    description: str
    variants: list[VariantOut]
    attributes: dict[str, str]
    images: list[ImagePublic]
    shipping: list[ShippingOption]
    refund_rules: RefundRules | None
    group_buy: GroupBuy | None
    stocked_often: bool
    storage_condition: StorageCondition
    metadata_id: str


class CategoryPublic(CamelModel):
    category_id: str
    name: str
    name_en: str
    parent_id: str | None


class BrandCreate(CamelModel):
    name: Name
    name_en: Annotated[str, Field(max_length=200)] = ""


class BrandPublic(CamelModel):
    brand_id: str
    name: str
    name_en: str
    shared: bool
    """True for the curated brands every seller sees, false for the caller's own (``POST /brands``)."""


class DiscountCreate(CamelModel):
    name: Name
    description: Annotated[str, Field(max_length=2000)] = ""
    percent: Annotated[StrictInt, Field(ge=1, le=100)]
    product_id: Ident | None = None
    variant_id: Ident | None = None
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    active: bool = True


class DiscountUpdate(PartialUpdate):
    NULLABLE = frozenset({"starts_at", "ends_at"})
    name: Name | None = None
    description: Annotated[str, Field(max_length=2000)] | None = None
    percent: Annotated[StrictInt, Field(ge=1, le=100)] | None = None
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    active: bool | None = None


class DiscountPublic(CamelModel):
    discount_id: str
    name: str
    description: str
    percent: Percent
    product_id: str | None
    variant_id: str | None
    starts_at: AwareDatetime | None
    ends_at: AwareDatetime | None
    active: bool


class CouponCreate(CamelModel):
    code: Annotated[str, Field(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
    kind: CouponKind
    value: Annotated[StrictInt, Field(gt=0, le=100_000_000)]
    min_spend: TWD = 0
    max_uses: Annotated[StrictInt, Field(gt=0, le=1_000_000)] | None = Field(
        default=None, description="1 = single-use; null = unlimited"
    )
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    active: bool = True


class CouponUpdate(PartialUpdate):
    NULLABLE = frozenset({"max_uses", "ends_at"})
    active: bool | None = None
    max_uses: Annotated[StrictInt, Field(gt=0, le=1_000_000)] | None = None
    ends_at: Moment | None = None


class CouponPublic(CamelModel):
    coupon_id: str
    code: str
    kind: CouponKind
    value: int
    min_spend: TWD
    max_uses: int | None
    starts_at: AwareDatetime | None
    ends_at: AwareDatetime | None
    active: bool


class CatalogVersion(CamelModel):
    version: int


# --- stock ------------------------------------------------------------------------------------------------


class AdjustmentKind(StrEnum):
    """What a seller records in the dashboard. ``count`` sets the level; the others are signed changes."""

    RESTOCK = "restock"
    COUNT = "count"
    WRITE_OFF = "writeOff"
    CORRECTION = "correction"


class StockAdjustmentCreate(CamelModel):
    variant_id: Ident
    kind: AdjustmentKind
    quantity: Annotated[StrictInt, Field(ge=-1_000_000, le=1_000_000)] = Field(
        description="restock: units in (>0); writeOff: units out (>0); correction: signed; count: the level"
    )
    reason: Note = ""


class StockAdjustmentPublic(CamelModel):
    delta_id: str | None = Field(description="Null when a count matched the level and nothing was written")
    store_id: str
    variant_id: str
    quantity: int
    reason: StockReason
    note: str | None
    level: int
    created_at: AwareDatetime


class StockLevelPublic(CamelModel):
    variant_id: str
    product_id: str
    product_name: str
    variant_name: str
    product_name_en: str = Field("", description="The English name, empty when the seller gave none")
    variant_name_en: str = ""
    level: int
    low: bool = Field(description="Under the low-stock threshold")


# --- orders -----------------------------------------------------------------------------------------------


class OrderEventPublic(CamelModel):
    from_status: OrderStatus | None
    to_status: OrderStatus
    actor: str
    note: str | None
    at: AwareDatetime
    staff: StaffRef | None = Field(
        default=None, description="For a change made at a store: the staff member logged in at its node"
    )


class OrderOut(OrderWithReturns):
    seller_id: str
    received_at: AwareDatetime
    events: list[OrderEventPublic] = []
    allowed_transitions: list[OrderStatus] = Field(
        default=[], description="What the seller may move this order to now"
    )


class OrderTransitionRequest(CamelModel):
    to_status: OrderStatus
    note: Note | None = None


class OrderTotals(CamelModel):
    orders: int
    revenue: int


class OrderList(CamelModel):
    items: list[OrderOut]
    next_cursor: str | None
    totals: OrderTotals = Field(description="Over every order matching the filter, not just this page")


# --- end of day -------------------------------------------------------------------------------------------


class ZReportList(CamelModel):
    """A store's Z-reports as its nodes sent them (``models.end_of_day.ZReport``), the latest first."""

    items: list[ZReport]
    next_cursor: str | None


# --- notifications ----------------------------------------------------------------------------------------


class NotificationKind(StrEnum):
    NEW_ORDER = "newOrder"
    NEGATIVE_STOCK = "negativeStock"
    LOW_STOCK = "lowStock"
    GROUP_BUY_MINIMUM = "groupBuyMinimum"
    GROUP_BUY_DEADLINE = "groupBuyDeadline"
    SYNC_CONFLICT = "syncConflict"
    STORE_OFFLINE = "storeOffline"
    DEVICE_PROVISIONED = "deviceProvisioned"
    ORDER_STATUS = "orderStatus"
    PRICE_MISMATCH = "priceMismatch"  # a store sold at another price than the catalog it held
    COUPON_REUSED = "couponReused"  # a coupon redeemed beyond its uses at stores that were offline
    CASH_SHORT = "cashShort"  # a store's Z-report counted less cash in the drawer than expected
    RETURN_CONFLICT = "returnConflict"  # a store's partial return met a whole refund or return made elsewhere
    MODEL_REFUSED = "modelRefused"  # a store node fetched a model file and would not run it


class NotificationPublic(CamelModel):
    notification_id: str
    kind: NotificationKind
    title: str = Field(description="In the reader's language (Accept-Language, or the dashboard's choice)")
    body: str = Field(description="In the reader's language; may be empty")
    ref_type: str | None
    ref_id: str | None
    params: dict[str, Any] = Field(
        description="What the notification is about, by kind (ids, amounts, names)"
    )
    created_at: AwareDatetime
    read_at: AwareDatetime | None


class NotificationList(CamelModel):
    items: list[NotificationPublic]
    next_cursor: str | None
    unread_count: int


class UnreadCount(CamelModel):
    unread_count: int


# --- dashboard --------------------------------------------------------------------------------------------


class DaySales(CamelModel):
    day: date
    store_id: str
    orders: int
    revenue: int
    items: int


class TopProduct(CamelModel):
    product_id: str
    name: str = Field(description="As sold (the newest name it sold under)")
    name_en: str = Field("", description="The product's English name today, empty when it has none")
    quantity: int
    revenue: int


class Conversion(CamelModel):
    store_id: str
    day: date
    visitors: int
    orders: int
    rate: float | None = Field(description="orders / visitors; null with no visitors")


class DashboardSummary(CamelModel):
    date_from: date
    date_to: date
    orders: int
    revenue: int
    items: int
    sales_by_day: list[DaySales]
    top_products: list[TopProduct]
    conversion: list[Conversion]


# --- uploads ----------------------------------------------------------------------------------------------


class UploadRequest(CamelModel):
    content_type: Annotated[str, Field(max_length=100)]
    size: Annotated[StrictInt, Field(ge=1, description="Bytes the file will have")]
    filename: Annotated[str, Field(max_length=255)] | None = None


class UploadGrant(CamelModel):
    """Send the file to ``url`` with ``method``: for POST, a multipart form of ``fields`` plus ``file``;
    for PUT, the raw bytes with ``headers``. Then ``POST .../images`` with the ``uploadId``."""

    upload_id: str
    url: str
    method: str
    fields: dict[str, str]
    headers: dict[str, str]
    expires_at: AwareDatetime


class ImageAttach(CamelModel):
    upload_id: Annotated[str, Field(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")]


# --- devices ----------------------------------------------------------------------------------------------


DeviceName = Annotated[str, Field(min_length=1, max_length=200)]


class DeviceCreate(CamelModel):
    kind: DeviceKind = DeviceKind.STORE_NODE
    name: DeviceName | None = None


class DeviceUpdate(CamelModel):
    """A device's new name (the seller's word for it: "counter Pi")."""

    name: DeviceName


class DeviceSyncLag(CamelModel):
    """How far behind a device is, both ways. Up: what waited in its outbox at its last status (how many
    messages, since when by the cloud's clock, and how long ago that is now). Down: how many messages of
    the store's feed it had not applied. None where it never said (an older node, or never linked)."""

    outbox_pending: int | None = None
    outbox_oldest_at: AwareDatetime | None = None
    outbox_oldest_age_s: int | None = None
    feed_behind: int | None = Field(
        default=None, description="The store's feed end minus the position the device last reported"
    )


class DevicePublic(CamelModel):
    device_id: str
    store_id: str
    kind: DeviceKind
    name: str | None
    created_at: AwareDatetime
    last_seen_at: AwareDatetime | None
    revoked_at: AwareDatetime | None
    # The store feed position the device last reported applying (None: never linked); the store's feed is
    # pruned up to the lowest of these.
    downlink_seq: int | None = None
    hardware_id: str | None = None
    # What its last status said (a revoked device is offline): online, and the health an online status of a
    # node that says it carried (schema version 5), as of ``healthAt``.
    online: bool = False
    software_version: str | None = None
    models: dict[str, int] = Field(default={}, description="Model files it serves, name -> version")
    ip: str | None = Field(default=None, description="The address it reaches the broker from")
    addresses: list[str] = []
    uptime_s: int | None = Field(default=None, description="Seconds it had run at its last status")
    health_at: AwareDatetime | None = None
    sync_lag: DeviceSyncLag = DeviceSyncLag()


class MqttCredentials(CamelModel):
    """Shown once, when the device is registered: only a hash is kept."""

    username: str
    password: str
    client_id: str


class DeviceRegistered(DevicePublic):
    mqtt: MqttCredentials


CLAIM_CODE_DEFAULT_MINUTES = 60
CLAIM_CODE_MAX_MINUTES = 24 * 60


class ClaimCodeCreate(CamelModel):
    """A one-time code a store node (a Pi) claims its place in the store with."""

    expires_in_minutes: Annotated[StrictInt, Field(ge=1, le=CLAIM_CODE_MAX_MINUTES)] = (
        CLAIM_CODE_DEFAULT_MINUTES
    )
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="The name the claiming device gets (e.g. 'counter Pi')"
    )


class ClaimCodePublic(CamelModel):
    """A claim code as listed: never the code itself (only its hash is kept)."""

    claim_code_id: str
    store_id: str
    name: str | None
    created_at: AwareDatetime
    expires_at: AwareDatetime


class ClaimCodeCreated(ClaimCodePublic):
    """The answer to creating a claim code: the code, shown this once, and a QR code of it."""

    code: str = Field(description="What the person at the Pi types, e.g. 7KQ4-M2XP-9RTD")
    qr_text: str = Field(description="What the QR code holds: edgestore:claim?code=...&cloud=...")
    qr_svg: str = Field(description="The QR code as an SVG document")


def _public_key(text: str) -> str:
    try:
        ed25519_public_key(text)
    except ValueError as exc:
        raise PydanticCustomError("publicKey", "{reason}", {"reason": str(exc)}) from None
    return text.strip()


HardwareId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
PublicKey = Annotated[str, Field(min_length=1, max_length=MAX_PUBLIC_KEY_CHARS), AfterValidator(_public_key)]


class DeviceClaim(CamelModel):
    """What a Pi sends to claim its place in a store: the code, its hardware id (e.g. the board's serial) and
    the Ed25519 public key it made (PEM or an OpenSSH ``ssh-ed25519`` line)."""

    code: Annotated[str, Field(min_length=1, max_length=64)]
    hardware_id: HardwareId
    public_key: PublicKey


class MqttLogin(MqttCredentials):
    """A claimed device's broker login and where the broker is (null host: the cloud knows no broker)."""

    host: str | None
    port: int | None
    tls: bool
    url: str | None = Field(description="The broker's URL, without credentials")


class DeviceClaimed(CamelModel):
    """The answer to a claim: who the device now is, where it belongs, and how it reaches the cloud and the
    broker. The password is shown this once; the Pi keeps it (a re-run of provisioning does not claim again)."""

    device_id: str
    store_id: str
    store_name: str
    seller_id: str
    mqtt: MqttLogin
    cloud_url: str
    broker_url: str | None


class RecognitionPhotoPublic(CamelModel):
    """A reference photo of a variant, enrolled in the cloud for the store nodes' product recognition."""

    photo_id: str
    product_id: str
    variant_id: str
    url: str = Field(description="The photo as uploaded (the cloud's file route; store nodes fetch it)")
    sha256: str
    size: int
    width: int
    height: int
    content_type: str
    created_at: AwareDatetime


class RecognitionPhotoDevice(CamelModel):
    """A store node and the version of the seller's recognition photo set it last said it holds."""

    device_id: str
    device_name: str | None
    store_id: str
    store_name: str
    held: int | None = Field(description="The set version it holds; null: it has not said (older software)")
    up_to_date: bool


class RecognitionPhotoSetStatus(CamelModel):
    """The seller's cloud-enrolled recognition photos as one set, and which store nodes hold it."""

    version: int = Field(description="Moved by every photo added or removed (0: none ever)")
    photos: int
    variants: int
    devices: list[RecognitionPhotoDevice]


class ModelFilePublic(CamelModel):
    """One version of a seller's model file (e.g. ``product-recognizer``), sent to every store node."""

    name: str
    version: int
    sha256: str
    size: int
    url: str = Field(description="Where store nodes fetch it (the cloud's file route)")
    created_at: AwareDatetime
    rolled_back_from: int | None = Field(
        default=None, description="A rollback: the older version whose file this version publishes again"
    )


class ModelDevice(CamelModel):
    """A store node, as a model version's page names it."""

    device_id: str
    device_name: str | None
    store_id: str
    store_name: str


class ModelRefusalPublic(ModelDevice):
    reason: str = Field(description="Why the node would not run the file, in its words (not a stable code)")
    refused_at: AwareDatetime


class ModelFileVersion(ModelFilePublic):
    """A version with where it stands: the nodes that last said they serve it, and those that refused it."""

    serving: list[ModelDevice]
    refusals: list[ModelRefusalPublic]


class ModelRollback(CamelModel):
    to_version: StrictInt = Field(
        ge=1, description="The older version to serve again (published anew as the next)"
    )


class SyncIngestStatus(CamelModel):
    """How the cloud's uplink ingest is doing (``GET /sync/status``): while the database fails, stores'
    messages are retried and wait on the stores' side; nothing is lost."""

    retrying: bool
    failing_since: AwareDatetime | None
    failures: int
    last_error: str | None = Field(description="The failure's class, e.g. OperationalError")
    last_applied_at: AwareDatetime | None
    dead_letters: int = Field(
        description="Messages from this seller's stores the cloud refused, kept with reasons"
    )
