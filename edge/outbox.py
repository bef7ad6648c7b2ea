"""The transactional outbox: messages for the cloud, written in the same transaction as the change.

Nothing here sends anything; the sync drain reads rows in ``seq`` order and deletes them only after the cloud
acknowledged them (acks are kept per stream in ``sync_acks``).
"""

import json
import sqlite3
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, create_engine, func, insert, select

from edge.tables import outbox, sync_acks
from edge.uplink_facts import node_facts, sender
from models.end_of_day import ZReport
from models.errors import Conflict
from models.footfall import FootfallEvent
from models.ids import new_id
from models.node_api import StreamBacklog
from models.stock import StockDelta
from sync_protocol.envelope import UplinkPayload, stream_of
from sync_protocol.errors import MessageRejected
from sync_protocol.record_checks import check_record
from sync_protocol.streams import Stream


def _aggregate_id(record: UplinkPayload) -> str:
    if isinstance(record, StockDelta):
        return record.delta_id
    if isinstance(record, FootfallEvent):
        return record.event_id
    if isinstance(record, ZReport):
        return record.z_report_id
    return record.order_id  # an order, or a change of one


def enqueue(conn: Connection, record: UplinkPayload, at: datetime) -> str:
    """Add one record to the outbox inside the caller's transaction; returns its message id.

    The record first passes the checks the cloud runs on arrival (``sync_protocol.record_checks``): a node
    never queues what the cloud would refuse, so such a change fails here, with its transaction, where
    the person making it learns why (409 ``syncRefused``).

    Its stream sequence number is the stream's next one. Writers hold the database lock (``BEGIN
    IMMEDIATE``), so reading the last one and inserting the next cannot interleave. Numbers continue after
    acknowledged rows are deleted: ``sync_acks`` remembers the highest acknowledged one."""
    try:
        check_record(record, sender(conn), node_facts(conn, record))
    except MessageRejected as exc:
        raise Conflict(
            f"the cloud would refuse this: {exc.detail}", code="syncRefused", reason=exc.reason.value
        ) from None
    stream = stream_of(record)
    message_id = new_id()
    last_pending = conn.execute(
        select(func.max(outbox.c.stream_seq)).where(outbox.c.stream == str(stream))
    ).scalar_one_or_none()
    last_acked = conn.execute(
        select(sync_acks.c.acked_seq).where(sync_acks.c.stream == str(stream))
    ).scalar_one_or_none()
    conn.execute(
        insert(outbox).values(
            message_id=message_id,
            stream=str(stream),
            stream_seq=max(last_pending or 0, last_acked or 0) + 1,
            aggregate_id=_aggregate_id(record),
            payload=json.dumps(record.to_json_dict(), ensure_ascii=False, separators=(",", ":")),
            created_at=at,
        )
    )
    return message_id


def pending_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(outbox)).scalar_one())


def backlog(conn: Connection) -> list[StreamBacklog]:
    """What waits to go up, per stream, with the last acknowledgement of each."""
    pending = {
        row.stream: row
        for row in conn.execute(
            select(
                outbox.c.stream, func.count().label("n"), func.min(outbox.c.created_at).label("oldest")
            ).group_by(outbox.c.stream)
        )
    }
    acks = {row.stream: row for row in conn.execute(select(sync_acks))}
    result = []
    for stream in Stream:
        row = pending.get(str(stream))
        ack = acks.get(str(stream))
        result.append(
            StreamBacklog(
                stream=str(stream),
                pending=row.n if row else 0,
                oldest_pending_at=row.oldest if row else None,
                acked_seq=ack.acked_seq if ack else 0,
                last_ack_at=ack.acked_at if ack else None,
            )
        )
    return result


def read_backlog(database_path: Path) -> list[StreamBacklog]:
    """The backlog of a node's database file, read beside the running node without a staff login and
    without writing (``edgestore doctor``): the file is opened read-only, so a missing one raises
    (SQLAlchemy's ``OperationalError``) instead of being made, and no migration runs."""
    uri = f"{database_path.resolve().as_uri()}?mode=ro"
    engine = create_engine("sqlite+pysqlite://", creator=lambda: sqlite3.connect(uri, uri=True))
    try:
        with engine.connect() as conn:
            return backlog(conn)
    finally:
        engine.dispose()
