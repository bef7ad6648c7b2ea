"""The cloud half of ``edgestore demo``: a demo seller whose catalog is the store node's demo catalog (with
the same variant ids, so the banner's curl lines work), two stores with stock, and 30 days of sales and
footfall history so the dashboard has something to show; the demo store node's device in the first store,
and that store's staff (a manager and a cashier with PINs the banner prints).
The opening stock covers the history, so no variant ends it below zero: a fresh demo has no negative-stock
bell, on purpose (it stages no oversell).

This lives in the composition root because it reads the edge's demo catalog and writes through the
cloud's own service functions (the same ones the API calls): no table is written behind their back.
"""

import contextlib
import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select

from cloud import catalog, devices, notifications, orders, sellers, staff, stock, store_catalog
from cloud.broker_credentials import verify_password
from cloud.footfall import ingest_footfall
from cloud.media.metadata_store import MetadataStore
from cloud.runtime import Cloud
from cloud.tables import devices as devices_table
from cloud.tables import sellers as sellers_table
from cloud.tables import staff as staff_table
from edge.demo_catalog import demo_catalog
from models.catalog import CatalogSnapshot
from models.cloud_api import (
    AdjustmentKind,
    BrandCreate,
    CouponCreate,
    DeviceCreate,
    DiscountCreate,
    ProductCreate,
    SellerCreate,
    StaffCreate,
    StockAdjustmentCreate,
    StoreCreate,
    VariantInput,
)
from models.errors import Conflict, NotFound
from models.footfall import Direction, FootfallEvent, FootfallSource
from models.ids import new_id
from models.order_states import OrderStatus
from models.sales import Order, OrderItem, Payment, PaymentMethod
from models.staff import StaffRole, name_key
from plumbing.credentials import verify_pin

DEMO_ACCOUNT = "demo"
DEMO_PASSWORD = "edgestore-demo"  # noqa: S105 (printed in the banner: it is the demo's login)
HISTORY_DAYS = 30
DEMO_STORES = (
    ("信義門市 Xinyi", "台北市信義區松高路 11 號"),
    ("駁二門市 Pier-2", "高雄市鹽埕區大勇路 1 號"),
)
DEMO_NODE_NAME = "Demo store node 示範門市主機"
# The demo store's staff and their PINs (printed in the banner: they are the demo's logins at the node).
# The kiosk's staff mode types names on its Latin keyboard: the demo has a manager it can type too.
DEMO_STAFF = (
    ("王店長", StaffRole.MANAGER, "2468"),
    ("林小美", StaffRole.CASHIER, "1357"),
    ("BOSS", StaffRole.MANAGER, "8642"),
)


@dataclass
class DemoCloud:
    account: str
    password: str
    stores: list[str]
    products: int
    orders: int
    seller_id: str
    store_ids: list[str]  # in the order of ``stores``: the first is the demo store node's


@dataclass
class DemoDevice:
    """The demo store node's registration in the cloud: its MQTT login (username = device id)."""

    device_id: str
    store_id: str
    password: str

    @classmethod
    def load(cls, path: Path) -> "DemoDevice | None":
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def save(self, path: Path) -> None:
        devices.write_broker_files(path, json.dumps(asdict(self), indent=2) + "\n")  # 0600: a password


def _demo_stores(conn: Connection, seller_id: str) -> tuple[list[str], list[str]]:
    """The demo seller's store names and ids, the demo's own stores first in their seeding order."""
    order = [name for name, _ in DEMO_STORES]
    found = sorted(
        sellers.list_stores(conn, seller_id),
        key=lambda s: order.index(s.name) if s.name in order else len(order),
    )
    return [s.name for s in found], [s.store_id for s in found]


