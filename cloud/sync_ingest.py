"""The cloud's side of the uplink: one MQTT message (a batch from one device's stream) in, one ack out.

Each batch is applied in ONE Postgres transaction together with the stream's new sequence state, so a
crash between commit and ack only means the device sends the batch again, and the sequence state then
classifies every message as a duplicate: effects happen exactly once. Anything refused (malformed,
oversized, unknown version, inconsistent, bad payload, unauthorised) becomes a dead-letter row with its
reason and never stops the stream; refused seqs still count as handled, so the device stops re-sending.

Pure decisions (decoding, sequence classification, the rules) come from ``sync_protocol``; this module is the
I/O around them. The MQTT subscriber that calls ``handle_uplink`` is the next step of the sync issue.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from cloud import downlink, notifications, orders, stock
from cloud.db import CloudDatabase
from cloud.footfall import ingest_footfall
from cloud.tables import dead_letters, devices, sync_streams
from models.cloud_api import NotificationKind
from models.errors import DomainError
from models.footfall import FootfallEvent
from models.ids import new_id
from models.sales import Order
from models.stock import StockDelta
from sync_protocol.encoding import decode_batch
from sync_protocol.envelope import Ack, Batch, OrderTransition, SeqRange, validate_payload
from sync_protocol.errors import InvalidTopic, MessageRejected, RejectReason
from sync_protocol.rules import MergeResult
from sync_protocol.sequence import SeqState, ack_for, classify
from sync_protocol.streams import Stream
from sync_protocol.topics import UplinkTopic, parse_topic

MAX_KEPT_PAYLOAD = 64 * 1024


def dead_letter(
    conn: Connection,
    *,
    topic: str,
    reason: str,
    detail: str,
    data: bytes,
    now: datetime,
    store_id: str | None = None,
    device_id: str | None = None,
    seqs: tuple[int, ...] = (),
) -> str:
    dead_letter_id = new_id()
    conn.execute(
        dead_letters.insert().values(
            dead_letter_id=dead_letter_id,
            received_at=now,
            topic=topic[:1000],
            store_id=store_id,
            device_id=device_id,
            reason=reason,
            detail=detail[:2000],
            seqs=list(seqs),
            payload=data[:MAX_KEPT_PAYLOAD].decode("utf-8", errors="replace"),
        )
    )
    return dead_letter_id


def _registered_store(conn: Connection, device_id: str) -> str | None:
    """The store a live (registered, not revoked) device belongs to."""
    return conn.execute(
        select(devices.c.store_id).where(devices.c.device_id == device_id, devices.c.revoked_at.is_(None))
    ).scalar_one_or_none()


def _load_state(conn: Connection, device_id: str, stream: Stream) -> SeqState:
    # Locked, so two deliveries of the same stream (a redelivery racing the original) apply one at a time.
    row = conn.execute(
        select(sync_streams)
        .where(sync_streams.c.device_id == device_id, sync_streams.c.stream == stream.value)
        .with_for_update()
    ).first()
    return SeqState.of(row.high_water, row.above) if row else SeqState()


def _save_state(conn: Connection, device_id: str, stream: Stream, state: SeqState, now: datetime) -> None:
    values = {"high_water": state.high_water, "above": sorted(state.above), "updated_at": now}
    conn.execute(
        pg_insert(sync_streams)
        .values(device_id=device_id, stream=stream.value, **values)
        .on_conflict_do_update(index_elements=["device_id", "stream"], set_=values)
    )


def _ranges(seqs: list[int]) -> tuple[SeqRange, ...]:
    runs: list[SeqRange] = []
    for seq in sorted(seqs):
        if runs and runs[-1].last + 1 == seq:
            runs[-1] = SeqRange(first=runs[-1].first, last=seq)
        else:
            runs.append(SeqRange(first=seq, last=seq))
    return tuple(runs)


def _apply(conn: Connection, seller_id: str, payload: Any, now: datetime, low_threshold: int) -> None:
    if isinstance(payload, Order):
        orders.ingest_order(conn, payload, now, low_threshold=low_threshold)
    elif isinstance(payload, StockDelta):
        stock.write_deltas(conn, seller_id, [payload], now, low_threshold)
    elif isinstance(payload, FootfallEvent):
        ingest_footfall(conn, [payload])
    elif isinstance(payload, OrderTransition):
        _apply_store_transition(conn, seller_id, payload, now, low_threshold)
    else:  # pragma: no cover - PAYLOAD_MODELS and this function list the same four types
        raise TypeError(type(payload).__name__)


def _apply_store_transition(
    conn: Connection, seller_id: str, change: OrderTransition, now: datetime, low_threshold: int
) -> None:
    """A status change made at the store, merged by the rule both sides share. When it and a change made in
    the cloud meet, the rule picks one; the seller's bell says which won, and the store converges on the
    same answer when the cloud's change reaches it through the feed."""
    try:
        outcome = orders.merge_transition(
            conn, seller_id, change.order_id, change, now, low_threshold=low_threshold
        )
    except DomainError:
        raise MessageRejected(
            RejectReason.BAD_PAYLOAD, f"order {change.order_id} is not this store's"
        ) from None
    if outcome.result is MergeResult.LOST_CONFLICT and outcome.winner is not None:
        _ring_conflict(conn, seller_id, change, outcome.winner, store_won=False, now=now)
    elif outcome.superseded:
        _ring_conflict(conn, seller_id, change, outcome.superseded[-1], store_won=True, now=now)


