"""The node's schema: the shared tables from ``models.tables`` plus what only a store node keeps."""

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from models import tables as shared
from models.tables import ID, UTCDateTime

metadata = MetaData()

categories = shared.categories.to_metadata(metadata)
brands = shared.brands.to_metadata(metadata)
products = shared.products.to_metadata(metadata)
variants = shared.variants.to_metadata(metadata)
discounts = shared.discounts.to_metadata(metadata)
coupons = shared.coupons.to_metadata(metadata)
orders = shared.orders.to_metadata(metadata)
order_items = shared.order_items.to_metadata(metadata)
payments = shared.payments.to_metadata(metadata)
order_returns = shared.order_returns.to_metadata(metadata)
order_return_items = shared.order_return_items.to_metadata(metadata)
stock_deltas = shared.stock_deltas.to_metadata(metadata)
footfall_events = shared.footfall_events.to_metadata(metadata)

node_state = Table(
    "node_state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=True),
)
"""Small key/value facts about this node: deviceId, storeId, catalogVersion, searchIndexVersion (the keys are
``edge.node_state``'s)."""

product_search = Table(
    "product_search",
    metadata,
    Column("product_id", ID, ForeignKey("products.product_id", ondelete="CASCADE"), primary_key=True),
    Column("text", Text, nullable=False),
)
"""Per listed product: its names (zh-TW and English), variant names, SKUs and barcodes, case-folded, and the
Zhuyin initials of its names, for ``q`` (the layout is ``edge.search_index``'s)."""

stock_levels = Table(
    "stock_levels",
    metadata,
    Column("variant_id", ID, primary_key=True),
    Column("quantity", Integer, nullable=False),
)
"""Running sum of ``stock_deltas`` per variant, kept in the same transaction as each delta."""

