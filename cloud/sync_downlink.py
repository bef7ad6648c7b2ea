"""The cloud's side of the downlink feed: what the cloud did to a store's orders, stock and staff, numbered
per store.

Written in the same transaction as the change (a dashboard transition, a restock, the stock effect of an
order's merge, a staff account made, changed or removed), so a committed change is always in the feed and a
rolled-back one never is. The sync service reads the feed after a node's position and publishes it; the node
applies each message once, in order.

The feed is pruned up to the lowest position the store's live devices have reported applying, so it holds
what some device still needs and no more. A device that has never reported holds it back: it was provisioned
from a snapshot at some position and will ask from there. A device revoked for good no longer counts.
"""

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from cloud import bulk
from cloud.tables import catalog_versions, devices, downlink_feed, stores
from models.staff import StaffRecord
from models.stock import StockDelta
from sync_protocol.envelope import FEED_MODELS, FeedMessage, OrderTransition
from sync_protocol.streams import DownlinkKind

FEED_PAGE = 200
"""Feed messages sent per request; a node asks for the next page when it has applied one."""


def _append(
    conn: Connection, store_id: str, kind: DownlinkKind, payload: dict[str, Any], now: datetime
) -> int:
    seq = conn.execute(
        update(stores)
        .where(stores.c.store_id == store_id)
        .values(downlink_seq=stores.c.downlink_seq + 1)
        .returning(stores.c.downlink_seq)
    ).scalar_one()
    conn.execute(
        insert(downlink_feed).values(
            store_id=store_id, seq=seq, kind=kind.value, payload=payload, created_at=now
        )
    )
    return int(seq)


def queue_transition(conn: Connection, store_id: str, transition: OrderTransition, now: datetime) -> int:
    return _append(conn, store_id, DownlinkKind.ORDER_STATUS, {"transition": transition.to_json_dict()}, now)


def queue_deltas(conn: Connection, deltas: Sequence[StockDelta], now: datetime) -> None:
    """Queue stock deltas in each store's feed, in the order given: two statements per store however many
    there are (a batch of 500 deltas from one device, shared with the store's other devices)."""
    by_store: dict[str, list[StockDelta]] = defaultdict(list)
    for delta in deltas:
        by_store[delta.store_id].append(delta)
    for store_id, held in sorted(by_store.items()):  # stores' rows locked in one order by every writer
        end = conn.execute(
            update(stores)
            .where(stores.c.store_id == store_id)
            .values(downlink_seq=stores.c.downlink_seq + len(held))
            .returning(stores.c.downlink_seq)
        ).scalar_one()
        first = int(end) - len(held) + 1
        bulk.insert_rows(
            conn,
            downlink_feed,
            [
                {
                    "store_id": store_id,
                    "seq": first + n,
                    "kind": DownlinkKind.STOCK.value,
                    "payload": {"delta": delta.to_json_dict()},
                    "created_at": now,
                }
                for n, delta in enumerate(held)
            ],
        )


def queue_staff(conn: Connection, record: StaffRecord, now: datetime) -> int:
    return _append(conn, record.store_id, DownlinkKind.STAFF, {"staff": record.to_json_dict()}, now)


@dataclass(frozen=True)
class FeedEnds:
    """Where a store's feed stands, with its seller's catalog version."""

    pruned: int  # messages up to here are gone
    end: int  # the last message queued
    catalog_version: int


def ends(conn: Connection, store_ids: Collection[str]) -> dict[str, FeedEnds]:
    """Per store, in one query, so the sync service can tell which devices are behind without reading any
    feed."""
    rows = conn.execute(
        select(stores.c.store_id, stores.c.feed_pruned_seq, stores.c.downlink_seq, catalog_versions.c.version)
        .join(catalog_versions, catalog_versions.c.seller_id == stores.c.seller_id)
        .where(stores.c.store_id.in_(list(store_ids)))
    )
    return {r.store_id: FeedEnds(int(r.feed_pruned_seq), int(r.downlink_seq), int(r.version)) for r in rows}


def record_position(conn: Connection, device_id: str, seq: int) -> None:
    """The feed position a device reported having applied (its status); what pruning goes by."""
    conn.execute(update(devices).where(devices.c.device_id == device_id).values(downlink_seq=seq))


def prune(conn: Connection) -> dict[str, int]:
    """Delete every store's feed messages that all its live devices have applied; returns, per store
    pruned, the new pruned end. A store without live devices keeps nothing: a device registered later
    starts from a snapshot taken after now."""
    live = devices.c.revoked_at.is_(None)
    floors = (
        select(
            stores.c.store_id,
            stores.c.feed_pruned_seq,
            stores.c.downlink_seq,
            func.count(devices.c.device_id).label("live"),
            func.count(devices.c.downlink_seq).label("reported"),  # count() skips NULLs
            func.min(devices.c.downlink_seq).label("lowest"),
        )
        .select_from(stores.outerjoin(devices, (devices.c.store_id == stores.c.store_id) & live))
        .group_by(stores.c.store_id, stores.c.feed_pruned_seq, stores.c.downlink_seq)
    )
    pruned: dict[str, int] = {}
    for row in conn.execute(floors):
        if row.live == 0:
            floor = int(row.downlink_seq)
        elif row.reported < row.live:
            continue  # a device that never reported may need any of it
        else:
            floor = min(int(row.lowest), int(row.downlink_seq))
        if floor <= row.feed_pruned_seq:
            continue
        conn.execute(
            delete(downlink_feed).where(
                downlink_feed.c.store_id == row.store_id, downlink_feed.c.seq <= floor
            )
        )
        conn.execute(update(stores).where(stores.c.store_id == row.store_id).values(feed_pruned_seq=floor))
        pruned[row.store_id] = floor
    return pruned


def feed_after(
    conn: Connection, store_id: str, position: int, *, latest: int, limit: int = FEED_PAGE
) -> list[tuple[DownlinkKind, FeedMessage]]:
    """The feed messages after ``position``, oldest first, at most ``limit``; ``latest`` is the feed's end."""
    rows = conn.execute(
        select(downlink_feed)
        .where(downlink_feed.c.store_id == store_id, downlink_feed.c.seq > position)
        .order_by(downlink_feed.c.seq)
        .limit(limit)
    ).all()
    out: list[tuple[DownlinkKind, FeedMessage]] = []
    for row in rows:
        kind = DownlinkKind(row.kind)
        common = {"storeId": store_id, "seq": int(row.seq), "latestSeq": max(latest, int(row.seq))}
        out.append((kind, FEED_MODELS[kind].model_validate(common | row.payload)))
    return out
