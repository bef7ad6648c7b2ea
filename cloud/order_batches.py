"""Orders from a store's uplink batch, written set-based: the same rows, rollups and bells as
``cloud.orders.ingest_order`` called for each order in turn, in about a dozen statements per batch instead of
some twenty per order.

- orders, lines, payments and creation events: one multi-row insert each (``cloud.bulk``); an order id held
  already (a resend), or met earlier in the batch, is skipped, as ``ingest_order`` skips it;
- rollups: summed per key over the batch in Python, then one upsert per rollup table, keys in sorted order,
  so two ingest workers on one seller's stores lock the seller-wide rows in the same order (issue 22 saw 20
  deadlocks on them with one upsert per order);
- bells: made in the order ``ingest_order`` would make them (each order's new-order bell, then its
  group-buy and coupon bells, then whatever the caller adds for it), written in one insert with one
  ``pg_notify``; group-buy and coupon checks ask the database only when the batch names a group-buy product
  or a coupon with limited uses, and judge each order against what was held when it came, as one by one.

Any failure raises; the caller (``cloud.sync_uplink``) then applies the batch one order at a time, so that a
bad order is dead-lettered alone.
"""

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from cloud import bulk, notifications
from cloud import orders as cloud_orders
from cloud.tables import (
    coupons,
    daily_product_sales,
    daily_sales,
    daily_store_product_sales,
    order_events,
    order_items,
    orders,
    payments,
    products,
    stores,
)
from models.business_days import business_day
from models.cloud_api import NotificationKind
from models.errors import NotFound
from models.ids import new_id
from models.order_states import TERMINAL_STATES, Actor
from models.sales import Channel, Order


@dataclass(frozen=True)
class _Store:
    seller_id: str
    name: str


def ingest_orders(
    conn: Connection,
    batch: Sequence[Order],
    now: datetime,
    *,
    also_ring: Mapping[str, Sequence[notifications.Pending]] | None = None,
) -> list[bool]:
    """Write orders sold at stores; for each, whether it was new. ``also_ring``: bells to raise after an
    order's own when it is new, by order id (the uplink's price differences)."""
    held = _stores(conn, {o.store_id for o in batch})
    first: dict[str, int] = {}
    for n, order in enumerate(batch):
        first.setdefault(order.order_id, n)
    unique = [batch[n] for n in sorted(first.values())]
    inserted = set(
        bulk.insert_rows(
            conn,
            orders,
            [_order_row(o, held[o.store_id].seller_id, now) for o in unique],
            conflict="ON CONFLICT (order_id) DO NOTHING",
            returning="order_id",
        )
    )
    new = [o for o in unique if o.order_id in inserted]
    if new:
        bulk.insert_rows(conn, order_items, [i.to_row() for o in new for i in o.items])
        bulk.insert_rows(
            conn,
            payments,
            [
                p.to_row() | {"method": p.method.value, "status": p.status.value}
                for o in new
                for p in o.payments
            ],
        )
        bulk.insert_rows(conn, order_events, [_creation_event(o) for o in new])
        _add_to_rollups(conn, held, new)
        notifications.notify_many(conn, _bells(conn, held, new, also_ring or {}), now)
    return [order.order_id in inserted and first[order.order_id] == n for n, order in enumerate(batch)]


def _stores(conn: Connection, store_ids: set[str]) -> dict[str, _Store]:
    rows = conn.execute(
        select(stores.c.store_id, stores.c.seller_id, stores.c.name).where(
            stores.c.store_id.in_(sorted(store_ids))
        )
    ).all()
    found = {r.store_id: _Store(str(r.seller_id), str(r.name)) for r in rows}
    for store_id in sorted(store_ids - found.keys()):
        raise NotFound(f"store {store_id} not found", code="storeNotFound")
    return found


def _order_row(order: Order, seller_id: str, now: datetime) -> dict[str, Any]:
    row = order.to_row(exclude={"items", "payments"})
    # Every row the same columns (``bulk.insert_rows``): an absent e-invoice is a NULL, as ingest_order has it.
    row.setdefault("einvoice", None)
    return row | {
        "status": order.status.value,
        "channel": order.channel.value,
        "seller_id": seller_id,
        "received_at": now,
    }


def _creation_event(order: Order) -> dict[str, Any]:
    return {
        "event_id": new_id(),
        "order_id": order.order_id,
        "from_status": None,
        "to_status": order.status.value,
        "actor": Actor.STORE.value if order.channel is Channel.IN_STORE else Actor.BUYER.value,
        "note": None,
        "at": order.created_at,
    }


