"""Footfall events from the stores' door sensors: append-only, idempotent by event id.

Aggregates (visitors per day, conversion) are always recomputed from the events (``cloud.dashboard``),
never kept as counters that a redelivered batch could inflate.
"""

from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql import insert as pg_insert

from cloud.orders import store_owner
from cloud.tables import footfall_events
from models.footfall import FootfallEvent


def ingest_footfall(conn: Connection, events: list[FootfallEvent]) -> int:
    """Store events whose ids are new; returns how many were. Every event's store must exist."""
    if not events:
        return 0
    for store_id in {e.store_id for e in events}:
        store_owner(conn, store_id)
    rows = [e.to_row() | {"direction": e.direction.value, "source": e.source.value} for e in events]
    inserted = conn.execute(
        pg_insert(footfall_events)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(footfall_events.c.event_id)
    ).all()
    return len(inserted)
