"""The node's side of the uplink, without the network: outbox rows become batches, acks delete rows.

Rows are sent in stream-sequence order and deleted only when an ack's high-water mark (or its dead-letter
list) covers them, so a crash, a lost ack or a broker restart can only cause a resend, which the cloud's
sequence state turns into a no-op. ``sync_agent`` publishes these batches; ``InFlight`` says, per stream,
up to which seq they went out already and are not due again, so a round reads and packs only the rest.
"""

import json
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select
from sqlalchemy.dialects.sqlite import insert

from edge import node_state
from edge.node import Node
from edge.prepared import Prepared
from edge.tables import outbox, sync_acks
from sync_protocol.encoding import pack_batches
from sync_protocol.envelope import Ack, Batch, Envelope, payload_schema_version
from sync_protocol.hlc import HLC
from sync_protocol.sequence import DEFAULT_SEND_WINDOW, AckPlan, plan_after_ack
from sync_protocol.streams import Stream

RESEND_AFTER_S = 10.0
"""How long a sent batch waits for its ack before it is sent again (sooner after a reconnect, or when an ack
asks for it). Without it every tick would resend what the cloud is still committing."""


def _stamp(created_at: datetime, seq: int, device_id: str) -> HLC:
    # Stamped when the change was made (not when sent), so a resend carries the same envelope; the
    # stream sequence breaks ties between changes made in the same millisecond.
    return HLC(int(created_at.timestamp() * 1000), seq % 65_536, device_id)


def _envelope(row: Any, stream: Stream, *, store_id: str, device_id: str) -> Envelope:
    payload = json.loads(row.payload)
    return Envelope(
        schema_version=payload_schema_version(stream, payload),
        message_id=row.message_id,
        store_id=store_id,
        device_id=device_id,
        stream=stream,
        seq=row.stream_seq,
        hlc=_stamp(row.created_at, row.stream_seq, device_id).encode(),
        payload=payload,
    )


# The drain's reads, compiled once (``edge.prepared``): a sync round follows every sale.
_NEWEST = Prepared(select(func.max(outbox.c.stream_seq)).where(outbox.c.stream == bindparam("stream")))
_OUT = Prepared(
    select(func.count())
    .select_from(outbox)
    .where(outbox.c.stream == bindparam("stream"), outbox.c.stream_seq <= bindparam("after"))
)
_NEXT = Prepared(
    select(outbox)
    .where(outbox.c.stream == bindparam("stream"), outbox.c.stream_seq > bindparam("after"))
    .order_by(outbox.c.stream_seq)
    .limit(bindparam("room"))
)


