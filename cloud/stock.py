"""Stock per (store, variant) as the sum of signed deltas; adjustments from the dashboard; stock bells.

A level is never set, only added to: sales at the edge and restocks in the cloud are both just deltas, so
concurrent offline sales and cloud restocks both survive (docs/sync-protocol.md, "Stock"). Deltas are only
ever inserted; the database adds each statement's new deltas to their rows in ``stock_levels`` (a trigger,
migration 0017), so a level is one row to read, whatever wrote the deltas. A level below zero is accepted (the
goods did leave the store) and rings the bell.

Whoever writes deltas locks their stores' rows first (``_lock_stores``), and only then the level rows (the
trigger, in key order). ``sync_downlink.queue_deltas`` takes a store's row too, after the deltas are written:
a writer that took it only then, holding level rows already, could deadlock with another.
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from cloud import bulk, notifications, sync_downlink
from cloud.tables import products, stock_deltas, stock_levels, stores, variants
from models.cloud_api import (
    AdjustmentKind,
    NotificationKind,
    StockAdjustmentCreate,
    StockAdjustmentPublic,
    StockLevelPublic,
)
from models.errors import InvalidInput, NotFound
from models.ids import new_id
from models.stock import StockDelta, StockReason


def levels(conn: Connection, store_id: str, variant_ids: Iterable[str] | None = None) -> dict[str, int]:
    """The levels of the store's variants (of ``variant_ids``), those ever stocked: one row each in
    ``stock_levels``, however many deltas made them."""
    query = select(stock_levels.c.variant_id, stock_levels.c.level).where(stock_levels.c.store_id == store_id)
    if variant_ids is not None:
        query = query.where(stock_levels.c.variant_id.in_(list(variant_ids)))
    return {vid: int(level) for vid, level in conn.execute(query)}


def _lock_stores(conn: Connection, store_ids: Iterable[str]) -> None:
    """Lock the stores' rows, in key order, as updating them would (``FOR NO KEY UPDATE``, what
    ``sync_downlink.queue_deltas`` takes): every writer of a store's stock then takes its row before any of
    its level rows, so two of them wait for each other rather than deadlock, and a level read after this
    stays as read until the transaction ends."""
    conn.execute(
        select(stores.c.store_id)
        .where(stores.c.store_id.in_(sorted(set(store_ids))))
        .order_by(stores.c.store_id)
        .with_for_update(key_share=True)
    ).all()


def _moved(deltas: Iterable[StockDelta]) -> dict[tuple[str, str], int]:
    """How far ``deltas`` move each (store, variant)'s level."""
    sums: dict[tuple[str, str], int] = {}
    for delta in deltas:
        key = (delta.store_id, delta.variant_id)
        sums[key] = sums.get(key, 0) + delta.quantity
    return sums


