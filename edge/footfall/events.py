"""Footfall events at the node: each door crossing written the moment it is counted, read back for the API.

An event is appended, never changed or deleted: its row in ``footfall_events`` and its outbox message (the
footfall stream) are written in one transaction, so a crossing the node counted is one the cloud gets, once
(the cloud keeps events by id). Counts, buckets and occupancy are recomputed from the events on each read.
"""

from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Connection, and_, insert, or_, select

from edge import node_state, outbox
from edge.node import Node
from edge.tables import footfall_events
from models.business_days import TAIWAN, day_start
from models.errors import Conflict
from models.footfall import Direction, FootfallEvent, FootfallSource
from models.ids import new_id
from models.node_api import FootfallBucket, FootfallSummary, Page
from models.paging import decode_time_cursor, encode_time_cursor

BUCKET = timedelta(minutes=15)


def record(
    conn: Connection,
    *,
    store_id: str,
    device_id: str,
    occurred_at: datetime,
    direction: Direction,
    source: FootfallSource,
) -> FootfallEvent:
    """Append one crossing and queue it for the cloud, inside the caller's write transaction (its outbox
    message is dated ``occurred_at``: the counter records a crossing when it happens)."""
    event = FootfallEvent(
        event_id=new_id(),
        store_id=store_id,
        device_id=device_id,
        occurred_at=occurred_at.astimezone(UTC),
        direction=direction,
        source=source,
    )
    conn.execute(insert(footfall_events).values(**event.model_dump(by_alias=False)))
    outbox.enqueue(conn, event, occurred_at)
    return event


def record_crossing(
    node: Node, direction: Direction, source: FootfallSource, at: datetime | None = None
) -> FootfallEvent:
    """Record a crossing counted at this node's door (``at``, by default now) in its own write transaction,
    then nudge the cloud link: in the serving process it goes up now; from ``edgestore footfall run`` (a
    process of its own, whose nudge reaches no agent) it goes with the node's next sync round, about a
    second later. ``noStoreId`` (409) while the node has no store."""
    occurred_at = at if at is not None else node.now()
    with node.db.write() as conn:
        store_id = node_state.get(conn, node_state.STORE_ID)
        if store_id is None:
            raise Conflict(
                "the node has no store id: set EDGESTORE_STORE_ID or load a catalog that names one",
                code="noStoreId",
            )
        event = record(
            conn,
            store_id=store_id,
            device_id=node.device_id,
            occurred_at=occurred_at,
            direction=direction,
            source=source,
        )
    node.cloud.nudge()  # committed: the event goes up now
    return event


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    return day_start(day), day_start(day + timedelta(days=1))


def summary(conn: Connection, day: date, now: datetime) -> FootfallSummary:
    """The Taiwan day's counts: ins, outs, occupancy now (at the day's end for a past day; events after
    ``now`` do not count for it), the 15-minute buckets that had events, and events per source."""
    start, end = _day_bounds(day)
    rows = conn.execute(
        select(footfall_events.c.occurred_at, footfall_events.c.direction, footfall_events.c.source)
        .where(footfall_events.c.occurred_at >= start, footfall_events.c.occurred_at < end)
        .order_by(footfall_events.c.occurred_at, footfall_events.c.event_id)
    ).all()
    counts: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    buckets: dict[datetime, Counter[str]] = {}
    occupancy = 0
    for row in rows:
        counts[row.direction] += 1
        sources[row.source] += 1
        local = row.occurred_at.astimezone(TAIWAN)
        bucket_start = local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)
        buckets.setdefault(bucket_start, Counter())[row.direction] += 1
        if row.occurred_at <= now:
            step = 1 if row.direction == Direction.IN.value else -1
            occupancy = max(0, occupancy + step)
    return FootfallSummary(
        day=day,
        in_count=counts[Direction.IN.value],
        out_count=counts[Direction.OUT.value],
        occupancy=occupancy,
        buckets=[
            FootfallBucket(start=at, in_count=c[Direction.IN.value], out_count=c[Direction.OUT.value])
            for at, c in sorted(buckets.items())
        ],
        sources={s: sources[s.value] for s in FootfallSource},
    )


def list_events(conn: Connection, *, day: date, cursor: str | None, limit: int) -> Page[FootfallEvent]:
    """The Taiwan day's events, newest first (by time, then id), ``limit`` a page."""
    start, end = _day_bounds(day)
    c = footfall_events.c
    stmt = (
        select(footfall_events)
        .where(c.occurred_at >= start, c.occurred_at < end)
        .order_by(c.occurred_at.desc(), c.event_id.desc())
        .limit(limit + 1)
    )
    before = decode_time_cursor(cursor)
    if before is not None:
        at, event_id = before
        stmt = stmt.where(or_(c.occurred_at < at, and_(c.occurred_at == at, c.event_id < event_id)))
    rows = conn.execute(stmt).all()
    page = [FootfallEvent.model_validate(dict(row._mapping)) for row in rows[:limit]]
    more = len(rows) > limit
    return Page(
        items=page,
        next_cursor=encode_time_cursor(page[-1].occurred_at, page[-1].event_id) if more and page else None,
    )
