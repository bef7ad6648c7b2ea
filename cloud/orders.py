"""Orders in the cloud: ingest from the stores (idempotent), list with totals, detail, status transitions,
and the partial returns the stores take.

An order arrives as the store sold it (``models.sales.Order``: names and prices as sold) and is written in
one transaction with its items, payments, the daily rollups the dashboard reads and the seller's bell. The
same order arriving twice is a no-op, so the sync layer may redeliver freely. A partial return arrives the
same way (``ingest_return``), with its stock effects; it leaves the rollups alone (the dashboard's sales are
gross) and the order's status too (the store sends the status change when a return brings back the last
units).
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from cloud import notifications, stock, sync_downlink
from cloud.tables import (
    coupons,
    daily_product_sales,
    daily_sales,
    daily_store_product_sales,
    order_events,
    order_items,
    order_return_items,
    order_returns,
    orders,
    payments,
    products,
    stores,
)
from models.business_days import business_day, day_start
from models.cloud_api import NotificationKind, OrderEventPublic, OrderList, OrderOut, OrderTotals
from models.errors import InvalidInput, NotFound
from models.ids import new_id
from models.order_states import TERMINAL_STATES, Actor, OrderStatus, allowed_targets, check_transition
from models.paging import decode_time_cursor, encode_time_cursor
from models.returns import OrderReturn, refunded_amount, returned_quantities
from models.sales import Channel, Order, OrderItem, Payment, PaymentStatus
from models.staff import StaffRef
from models.stock import LOW_STOCK_THRESHOLD, StockDelta, StockReason
from sync_protocol.envelope import CLOUD_ORIGIN, OrderTransition
from sync_protocol.hlc import HLC, MAX_WALL_MS, HybridClock
from sync_protocol.rules import (
    CouponRedemption,
    CouponVerdict,
    MergeOutcome,
    MergeResult,
    StatusState,
    creation_transition,
    judge_coupon,
    merge_order_status,
    refunds_payment,
    return_effects,
    transition_effects,
)


def _store(conn: Connection, store_id: str) -> Any:
    row = conn.execute(select(stores.c.seller_id, stores.c.name).where(stores.c.store_id == store_id)).first()
    if row is None:
        raise NotFound(f"store {store_id} not found", code="storeNotFound")
    return row


def store_owner(conn: Connection, store_id: str) -> str:
    return str(_store(conn, store_id).seller_id)


def ingest_order(
    conn: Connection, order: Order, now: datetime, *, low_threshold: int = LOW_STOCK_THRESHOLD
) -> bool:
    """Write an order sold at a store, with everything that follows from it. False when already here.

    Nothing is acknowledged to the store before this transaction commits (the caller commits)."""
    store = _store(conn, order.store_id)
    seller_id, store_name = str(store.seller_id), store.name
    row = order.to_row(exclude={"items", "payments"})
    row["status"] = order.status.value
    row["channel"] = order.channel.value
    inserted = conn.execute(
        pg_insert(orders)
        .values(**row, seller_id=seller_id, received_at=now)
        .on_conflict_do_nothing(index_elements=["order_id"])
        .returning(orders.c.order_id)
    ).first()
    if inserted is None:
        return False
    if order.items:
        conn.execute(insert(order_items), [i.to_row() for i in order.items])
    if order.payments:
        conn.execute(
            insert(payments),
            [p.to_row() | {"method": p.method.value, "status": p.status.value} for p in order.payments],
        )
    conn.execute(
        insert(order_events).values(
            event_id=new_id(),
            order_id=order.order_id,
            from_status=None,
            to_status=order.status.value,
            actor=Actor.STORE.value if order.channel is Channel.IN_STORE else Actor.BUYER.value,
            note=None,
            at=order.created_at,
        )
    )
    _add_to_rollups(conn, seller_id, order)
    _ring_new_order(conn, seller_id, order, store_name, now)
    _check_group_buys(conn, seller_id, order, now)
    _check_coupon_uses(conn, seller_id, order, now)
    return True


# A bell lists this many lines of an order; the rest is "and N more" (the order page has them all).
BELL_LINES = 5


def _ring_new_order(conn: Connection, seller_id: str, order: Order, store_name: str, now: datetime) -> None:
    """The names as sold (zh-TW), with the English ones the catalog has for them today."""
    english = notifications.variant_names(conn, (i.variant_id for i in order.items[:BELL_LINES]))
    notifications.notify(
        conn,
        seller_id,
        NotificationKind.NEW_ORDER,
        new_order_params(order, store_name, english),
        ref_type="order",
        ref_id=order.order_id,
        now=now,
    )


def new_order_params(
    order: Order, store_name: str, english: Mapping[str, Mapping[str, str]]
) -> dict[str, Any]:
    """The ``newOrder`` bell's parameters: the store, the total and the first ``BELL_LINES`` lines as sold
    (zh-TW), with the English names in ``english`` (variant id -> productNameEn, variantNameEn)."""
    shown = order.items[:BELL_LINES]
    lines = [
        {
            "productName": i.name,
            "productNameEn": english.get(i.variant_id, {}).get("productNameEn", ""),
            "variantName": i.variant_name,
            "variantNameEn": english.get(i.variant_id, {}).get("variantNameEn", ""),
            "quantity": i.quantity,
        }
        for i in shown
    ]
    params: dict[str, Any] = {
        "storeId": order.store_id,
        "storeName": store_name,
        "total": order.total,
        "lines": lines,
    }
    if len(order.items) > len(shown):
        params["moreLines"] = len(order.items) - len(shown)
    return params


def judge_redemptions(code: str, used: Iterable[Any], max_uses: int) -> CouponVerdict:
    """``judge_coupon`` over the held sales ``used`` (rows or records with ``order_id``, ``store_id``,
    ``device_id`` and ``created_at``) that redeemed ``code``. A sale's stamp is its creation (as the status
    merge takes it): the node's clock when it rang it up."""
    return judge_coupon(
        code,
        [
            CouponRedemption(
                code,
                r.order_id,
                r.store_id,
                r.device_id or CLOUD_ORIGIN,
                HLC(int(r.created_at.timestamp() * 1000), 0, r.device_id or CLOUD_ORIGIN),
            )
            for r in used
        ],
        max_uses=max_uses,
    )