def _levels_before(conn: Connection, sums: Mapping[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    """Each (store, variant)'s level before the deltas this transaction has just inserted, which moved it by
    ``sums`` (``_moved``): the level now, which the trigger has added them to, less their sum."""
    before: dict[tuple[str, str], int] = {}
    for store_id in sorted({s for s, _ in sums}):
        after = levels(conn, store_id, sorted(v for s, v in sums if s == store_id))
        before.update({(store_id, v): units - sums[(store_id, v)] for v, units in after.items()})
    return before


def list_levels(
    conn: Connection, seller_id: str, store_id: str, low_threshold: int
) -> list[StockLevelPublic]:
    """Every variant of the seller's live products, with its level at the store (0 when never stocked)."""
    rows = conn.execute(
        select(
            variants.c.variant_id,
            variants.c.name,
            variants.c.name_en,
            products.c.product_id,
            products.c.name.label("product_name"),
            products.c.name_en.label("product_name_en"),
        )
        .join(products, products.c.product_id == variants.c.product_id)
        .where(products.c.seller_id == seller_id, products.c.deleted_at.is_(None))
        .order_by(products.c.name, variants.c.position)
    ).all()
    at_store = levels(conn, store_id)
    return [
        StockLevelPublic(
            variant_id=r.variant_id,
            product_id=r.product_id,
            product_name=r.product_name,
            variant_name=r.name,
            product_name_en=r.product_name_en,
            variant_name_en=r.name_en,
            level=at_store.get(r.variant_id, 0),
            low=at_store.get(r.variant_id, 0) < low_threshold,
        )
        for r in rows
    ]


def _variant_of_seller(conn: Connection, seller_id: str, variant_id: str, *, lock: bool) -> Any:
    query = select(variants.c.variant_id, variants.c.name, variants.c.product_id).where(
        variants.c.variant_id == variant_id, variants.c.seller_id == seller_id
    )
    # Locking the variant row serialises adjustments of one variant, so a count sees the level it replaces.
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound(f"variant {variant_id} not found", code="variantNotFound")
    return row


def _signed_quantity(body: StockAdjustmentCreate, level: int) -> tuple[int, StockReason]:
    match body.kind:
        case AdjustmentKind.RESTOCK:
            if body.quantity <= 0:
                raise InvalidInput("a restock brings in at least one unit", field="quantity")
            return body.quantity, StockReason.RESTOCK
        case AdjustmentKind.WRITE_OFF:
            if body.quantity <= 0:
                raise InvalidInput("a write-off takes out at least one unit", field="quantity")
            return -body.quantity, StockReason.ADJUSTMENT
        case AdjustmentKind.CORRECTION:
            if body.quantity == 0:
                raise InvalidInput("a correction changes the level", field="quantity")
            return body.quantity, StockReason.ADJUSTMENT
        case AdjustmentKind.COUNT:
            if body.quantity < 0:
                raise InvalidInput("a count is a level, zero or more", field="quantity")
            return body.quantity - level, StockReason.COUNT


def adjust(
    conn: Connection,
    seller_id: str,
    store_id: str,
    body: StockAdjustmentCreate,
    now: datetime,
    low_threshold: int,
) -> StockAdjustmentPublic:
    """Record a restock, count, write-off or correction as one delta (none when a count matches)."""
    _variant_of_seller(conn, seller_id, body.variant_id, lock=True)
    _lock_stores(conn, [store_id])  # no sale moves the level between this read and the count made from it
    before = levels(conn, store_id, [body.variant_id]).get(body.variant_id, 0)
    quantity, reason = _signed_quantity(body, before)
    note = f"{body.kind.value}: {body.reason}" if body.reason else body.kind.value
    delta_id = None
    if quantity:
        delta = StockDelta(
            delta_id=new_id(),
            store_id=store_id,
            variant_id=body.variant_id,
            quantity=quantity,
            reason=reason,
            ref_id=None,
            note=note,
            created_at=now,
        )
        delta_id = delta.delta_id
        write_deltas(conn, seller_id, [delta], now, low_threshold)
        sync_downlink.queue_deltas(conn, [delta], now)  # the store's node counts it too
    return StockAdjustmentPublic(
        delta_id=delta_id,
        store_id=store_id,
        variant_id=body.variant_id,
        quantity=quantity,
        reason=reason,
        note=note,
        level=before + quantity,
        created_at=now,
    )


def write_deltas(
    conn: Connection, seller_id: str, deltas: list[StockDelta], now: datetime, low_threshold: int
) -> int:
    """Insert deltas idempotently (a delta id seen before is skipped) and ring the stock bells.

    Returns how many were new. Used by adjustments here and by order ingest from the stores."""
    if not deltas:
        return 0
    _lock_stores(conn, (d.store_id for d in deltas))
    inserted = set(
        conn.execute(
            pg_insert(stock_deltas)
            .values([d.to_row() | {"reason": d.reason.value} for d in deltas])
            .on_conflict_do_nothing(index_elements=["delta_id"])
            .returning(stock_deltas.c.delta_id)
        ).scalars()
    )
    written = list({d.delta_id: d for d in reversed(deltas) if d.delta_id in inserted}.values())
    moved = _moved(written)
    for (store_id, variant_id), level in sorted(_levels_before(conn, moved).items()):
        after = level + moved[(store_id, variant_id)]
        _ring_stock_bells(conn, seller_id, store_id, variant_id, level, after, now, low_threshold)
    return len(inserted)


def ingest_deltas(
    conn: Connection, seller_id: str, deltas: Sequence[StockDelta], now: datetime, low_threshold: int
) -> list[bool]:
    """Write deltas from a store's uplink batch set-based, with the same effects as ``write_deltas`` called
    for each in turn: for each, whether it was new (a delta id held already, or met earlier in ``deltas``,
    is skipped), and the stock bells each new delta would ring on its own.

    A handful of statements whatever the number of deltas: the new ones are inserted in one (the trigger
    adds them to their level rows) and the levels read back; each delta's level before and after is then
    run forward in Python from the level before them all; the names a bell needs are read only when one
    rings."""
    first: dict[str, StockDelta] = {}
    at_index: dict[str, int] = {}
    for n, delta in enumerate(deltas):
        first.setdefault(delta.delta_id, delta)
        at_index.setdefault(delta.delta_id, n)
    if not first:
        return []
    _lock_stores(conn, (d.store_id for d in first.values()))
    inserted = set(
        bulk.insert_rows(
            conn,
            stock_deltas,
            [d.to_row() | {"reason": d.reason.value} for d in first.values()],
            conflict="ON CONFLICT (delta_id) DO NOTHING",
            returning="delta_id",
        )
    )
    written = [d for d in first.values() if d.delta_id in inserted]
    level = _levels_before(conn, _moved(written))
    rings: list[tuple[StockDelta, NotificationKind, int]] = []
    for delta in written:
        key = (delta.store_id, delta.variant_id)
        before, level[key] = level[key], level[key] + delta.quantity
        kind = _bell_kind(before, level[key], low_threshold)
        if kind is not None:
            rings.append((delta, kind, level[key]))
    if rings:
        names = notifications.variant_names(conn, (d.variant_id for d, _, _ in rings))
        notifications.notify_many(
            conn,
            [
                notifications.Pending(
                    seller_id,
                    kind,
                    {"storeId": d.store_id, "variantId": d.variant_id, "level": after}
                    | names.get(d.variant_id, {"productName": d.variant_id}),
                    "variant",
                    d.variant_id,
                )
                for d, kind, after in rings
            ],
            now,
        )
    return [d.delta_id in inserted and at_index[d.delta_id] == n for n, d in enumerate(deltas)]


def _bell_kind(before: int, after: int, low_threshold: int) -> NotificationKind | None:
    """Ring when a level crosses below zero or under the threshold, not on every sale while it stays low."""
    if after >= before:
        return None
    if after < 0 <= before:
        return NotificationKind.NEGATIVE_STOCK
    if 0 <= after < low_threshold <= before:
        return NotificationKind.LOW_STOCK
    return None


def _ring_stock_bells(
    conn: Connection,
    seller_id: str,
    store_id: str,
    variant_id: str,
    before: int,
    after: int,
    now: datetime,
    low_threshold: int,
) -> None:
    kind = _bell_kind(before, after, low_threshold)
    if kind is None:
        return
    names = notifications.variant_names(conn, [variant_id]).get(variant_id, {"productName": variant_id})
    params = {"storeId": store_id, "variantId": variant_id, "level": after} | names
    notifications.notify(conn, seller_id, kind, params, ref_type="variant", ref_id=variant_id, now=now)