def _add_to_rollups(conn: Connection, held: Mapping[str, _Store], batch: Sequence[Order]) -> None:
    """The rollups ``ingest_order`` adds to one order at a time, summed per key first: a product's name is
    the one its first line in the batch gives, as the first upsert would have written it."""
    sales: dict[tuple[str, date, str], list[int]] = {}
    seller_wide: dict[tuple[str, date, str], list[Any]] = {}
    per_store: dict[tuple[str, date, str], list[Any]] = {}
    seller_of: dict[str, str] = {}
    for order in batch:
        seller_id = held[order.store_id].seller_id
        seller_of[order.store_id] = seller_id
        day = business_day(order.created_at)
        cell = sales.setdefault((order.store_id, day, order.status.value), [0, 0, 0])
        cell[0] += 1
        cell[1] += order.total
        cell[2] += sum(i.quantity for i in order.items)
        for item in order.items:
            for sums, owner in ((seller_wide, seller_id), (per_store, order.store_id)):
                product = sums.setdefault((owner, day, item.product_id), [item.name, 0, 0])
                product[1] += item.quantity
                product[2] += item.line_total
    bulk.upsert_sums(
        conn,
        daily_sales,
        [
            {
                "store_id": store_id,
                "day": day,
                "status": status,
                "seller_id": seller_of[store_id],
                "orders": n,
                "revenue": revenue,
                "items": units,
            }
            for (store_id, day, status), (n, revenue, units) in sorted(sales.items())
        ],
        add=("orders", "revenue", "items"),
    )
    bulk.upsert_sums(
        conn,
        daily_product_sales,
        [
            {
                "seller_id": seller_id,
                "day": day,
                "product_id": product_id,
                "name": name,
                "quantity": q,
                "revenue": r,
            }
            for (seller_id, day, product_id), (name, q, r) in sorted(seller_wide.items())
        ],
        add=("quantity", "revenue"),
    )
    bulk.upsert_sums(
        conn,
        daily_store_product_sales,
        [
            {
                "store_id": store_id,
                "day": day,
                "product_id": product_id,
                "seller_id": seller_of[store_id],
                "name": name,
                "quantity": q,
                "revenue": r,
            }
            for (store_id, day, product_id), (name, q, r) in sorted(per_store.items())
        ],
        add=("quantity", "revenue"),
    )


def _bells(
    conn: Connection,
    held: Mapping[str, _Store],
    batch: Sequence[Order],
    also_ring: Mapping[str, Sequence[notifications.Pending]],
) -> list[notifications.Pending]:
    shown = (i.variant_id for o in batch for i in o.items[: cloud_orders.BELL_LINES])
    english = notifications.variant_names(conn, shown)
    group_buys = _GroupBuys.of(conn, held, batch)
    coupon_uses = _CouponUses.of(conn, held, batch)
    pending: list[notifications.Pending] = []
    for n, order in enumerate(batch):
        store = held[order.store_id]
        pending.append(_new_order_bell(order, store, english))
        pending += group_buys.rings(store.seller_id, batch, n)
        pending += coupon_uses.rings(store.seller_id, batch, n)
        pending += also_ring.get(order.order_id, ())
    return pending


def _new_order_bell(
    order: Order, store: _Store, english: Mapping[str, Mapping[str, str]]
) -> notifications.Pending:
    params = cloud_orders.new_order_params(order, store.name, english)
    return notifications.Pending(store.seller_id, NotificationKind.NEW_ORDER, params, "order", order.order_id)


def _counted(order: Order) -> bool:
    return order.status not in TERMINAL_STATES


