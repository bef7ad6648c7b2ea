"""Request and response bodies of the store node's HTTP API (``/api/v1`` on the Pi).

Shared by the node (edge/), the kiosk and the phone bridge, so all three agree on the wire format.
Names follow their role: ``...Create``/``...Update`` come in, ``...Public`` goes out.
"""

import re
from datetime import date
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import AwareDatetime, Field, model_validator

from models.base import CamelModel
from models.catalog import Condition
from models.einvoice import EInvoice
from models.end_of_day import ReportNote
from models.footfall import FootfallSource
from models.ids import ULID_PATTERN
from models.money import TWD
from models.order_states import OrderStatus
from models.returns import OrderWithReturns, ReturnNote
from models.sales import MAX_ORDER_LINES, CartStatus, PaymentMethod, Quantity
from models.staff import Pin, StaffRole

VariantId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


T = TypeVar("T")


class Page(CamelModel, Generic[T]):
    """One page of a list. Pass ``nextCursor`` back as ``cursor`` for the next page; null means the end."""

    items: list[T]
    next_cursor: str | None = None


class VariantPublic(CamelModel):
    variant_id: str
    name: str
    name_en: str
    barcode: str | None
    sku: str | None
    is_default: bool
    price: TWD
    discount_percent: int = Field(description="Best active discount now, 0 when none")
    final_price: TWD
    stock: int = Field(description="Units at this store (may be negative after offline oversell)")


class DiscountPublic(CamelModel):
    discount_id: str
    name: str
    percent: int
    ends_at: AwareDatetime | None


class ProductSummary(CamelModel):
    product_id: str
    name: str
    name_en: str
    category_id: str | None
    image_url: str | None
    price: TWD = Field(description="Default variant's list price")
    final_price: TWD = Field(description="Default variant's price after the active discount")
    stock: int = Field(description="Units at this store, all variants")


class ProductPublic(ProductSummary):
    description: str
    sub_category_id: str | None
    brand_id: str | None
    condition: Condition | None
    variants: list[VariantPublic]
    active_discount: DiscountPublic | None


class CartCreate(CamelModel):
    """Body of ``POST /carts``; may be empty."""

    items: list["CartItemCreate"] = []


class CartItemCreate(CamelModel):
    variant_id: VariantId
    quantity: Quantity = 1


class CartItemUpdate(CamelModel):
    quantity: Quantity


class CartItemPublic(CamelModel):
    item_id: str
    product_id: str
    variant_id: str
    name: str
    variant_name: str
    name_en: str = Field("", description="The product's English name, empty when it has none")
    variant_name_en: str = ""
    quantity: int
    unit_price: TWD
    unit_discount: TWD
    unit_final_price: TWD
    line_total: TWD
    stock: int


class CartPublic(CamelModel):
    cart_id: str
    status: CartStatus
    items: list[CartItemPublic]
    item_count: int
    subtotal: TWD
    discount_total: TWD
    total: TWD = Field(description="Before any coupon; the coupon is applied at checkout")
    order_id: str | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime


CouponCodeInput = Annotated[str, Field(min_length=3, max_length=32)]


class CartQuote(CamelModel):
    """What the cart comes to with a coupon, priced as checkout prices it: what the kiosk shows as due and
    charges a card for before it checks out."""

    cart_id: str
    subtotal: TWD
    discount_total: TWD
    coupon_code: str | None
    coupon_discount: TWD
    total: TWD


