"""The cloud's Postgres schema (SQLAlchemy Core).

Order lines, payments, stock deltas and footfall events have the same shape as on the store node and are
copied from ``models.tables``; the rest is cloud-only. Every seller-owned row carries ``seller_id`` so each
query can be scoped to the caller with one indexed predicate.
"""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)

from models import tables as shared
from models.tables import ID, UTCDateTime

metadata = MetaData()

sellers = Table(
    "sellers",
    metadata,
    Column("seller_id", ID, primary_key=True),
    Column("account", String(64), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("name", String(200), nullable=False),
    Column("phone", String(32), nullable=True),
    Column("address", Text, nullable=True),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("created_at", UTCDateTime, nullable=False),
)
# Accounts are unique whatever their case: "Alice" cannot register beside "alice".
Index("ux_sellers_account", func.lower(sellers.c.account), unique=True)

team_members = Table(
    "team_members",
    metadata,
    # Who besides the owner logs in to a seller's account, with a role (models.team; cloud.team). Invited by
    # the owner with a one-time link (only its SHA-256 kept); the password is set when the invitation is
    # accepted. Removed members stay (removed_at) and their email is free again.
    Column("team_member_id", ID, primary_key=True),
    Column("seller_id", ID, ForeignKey("sellers.seller_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("email", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("password_hash", Text, nullable=True),  # argon2, set when the invitation is accepted
    Column("invite_hash", String(64), nullable=True),
    Column("invite_expires_at", UTCDateTime, nullable=True),
    Column("invited_at", UTCDateTime, nullable=False),
    Column("accepted_at", UTCDateTime, nullable=True),
    Column("removed_at", UTCDateTime, nullable=True),
    UniqueConstraint("invite_hash", name="ux_team_members_invite_hash"),
)
# An email is one login: one live member per email, whatever its case (sellers' accounts are checked under
# a lock, cloud.auth.lock_login_name).
Index(
    "ux_team_members_email",
    func.lower(team_members.c.email),
    unique=True,
    postgresql_where=team_members.c.removed_at.is_(None),
)

sessions = Table(
    "sessions",
    metadata,
    # Only a hash of the token is stored: a leaked table does not log anyone in.
    Column("token_hash", String(64), primary_key=True),
    Column("seller_id", ID, ForeignKey("sellers.seller_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    # A team member's session (null: the owner's); removing the member ends it.
    Column(
        "team_member_id",
        ID,
        ForeignKey("team_members.team_member_id", ondelete="CASCADE"),
        nullable=True,
        index=True,
    ),
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("failure_id", BigInteger, Identity(), primary_key=True),
    Column("account", String(64), nullable=False),
    Column("client", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_login_failures_account_at", "account", "at"),
    Index("ix_login_failures_client_at", "client", "at"),
)

stores = Table(
    "stores",
    metadata,
    Column("store_id", ID, primary_key=True),
    Column("seller_id", ID, ForeignKey("sellers.seller_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("address", Text, nullable=True),
    Column("shop_type", String(16), nullable=False),
    Column("opening_hours", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # The end of the store's downlink feed; taken under the row lock, so feed positions never collide.
    Column("downlink_seq", BigInteger, nullable=False, server_default="0"),
    # Feed messages up to here are deleted: every live device of the store has applied them.
    Column("feed_pruned_seq", BigInteger, nullable=False, server_default="0"),
)

devices = Table(
    "devices",
    metadata,
    Column("device_id", ID, primary_key=True),
    Column("store_id", ID, ForeignKey("stores.store_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("seller_id", ID, nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(200), nullable=True),
    Column("mqtt_password_hash", Text, nullable=False),  # Mosquitto's $7$ PBKDF2 format, never the password
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    # The store feed position the device last reported applying; NULL until its first status.
    Column("downlink_seq", BigInteger, nullable=True),
    # The model files it last reported serving, name -> version (its status); NULL until its first status.
    Column("models", JSON, nullable=True),
    # The version of the seller's recognition photo set it last reported holding; NULL: it takes none.
    Column("recognition_photos", Integer, nullable=True),
    # What a device that claimed its place with a claim code said it is (cloud.claim_codes): its hardware id
    # and the Ed25519 public key it made (PEM or OpenSSH, as sent). NULL for devices registered by hand.
    Column("hardware_id", String(128), nullable=True),
    Column("public_key", Text, nullable=True),
    # What its last status said (migration 0015, issue 19): online (false after its last will, a goodbye or
    # revocation), and the health an online status carried (``sync_protocol.envelope.DeviceHealth`` as JSON,
    # camelCase) with when the cloud received it; NULL until a node that says it (schema version 5) links.
    Column("online", Boolean, nullable=False, server_default="false"),
    Column("health", JSON, nullable=True),
    Column("health_at", UTCDateTime, nullable=True),
)

claim_codes = Table(
    "claim_codes",
    metadata,
    # A one-time, expiring code a store node claims its place in a store with (cloud.claim_codes). Only the
    # SHA-256 of the code is kept: the code is shown once, when it is made.
    Column("claim_code_id", ID, primary_key=True),
    Column("seller_id", ID, ForeignKey("sellers.seller_id", ondelete="CASCADE"), nullable=False),
    Column("store_id", ID, ForeignKey("stores.store_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("code_hash", String(64), nullable=False),
    Column("name", String(200), nullable=True),  # the name the claiming device gets
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    Column("used_by_device_id", ID, nullable=True),
    UniqueConstraint("code_hash", name="ux_claim_codes_code_hash"),
)

staff = Table(
    "staff",
    metadata,
    # A store's staff, who log in at its store node with their name and PIN; sent down the store's feed
    # (and in its snapshots) with every change, each one a new version.
    Column("staff_id", ID, primary_key=True),
    Column("seller_id", ID, ForeignKey("sellers.seller_id", ondelete="CASCADE"), nullable=False),
    Column("store_id", ID, ForeignKey("stores.store_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(64), nullable=False),
    Column("name_key", String(200), nullable=False),  # models.staff.name_key(name)
    Column("role", String(16), nullable=False),
    Column("pin_hash", Text, nullable=False),  # argon2id, never the PIN
    Column("version", Integer, nullable=False),
    # Removed staff stay: nodes must hear of the removal, and past order events name them.
    Column("removed_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
# One active account per name in a store, whatever its case or width: the name is the login at the node.
Index(
    "ux_staff_store_name",
    staff.c.store_id,
    staff.c.name_key,
    unique=True,
    postgresql_where=staff.c.removed_at.is_(None),
)

# Categories are shared reference data (every seller picks from them); the phone category the catalog rules
# depend on is seeded by the first migration.
categories = shared.categories.to_metadata(metadata)

# Brands: the curated list every seller sees (seller_id NULL, seeded by migrations), plus each seller's own
# (POST /brands), seen by that seller and its stores only. Names are unique per owner, whatever their case.
brands = shared.brands.to_metadata(metadata)
brands.append_column(
    Column("seller_id", ID, ForeignKey("sellers.seller_id", ondelete="CASCADE"), nullable=True)
)
Index(
    "ux_brands_shared_name",
    func.lower(brands.c.name),
    unique=True,
    postgresql_where=brands.c.seller_id.is_(None),
)
Index(
    "ux_brands_seller_name",
    brands.c.seller_id,
    func.lower(brands.c.name),
    unique=True,
    postgresql_where=brands.c.seller_id.is_not(None),
)

products = Table(
    "products",
    metadata,
    Column("product_id", ID, primary_key=True),
    Column("seller_id", ID, ForeignKey("sellers.seller_id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("name_en", String(200), nullable=False, server_default=""),
    Column("category_id", ID, ForeignKey("categories.category_id"), nullable=True),
    Column("sub_category_id", ID, ForeignKey("categories.category_id"), nullable=True),
    Column("brand_id", ID, ForeignKey("brands.brand_id"), nullable=True),
    Column("condition", String(16), nullable=True),
    Column("listed", Boolean, nullable=False, server_default="true"),
    Column("metadata_id", ID, nullable=False),  # the MongoDB document with description, images, rules
    Column("image_url", Text, nullable=True),  # first image's thumbnail, for lists
    Column("shipping", JSON, nullable=False),  # [{"method": "homeDelivery", "fee": 80}, ...]
    Column("group_buy", JSON(none_as_null=True), nullable=True),  # {"minQuantity", "maxQuantity", "endsAt"}
    Column("stocked_often", Boolean, nullable=False, server_default="false"),
    Column("storage_condition", String(16), nullable=False, server_default="ambient"),
    Column("catalog_version", BigInteger, nullable=False),  # the seller's version when last changed
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime, nullable=True),
    Index("ix_products_seller_created", "seller_id", "created_at", "product_id"),
)

variants = Table(
    "variants",
    metadata,
    Column("variant_id", ID, primary_key=True),
    Column(
        "product_id", ID, ForeignKey("products.product_id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("seller_id", ID, nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("name_en", String(200), nullable=False, server_default=""),
    Column(
        "price", Integer, CheckConstraint("price >= 0", name="variant_price_not_negative"), nullable=False
    ),
    Column("barcode", String(32), nullable=True),
    Column("sku", String(64), nullable=True),
    Column("is_default", Boolean, nullable=False, server_default="false"),
    Column("listed", Boolean, nullable=False, server_default="true"),
    Column("position", Integer, nullable=False, server_default="0"),
)

discounts = Table(
    "discounts",
    metadata,
    Column("discount_id", ID, primary_key=True),
    Column("seller_id", ID, ForeignKey("sellers.seller_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column(
        "percent",
        Integer,
        CheckConstraint("percent BETWEEN 0 AND 100", name="discount_percent_range"),
        nullable=False,
    ),
    Column("product_id", ID, nullable=True),
    Column("variant_id", ID, nullable=True),
    Column("starts_at", UTCDateTime, nullable=True),
    Column("ends_at", UTCDateTime, nullable=True),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime, nullable=True),
)

coupons = Table(
    "coupons",
    metadata,
    Column("coupon_id", ID, primary_key=True),
    Column("seller_id", ID, ForeignKey("sellers.seller_id", ondelete="CASCADE"), nullable=False),
    Column("code", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("value", Integer, nullable=False),
    Column("min_spend", Integer, nullable=False, server_default="0"),
    Column("max_uses", Integer, nullable=True),
    Column("starts_at", UTCDateTime, nullable=True),
    Column("ends_at", UTCDateTime, nullable=True),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime, nullable=True),
    UniqueConstraint("seller_id", "code", name="ux_coupons_seller_code"),
)

catalog_versions = Table(
    "catalog_versions",
    metadata,
    Column("seller_id", ID, ForeignKey("sellers.seller_id", ondelete="CASCADE"), primary_key=True),
    Column("version", BigInteger, nullable=False),
)

catalog_changes = Table(
    "catalog_changes",
    metadata,
    # What changed at each version, so stores can follow deltas from the version they hold (sync issue).
    Column("change_id", BigInteger, Identity(), primary_key=True),
    Column("seller_id", ID, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("entity", String(16), nullable=False),
    Column("entity_id", ID, nullable=False),
    Column("op", String(8), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_catalog_changes_seller_version", "seller_id", "version"),
)

# Orders as sold at the edge, plus the owner and when the cloud received them.
orders = shared.orders.to_metadata(metadata)
orders.append_column(Column("seller_id", ID, nullable=False))
orders.append_column(Column("received_at", UTCDateTime, nullable=False))
Index("ix_orders_seller_created", orders.c.seller_id, orders.c.created_at, orders.c.order_id)
Index("ix_orders_seller_store_created", orders.c.seller_id, orders.c.store_id, orders.c.created_at)
Index("ix_orders_seller_status_created", orders.c.seller_id, orders.c.status, orders.c.created_at)

order_items = shared.order_items.to_metadata(metadata)
payments = shared.payments.to_metadata(metadata)
# Partial returns as the store that took them sent them (models.returns.OrderReturn).
order_returns = shared.order_returns.to_metadata(metadata)
order_return_items = shared.order_return_items.to_metadata(metadata)
stock_deltas = shared.stock_deltas.to_metadata(metadata)
# Each variant's level at each store: the sum of its stock deltas, kept by a trigger on stock_deltas that adds
# each statement's new deltas (migration 0017), so that a level costs one row to read however long its history
# is. Summing the deltas grew with every sale, and the uplink read the levels of every batch's variants.
stock_levels = Table(
    "stock_levels",
    metadata,
    Column("store_id", ID, primary_key=True),
    Column("variant_id", ID, primary_key=True),
    Column("level", BigInteger, nullable=False),
)
footfall_events = shared.footfall_events.to_metadata(metadata)

order_events = Table(
    "order_events",
    metadata,
    Column("event_id", ID, primary_key=True),
    Column("order_id", ID, ForeignKey("orders.order_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("from_status", String(16), nullable=True),
    Column("to_status", String(16), nullable=False),
    Column("actor", String(16), nullable=False),
    Column("note", Text, nullable=True),
    Column("at", UTCDateTime, nullable=False),
    # The transition's HLC stamp and the device (a store node, or "cloud") that made it: the status merge
    # rebuilds the order's state from these. NULL on rows written before sync stamped them.
    Column("hlc", String(96), nullable=True),
    Column("device_id", ID, nullable=True),
    # Who made a store's change at the counter, as the store node said (its staff member logged in there).
    Column("staff_id", ID, nullable=True),
    Column("staff_name", String(64), nullable=True),
)

# Rollups kept in the same transaction as the order (and moved between statuses by transitions), so the
# dashboard and the order list's totals never scan a million orders.
daily_sales = Table(
    "daily_sales",
    metadata,
    Column("store_id", ID, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("status", String(16), primary_key=True),
    Column("seller_id", ID, nullable=False),
    Column("orders", Integer, nullable=False),
    Column("revenue", BigInteger, nullable=False),
    Column("items", Integer, nullable=False),
    Index("ix_daily_sales_seller_day", "seller_id", "day"),
    Index("ix_daily_sales_seller_status_day", "seller_id", "status", "day"),
)

# Top products: seller-wide (the all-stores dashboard) and per store (the one-store dashboard). Two
# tables, because summing the per-store one over 50 stores cost the dashboard 4x (docs/performance.md).
daily_product_sales = Table(
    "daily_product_sales",
    metadata,
    Column("seller_id", ID, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("product_id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("revenue", BigInteger, nullable=False),
)

daily_store_product_sales = Table(
    "daily_store_product_sales",
    metadata,
    Column("store_id", ID, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("product_id", ID, primary_key=True),
    Column("seller_id", ID, nullable=False),
    Column("name", String(200), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("revenue", BigInteger, nullable=False),
)

notifications = Table(
    "notifications",
    metadata,
    Column("notification_id", ID, primary_key=True),  # ULID: sorts by time
    Column("seller_id", ID, ForeignKey("sellers.seller_id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("ref_type", String(16), nullable=True),
    Column("ref_id", ID, nullable=True),
    # What its words need, by kind (cloud.notification_text writes them for each reader): never words.
    Column("params", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("read_at", UTCDateTime, nullable=True),
    Index("ix_notifications_seller_id", "seller_id", "notification_id"),
)
Index(
    "ix_notifications_unread", notifications.c.seller_id, postgresql_where=notifications.c.read_at.is_(None)
)


# Sync: where each device's uplink streams stand (committed with what they carried), and what was refused.
sync_streams = Table(
    "sync_streams",
    metadata,
    Column("device_id", ID, primary_key=True),
    Column("stream", String(16), primary_key=True),
    Column("high_water", BigInteger, nullable=False),
    Column("above", JSON, nullable=False),  # seqs committed above the mark, waiting for a gap to fill
    Column("updated_at", UTCDateTime, nullable=False),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("dead_letter_id", ID, primary_key=True),
    Column("received_at", UTCDateTime, nullable=False),
    Column("topic", Text, nullable=False),
    Column("store_id", ID, nullable=True),
    Column("device_id", ID, nullable=True),
    Column("reason", String(32), nullable=False),
    Column("detail", Text, nullable=False),
    Column("seqs", JSON, nullable=False),
    Column("payload", Text, nullable=False),  # the first 64 KiB, as received (UTF-8, invalid bytes replaced)
    Index("ix_dead_letters_device_received", "device_id", "received_at"),
    Index("ix_dead_letters_store", "store_id"),  # GET /sync/status counts a seller's stores' dead letters
)

downlink_feed = Table(
    "downlink_feed",
    metadata,
    # What the cloud did to a store's orders and stock (transitions, stock deltas), numbered per store, so a
    # node that was away takes up the feed where it left it (sync issue).
    Column("store_id", ID, ForeignKey("stores.store_id", ondelete="CASCADE"), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

model_files = Table(
    "model_files",
    metadata,
    # Versions of a seller's model files (the product recognition model): the bytes are in the blob store;
    # every store node of the seller is sent the newest version of each name (sync issue).
    Column("seller_id", ID, ForeignKey("sellers.seller_id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(40), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("blob_key", String(512), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # A rollback publishes an older version's bytes again as a new version (nodes only move forward).
    Column("rolled_back_from", Integer, nullable=True),
)

model_refusals = Table(
    "model_refusals",
    metadata,
    # A model file a store node fetched and would not run (its status says so); kept once per device and
    # version, when the seller's bell rang for it.
    Column("device_id", ID, ForeignKey("devices.device_id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(40), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("seller_id", ID, ForeignKey("sellers.seller_id", ondelete="CASCADE"), nullable=False),
    Column("store_id", ID, ForeignKey("stores.store_id", ondelete="CASCADE"), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("refused_at", UTCDateTime, nullable=False),
    Index("ix_model_refusals_seller_model", "seller_id", "name", "version"),
)

recognition_photos = Table(
    "recognition_photos",
    metadata,
    # Reference photos of a variant for the store nodes' product recognition, enrolled in the dashboard or
    # the API: the bytes in the blob store (named by their SHA-256), sent to every store node of the seller.
    Column("photo_id", ID, primary_key=True),
    Column("seller_id", ID, ForeignKey("sellers.seller_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("product_id", ID, ForeignKey("products.product_id", ondelete="CASCADE"), nullable=False),
    Column(
        "variant_id", ID, ForeignKey("variants.variant_id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("blob_key", String(512), nullable=False),
    Column("content_type", String(32), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

recognition_photo_sets = Table(
    "recognition_photo_sets",
    metadata,
    # The version of a seller's recognition photos as one set: every change moves it, and a store node that
    # holds an older version is sent the set again (cloud.recognition_photos).
    Column("seller_id", ID, ForeignKey("sellers.seller_id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

z_reports = Table(
    "z_reports",
    metadata,
    # A store till's closed period (a Z-report, models.end_of_day.ZReport) as its node sent it: kept once by
    # its id, numbered per device at the node, never changed.
    Column("z_report_id", ID, primary_key=True),
    Column("seller_id", ID, ForeignKey("sellers.seller_id", ondelete="CASCADE"), nullable=False),
    Column("store_id", ID, ForeignKey("stores.store_id", ondelete="CASCADE"), nullable=False),
    Column("device_id", ID, nullable=False),
    Column("number", Integer, nullable=False),
    Column("business_day", Date, nullable=False),
    Column("period_end", UTCDateTime, nullable=False),
    Column("report", JSON, nullable=False),  # the ZReport, camelCase, as sent
    Column("received_at", UTCDateTime, nullable=False),
    UniqueConstraint("device_id", "number", name="ux_z_reports_device_number"),
    # A store's reports, the latest first (the API's and the dashboard's list).
    Index("ix_z_reports_store_end", "store_id", "period_end", "z_report_id"),
)

upload_grant_uses = Table(
    "upload_grant_uses",
    metadata,
    # An image upload grant is good for one upload and one attach: each step claims its row with INSERT ...
    # ON CONFLICT DO NOTHING in the transaction that does the step, so a replayed or concurrent second use
    # finds the row (or waits for it) and is refused. The staging key names seller, product and upload.
    Column("blob_key", String(512), primary_key=True),
    Column("step", String(8), primary_key=True),  # "put" (the local store's upload route) or "attach"
    Column("used_at", UTCDateTime, nullable=False),
)