@dataclass
class _GroupBuys:
    """The batch's group-buy products: each rings once when the units sold (of orders not ended) reach its
    minimum, judged after each order as ``cloud.orders._check_group_buys`` judges it."""

    products: dict[str, Any]  # product id -> its row (name, name_en, group_buy)
    sold_now: Counter[str]  # units sold, the whole batch written
    rung: set[tuple[str, str]]  # (seller id, product id) rung already

    @classmethod
    def of(cls, conn: Connection, held: Mapping[str, _Store], batch: Sequence[Order]) -> "_GroupBuys":
        named = sorted({i.product_id for o in batch for i in o.items})
        rows = conn.execute(
            select(products.c.product_id, products.c.name, products.c.name_en, products.c.group_buy).where(
                products.c.product_id.in_(named), products.c.group_buy.is_not(None)
            )
        ).all()
        found = {r.product_id: r for r in rows if r.group_buy}
        if not found:
            return cls({}, Counter(), set())
        sold = Counter[str]()
        for product_id, units in conn.execute(
            select(order_items.c.product_id, func.sum(order_items.c.quantity))
            .join(orders, orders.c.order_id == order_items.c.order_id)
            .where(
                order_items.c.product_id.in_(sorted(found)),
                orders.c.status.not_in([s.value for s in TERMINAL_STATES]),
            )
            .group_by(order_items.c.product_id)
        ):
            sold[product_id] = int(units)
        rung = {
            (seller_id, product_id)
            for seller_id in sorted({held[o.store_id].seller_id for o in batch})
            for product_id in notifications.already_notified_of(
                conn, seller_id, NotificationKind.GROUP_BUY_MINIMUM, found
            )
        }
        return cls(found, sold, rung)

    def rings(self, seller_id: str, batch: Sequence[Order], n: int) -> list[notifications.Pending]:
        mine = sorted({i.product_id for i in batch[n].items} & self.products.keys())
        if not mine:
            return []
        later = Counter[str]()  # what the orders after this one add: not sold yet when it came
        for other in batch[n + 1 :]:
            if _counted(other):
                for item in other.items:
                    later[item.product_id] += item.quantity
        pending = []
        for product_id in mine:
            row = self.products[product_id]
            minimum = int(row.group_buy["minQuantity"])
            sold = self.sold_now[product_id] - later[product_id]
            if sold >= minimum and (seller_id, product_id) not in self.rung:
                self.rung.add((seller_id, product_id))
                pending.append(
                    notifications.Pending(
                        seller_id,
                        NotificationKind.GROUP_BUY_MINIMUM,
                        {
                            "productName": row.name,
                            "productNameEn": row.name_en,
                            "sold": sold,
                            "minQuantity": minimum,
                        },
                        "product",
                        product_id,
                    )
                )
        return pending


@dataclass
class _CouponUses:
    """The batch's coupons with limited uses: redemptions beyond the limit ring once each, judged after each
    order against the sales held when it came, as ``cloud.orders._check_coupon_uses`` judges them."""

    limits: dict[tuple[str, str], int]  # (seller id, code in capitals) -> its uses
    used: dict[tuple[str, str], list[Any]]  # the orders that used it, the whole batch written
    rung: set[tuple[str, str]]  # (seller id, order id) rung already

    @classmethod
    def of(cls, conn: Connection, held: Mapping[str, _Store], batch: Sequence[Order]) -> "_CouponUses":
        codes = {(held[o.store_id].seller_id, o.coupon_code.upper()) for o in batch if o.coupon_code}
        if not codes:
            return cls({}, {}, set())
        sellers = sorted({seller for seller, _ in codes})
        limits = {
            (r.seller_id, r.code): int(r.max_uses)
            for r in conn.execute(
                select(
                    coupons.c.seller_id, func.upper(coupons.c.code).label("code"), coupons.c.max_uses
                ).where(
                    coupons.c.seller_id.in_(sellers),
                    func.upper(coupons.c.code).in_(sorted({code for _, code in codes})),
                    coupons.c.max_uses.is_not(None),
                )
            )
            if (r.seller_id, r.code) in codes
        }
        if not limits:
            return cls({}, {}, set())  # unlimited (or not the seller's: the uplink checks refuse that before)
        used: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for r in conn.execute(
            select(
                orders.c.seller_id,
                func.upper(orders.c.coupon_code).label("code"),
                orders.c.order_id,
                orders.c.store_id,
                orders.c.device_id,
                orders.c.created_at,
            ).where(
                orders.c.seller_id.in_(sorted({seller for seller, _ in limits})),
                func.upper(orders.c.coupon_code).in_(sorted({code for _, code in limits})),
            )
        ):
            if (r.seller_id, r.code) in limits:
                used[(r.seller_id, r.code)].append(r)
        rung = {
            (seller_id, order_id)
            for seller_id in sorted({seller for seller, _ in limits})
            for order_id in notifications.already_notified_of(
                conn,
                seller_id,
                NotificationKind.COUPON_REUSED,
                (r.order_id for key, rows in used.items() if key[0] == seller_id for r in rows),
            )
        }
        return cls(limits, dict(used), rung)

    def rings(self, seller_id: str, batch: Sequence[Order], n: int) -> list[notifications.Pending]:
        order = batch[n]
        if order.coupon_code is None:
            return []
        key = (seller_id, order.coupon_code.upper())
        max_uses = self.limits.get(key)
        if max_uses is None:
            return []
        later = {o.order_id for o in batch[n + 1 :]}  # not held yet when this order came
        used = [r for r in self.used.get(key, ()) if r.order_id not in later]
        if len(used) <= max_uses:
            return []
        verdict = cloud_orders.judge_redemptions(key[1], used, max_uses)
        pending = []
        for late in verdict.flagged:
            if (seller_id, late.order_id) in self.rung:
                continue
            self.rung.add((seller_id, late.order_id))
            pending.append(
                notifications.Pending(
                    seller_id,
                    NotificationKind.COUPON_REUSED,
                    cloud_orders.coupon_reused(verdict, late, max_uses),
                    "order",
                    late.order_id,
                )
            )
        return pending
