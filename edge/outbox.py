"""The transactional outbox: messages for the cloud, written in the same transaction as the change.

Nothing here sends anything; the sync drain reads rows in ``seq`` order and deletes them only after the cloud
acknowledged them (acks are kept per stream in ``sync_acks``).
"""

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from edge.tables import outbox, sync_acks
from models.ids import new_id
from models.node_api import StreamBacklog
from sync_protocol.streams import Stream


def enqueue(
    conn: Connection, stream: Stream, aggregate_id: str, payload: dict[str, Any], at: datetime
) -> str:
    """Add one message to the outbox inside the caller's transaction; returns its message id.

    Its stream sequence number is the stream's next one. Writers hold the database lock (``BEGIN
    IMMEDIATE``), so reading the last one and inserting the next cannot interleave. Numbers continue after
    acknowledged rows are deleted: ``sync_acks`` remembers the highest acknowledged one."""
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
            aggregate_id=aggregate_id,
            payload=json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
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