def _brand_ids(conn: Connection, seller_id: str) -> dict[str, str]:
    """Map the edge demo catalog's brand ids onto the cloud's curated brands (Apple, ASUS); a brand not on
    that list (the bakery 佳德) becomes the demo seller's own, as it would for a real seller."""
    known = {b.brand_id: b for b in catalog.list_brands(conn, seller_id)}
    mapping: dict[str, str] = {}
    for brand in demo_catalog().brands:
        if brand.brand_id in known:
            mapping[brand.brand_id] = brand.brand_id
            continue
        try:
            mapping[brand.brand_id] = catalog.create_brand(
                conn, seller_id, BrandCreate(name=brand.name, name_en=brand.name_en)
            ).brand_id
        except Conflict as exc:
            mapping[brand.brand_id] = str(exc.details["brand_id"])
    return mapping


def _history_order(store_id: str, product: dict[str, Any], rng: random.Random, at: datetime) -> Order:
    order_id = new_id()
    items = []
    for variant in rng.sample(product["variants"], k=1):
        quantity = rng.choice((1, 1, 1, 2, 3))
        items.append(
            OrderItem(
                item_id=new_id(),
                order_id=order_id,
                product_id=product["product_id"],
                variant_id=variant.variant_id,
                name=product["name"],
                variant_name=variant.name,
                quantity=quantity,
                unit_price=variant.price,
                unit_discount=0,
                unit_final_price=variant.price,
                line_total=variant.price * quantity,
            )
        )
    total = sum(i.line_total for i in items)
    method = rng.choice((PaymentMethod.CASH, PaymentMethod.CARD))
    return Order(
        order_id=order_id,
        store_id=store_id,
        device_id="demo-history",
        status=OrderStatus.COMPLETED,
        subtotal=total,
        discount_total=0,
        total=total,
        items=items,
        payments=[
            Payment(payment_id=new_id(), order_id=order_id, method=method, amount=total, created_at=at)
        ],
        created_at=at,
        updated_at=at,
    )


_StoreDay = tuple[list[FootfallEvent], list[Order]]
"""One store's day of history: the footfall its door counted and its sales."""


def seed_demo_cloud(cloud: Cloud, now: datetime, progress: Callable[[str], None] = print) -> DemoCloud:
    """Create the demo seller and data once; later runs find them and change nothing."""
    threshold = cloud.settings.low_stock_threshold
    found = _seeded_before(cloud)
    if found is not None:
        return found

    snapshot = demo_catalog(now=now)
    rng = random.Random(2026)  # noqa: S311 (demo data, reproducible)
    progress("cloud: creating the demo seller, two stores and the catalog...")
    with cloud.db.transaction() as conn:
        seller = sellers.register(
            conn,
            SellerCreate(
                account=DEMO_ACCOUNT,
                password=DEMO_PASSWORD,
                name="台灣伴手禮 Demo 小舖",
                phone="02-2345-6789",
            ),
            now,
        )
        seller_id = seller.seller_id
        brand_map = _brand_ids(conn, seller_id)
        store_ids = [
            sellers.create_store(
                conn,
                seller_id,
                StoreCreate(name=name, address=address, opening_hours="10:00-22:00"),
                now - timedelta(days=HISTORY_DAYS + 1),
            ).store_id
            for name, address in DEMO_STORES
        ]
        made, closing = _create_products(conn, cloud.metadata, seller_id, snapshot, brand_map, store_ids, now)
        _create_offers(conn, seller_id, snapshot, made, now)

    progress(f"cloud: {HISTORY_DAYS} days of sales and footfall history...")
    # The history is drawn before any stock exists, so that the opening stock covers it: each variant opens
    # with what its 30 days sell plus its closing level, and ends the history at that level. No variant goes
    # below zero, so a fresh demo rings no negative-stock bell and its store node starts with none: the demo
    # stages no oversell (a negative level and its bell come from a real one, e.g. two offline nodes).
    history, sold = _draw_history(store_ids, made, rng, now)
    with cloud.db.transaction() as conn:
        _open_stock(conn, seller_id, closing, sold, now, threshold)
    count = _ingest_history(cloud, history, now, threshold)
    with cloud.db.transaction() as conn:
        # The history's bells are old news: start the demo with an empty bell.
        notifications.mark_all_read(conn, seller_id, now)
    return DemoCloud(
        DEMO_ACCOUNT, DEMO_PASSWORD, [name for name, _ in DEMO_STORES], len(made), count, seller_id, store_ids
    )


