"""Footfall routes: the door counter's counts of a Taiwan day at this node, and its events.

Staff only (``StaffDep``), like the orders: how many people came in is the shop's business, not a
shopper's. The events are written by the door counter (``edge.footfall.events.record_crossing``), never
through the API; these routes only read them.
"""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from edge.api.deps import CursorQuery, LimitQuery, NodeDep, StaffDep
from edge.footfall import events
from models.business_days import business_day
from models.cloud_api import FIRST_YEAR, LAST_YEAR, require_day_within_years
from models.footfall import FootfallEvent
from models.node_api import FootfallSummary, Page

router = APIRouter(prefix="/footfall", tags=["footfall"])


def taiwan_day(
    day: Annotated[
        date | None,
        Query(
            description=f"A Taiwan business day, YYYY-MM-DD, {FIRST_YEAR}-{LAST_YEAR}; today when left out"
        ),
    ] = None,
) -> date | None:
    require_day_within_years("day", day)
    return day


DayQuery = Annotated[date | None, Depends(taiwan_day)]


@router.get("")
def footfall_summary(node: NodeDep, _member: StaffDep, day: DayQuery) -> FootfallSummary:
    """The day's ins and outs, occupancy now (ins minus outs since the day's start, never below 0; for a
    past day, at its end), its 15-minute buckets that had events (start in Taipei time) and events per
    source."""
    now = node.now()
    with node.db.read() as conn:
        return events.summary(conn, day or business_day(now), now)


@router.get("/events")
def footfall_events(
    node: NodeDep,
    _member: StaffDep,
    day: DayQuery,
    cursor: CursorQuery = None,
    limit: LimitQuery = 20,
) -> Page[FootfallEvent]:
    """The day's events, newest first; append-only, each sent to the cloud once on the footfall stream."""
    with node.db.read() as conn:
        return events.list_events(conn, day=day or business_day(node.now()), cursor=cursor, limit=limit)
