"""The transactional outbox: messages for the cloud, written in the same transaction as the change.

Nothing here sends anything; the sync drain reads rows in ``seq`` order and deletes them only after the cloud
acknowledged them (acks are kept per stream in ``sync_acks``).
"""

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Integer, bindparam, create_engine, func, select, text

from edge.prepared import Prepared
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


_LAST_SEQ = Prepared(
    text(
        "SELECT max(coalesce((SELECT max(stream_seq) FROM outbox WHERE stream = :stream), 0), "
        "coalesce((SELECT acked_seq FROM sync_acks WHERE stream = :stream), 0))"
    ).columns(last=Integer())
)
_INSERT = Prepared(
    outbox.insert().values(
        message_id=bindparam("message_id"),
        stream=bindparam("stream"),
        stream_seq=bindparam("stream_seq"),
        aggregate_id=bindparam("aggregate_id"),
        payload=bindparam("payload"),
        created_at=bindparam("created_at"),
    )
)


def enqueue(conn: Connection, record: UplinkPayload, at: datetime) -> str:
    """Add one record to the outbox inside the caller's transaction; returns its message id.

    The record first passes the checks the cloud runs on arrival (``sync_protocol.record_checks``): a node
    never queues what the cloud would refuse, so such a change fails here, with its transaction, where
    the person making it learns why (409 ``syncRefused``).

    Its stream sequence number is the stream's next one. Writers hold the database lock (``BEGIN
    IMMEDIATE``), so reading the last one and inserting the next cannot interleave. Numbers continue after
    acknowledged rows are deleted: ``sync_acks`` remembers the highest acknowledged one."""
    return enqueue_many(conn, [record], at)[0]


def enqueue_many(conn: Connection, records: Sequence[UplinkPayload], at: datetime) -> list[str]:
    """``enqueue`` for several records at once (a sale and its stock deltas), in the order given: the node's
    identity and each stream's last number are read once, and the rows go in with one statement."""
    who = sender(conn)
    for record in records:
        try:
            check_record(record, who, node_facts(conn, record))
        except MessageRejected as exc:
            raise Conflict(
                f"the cloud would refuse this: {exc.detail}", code="syncRefused", reason=exc.reason.value
            ) from None
    last_seq: dict[str, int] = {}
    rows: list[dict[str, Any]] = []
    for record in records:
        stream = str(stream_of(record))
        if stream not in last_seq:
            last_seq[stream] = int(_LAST_SEQ.scalar(conn, {"stream": stream}) or 0)
        last_seq[stream] += 1
        rows.append(
            {
                "message_id": new_id(),
                "stream": stream,
                "stream_seq": last_seq[stream],
                "aggregate_id": _aggregate_id(record),
                "payload": json.dumps(record.to_json_dict(), ensure_ascii=False, separators=(",", ":")),
                "created_at": at,
            }
        )
    _INSERT.run_many(conn, rows)
    return [row["message_id"] for row in rows]


def pending_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(outbox)).scalar_one())


def backlog(conn: Connection) -> list[StreamBacklog]:
    """What waits to go up, per stream, with the last acknowledgement of each."""
    # Counted on the (stream, stream_seq) index alone, and "oldest" is the stream's first row's time (rows
    # are numbered as they are written; a row stamped with an earlier moment, a door event's, can make it a
    # little later than the true minimum): a MIN over created_at read every row's page, payload and all, and
    # the status of a node with a 10,000-order backlog took a tenth of its CPU while it drained (issue 22).
    first = outbox.alias("first")
    oldest = (
        select(first.c.created_at)
        .where(first.c.stream == outbox.c.stream)
        .order_by(first.c.stream_seq)
        .limit(1)
        .scalar_subquery()
    )
    pending = {
        row.stream: row
        for row in conn.execute(
            select(outbox.c.stream, func.count().label("n"), oldest.label("oldest")).group_by(outbox.c.stream)
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