def _seeded_before(cloud: Cloud) -> DemoCloud | None:
    """The demo seller an earlier run created, as it stands now; None on the first run."""
    with cloud.db.read() as conn:
        existing = conn.execute(
            select(sellers_table.c.seller_id).where(func.lower(sellers_table.c.account) == DEMO_ACCOUNT)
        ).scalar_one_or_none()
    if existing is None:
        return None
    with cloud.db.read() as conn:
        names, ids = _demo_stores(conn, existing)
        count = orders.list_orders(conn, existing, limit=1).totals.orders
        products = len(catalog.list_products(conn, existing, limit=200)[0])
    return DemoCloud(DEMO_ACCOUNT, DEMO_PASSWORD, names, products, count, existing, ids)


def _create_products(
    conn: Connection,
    meta: MetadataStore,
    seller_id: str,
    snapshot: CatalogSnapshot,
    brand_map: dict[str, str],
    store_ids: list[str],
    now: datetime,
) -> tuple[list[dict[str, Any]], list[tuple[str, str, int]]]:
    """The edge demo catalog's products, as the seller's (its variant ids kept: the banner sells them).
    Returns what the history sells (each product's id, name and variants) and, per store and variant, the
    level the history ends at: the demo catalog's level x10."""
    made: list[dict[str, Any]] = []
    levels = {s.variant_id: s.quantity for s in snapshot.stock}
    closing: list[tuple[str, str, int]] = []
    for p in snapshot.products:
        category, sub = p.category_id, p.sub_category_id
        if category == "phones":  # the cloud files phones under electronics
            category, sub = "electronics", "phones"
        created = catalog.create_product(
            conn,
            meta,
            seller_id,
            ProductCreate(
                name=p.name,
                name_en=p.name_en,
                description=p.description,
                category_id=category,
                sub_category_id=sub,
                brand_id=brand_map.get(p.brand_id) if p.brand_id else None,
                condition=p.condition,
                variants=[
                    VariantInput(
                        variant_id=v.variant_id,  # the demo catalog's ids: the banner sells them
                        name=v.name,
                        name_en=v.name_en,
                        price=v.price,
                        barcode=v.barcode,
                        sku=v.sku,
                        is_default=v.is_default,
                    )
                    for v in p.variants
                ],
            ),
            now,
        )
        made.append({"product_id": created.product_id, "name": created.name, "variants": created.variants})
        for store_id in store_ids:
            for edge_variant, variant in zip(p.variants, created.variants, strict=True):
                closing.append((store_id, variant.variant_id, levels.get(edge_variant.variant_id, 10) * 10))
    return made, closing


def _create_offers(
    conn: Connection, seller_id: str, snapshot: CatalogSnapshot, made: list[dict[str, Any]], now: datetime
) -> None:
    """A discount on the fifth product, and the edge demo catalog's coupons (the banner's checkout uses
    one)."""
    catalog.create_discount(
        conn,
        seller_id,
        DiscountCreate(name="伴手禮週 9折", percent=10, product_id=made[4]["product_id"]),
        now,
    )
    for coupon in snapshot.coupons:
        catalog.create_coupon(
            conn,
            seller_id,
            CouponCreate(
                code=coupon.code,
                kind=coupon.kind,
                value=coupon.value,
                min_spend=coupon.min_spend,
                max_uses=coupon.max_uses,
            ),
            now,
        )