def pending_batches(
    conn: Connection,
    *,
    store_id: str,
    device_id: str,
    new_batch_id: Callable[[], str],
    per_stream: int = DEFAULT_SEND_WINDOW,
    sent: Mapping[Stream, int] | None = None,
    held: dict[str, Envelope] | None = None,
) -> list[Batch]:
    """Waiting messages of every stream, packed into batches. Of each stream's oldest ``per_stream`` (the
    window: at most that many are out unacknowledged), those above ``sent[stream]``, the highest seq
    already sent and not due again (``InFlight.sent_up_to``); all of them for a stream not in ``sent``.

    Reading and packing only what goes out matters: re-reading and re-packing the whole window on every
    ack and tick, to drop most of it, was nearly all of the sync agent's CPU while a backlog drained.

    A last batch the window cut short (more rows wait behind it) stays back while anything else of its
    stream is out or going: the next ack frees room for it to go whole. Sent as it was, each ack's room
    went up as a full batch and a runt of a few rows, and the cloud paid a whole batch's round trips and
    commit for every runt (a quarter of the orders batches in a 10,000-order drain, issue 22). ``held``: the
    envelopes of the runts an earlier round held back, by message id, used again rather than built again
    (they were two fifths of what a drain's rounds built); the call leaves in it the ones it holds back."""
    before = dict(held or {})
    if held is not None:
        held.clear()
    batches: list[Batch] = []
    # The newest seq of each stream first (one index lookup each): a round after a single sale, or after an
    # ack, usually finds one stream or none with anything beyond what is out, and reads no rows.
    newest = _newest_seqs(conn)
    for stream in Stream:
        after = (sent or {}).get(stream, 0)
        if newest[stream] <= after:
            continue
        out = (_OUT.scalar(conn, {"stream": stream.value, "after": after}) or 0) if after > 0 else 0
        room = per_stream - out
        if room <= 0:
            continue
        # One row more than the window holds: whether it would have fitted in the window's last batch says
        # whether that batch is short (a runt) or whole.
        rows: Sequence[Any] = _NEXT.rows(conn, {"stream": stream.value, "after": after, "room": room + 1})
        if stream in (Stream.ORDER_STATUS, Stream.ORDER_RETURNS):
            rows = _after_their_orders(conn, rows)
        envelopes = [_reused(before, r, stream, store_id, device_id) for r in rows]
        packed = pack_batches(_contiguous_prefix(envelopes), new_batch_id=new_batch_id)
        if len(rows) > room and packed[-1].messages[-1].seq == rows[room].stream_seq:
            tail = packed.pop()  # it holds the row beyond the window: it may not go as it is
            runt = list(tail.messages[:-1])
            if runt and not packed and not out:
                # Nothing else of the stream out or going: the window's worth goes as it is, so a window
                # smaller than a batch still sends.
                packed, kept = pack_batches(runt, new_batch_id=new_batch_id), tail.messages[-1:]
            else:
                kept = tail.messages  # a runt waits for the next ack, to go whole; or the row beyond alone
            if held is not None:
                held.update((e.message_id, e) for e in kept)
        batches += packed
    return batches


def _reused(
    held: Mapping[str, Envelope], row: Any, stream: Stream, store_id: str, device_id: str
) -> Envelope:
    """The row's envelope as a held runt had it (an outbox row never changes), unless the node's store or
    device changed since; else built from the row."""
    envelope = held.get(row.message_id)
    if envelope is not None and envelope.store_id == store_id and envelope.device_id == device_id:
        return envelope
    return _envelope(row, stream, store_id=store_id, device_id=device_id)


def held_back(conn: Connection, going: Mapping[Stream, int]) -> bool:
    """Whether a stream has rows waiting above what is out or going (``going``: the highest seq per stream)
    while some of it is out unacknowledged: rows the window, or a runt held for it, keeps back until the
    next ack. A backlog draining, not a sale."""
    for stream, top in _newest_seqs(conn).items():
        after = going.get(stream, 0)
        if top > after and (_OUT.scalar(conn, {"stream": stream.value, "after": after}) or 0) > 0:
            return True
    return False


def _newest_seqs(conn: Connection) -> dict[Stream, int]:
    """Each stream's highest seq in the outbox (0: none waits)."""
    return {stream: _NEWEST.scalar(conn, {"stream": stream.value}) or 0 for stream in Stream}


def _after_their_orders(conn: Connection, rows: Sequence[Any]) -> Sequence[Any]:
    """Streams are acknowledged independently, so a status change or a return could overtake its order:
    hold them from the first one whose order still waits to go up (the cloud could not place it yet)."""
    if not rows:
        return rows
    waiting = set(
        conn.execute(
            select(outbox.c.aggregate_id).where(
                outbox.c.stream == Stream.ORDERS.value,
                outbox.c.aggregate_id.in_({row.aggregate_id for row in rows}),
            )
        ).scalars()
    )
    for i, row in enumerate(rows):
        if row.aggregate_id in waiting:
            return rows[:i]
    return rows


def _contiguous_prefix(envelopes: list[Envelope]) -> list[Envelope]:
    """A batch must be contiguous; after a gap (rows the cloud dead-lettered and we deleted) start anew."""
    out: list[Envelope] = []
    for e in envelopes:
        if out and e.seq != out[-1].seq + 1:
            break
        out.append(e)
    return out


