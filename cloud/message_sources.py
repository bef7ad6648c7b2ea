"""Where the cloud's message keys come from, for ``plumbing.message_catalogs``: the code itself (Babel
extracts ``t(...)``, ``tr(...)`` and ``N_(...)`` from Python and the templates), plus the families of keys
the code builds at run time from a value.

Most families follow an enum, so a new member without words fails the catalog test instead of showing its
key. The rest are the values the pages translate: the validation error types of pydantic and the
project's own, the domain error codes a page shows, and the form fields an error names.

Not imported at run time: the test and ``make messages`` read it.
"""

from pathlib import Path

from cloud.i18n import CATALOG
from cloud.web.rendering import FLASHES
from models.catalog import Condition, CouponKind
from models.cloud_api import AdjustmentKind, NotificationKind, ShippingMethod, StorageCondition
from models.einvoice import EInvoiceKind
from models.order_states import TERMINAL_STATES, Actor, OrderStatus
from models.parties import DeviceKind, ShopType
from models.sales import Channel, PaymentMethod, PaymentStatus
from models.staff import StaffRole
from models.team import Role
from plumbing.message_catalogs import CatalogSources

# pydantic's error types (and the project's own, from models) that the forms put in words: "err.<type>";
# any other type reads the generic "err.invalid".
VALIDATION_ERRORS = (
    "missing",
    "string_too_short",
    "string_too_long",
    "string_pattern_mismatch",
    "greater_than_equal",
    "greater_than",
    "less_than_equal",
    "less_than",
    "too_long",
    "too_short",
    "int_parsing",
    "int_type",
    "enum",
    "value_error",
    "extra_forbidden",
    "controlCharacter",
    "dateOutOfRange",
)
# Domain error codes (``models.errors``) a page shows in words: "err.code.<code>"; any other shows the
# service's own English message on English pages and a generic one on zh-TW pages.
ERROR_CODES = (
    "accountTaken",
    "alreadyNewest",
    "brandExists",
    "claimCodeExpired",
    "claimCodeNotFound",
    "claimCodeUsed",
    "corruptImage",
    "couponCodeTaken",
    "deviceNotFound",
    "emptyImage",
    "forbiddenForRole",
    "illegalTransition",
    "imageNotFound",
    "imageRejected",
    "imageTooLarge",
    "inviteExpired",
    "inviteNotFound",
    "inviteUsed",
    "orderNotFound",
    "phoneNeedsBrandAndCondition",
    "photoNotFound",
    "productNotFound",
    "staffNameTaken",
    "staffNotFound",
    "storeNotFound",
    "teamMemberNotFound",
    "tooManyAttempts",
    "tooManyImages",
    "tooManyPhotos",
    "twoDefaultVariants",
    "unknownBrand",
    "unsupportedImageType",
    "uploadGrantUsed",
    "variantNotFound",
)
# The form fields an error can name: "label.<field>" heads the error's sentence.
FIELD_LABELS = (
    "account",
    "address",
    "bundle",
    "attr_name",
    "attributes",
    "brand_id",
    "category_id",
    "code",
    "condition",
    "coupon_kind",
    "description",
    "email",
    "ends_at",
    "group_buy_ends",
    "group_buy_max",
    "group_buy_min",
    "image",
    "kind",
    "max_uses",
    "min_spend",
    "name",
    "name_en",
    "opening_hours",
    "password",
    "password2",
    "percent",
    "phone",
    "photos",
    "pin",
    "product_id",
    "quantity",
    "reason",
    "refund_note",
    "return_days",
    "role",
    "shipping",
    "shop_type",
    "starts_at",
    "storage_condition",
    "sub_category_id",
    "target",
    "value",
    "variant_barcode",
    "variant_id",
    "variant_name",
    "variant_name_en",
    "variant_price",
    "variant_sku",
    "variants",
)
# The states the marketing pages give a discount or coupon, and a group buy (cloud.web.pages.marketing).
CAMPAIGN_STATES = ("live", "scheduled", "ended", "off")
GROUP_BUY_STATES = ("open", "reached", "failed")

SOURCES = CatalogSources(
    catalog=CATALOG,
    roots=(Path(__file__).parent,),
    families={
        "status": OrderStatus,
        "action": OrderStatus,
        "orders.confirm": sorted(TERMINAL_STATES),  # the changes a seller confirms twice
        "actor": Actor,
        "channel": Channel,
        "payment": PaymentMethod,
        "einvoice": EInvoiceKind,  # an order's e-invoice choice, with its value
        "paymentStatus": PaymentStatus,
        "kind": NotificationKind,
        "shopType": ShopType,
        "deviceKind": DeviceKind,
        "role": StaffRole,
        "team.role": Role,  # a cloud session's role (models.team): the owner, field staff
        "team.status": ("invited", "inviteExpired", "active"),
        "devices.kind": DeviceKind,
        "condition": Condition,
        "storage": StorageCondition,
        "shipping": ShippingMethod,
        "adjust": AdjustmentKind,
        "couponKind": CouponKind,
        "campaign": CAMPAIGN_STATES,
        "groupBuy.state": GROUP_BUY_STATES,
        "flash": sorted(FLASHES),
        "err": VALIDATION_ERRORS,
        "err.code": ERROR_CODES,
        "label": FIELD_LABELS,
    },
    free_fields=frozenset({"discount.off"}),
)