def coupon_reused(verdict: CouponVerdict, late: CouponRedemption, max_uses: int) -> dict[str, Any]:
    """The ``couponReused`` bell's parameters for the redemption ``late`` beyond the coupon's uses."""
    return {
        "code": verdict.code,
        "maxUses": max_uses,
        "firstOrderId": verdict.standing[0].order_id,
        "laterOrderId": late.order_id,
        "laterStoreId": late.store_id,
    }


def _check_coupon_uses(conn: Connection, seller_id: str, order: Order, now: datetime) -> None:
    """A coupon with limited uses redeemed beyond them (a single-use one at two stores, both offline): every
    sale stands (the stores redeemed in good faith), and the seller's bell names the redemptions beyond the
    limit, the later ones by the sales' stamps (``sync_protocol.rules.judge_coupon``), once each."""
    if order.coupon_code is None:
        return
    code = order.coupon_code.upper()
    max_uses = conn.execute(
        select(coupons.c.max_uses).where(coupons.c.seller_id == seller_id, func.upper(coupons.c.code) == code)
    ).scalar_one_or_none()
    if max_uses is None:
        return  # unlimited (or not the seller's: the uplink checks refuse that before)
    used = conn.execute(
        select(orders.c.order_id, orders.c.store_id, orders.c.device_id, orders.c.created_at).where(
            orders.c.seller_id == seller_id, func.upper(orders.c.coupon_code) == code
        )
    ).all()
    if len(used) <= max_uses:
        return
    verdict = judge_redemptions(code, used, max_uses)
    kind = NotificationKind.COUPON_REUSED
    for late in verdict.flagged:
        if notifications.already_notified(conn, seller_id, kind, late.order_id):
            continue
        notifications.notify(
            conn,
            seller_id,
            kind,
            coupon_reused(verdict, late, max_uses),
            ref_type="order",
            ref_id=late.order_id,
            now=now,
        )


