"""Footfall events at the node (issue 21): a crossing is in SQLite, the API and the outbox at once, survives a
restart, and is read back as counts, 15-minute Taipei buckets, occupancy (never below 0) and pages."""

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from edge.footfall.events import record_crossing, summary
from edge.node import Node
from edge.settings import EdgeSettings
from edge.tables import footfall_events, outbox
from models.business_days import business_day
from models.errors import Conflict
from models.footfall import Direction, FootfallSource
from tests.conftest import FakeClock
from tests.edge.conftest import EdgeServer
from tests.edge.helpers import as_staff

IN, OUT = Direction.IN, Direction.OUT
CAMERA, PIR = FootfallSource.CAMERA, FootfallSource.PIR


def open_node(edge: EdgeServer) -> Node:
    """A second Node on the served node's database, as the door counter's process would hold one."""
    return Node.open(edge.settings, edge.clock)


def outbox_rows(node: Node) -> list[dict]:
    with node.db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(select(outbox).order_by(outbox.c.stream_seq))]


def test_a_crossing_is_in_sqlite_the_api_and_the_outbox_at_once(edge: EdgeServer):
    edge.clock.now = datetime(2026, 12, 5, 4, 0, tzinfo=UTC)
    staff = as_staff(edge.client, edge.settings)
    node = open_node(edge)
    try:
        nudged: list[int] = []
        node.cloud.nudge = lambda: nudged.append(1)  # as the sync agent sets it: go up now
        at = datetime(2026, 12, 5, 2, 7, 30, tzinfo=UTC)  # 10:07:30 in Taipei
        event = record_crossing(node, IN, CAMERA, at)
        assert nudged == [1]
        with node.db.read() as conn:
            row = conn.execute(select(footfall_events)).one()
        assert (row.event_id, row.occurred_at, row.direction, row.source) == (
            event.event_id,
            at,
            "in",
            "camera",
        )
        assert row.device_id == node.device_id
        (message,) = [m for m in outbox_rows(node) if m["stream"] == "footfall"]
        assert message["aggregate_id"] == event.event_id
        assert json.loads(message["payload"]) == event.to_json_dict()
    finally:
        node.close()

    summary = edge.client.get("/footfall", params={"day": "2026-12-05"}, headers=staff)
    assert summary.status_code == 200, summary.text
    assert summary.json() == {
        "day": "2026-12-05",
        "inCount": 1,
        "outCount": 0,
        "occupancy": 1,
        "buckets": [{"start": "2026-12-05T10:00:00+08:00", "inCount": 1, "outCount": 0}],
        "sources": {"camera": 1, "pir": 0, "fused": 0},
    }
    page = edge.client.get("/footfall/events", params={"day": "2026-12-05"}, headers=staff).json()
    assert page == {"items": [event.to_json_dict()], "nextCursor": None}


def test_today_by_default_and_staff_only(edge: EdgeServer):
    staff = as_staff(edge.client, edge.settings)
    node = open_node(edge)
    try:
        record_crossing(node, IN, PIR)  # at the node's now
    finally:
        node.close()
    today = business_day(edge.clock())
    summary = edge.client.get("/footfall", headers=staff).json()
    assert (summary["day"], summary["inCount"], summary["sources"]["pir"]) == (today.isoformat(), 1, 1)
    assert len(edge.client.get("/footfall/events", headers=staff).json()["items"]) == 1
    for path in ("/footfall", "/footfall/events"):
        assert edge.client.get(path).status_code == 401
    far = edge.client.get("/footfall", params={"day": "0001-01-01"}, headers=staff)
    assert (far.status_code, far.json()["error"]["code"]) == (422, "invalidDateRange")


def test_a_restart_loses_no_event(tmp_path: Path, clock: FakeClock):
    settings = EdgeSettings(data_dir=tmp_path / "node", store_id="store-1")
    node = Node.open(settings, clock)
    event = record_crossing(node, OUT, FootfallSource.FUSED)
    node.close()
    again = Node.open(settings, clock)
    try:
        with again.db.read() as conn:
            ids = list(conn.execute(select(footfall_events.c.event_id)).scalars())
        assert ids == [event.event_id]
        assert [(m["stream"], m["aggregate_id"]) for m in outbox_rows(again)] == [
            ("footfall", event.event_id)
        ]
    finally:
        again.close()