def _ring_conflict(
    conn: Connection,
    seller_id: str,
    store_change: OrderTransition,
    other: OrderTransition,
    *,
    store_won: bool,
    now: datetime,
) -> None:
    short = store_change.order_id[-6:]
    won, lost = (store_change, other) if store_won else (other, store_change)
    notifications.notify(
        conn,
        seller_id,
        NotificationKind.SYNC_CONFLICT,
        f"同步衝突：訂單 {short} 門市改為 {store_change.to_status.value}、雲端為 {other.to_status.value}；"
        f"以 {won.to_status.value} 為準",
        body="兩邊同時修改了訂單狀態；依同步規則保留推進較多（同級則較晚）的變更，兩邊結果一致。",
        ref_type="order",
        ref_id=store_change.order_id,
        data={
            "storeStatus": store_change.to_status.value,
            "otherStatus": other.to_status.value,
            "winner": won.to_status.value,
            "loser": lost.to_status.value,
            "titleEn": f"Sync conflict: order {short} set to {store_change.to_status.value} at the store and "
            f"{other.to_status.value} elsewhere; {won.to_status.value} stands",
            "bodyEn": "Both sides changed the order at once; the sync rule keeps the change that moved it further "
            "(the later one on a tie), on both sides.",
        },
        now=now,
    )


def handle_uplink(
    db: CloudDatabase,
    topic: str,
    data: bytes,
    now: datetime,
    *,
    low_threshold: int = 5,
    max_bytes: int | None = None,
) -> Ack | None:
    """Apply one uplink message; the ack to publish to the device, or None when there is nobody to answer
    (an unparseable topic or an unknown device: dead-lettered, nothing is acknowledged)."""
    try:
        parsed = parse_topic(topic)
    except InvalidTopic as exc:
        with db.transaction() as conn:
            dead_letter(
                conn, topic=topic, reason=RejectReason.MALFORMED.value, detail=str(exc), data=data, now=now
            )
        return None
    if not isinstance(parsed, UplinkTopic):
        with db.transaction() as conn:
            dead_letter(
                conn,
                topic=topic,
                reason=RejectReason.UNAUTHORISED.value,
                detail="not an uplink topic",
                data=data,
                now=now,
            )
        return None
    with db.transaction() as conn:
        device_store = _registered_store(conn, parsed.device_id)
        if device_store is None:
            dead_letter(
                conn,
                topic=topic,
                reason=RejectReason.UNAUTHORISED.value,
                detail="unknown or revoked device",
                data=data,
                now=now,
                store_id=parsed.store_id,
                device_id=parsed.device_id,
            )
            return None
        kwargs: dict[str, Any] = {"topic": parsed, "device_store_id": device_store}
        if max_bytes is not None:
            kwargs["max_bytes"] = max_bytes
        try:
            batch: Batch = decode_batch(data, **kwargs)
        except MessageRejected as exc:
            dead_letter(
                conn,
                topic=topic,
                reason=exc.reason.value,
                detail=exc.detail,
                data=data,
                now=now,
                store_id=parsed.store_id,
                device_id=parsed.device_id,
                seqs=exc.seqs,
            )
            if exc.reason is RejectReason.BAD_PAYLOAD and exc.batch is not None:
                # A sound batch with poison messages: those are handled as dead letters, the rest applies.
                batch = exc.batch
                refused = set(exc.seqs) or {m.seq for m in batch.messages}
                return _commit(conn, batch, now, low_threshold, refused=refused, topic=topic, data=data)
            if exc.reason is RejectReason.UNAUTHORISED:
                return None  # never acknowledge anything to a sender that claims another store
            # Unreadable as a whole: nothing advances; the device learns where the stream stands and re-sends.
            state = _load_state(conn, parsed.device_id, parsed.stream)
            return ack_for(state, store_id=device_store, device_id=parsed.device_id, stream=parsed.stream)
        return _commit(conn, batch, now, low_threshold, refused=set(), topic=topic, data=data)


def _live_devices(conn: Connection, store_id: str) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(devices)
            .where(devices.c.store_id == store_id, devices.c.revoked_at.is_(None))
        ).scalar_one()
    )


def _commit(
    conn: Connection,
    batch: Batch,
    now: datetime,
    low_threshold: int,
    *,
    refused: set[int],
    topic: str,
    data: bytes,
) -> Ack:
    seller_id = orders.store_owner(conn, batch.store_id)
    # A store with more than one selling device: each must hear the others' stock deltas (their own come
    # back too, and are dropped by id). One device, the usual case, needs no copy of its own deltas.
    share_stock = batch.stream is Stream.STOCK_DELTAS and _live_devices(conn, batch.store_id) > 1
    state = _load_state(conn, batch.device_id, batch.stream)
    decision = classify(state, [m.seq for m in batch.messages])
    new = set(decision.new)
    dead: list[int] = sorted(refused & new)
    for message in batch.messages:
        if message.seq not in new or message.seq in refused:
            continue
        try:
            with conn.begin_nested():  # one bad message is dead-lettered; the rest of the batch still applies
                payload = validate_payload(message)
                _apply(conn, seller_id, payload, now, low_threshold)
                if share_stock and isinstance(payload, StockDelta):
                    downlink.queue_deltas(conn, [payload], now)
        except MessageRejected as exc:
            dead.append(message.seq)
            dead_letter(
                conn,
                topic=topic,
                reason=exc.reason.value,
                detail=exc.detail,
                data=data,
                now=now,
                store_id=batch.store_id,
                device_id=batch.device_id,
                seqs=(message.seq,),
            )
    _save_state(conn, batch.device_id, batch.stream, decision.state, now)
    handled = [s for s in dead if s <= decision.state.high_water]
    return ack_for(
        decision.state,
        store_id=batch.store_id,
        device_id=batch.device_id,
        stream=batch.stream,
        dead_lettered=_ranges(handled),
    )