def ingest_sale_deltas(
    conn: Connection, order: Order, now: datetime, *, low_threshold: int = LOW_STOCK_THRESHOLD
) -> int:
    """The negative stock deltas of an in-store sale, for callers that have no delta stream of their own
    (the demo, tests). Delta ids derive from the item ids, so this is idempotent too."""
    seller_id = store_owner(conn, order.store_id)
    deltas = [
        StockDelta(
            delta_id=f"{item.item_id}-sale",
            store_id=order.store_id,
            variant_id=item.variant_id,
            quantity=-item.quantity,
            reason=StockReason.SALE,
            ref_id=order.order_id,
            created_at=order.created_at,
        )
        for item in order.items
    ]
    return stock.write_deltas(conn, seller_id, deltas, now, low_threshold)


def _count_in_rollup(
    conn: Connection,
    seller_id: str,
    store_id: str,
    day: date,
    status: str,
    orders_: int,
    revenue: int,
    units: int,
) -> None:
    """Add (or, with negative figures, take away) orders in one (store, day, status) cell of the rollup."""
    stmt = pg_insert(daily_sales).values(
        store_id=store_id,
        day=day,
        status=status,
        seller_id=seller_id,
        orders=orders_,
        revenue=revenue,
        items=units,
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["store_id", "day", "status"],
            set_={
                "orders": daily_sales.c.orders + orders_,
                "revenue": daily_sales.c.revenue + revenue,
                "items": daily_sales.c["items"] + units,
            },
        )
    )


def _add_to_rollups(conn: Connection, seller_id: str, order: Order) -> None:
    day = business_day(order.created_at)
    units = sum(i.quantity for i in order.items)
    _count_in_rollup(conn, seller_id, order.store_id, day, order.status.value, 1, order.total, units)
    per_product: dict[str, tuple[str, int, int]] = {}
    for item in order.items:
        name, qty, revenue = per_product.get(item.product_id, (item.name, 0, 0))
        per_product[item.product_id] = (name, qty + item.quantity, revenue + item.line_total)
    for product_id, (name, qty, revenue) in sorted(per_product.items()):
        for table, keys in (
            (daily_product_sales, {"seller_id": seller_id}),
            (daily_store_product_sales, {"store_id": order.store_id, "seller_id": seller_id}),
        ):
            stmt = pg_insert(table).values(
                **keys, day=day, product_id=product_id, name=name, quantity=qty, revenue=revenue
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[c.name for c in table.primary_key.columns],
                    set_={"quantity": table.c.quantity + qty, "revenue": table.c.revenue + revenue},
                )
            )


def _check_group_buys(conn: Connection, seller_id: str, order: Order, now: datetime) -> None:
    """Ring once when a group-buy product's sold quantity reaches its minimum."""
    product_ids = sorted({i.product_id for i in order.items})
    rows = conn.execute(
        select(products.c.product_id, products.c.name, products.c.name_en, products.c.group_buy).where(
            products.c.product_id.in_(product_ids), products.c.group_buy.is_not(None)
        )
    ).all()
    for row in rows:
        if not row.group_buy:
            continue
        minimum = int(row.group_buy["minQuantity"])
        sold = conn.execute(
            select(func.coalesce(func.sum(order_items.c.quantity), 0))
            .join(orders, orders.c.order_id == order_items.c.order_id)
            .where(
                order_items.c.product_id == row.product_id,
                orders.c.status.not_in([s.value for s in TERMINAL_STATES]),
            )
        ).scalar_one()
        kind = NotificationKind.GROUP_BUY_MINIMUM
        if sold >= minimum and not notifications.already_notified(conn, seller_id, kind, row.product_id):
            notifications.notify(
                conn,
                seller_id,
                kind,
                {
                    "productName": row.name,
                    "productNameEn": row.name_en,
                    "sold": int(sold),
                    "minQuantity": minimum,
                },
                ref_type="product",
                ref_id=row.product_id,
                now=now,
            )