def apply_ack(conn: Connection, ack: Ack, now: datetime) -> AckPlan:
    """Delete what the cloud committed or dead-lettered, remember the mark; the plan says what to resend."""
    stream = ack.stream.value
    # Only the seqs the ack asks for again matter to the plan: reading the whole stream's seqs on every ack
    # cost a node with a 10,000-order backlog 15 % of its CPU while it drained (issue 22).
    seqs: list[int] = []
    for wanted in ack.missing:
        seqs += conn.execute(
            select(outbox.c.stream_seq).where(
                outbox.c.stream == stream, outbox.c.stream_seq.between(wanted.first, wanted.last)
            )
        ).scalars()
    plan = plan_after_ack(ack, seqs)
    conn.execute(delete(outbox).where(outbox.c.stream == stream, outbox.c.stream_seq <= plan.delete_up_to))
    for r in ack.dead_lettered:
        conn.execute(
            delete(outbox).where(outbox.c.stream == stream, outbox.c.stream_seq.between(r.first, r.last))
        )
    stmt = insert(sync_acks).values(stream=stream, acked_seq=ack.high_water_seq, acked_at=now)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[sync_acks.c.stream], set_={"acked_seq": ack.high_water_seq, "acked_at": now}
        )
    )
    node_state.put(conn, node_state.LAST_CLOUD_CONTACT_AT, now.isoformat())
    return plan


class InFlight:
    """The resend plan: what was sent per stream and not acknowledged yet, and since when the cloud has been
    silent about it (shown by ``GET /sync/status``). Used by the agent's loop thread and the MQTT network
    thread (acks); each call touches one dict entry, which the GIL keeps whole."""

    def __init__(self, node: Node, *, resend_after_s: float = RESEND_AFTER_S) -> None:
        self.node = node
        self.resend_after_s = resend_after_s
        self._sent: dict[Stream, tuple[int, float]] = {}  # highest seq sent per stream, and when (monotonic)
        self._unanswered: dict[Stream, datetime] = {}  # first send per stream not acknowledged since

    def sent_up_to(self) -> dict[Stream, int]:
        """Per stream, the highest seq sent whose ack the cloud still has time to send: a round sends only
        what lies beyond it (``pending_batches(sent=...)``). A stream missing here sends everything waiting
        from its oldest row: never sent in this session, asked again by an ack, or silent for
        ``resend_after_s`` since its last publish (``resending``)."""
        now = time.monotonic()
        return {stream: high for stream, (high, at) in self._sent.items() if now - at < self.resend_after_s}

    def resending(self, stream: Stream) -> bool:
        """Whether what goes out on ``stream`` now goes again (its ack is overdue): counted in the status."""
        sent = self._sent.get(stream)
        return sent is not None and time.monotonic() - sent[1] >= self.resend_after_s

    def published(self, batch: Batch, *, resend: bool) -> None:
        sent = self._sent.get(batch.stream)
        self._sent[batch.stream] = (max(batch.messages[-1].seq, sent[0] if sent else 0), time.monotonic())
        self._unanswered.setdefault(batch.stream, self.node.now())
        self._show_waiting(resends=self.node.cloud.resends + 1 if resend else None)

    def acknowledged(self, ack: Ack) -> None:
        if ack.missing:
            self._sent.pop(ack.stream, None)  # the cloud asks again: resend now
        self._unanswered.pop(ack.stream, None)
        self._show_waiting(resends=0)

    def new_session(self) -> None:
        """A new broker session: send everything unacknowledged again."""
        self._sent.clear()

    def _show_waiting(self, *, resends: int | None) -> None:
        """What ``GET /sync/status`` shows of batches the cloud has not acknowledged yet."""
        cloud = self.node.cloud
        cloud.waiting_for_ack_since = min(self._unanswered.values(), default=None)
        if resends is not None:
            cloud.resends = resends