def _draw_history(
    store_ids: list[str], made: list[dict[str, Any]], rng: random.Random, now: datetime
) -> tuple[list[list[_StoreDay]], Counter[tuple[str, str]]]:
    """``HISTORY_DAYS`` days of each store's footfall and sales, oldest first, and the units each store
    sold of each variant over them."""
    history: list[list[_StoreDay]] = []
    sold: Counter[tuple[str, str]] = Counter()
    for day in range(HISTORY_DAYS, 0, -1):
        opening = (now - timedelta(days=day)).replace(
            hour=2, minute=0, second=0, microsecond=0
        )  # 10:00 Taipei
        stores_that_day = []
        for store_id in store_ids:
            door, sales = _draw_store_day(store_id, made, rng, opening)
            for order in sales:
                for item in order.items:
                    sold[(store_id, item.variant_id)] += item.quantity
            stores_that_day.append((door, sales))
        history.append(stores_that_day)
    return history, sold


def _draw_store_day(
    store_id: str, made: list[dict[str, Any]], rng: random.Random, opening: datetime
) -> _StoreDay:
    """One store's day from ``opening``: 40 to 120 visitors through the door over 11 hours, 8 to 25% of
    them buying."""
    visitors = rng.randint(40, 120)
    door = [
        FootfallEvent(
            event_id=new_id(),
            store_id=store_id,
            device_id="demo-door",
            occurred_at=opening + timedelta(minutes=rng.randint(0, 11 * 60)),
            direction=Direction.IN,
            source=FootfallSource.FUSED,
        )
        for _ in range(visitors)
    ]
    sales = [
        _history_order(store_id, rng.choice(made), rng, opening + timedelta(minutes=rng.randint(0, 11 * 60)))
        for _ in range(int(visitors * rng.uniform(0.08, 0.25)))
    ]
    return door, sales


def _open_stock(
    conn: Connection,
    seller_id: str,
    closing: list[tuple[str, str, int]],
    sold: Counter[tuple[str, str]],
    now: datetime,
    threshold: int,
) -> None:
    """Each store's opening stock, the day before the history: what the history sells of each variant plus
    the level it ends at."""
    for store_id, variant_id, level in closing:
        stock.adjust(
            conn,
            seller_id,
            store_id,
            StockAdjustmentCreate(
                variant_id=variant_id,
                kind=AdjustmentKind.RESTOCK,
                quantity=level + sold[(store_id, variant_id)],
                reason="開幕進貨 opening stock",
            ),
            now - timedelta(days=HISTORY_DAYS + 1),
            threshold,
        )


def _ingest_history(cloud: Cloud, history: list[list[_StoreDay]], now: datetime, threshold: int) -> int:
    """The history through the cloud's own ingestion (footfall, orders, their stock deltas), a transaction a
    day. Returns the number of orders."""
    count = 0
    for stores_that_day in history:
        with cloud.db.transaction() as conn:
            for door, sales in stores_that_day:
                ingest_footfall(conn, door)
                for order in sales:
                    orders.ingest_order(conn, order, now, low_threshold=threshold)
                    orders.ingest_sale_deltas(conn, order, now, low_threshold=threshold)
                    count += 1
    return count


def _usable(conn: Connection, saved: DemoDevice, store_id: str) -> bool:
    """The saved login is a live device of the store and its password is still the one the cloud holds."""
    row = conn.execute(
        select(devices_table.c.store_id, devices_table.c.mqtt_password_hash).where(
            devices_table.c.device_id == saved.device_id, devices_table.c.revoked_at.is_(None)
        )
    ).first()
    return (
        row is not None
        and row.store_id == store_id == saved.store_id
        and verify_password(saved.password, row.mqtt_password_hash)
    )