def check_group_buy_deadlines(conn: Connection, now: datetime) -> int:
    """Ring once for every group buy whose end has passed (run periodically by the cloud)."""
    rows = conn.execute(
        select(
            products.c.product_id,
            products.c.seller_id,
            products.c.name,
            products.c.name_en,
            products.c.group_buy,
        ).where(products.c.group_buy.is_not(None), products.c.deleted_at.is_(None))
    ).all()
    rung = 0
    kind = NotificationKind.GROUP_BUY_DEADLINE
    for row in rows:
        if not row.group_buy:
            continue
        ends_at = datetime.fromisoformat(row.group_buy["endsAt"])
        if ends_at <= now and not notifications.already_notified(conn, row.seller_id, kind, row.product_id):
            notifications.notify(
                conn,
                row.seller_id,
                kind,
                {"productName": row.name, "productNameEn": row.name_en, "endsAt": row.group_buy["endsAt"]},
                ref_type="product",
                ref_id=row.product_id,
                now=now,
            )
            rung += 1
    return rung


# --- reading --------------------------------------------------------------------------------------------


def _filters(
    seller_id: str,
    store_id: str | None,
    status: OrderStatus | None,
    date_from: date | None,
    date_to: date | None,
) -> list[Any]:
    where: list[Any] = [orders.c.seller_id == seller_id]
    if store_id:
        where.append(orders.c.store_id == store_id)
    if status:
        where.append(orders.c.status == status.value)
    if date_from:
        where.append(orders.c.created_at >= day_start(date_from))
    if date_to:
        where.append(orders.c.created_at < day_start(date_to + timedelta(days=1)))
    return where


def _totals(
    conn: Connection,
    seller_id: str,
    store_id: str | None,
    status: OrderStatus | None,
    date_from: date | None,
    date_to: date | None,
) -> OrderTotals:
    """Whole Taiwan days, so the rollup (kept per store, day and status) answers without touching orders."""
    query = select(
        func.coalesce(func.sum(daily_sales.c.orders), 0),
        func.coalesce(func.sum(daily_sales.c.revenue), 0),
    ).where(daily_sales.c.seller_id == seller_id)
    if status:
        query = query.where(daily_sales.c.status == status.value)
    if store_id:
        query = query.where(daily_sales.c.store_id == store_id)
    if date_from:
        query = query.where(daily_sales.c.day >= date_from)
    if date_to:
        query = query.where(daily_sales.c.day <= date_to)
    count, revenue = conn.execute(query).one()
    return OrderTotals(orders=int(count), revenue=int(revenue))


