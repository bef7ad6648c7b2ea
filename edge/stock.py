"""Stock at this store: every change is a signed delta with a reason; the level is their running sum."""

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from edge import outbox
from edge.prepared import Prepared
from edge.tables import stock_deltas, stock_levels
from models.ids import new_id
from models.stock import StockDelta, StockReason

_INSERT_NEW_DELTA = Prepared(
    stock_deltas.insert().values({column.name: bindparam(column.name) for column in stock_deltas.c})
)
_level_upsert = sqlite_insert(stock_levels).values(
    variant_id=bindparam("variant_id"), quantity=bindparam("quantity")
)
_MOVE_LEVEL = Prepared(
    _level_upsert.on_conflict_do_update(
        index_elements=[stock_levels.c.variant_id],
        set_={"quantity": stock_levels.c.quantity + _level_upsert.excluded.quantity},
    )
)


def add_delta(
    conn: Connection,
    *,
    store_id: str,
    variant_id: str,
    quantity: int,
    reason: StockReason,
    at: datetime,
    ref_id: str | None = None,
    note: str | None = None,
    send: bool = True,
    delta_id: str | None = None,
) -> StockDelta:
    """Record a delta, move the level, and (unless ``send`` is off) queue the delta for the cloud: all in the
    caller's transaction."""
    if quantity == 0:
        raise ValueError("a stock delta is never zero")
    delta = StockDelta(
        delta_id=delta_id or new_id(),
        store_id=store_id,
        variant_id=variant_id,
        quantity=quantity,
        reason=reason,
        ref_id=ref_id,
        note=note,
        created_at=at,
    )
    record(conn, delta, send=send)
    return delta


def record(conn: Connection, delta: StockDelta, *, send: bool) -> bool:
    """Count a delta once by its id (one written here, or one the cloud sent down); False if it was counted
    already. The level moves in the same transaction; ``send`` queues it for the cloud."""
    inserted = conn.execute(
        sqlite_insert(stock_deltas)
        .values(**delta.to_row())
        .on_conflict_do_nothing(index_elements=["delta_id"])
    ).rowcount
    if not inserted:
        return False
    variant_id, quantity, at = delta.variant_id, delta.quantity, delta.created_at
    upsert = sqlite_insert(stock_levels).values(variant_id=variant_id, quantity=quantity)
    conn.execute(
        upsert.on_conflict_do_update(
            index_elements=[stock_levels.c.variant_id],
            set_={"quantity": stock_levels.c.quantity + upsert.excluded.quantity},
        )
    )
    if send:
        outbox.enqueue(conn, delta, at)
    return True


def record_new(conn: Connection, deltas: Sequence[StockDelta]) -> None:
    """Deltas made here just now (new ids, none counted before) recorded and their levels moved, none sent
    to the cloud (a sale queues its deltas with the order: ``outbox.enqueue_many``): two ``executemany``
    a chunk, whether a whole catalog's count or a sale's lines. A new id cannot have been counted before,
    so there is nothing to skip (a clash would fail the transaction)."""
    for start in range(0, len(deltas), 5000):
        chunk = deltas[start : start + 5000]
        _INSERT_NEW_DELTA.run_many(conn, [d.to_row() for d in chunk])
        _MOVE_LEVEL.run_many(conn, [{"variant_id": d.variant_id, "quantity": d.quantity} for d in chunk])


def levels(conn: Connection, variant_ids: Iterable[str]) -> dict[str, int]:
    """Current level of each variant (0 for a variant with no deltas yet)."""
    ids = list(set(variant_ids))
    found = {
        row.variant_id: row.quantity
        for row in conn.execute(select(stock_levels).where(stock_levels.c.variant_id.in_(ids)))
    }
    return {variant_id: found.get(variant_id, 0) for variant_id in ids}