carts = Table(
    "carts",
    metadata,
    Column("cart_id", ID, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("order_id", ID, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

cart_items = Table(
    "cart_items",
    metadata,
    Column("item_id", ID, primary_key=True),
    Column("cart_id", ID, ForeignKey("carts.cart_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("variant_id", ID, ForeignKey("variants.variant_id"), nullable=False),
    Column(
        "quantity", Integer, CheckConstraint("quantity > 0", name="cart_quantity_positive"), nullable=False
    ),
    Column("added_at", UTCDateTime, nullable=False),
    UniqueConstraint("cart_id", "variant_id", name="uq_cart_variant"),
)

checkout_keys = Table(
    "checkout_keys",
    metadata,
    Column("idempotency_key", String(128), primary_key=True),
    Column("cart_id", ID, nullable=False),
    Column("order_id", ID, ForeignKey("orders.order_id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

return_keys = Table(
    "return_keys",
    metadata,
    Column("idempotency_key", String(128), primary_key=True),
    Column("order_id", ID, nullable=False),
    Column("return_id", ID, ForeignKey("order_returns.return_id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
"""The idempotency key of each partial return made with one: a retry gets the return made the first time."""

coupon_redemptions = Table(
    "coupon_redemptions",
    metadata,
    Column("order_id", ID, ForeignKey("orders.order_id"), primary_key=True),
    Column("code", String(32), nullable=False, index=True),
    Column("redeemed_at", UTCDateTime, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("message_id", ID, nullable=False, unique=True),
    Column("stream", String(32), nullable=False),
    # Per stream, 1, 2, 3...: the sync protocol's sequence number (contiguous, so a gap means a lost batch).
    Column("stream_seq", Integer, nullable=False),
    Column("aggregate_id", ID, nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("stream", "stream_seq", name="ux_outbox_stream_seq"),
    sqlite_autoincrement=True,
)
"""Messages for the cloud, written in the same transaction as the change they describe. ``seq`` is the
per-device sequence number; a row is deleted only after the cloud acknowledged it."""

sync_acks = Table(
    "sync_acks",
    metadata,
    Column("stream", String(32), primary_key=True),
    Column("acked_seq", Integer, nullable=False),
    Column("acked_at", UTCDateTime, nullable=False),
)

order_transitions = Table(
    "order_transitions",
    metadata,
    Column("order_id", ID, ForeignKey("orders.order_id"), primary_key=True),
    Column("hlc", String(96), primary_key=True),
    Column("to_status", String(16), primary_key=True),
    Column("from_status", String(16), nullable=False),
    Column("actor", String(16), nullable=False),
    Column("device_id", ID, nullable=False),
    Column("note", Text, nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
    # Who made a change at this store's counter (the staff member logged in), as the transition says;
    # NULL for the cloud's changes and for those made before staff logged in.
    Column("staff_id", ID, nullable=True),
    Column("staff_name", String(64), nullable=True),
)
"""Every status transition seen for an order after its sale, made here or in the cloud: the merge rule
rebuilds the order's state from them (the sale itself is the creation, rebuilt from the order row)."""

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("dead_letter_id", ID, primary_key=True),
    Column("received_at", UTCDateTime, nullable=False),
    Column("topic", Text, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("detail", Text, nullable=False),
    Column("payload", Text, nullable=False),  # the first 64 KiB, as received (UTF-8, invalid bytes replaced)
)
"""Messages from the cloud this node refused (malformed, oversized, unknown version...), kept for a look."""

staff = Table(
    "staff",
    metadata,
    Column("staff_id", ID, primary_key=True),
    Column("name", String(64), nullable=False),
    # models.staff.name_key(name): what logins and the one-active-account-per-name rule compare.
    Column("name_key", String(200), nullable=False, index=True),
    Column("role", String(16), nullable=False),
    Column("pin_hash", Text, nullable=False),  # argon2id, never the PIN
    # "cloud": the seller's account, as the store's feed last sent it (its version); "local": made at this
    # node with `edgestore edge staff add`, unknown to the cloud.
    Column("origin", String(8), nullable=False),
    Column("version", Integer, nullable=False),
    Column("removed", Boolean, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
"""Who may log in at this node. Removed accounts are kept: past order events name them, and a cloud
account's version must not go back."""

staff_sessions = Table(
    "staff_sessions",
    metadata,
    # Only a hash of the bearer token is stored: a copy of the file logs nobody in.
    Column("token_hash", String(64), primary_key=True),
    Column("staff_id", ID, ForeignKey("staff.staff_id"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

staff_login_failures = Table(
    "staff_login_failures",
    metadata,
    # Per name (name_key), whether or not an account has it, so the answer does not tell which names exist.
    Column("name_key", String(200), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", UTCDateTime, nullable=False, index=True),  # old rows are forgotten by it
    Column("locked_until", UTCDateTime, nullable=True),
)

till_entries = Table(
    "till_entries",
    metadata,
    # "<kind>:<what it records>" ("sale:<order id>", "refund:<order id>"): made from what it records, so
    # nothing is entered twice.
    Column("entry_id", String(80), primary_key=True),
    Column("kind", String(16), nullable=False),  # edge.till's kinds: sale, refund
    Column("order_id", ID, ForeignKey("orders.order_id"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    # The Z-report that closed the period holding it; NULL while its period is open (indexed: the open
    # period is read by it, and a node keeps years of closed rows).
    Column("z_report_number", Integer, nullable=True, index=True),
)
"""The till's journal: each sale and each refund made at this node's till, written in the transaction that
made it (``edge.till``). A Z-report closes every row still open, so each is in exactly one Z-report."""

z_reports = Table(
    "z_reports",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=False),  # 1, 2, 3... at this node
    Column("z_report_id", ID, nullable=False, unique=True),
    # A close sent again with the same key (its answer was lost) gets this report, not a second one.
    Column("idempotency_key", String(128), nullable=True, unique=True),
    Column("closed_at", UTCDateTime, nullable=False),  # where the next period starts
    Column("report", Text, nullable=False),  # the ZReport as made and sent, camelCase JSON; never changed
)
"""The Z-reports this node closed (``edge.end_of_day``)."""

recognition_photos = Table(
    "recognition_photos",
    metadata,
    Column("photo_id", ID, primary_key=True),
    # No foreign key: a catalog snapshot may replace the variants; a photo of one gone is ignored, and staff
    # delete it with the variant's references.
    Column("variant_id", ID, nullable=False, index=True),
    Column("image", LargeBinary, nullable=False),  # JPEG, downscaled (edge.recognition.references)
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(64), nullable=True),  # the staff member who enrolled it
    # The cloud's photo id when the photo came from the seller's cloud-enrolled set (migration 0009); NULL
    # for a photo enrolled at the node (staff mode), which the cloud's set never touches.
    Column("cloud_photo_id", String(64), nullable=True),
    Index(
        "ux_recognition_photos_cloud_photo_id",
        "cloud_photo_id",
        unique=True,
        sqlite_where=text("cloud_photo_id IS NOT NULL"),
    ),
)
"""Reference photos of this store's variants, kept so a new model can embed them again."""

recognition_embeddings = Table(
    "recognition_embeddings",
    metadata,
    Column(
        "photo_id",
        ID,
        ForeignKey("recognition_photos.photo_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("model_key", String(64), primary_key=True),  # the sha256 of the model.tflite that made it
    Column("embedding", LargeBinary, nullable=False),  # float32 little-endian, unit length
)
"""Each reference photo's embedding per model (the running one's; a new one's while it is prepared)."""

recognition_photo_refusals = Table(
    "recognition_photo_refusals",
    metadata,
    Column("cloud_photo_id", String(64), primary_key=True),
    Column("sha256", String(64), nullable=False),  # the file refused: another file under the id is fetched
    Column("reason", String(500), nullable=False),
    Column("refused_at", UTCDateTime, nullable=False),
)
"""Cloud photos the node cannot take for good (not an image it can read), so they are not fetched again while
their SHA-256 is the same (migration 0009)."""

cart_handoffs = Table(
    "cart_handoffs",
    metadata,
    # Unique among live codes only: a code whose row is dead (claimed, expired or voided) may be issued
    # again, and then that old row is replaced (edge.handoffs).
    Column("code", String(6), primary_key=True),
    Column("cart_id", ID, ForeignKey("carts.cart_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),  # a code voided by a newer one expires at once
    Column("claimed_at", UTCDateTime, nullable=True),
    Column("claimed_cart_id", ID, nullable=True),  # the kiosk's new cart the lines were copied into
)
"""Six-digit codes a phone shows for a kiosk to take over its cart (migration 0010, ``edge.handoffs``)."""

receipt_tokens = Table(
    "receipt_tokens",
    metadata,
    Column("order_id", ID, ForeignKey("orders.order_id"), primary_key=True),
    Column("token", String(8), nullable=False),  # canonical: 8 upper-case Crockford base32 characters
)
"""Per sale made here, the token printed on its receipt: with the order id, a shopper's phone fetches the
receipt without a staff login (migration 0010, ``edge.receipts``)."""

product_revisions = Table(
    "product_revisions",
    metadata,
    # No foreign key: rows follow the products the catalog cache holds, which are never deleted.
    Column("product_id", ID, primary_key=True),
    Column("version", Integer, nullable=False, index=True),  # the catalog version its digest last changed at
    Column("digest", String(64), nullable=False),  # of what a phone lists of it (edge.catalog_changes)
    Column("listed", Boolean, nullable=False),
)
"""Per product, when what a phone shows of it last changed, for ``GET /catalog/changes`` (migration 0010)."""