def list_orders(
    conn: Connection,
    seller_id: str,
    *,
    store_id: str | None = None,
    status: OrderStatus | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> OrderList:
    """Newest first, keyset-paged on (createdAt, orderId); totals cover the whole filter."""
    if date_from and date_to and date_to < date_from:
        raise InvalidInput("dateTo is before dateFrom", field="dateTo")
    where = _filters(seller_id, store_id, status, date_from, date_to)
    after = decode_time_cursor(cursor)
    if after:
        at, last_id = after
        # A row comparison is an index bound (the OR form was a filter: deep pages scanned every row before).
        where.append(tuple_(orders.c.created_at, orders.c.order_id) < tuple_(at, last_id))
    rows = conn.execute(
        select(orders)
        .where(*where)
        .order_by(orders.c.created_at.desc(), orders.c.order_id.desc())
        .limit(limit + 1)
    ).all()
    page = rows[:limit]
    items = _with_lines(conn, page)
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = encode_time_cursor(last.created_at, last.order_id)
    return OrderList(
        items=items,
        next_cursor=next_cursor,
        totals=_totals(conn, seller_id, store_id, status, date_from, date_to),
    )


def _with_lines(conn: Connection, rows: Sequence[Any], *, events: bool = False) -> list[OrderOut]:
    ids = [r.order_id for r in rows]
    lines: dict[str, list[OrderItem]] = {i: [] for i in ids}
    pays: dict[str, list[Payment]] = {i: [] for i in ids}
    history: dict[str, list[OrderEventPublic]] = {i: [] for i in ids}
    returns = returns_of(conn, ids)
    if ids:
        for r in conn.execute(
            select(order_items).where(order_items.c.order_id.in_(ids)).order_by(order_items.c.item_id)
        ):
            lines[r.order_id].append(OrderItem.model_validate(r._asdict()))
        for r in conn.execute(
            select(payments).where(payments.c.order_id.in_(ids)).order_by(payments.c.created_at)
        ):
            pays[r.order_id].append(Payment.model_validate(r._asdict()))
        if events:
            for r in conn.execute(
                select(order_events)
                .where(order_events.c.order_id.in_(ids))
                .order_by(order_events.c.at, order_events.c.event_id)
            ):
                history[r.order_id].append(
                    OrderEventPublic(
                        from_status=r.from_status,
                        to_status=r.to_status,
                        actor=r.actor,
                        note=r.note,
                        at=r.at,
                        staff=_staff_of(r),
                    )
                )
    out = []
    for r in rows:
        data = r._asdict()
        out.append(
            OrderOut(
                **data,
                items=lines[r.order_id],
                payments=pays[r.order_id],
                events=history[r.order_id],
                allowed_transitions=allowed_targets(OrderStatus(r.status), Actor.SELLER),
                returned_quantities=returned_quantities(lines[r.order_id], returns[r.order_id]),
                refunded_amount=refunded_amount(r.total, pays[r.order_id], returns[r.order_id]),
                returns=returns[r.order_id],
            )
        )
    return out


def returns_of(conn: Connection, order_ids: Sequence[str]) -> dict[str, list[OrderReturn]]:
    """The partial returns of each order, oldest first (return ids are ULIDs the store made in order)."""
    found: dict[str, list[OrderReturn]] = {order_id: [] for order_id in order_ids}
    if not order_ids:
        return found
    rows = conn.execute(
        select(order_returns)
        .where(order_returns.c.order_id.in_(list(order_ids)))
        .order_by(order_returns.c.return_id)
    ).all()
    if not rows:
        return found
    lines: dict[str, list[dict[str, Any]]] = {row.return_id: [] for row in rows}
    for line in conn.execute(
        select(order_return_items)
        .where(order_return_items.c.return_id.in_(list(lines)))
        .order_by(order_return_items.c.item_id)
    ):
        lines[line.return_id].append(line._asdict())
    for row in rows:
        found[row.order_id].append(OrderReturn.from_rows(row._asdict(), lines[row.return_id]))
    return found


def get_order(conn: Connection, seller_id: str, order_id: str) -> OrderOut:
    row = conn.execute(
        select(orders).where(orders.c.order_id == order_id, orders.c.seller_id == seller_id)
    ).first()
    if row is None:
        raise NotFound(f"order {order_id} not found", code="orderNotFound")
    return _with_lines(conn, [row], events=True)[0]


def order_state(conn: Connection, order_id: str, created_at: datetime) -> StatusState:
    """The order's status state for the merge rule, rebuilt from its events (each a transition seen)."""
    found: list[OrderTransition] = []
    for e in conn.execute(select(order_events).where(order_events.c.order_id == order_id)):
        device = e.device_id or CLOUD_ORIGIN
        if e.from_status is None:
            found.append(
                creation_transition(
                    order_id, OrderStatus(e.to_status), created_at, device, actor=Actor(e.actor)
                )
            )
            continue
        found.append(
            OrderTransition(
                order_id=order_id,
                from_status=OrderStatus(e.from_status),
                to_status=OrderStatus(e.to_status),
                actor=Actor(e.actor),
                # Events from before sync stamped them: their time, as the cloud's.
                hlc=e.hlc or HLC(int(e.at.timestamp() * 1000), 0, device).encode(),
                device_id=device,
                note=e.note,
                staff=_staff_of(e),
            )
        )
    return StatusState(order_id, frozenset(found))


def _staff_of(event: Any) -> StaffRef | None:
    """Who made an event at a store's counter, as its transition said (part of the transition's identity,
    so a redelivered one is recognised as the same)."""
    return StaffRef(staff_id=event.staff_id, name=event.staff_name) if event.staff_id else None


def cloud_stamp(state: StatusState, now: datetime) -> str:
    """A stamp for a transition made in the cloud now: after every stamp the order has seen, so a change
    made after looking at the order is later than what it looked at, even if a store's clock runs ahead."""
    latest = max((t.stamp() for t in state.transitions), default=None)
    last = HLC(latest.wall_ms, latest.counter, CLOUD_ORIGIN) if latest else None
    clock = HybridClock(CLOUD_ORIGIN, last=last, max_drift_ms=MAX_WALL_MS)
    return clock.tick(int(now.timestamp() * 1000)).encode()


def merge_transition(
    conn: Connection,
    seller_id: str,
    order_id: str,
    incoming: OrderTransition,
    now: datetime,
    *,
    low_threshold: int = LOW_STOCK_THRESHOLD,
) -> MergeOutcome:
    """Merge one transition (made in the cloud or at a store) into the order, by the rule both sides share:
    the status follows the effective path, stock effects of transitions joining or leaving it are written
    (and queued down to the store, which dedupes its own), payments of a refunding transition are marked."""
    row = _locked_order(conn, seller_id, order_id)
    return _merge(
        conn, seller_id, row, order_state(conn, order_id, row.created_at), incoming, now, low_threshold
    )


def _locked_order(conn: Connection, seller_id: str, order_id: str) -> Any:
    row = conn.execute(
        select(orders).where(orders.c.order_id == order_id, orders.c.seller_id == seller_id).with_for_update()
    ).first()
    if row is None:
        raise NotFound(f"order {order_id} not found", code="orderNotFound")
    return row


def _merge(
    conn: Connection,
    seller_id: str,
    row: Any,
    state: StatusState,
    incoming: OrderTransition,
    now: datetime,
    low_threshold: int,
) -> MergeOutcome:
    order_id = row.order_id
    outcome = merge_order_status(state, incoming)
    if outcome.result in (MergeResult.DUPLICATE, MergeResult.ILLEGAL):
        return outcome
    conn.execute(
        insert(order_events).values(
            event_id=new_id(),
            order_id=order_id,
            from_status=incoming.from_status.value if incoming.from_status else None,
            to_status=incoming.to_status.value,
            actor=incoming.actor.value,
            note=incoming.note,
            at=now,
            hlc=incoming.hlc,
            device_id=incoming.device_id,
            staff_id=incoming.staff.staff_id if incoming.staff else None,
            staff_name=incoming.staff.name if incoming.staff else None,
        )
    )
    before, after = outcome.status_before, outcome.status_after
    if after is not None and before is not None and after != before:
        conn.execute(
            update(orders).where(orders.c.order_id == order_id).values(status=after.value, updated_at=now)
        )
        units = conn.execute(
            select(func.coalesce(func.sum(order_items.c.quantity), 0)).where(
                order_items.c.order_id == order_id
            )
        ).scalar_one()
        day = business_day(row.created_at)
        # The two cells in sorted order, as the set-based ingest upserts its cells (cloud.order_batches): a
        # status change (unpaid -> cancelled, say) and a batch of new orders of the same store, applied at
        # once by two ingest threads, take the rows' locks in one order and cannot deadlock on them.
        for status, sign in sorted(((before.value, -1), (after.value, 1))):
            _count_in_rollup(conn, seller_id, row.store_id, day, status, sign, sign * row.total, sign * units)
    if refunds_payment(outcome):
        conn.execute(
            update(payments)
            .where(payments.c.order_id == order_id)
            .values(status=PaymentStatus.REFUNDED.value)
        )
    items = conn.execute(select(order_items).where(order_items.c.order_id == order_id)).all()
    returns = returns_of(conn, [order_id])[order_id]
    effects = transition_effects(outcome, items, store_id=row.store_id, at=now, returns=returns)
    stock.write_deltas(conn, seller_id, effects, now, low_threshold)
    sync_downlink.queue_deltas(conn, effects, now)
    return outcome


def lock_order(conn: Connection, seller_id: str, order_id: str) -> None:
    """Hold the order's row until the transaction ends, so what is judged of it (its returns, its status)
    stays so until what is judged is written. ``orderNotFound`` when it is not the seller's."""
    _locked_order(conn, seller_id, order_id)


def ingest_return(
    conn: Connection,
    seller_id: str,
    order_return: OrderReturn,
    now: datetime,
    *,
    low_threshold: int = LOW_STOCK_THRESHOLD,
) -> bool:
    """Write a partial return a store took, checked already (``sync_protocol.record_checks``), with its stock
    effects (its units back, less those a whole return on the order's path put back already), sent down to
    the store's devices like every stock effect. False when it was here already (a redelivery).

    The order keeps its status: a return that brings back the last units is followed by the store's own
    status change. One that arrives while the order stands refunded, returned or cancelled by someone else
    (the seller in the dashboard, say) is kept all the same, since the goods and the money changed hands at
    the counter; the seller's bell says so."""
    row = _locked_order(conn, seller_id, order_return.order_id)
    return_row, lines = order_return.to_rows()
    inserted = conn.execute(
        pg_insert(order_returns)
        .values(return_row)
        .on_conflict_do_nothing(index_elements=["return_id"])
        .returning(order_returns.c.return_id)
    ).first()
    if inserted is None:
        return False
    conn.execute(insert(order_return_items), lines)
    conn.execute(update(orders).where(orders.c.order_id == row.order_id).values(updated_at=now))
    items = conn.execute(select(order_items).where(order_items.c.order_id == row.order_id)).all()
    path = order_state(conn, row.order_id, row.created_at).path
    effects = return_effects(order_return, items, path, store_id=row.store_id, at=now)
    stock.write_deltas(conn, seller_id, effects, now, low_threshold)
    sync_downlink.queue_deltas(conn, effects, now)
    undone_elsewhere = [t for t in path if t.to_status.is_terminal and t.device_id != order_return.device_id]
    if undone_elsewhere:
        _ring_return_conflict(conn, seller_id, order_return, undone_elsewhere[-1].to_status, now)
    return True


def _ring_return_conflict(
    conn: Connection, seller_id: str, order_return: OrderReturn, status: OrderStatus, now: datetime
) -> None:
    notifications.notify(
        conn,
        seller_id,
        NotificationKind.RETURN_CONFLICT,
        {
            "orderId": order_return.order_id,
            "returnId": order_return.return_id,
            "units": sum(item.quantity for item in order_return.items),
            "refund": order_return.refund,
            "status": status.value,
        },
        ref_type="order",
        ref_id=order_return.order_id,
        now=now,
    )


def transition(
    conn: Connection,
    seller_id: str,
    order_id: str,
    target: OrderStatus,
    now: datetime,
    *,
    actor: Actor = Actor.SELLER,
    note: str | None = None,
    low_threshold: int = LOW_STOCK_THRESHOLD,
) -> OrderOut:
    """Move an order along the state machine from the cloud (the dashboard, a carrier); a return or
    cancellation puts its goods back in stock. The store hears of it through its downlink feed."""
    row = _locked_order(conn, seller_id, order_id)
    source = OrderStatus(row.status)
    check_transition(source, target, actor)
    state = order_state(conn, order_id, row.created_at)
    change = OrderTransition(
        order_id=order_id,
        from_status=source,
        to_status=target,
        actor=actor,
        hlc=cloud_stamp(state, now),
        device_id=CLOUD_ORIGIN,
        note=note,
    )
    _merge(conn, seller_id, row, state, change, now, low_threshold)
    sync_downlink.queue_transition(conn, row.store_id, change, now)
    return get_order(conn, seller_id, order_id)