IdempotencyKey = Annotated[str, Field(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]
"""What a client sends again with a request whose answer it lost, to get the first answer, not a repeat."""


HANDOFF_QR_PREFIX = "edgestore-handoff:"
HANDOFF_CODE_PATTERN = r"^[0-9]{6}$"
HandoffCode = Annotated[str, Field(pattern=HANDOFF_CODE_PATTERN, description="Six digits")]


def handoff_qr(code: str) -> str:
    """The text of a hand-off code's QR code, as the phone shows it and the kiosk's camera reads it."""
    return f"{HANDOFF_QR_PREFIX}{code}"


def parse_handoff_qr(text: str) -> str | None:
    """The six-digit code in what the kiosk was given: a scanned QR text (``edgestore-handoff:123456``) or
    a code typed by hand, which may hold spaces or dashes (``123 456``, ``123-456``); None when it is
    neither."""
    text = text.strip()
    if text.startswith(HANDOFF_QR_PREFIX):
        text = text.removeprefix(HANDOFF_QR_PREFIX)
    code = re.sub(r"[\s-]", "", text)
    return code if re.fullmatch(HANDOFF_CODE_PATTERN, code, flags=re.ASCII) else None


class CartHandoff(CamelModel):
    """A code for a kiosk to take over a phone's cart (``POST /carts/{cartId}/handoff``): the phone shows
    ``code`` and its QR (``qr``); the kiosk claims it (``POST /handoffs/{code}/claim``) before ``expires_at``."""

    code: HandoffCode
    cart_id: str
    expires_at: AwareDatetime
    qr: str = Field(description="The QR code's text: edgestore-handoff:<code>")


RECEIPT_TOKEN_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # noqa: S105 (an alphabet, not a secret)
"""Crockford's base32: no I, L, O or U, so a token read off paper is not misread."""
RECEIPT_TOKEN_LENGTH = 8
# Crockford's decoding: the letters a reader may type for the digits they look like.
_CROCKFORD_LOOKALIKES = str.maketrans({"I": "1", "L": "1", "O": "0"})


def format_receipt_token(token: str) -> str:
    """A receipt token as printed: ``ABCD-EFGH``."""
    return f"{token[:4]}-{token[4:]}"


def normalize_receipt_token(text: str) -> str | None:
    """The canonical token (8 upper-case Crockford characters, no dash) in what a shopper typed or a phone
    sent (any case, with or without the printed dash, I/L for 1 and O for 0); None when it cannot be one."""
    token = text.strip().replace("-", "").upper().translate(_CROCKFORD_LOOKALIKES)
    if len(token) != RECEIPT_TOKEN_LENGTH or any(c not in RECEIPT_TOKEN_ALPHABET for c in token):
        return None
    return token


class ReceiptLine(CamelModel):
    name: str
    variant_name: str
    quantity: int
    unit_final_price: TWD
    line_total: TWD


class ReceiptPayment(CamelModel):
    method: PaymentMethod
    amount: TWD


class ReceiptPublic(CamelModel):
    """A sale as its receipt shows it, for the holder of its receipt token (``GET /receipts/{orderId}``, no
    login): what was bought and paid and what was refunded since, and nothing else of the order (not its
    e-invoice carrier or tax ID, the staff who took a return back, or the device)."""

    order_id: str
    status: OrderStatus
    created_at: AwareDatetime
    items: list[ReceiptLine]
    subtotal: TWD
    discount_total: TWD
    coupon_code: str | None
    coupon_discount: TWD
    total: TWD
    payments: list[ReceiptPayment]
    refunded_amount: TWD

    @classmethod
    def of(cls, order: OrderWithReturns) -> "ReceiptPublic":
        return cls(
            order_id=order.order_id,
            status=order.status,
            created_at=order.created_at,
            items=[
                ReceiptLine(
                    name=i.name,
                    variant_name=i.variant_name,
                    quantity=i.quantity,
                    unit_final_price=i.unit_final_price,
                    line_total=i.line_total,
                )
                for i in order.items
            ],
            subtotal=order.subtotal,
            discount_total=order.discount_total,
            coupon_code=order.coupon_code,
            coupon_discount=order.coupon_discount,
            total=order.total,
            payments=[ReceiptPayment(method=p.method, amount=p.amount) for p in order.payments],
            refunded_amount=order.refunded_amount,
        )


class ReceiptAccess(CamelModel):
    """What the holder of a checked-out cart's id needs to fetch its receipt later
    (``GET /receipts/{orderId}?token=``): the order and its receipt token (canonical: 8 characters, no dash;
    printed on the receipt as ``XXXX-XXXX``)."""

    order_id: str
    receipt_token: str


class CatalogChanges(CamelModel):
    """What changed in the catalog since a version a phone holds (``GET /catalog/changes``).

    ``reset``: the phone's copy cannot be brought up to date by changes (the version is older than the
    changes the node keeps, newer than any it had, or discounts or categories changed since): fetch the
    whole catalog again (``GET /catalog/products``); ``items`` and ``removed`` are then empty."""

    catalog_version: int | None = Field(description="The node's catalog version now (null: it has none)")
    reset: bool
    items: list[ProductSummary] = Field(description="Listed products changed since, with stock and price now")
    removed: list[str] = Field(description="Ids of products unlisted since")
    next_cursor: str | None = None


class CheckoutRequest(CamelModel):
    payment_method: PaymentMethod
    coupon_code: CouponCodeInput | None = None
    expected_total: TWD | None = Field(
        default=None,
        description="The total the shopper was shown and charged (a quote's): the checkout is refused with "
        "409 totalChanged when prices moved since, instead of selling for another amount",
    )
    idempotency_key: IdempotencyKey | None = None
    einvoice: EInvoice | None = Field(
        default=None,
        description="The shopper's e-invoice choice (電子發票); a refused value is 422 invalidCarrier, "
        "invalidDonationCode or invalidTaxId",
    )


class EndOfDayClose(CamelModel):
    """Body of ``POST /end-of-day``: a manager closes the till's period (a Z-report)."""

    opening_float: TWD = Field(description="The cash put in the drawer when the period began")
    counted_cash: TWD | None = Field(
        default=None, description="The cash the manager counted in the drawer, when counted"
    )
    note: ReportNote | None = None
    idempotency_key: IdempotencyKey | None = Field(
        default=None,
        description="The same key again (the answer was lost) gets the report made the first time",
    )


class ReturnItemRequest(CamelModel):
    item_id: Annotated[str, Field(pattern=ULID_PATTERN, description="An order line's itemId")]
    quantity: Quantity


class ReturnRequest(CamelModel):
    """Body of ``POST /orders/{orderId}/returns``: the units of each line that come back."""

    items: list[ReturnItemRequest] = Field(min_length=1, max_length=MAX_ORDER_LINES)
    note: ReturnNote | None = None
    idempotency_key: IdempotencyKey | None = Field(
        default=None,
        description="A retry with the same key gets the return made the first time (200), never a second "
        "return; the same key on another order or for other units is 409 idempotencyKeyReused",
    )

    @model_validator(mode="after")
    def _each_line_once(self) -> "ReturnRequest":
        ids = [item.item_id for item in self.items]
        if len(set(ids)) != len(ids):
            raise ValueError("name each line once, with all of its units that come back")
        return self

    def wanted(self) -> dict[str, int]:
        """Units per line (item id)."""
        return {item.item_id: item.quantity for item in self.items}


class CloudLink(CamelModel):
    connected: bool
    last_contact_at: AwareDatetime | None


class ModelRejection(CamelModel):
    """A model file the node fetched and refused (bad, truncated or incompatible): the one before it serves on,
    and this version is not fetched again."""

    name: str = Field(description="The model's name (product-recognizer)")
    version: int = Field(description="The refused file's version, as the cloud announced it")
    sha256: str
    reason: str = Field(description="Why, for people (not a stable code)")
    at: AwareDatetime = Field(description="When the node refused it")


class RecognitionHealth(CamelModel):
    loaded: bool = Field(description="A recognition model serves: the kiosk may offer scanning")
    model_version: str | None = Field(description="The serving model's label (its model.json modelVersion)")
    model_file_version: int | None = Field(
        description="The serving model file's version: 0 the one shipped with the node, else the cloud's"
    )
    rejected: ModelRejection | None = Field(
        default=None, description="The latest model file refused, when it is newer than the serving one"
    )
    input_size: int | None = Field(
        default=None,
        description="The serving model's input side in pixels: a client that sends the centre square at "
        "this size (lossless: BMP or PNG) spares the node all decoding and scaling",
    )


class Health(CamelModel):
    status: str = Field(description="ok or degraded")
    version: str
    store_id: str | None
    device_id: str
    database_ok: bool
    catalog_version: int | None
    online: bool = Field(description="True when the node is in contact with the cloud")
    cloud: CloudLink
    pending_outbox: int
    models: dict[str, int] = Field(
        default={},
        description="Model files held (name -> version), from the cloud (0: shipped with the node)",
    )
    recognition: RecognitionHealth | None = Field(
        default=None, description="Product recognition at this node; null where the node runs none"
    )
    store_name: str | None = Field(
        default=None, description="The store's name, from the catalog it loaded; null until one names it"
    )


class StreamBacklog(CamelModel):
    stream: str
    pending: int
    oldest_pending_at: AwareDatetime | None
    acked_seq: int
    last_ack_at: AwareDatetime | None


class SnapshotDownload(CamelModel):
    """A catalog snapshot the node is fetching from the cloud, decoding or applying (a first one can take
    a while: a 100,000-product catalog is about 4 MB on the wire and 58 MB of JSON)."""

    what: str = Field(description="Which snapshot: ``catalog v{version}``")
    phase: Literal["downloading", "decoding", "verifying", "applying"] = Field(
        description="downloading; decoding (gzip); verifying (size, SHA-256, schema); applying (one transaction)"
    )
    started_at: AwareDatetime
    received_bytes: int = Field(description="Bytes on the wire held so far (content-coded), resumed ones too")
    expected_bytes: int | None = Field(description="Bytes on the wire in all, when the server said")
    resumed_from: int = Field(default=0, description="Bytes kept from an earlier attempt that was cut")


class SyncStatus(CamelModel):
    online: bool
    pending_total: int
    last_ack_at: AwareDatetime | None
    streams: list[StreamBacklog]
    dead_letters: int = Field(default=0, description="Messages from the cloud this node refused (kept)")
    waiting_for_ack_since: AwareDatetime | None = Field(
        default=None, description="Since when the oldest batch sent to the cloud waits for its ack"
    )
    resends: int = Field(
        default=0,
        description="Batches sent again for want of an ack since the last ack came: the cloud is slow or failing",
    )
    model_rejections: list[ModelRejection] = Field(
        default=[], description="Model files refused, the latest per model (the one before serves on)"
    )
    snapshot_download: SnapshotDownload | None = Field(
        default=None, description="A catalog snapshot being fetched or applied now; null otherwise"
    )


class StaffLogin(CamelModel):
    """Body of ``POST /staff/login``: a staff member's name (any case) and PIN."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    pin: Pin


class StaffPublic(CamelModel):
    """Who is logged in, and until when their token works."""

    staff_id: str
    name: str
    role: StaffRole
    expires_at: AwareDatetime


class StaffSession(StaffPublic):
    """A staff login: send ``token`` as ``Authorization: Bearer <token>``; shown once (the node keeps only
    its hash)."""

    token: str


class RecognitionCandidate(CamelModel):
    variant_id: str
    product_id: str
    name: str = Field(description="The product's name (zh-TW), with the variant's when it is not the default")
    name_en: str = Field("", description="The same in English, empty when there is none")
    confidence: float = Field(ge=0, le=1, description="Calibrated probability that this is the product")


class RecognitionResult(CamelModel):
    """What ``POST /recognize`` saw: up to k variants, most likely first; none, and ``unknown``, when the
    best match is below the model's threshold."""

    candidates: list[RecognitionCandidate]
    unknown: bool
    model_version: str
    latency_ms: float = Field(description="Time the node spent on the request (decode, model, search)")


class EnrollmentResult(CamelModel):
    variant_id: str
    added: int = Field(description="Reference photos added now")
    references: int = Field(description="Reference photos the variant has in all")


class ReferencesDeleted(CamelModel):
    variant_id: str
    deleted: int = Field(description="Reference photos forgotten (0: the variant had none)")


class RecognitionStatus(CamelModel):
    loaded: bool
    model_version: str | None
    model_file_version: int | None
    input_size: int | None = Field(default=None, description="The serving model's input side in pixels")
    embedding_dim: int | None
    threshold: float | None = Field(description="Cosine similarity below which a photo is unknown")
    enrolled_variants: int = Field(description="Variants with at least one reference photo")
    reference_count: int = Field(description="Reference photos embedded by the serving model")
    rejected: ModelRejection | None = None
    # The seller's cloud-enrolled photos (issue 18); defaults so an older node's answer still reads.
    cloud_photos_version: int = Field(
        0, description="Version of the seller's cloud-enrolled photo set the node holds in full (0: none)"
    )
    cloud_references: int = Field(0, description="Reference photos from the seller's cloud-enrolled set")
    node_references: int = Field(0, description="Reference photos enrolled at this node (staff mode)")
    refused_cloud_photos: int = Field(
        0, description="Cloud photos the node refused (not an image it reads): not fetched again"
    )


CartCreate.model_rebuild()


class FootfallBucket(CamelModel):
    """A quarter hour of a day's door counts (its start in Taipei time), present only when it had events."""

    start: AwareDatetime
    in_count: int
    out_count: int


class FootfallSummary(CamelModel):
    """A Taiwan day's door counts at this node (``GET /api/v1/footfall``), recomputed from its events."""

    day: date
    in_count: int
    out_count: int
    occupancy: int = Field(
        description="People inside now (for a past day, at its end): ins minus outs since the day's start, "
        "counted in order and never below 0 (an out the counter saw with nobody counted in is dropped)"
    )
    buckets: list[FootfallBucket] = Field(description="The day's 15-minute buckets that had events, in order")
    sources: dict[FootfallSource, int] = Field(description="Events per source (camera, pir, fused)")