def test_without_a_store_no_event_is_written(tmp_path: Path, clock: FakeClock):
    node = Node.open(EdgeSettings(data_dir=tmp_path / "node"), clock)
    try:
        with pytest.raises(Conflict) as refused:
            record_crossing(node, IN, CAMERA)
        assert refused.value.code == "noStoreId"
        with node.db.read() as conn:
            assert conn.execute(select(footfall_events)).first() is None
        assert outbox_rows(node) == []
    finally:
        node.close()


def test_occupancy_never_below_zero_and_buckets_by_taipei_time(edge: EdgeServer):
    edge.clock.now = datetime(2026, 12, 8, 4, 0, tzinfo=UTC)  # after all of it
    staff = as_staff(edge.client, edge.settings)
    node = open_node(edge)
    midnight = datetime(2026, 12, 5, 16, 0, tzinfo=UTC)  # 00:00 of 6 December in Taipei
    try:
        for minutes, direction in [(-2, OUT), (-1, IN), (0, IN), (14, IN), (15, OUT), (16, OUT), (17, OUT)]:
            record_crossing(node, direction, CAMERA, midnight + timedelta(minutes=minutes))
    finally:
        node.close()

    def day(d: date) -> dict:
        response = edge.client.get("/footfall", params={"day": d.isoformat()}, headers=staff)
        assert response.status_code == 200, response.text
        return response.json()

    before = day(date(2026, 12, 5))  # an out with nobody in (dropped for occupancy), then an in
    assert (before["inCount"], before["outCount"], before["occupancy"]) == (1, 1, 1)
    assert before["buckets"] == [{"start": "2026-12-05T23:45:00+08:00", "inCount": 1, "outCount": 1}]
    after = day(date(2026, 12, 6))  # a new day starts empty: 2 in, 3 out, never -1
    assert (after["inCount"], after["outCount"], after["occupancy"]) == (2, 3, 0)
    assert after["buckets"] == [
        {"start": "2026-12-06T00:00:00+08:00", "inCount": 2, "outCount": 0},
        {"start": "2026-12-06T00:15:00+08:00", "inCount": 0, "outCount": 3},
    ]
    assert day(date(2026, 12, 7))["buckets"] == []


def test_occupancy_counts_only_what_happened_by_now(tmp_path: Path):
    settings = EdgeSettings(data_dir=tmp_path / "node", store_id="store-1")
    node = Node.open(settings, FakeClock(datetime(2026, 12, 5, 4, 0, tzinfo=UTC)))
    try:
        record_crossing(node, IN, CAMERA, datetime(2026, 12, 5, 3, 0, tzinfo=UTC))
        record_crossing(node, IN, CAMERA, datetime(2026, 12, 5, 5, 0, tzinfo=UTC))  # a clock ahead

        with node.db.read() as conn:
            found = summary(conn, date(2026, 12, 5), node.now())
        assert (found.in_count, found.occupancy) == (2, 1)
    finally:
        node.close()


def test_events_page_newest_first(edge: EdgeServer):
    staff = as_staff(edge.client, edge.settings)
    node = open_node(edge)
    start = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)
    try:
        made = [record_crossing(node, IN, CAMERA, start + timedelta(seconds=i // 2)) for i in range(7)]
    finally:
        node.close()  # two crossings share each second: the id orders them
    seen, cursor = [], None
    while True:
        params = {"day": "2026-12-05", "limit": 3} | ({"cursor": cursor} if cursor else {})
        page = edge.client.get("/footfall/events", params=params, headers=staff).json()
        seen += [e["eventId"] for e in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    newest_first = sorted(made, key=lambda e: (e.occurred_at, e.event_id), reverse=True)
    assert seen == [e.event_id for e in newest_first]