def ensure_demo_device(
    cloud: Cloud,
    seeded: DemoCloud,
    saved: DemoDevice | None,
    now: datetime,
    *,
    node_device_id: str | None = None,
) -> tuple[DemoDevice, bool]:
    """The demo store node's device in the seller's first store: the saved one while it still works (the
    password is shown only at registration, so the demo keeps it), else a new registration (through the
    device registry, which rings the bell) that revokes the ones it replaces. ``node_device_id`` is the
    node's own id, if it has a database: a saved login for another id does not fit it. Returns the device
    and whether it was registered now; the broker's password file is rewritten when it was."""
    store_id = seeded.store_ids[0]
    with cloud.db.read() as conn:
        if saved is not None and node_device_id in (None, saved.device_id) and _usable(conn, saved, store_id):
            return saved, False
    replaced = {d for d in (saved and saved.device_id, node_device_id) if d}
    with cloud.db.transaction() as conn:
        live = conn.execute(
            select(devices_table.c.device_id).where(
                devices_table.c.device_id.in_(replaced), devices_table.c.revoked_at.is_(None)
            )
        ).scalars()
        for stale in live.all():
            with contextlib.suppress(NotFound):  # another store's: not the demo's to revoke
                devices.revoke(conn, seeded.seller_id, store_id, stale, now)
        registered = devices.register(
            conn, seeded.seller_id, store_id, DeviceCreate(name=DEMO_NODE_NAME), now
        )
    cloud.refresh_broker_credentials()
    return DemoDevice(registered.device_id, store_id, registered.mqtt.password), True


def store_snapshot(cloud: Cloud, seeded: DemoCloud, store_id: str) -> CatalogSnapshot:
    """The catalog the store sells, as the cloud would send it to the store's node."""
    with cloud.db.read() as conn:
        return store_catalog.snapshot_for_store(conn, cloud.metadata, seeded.seller_id, store_id)


@dataclass
class DemoStaff:
    """A staff member of the demo store; ``pin`` is None when the seller changed it in the dashboard since
    (only its hash is kept, so the demo cannot say the new one)."""

    name: str
    role: StaffRole
    pin: str | None


def ensure_demo_staff(cloud: Cloud, seeded: DemoCloud, now: datetime) -> list[DemoStaff]:
    """The demo store's manager and cashier, made through the cloud's staff service (so they go down the
    store's feed like any seller's) when missing; ones the seller changed since are left as they are."""
    store_id = seeded.store_ids[0]
    found: list[DemoStaff] = []
    with cloud.db.transaction() as conn:
        for name, role, pin in DEMO_STAFF:
            row = conn.execute(
                select(staff_table.c.role, staff_table.c.pin_hash).where(
                    staff_table.c.store_id == store_id,
                    staff_table.c.name_key == name_key(name),
                    staff_table.c.removed_at.is_(None),
                )
            ).first()
            if row is None:
                staff.create(
                    conn, seeded.seller_id, store_id, StaffCreate(name=name, role=role, pin=pin), now
                )
                found.append(DemoStaff(name, role, pin))
            else:
                found.append(
                    DemoStaff(name, StaffRole(row.role), pin if verify_pin(row.pin_hash, pin) else None)
                )
    return found


@dataclass(frozen=True)
class DemoClaim:
    """A claim code made at each start, for trying ``edgestore provision`` against the demo's cloud."""

    store: str
    code: str


def demo_claim_code(cloud: Cloud, seeded: DemoCloud, now: datetime) -> DemoClaim:
    """A fresh code (a day long, the most a code lasts) for the demo seller's second store (its first holds
    the demo's own node), through the cloud's claim-code service like the store page's."""
    from cloud import claim_codes
    from models.cloud_api import CLAIM_CODE_MAX_MINUTES, ClaimCodeCreate

    index = 1 if len(seeded.store_ids) > 1 else 0
    body = ClaimCodeCreate(expires_in_minutes=CLAIM_CODE_MAX_MINUTES, name="demo Pi")
    with cloud.db.transaction() as conn:
        made = claim_codes.create(
            conn, seeded.seller_id, seeded.store_ids[index], body, now, cloud.settings.base_url
        )
    return DemoClaim(seeded.stores[index], made.code)
