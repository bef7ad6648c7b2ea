"""The cloud's side of the uplink: one MQTT message (a batch from one device's stream) in, one ack out.

Each batch is applied in ONE Postgres transaction together with the stream's new sequence state, so a
crash between commit and ack only means the device sends the batch again, and the sequence state then
classifies every message as a duplicate: effects happen exactly once. Anything refused (malformed,
oversized, unknown version, inconsistent, bad payload, unauthorised) becomes a dead-letter row with its
reason and never stops the stream; refused seqs still count as handled, so the device stops re-sending.

Before a record is applied, ``sync_protocol.record_checks`` judges it against the sender's registry entry
(its store and seller, never what the message claims) and what Postgres knows of the ids it names
(``cloud.uplink_facts``). A record that fails for any reason but a transient database failure is
dead-lettered and the stream goes on: no input can wedge it (docs/sync-protocol.md, "Trust").

The records of a batch that pass their checks are written together, set-based (orders, stock deltas and
footfall: a dozen statements per batch, ``cloud.order_batches``, ``cloud.stock.ingest_deltas``), under one
savepoint. When the database refuses that write, the batch is written again record by record, each in a
savepoint of its own, so that the record at fault alone is dead-lettered; a batch of one, and the rare
streams (status changes, returns, Z-reports), always go record by record.

Pure decisions (decoding, sequence classification, the rules) come from ``sync_protocol``; this module is the
I/O around them; ``cloud.sync_service`` calls ``handle_uplink`` for each MQTT message.
"""

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import cast

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from cloud import notifications, order_batches, orders, stock, sync_downlink, z_reports
from cloud.db import CloudDatabase
from cloud.failures import Failure, failure_of
from cloud.footfall import ingest_footfall
from cloud.tables import dead_letters, devices, sync_streams
from cloud.uplink_facts import seller_facts
from models.cloud_api import NotificationKind
from models.end_of_day import ZReport
from models.errors import DomainError
from models.footfall import FootfallEvent
from models.ids import new_id
from models.returns import OrderReturn
from models.sales import Order
from models.stock import LOW_STOCK_THRESHOLD, StockDelta
from sync_protocol.encoding import DEFAULT_MAX_BATCH_BYTES, decode_batch, decode_uplink, encode, readable
from sync_protocol.envelope import Ack, Batch, OrderTransition, SeqRange, UplinkPayload, validate_payload
from sync_protocol.errors import InvalidTopic, MessageRejected, RejectReason
from sync_protocol.record_checks import PriceDifference, Sender, check_record, check_return
from sync_protocol.rules import MergeResult
from sync_protocol.sequence import SeqState, ack_for, classify
from sync_protocol.streams import Stream
from sync_protocol.topics import UplinkTopic, parse_topic

MAX_KEPT_PAYLOAD = 64 * 1024
log = logging.getLogger(__name__)


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
    """Keep a refused message with its reason. Whatever the bytes hold, this row can be written: Postgres
    text takes no NUL, so text is cleaned first (a dead letter that cannot be written would stall the
    stream as surely as the message itself)."""
    dead_letter_id = new_id()
    conn.execute(
        dead_letters.insert().values(
            dead_letter_id=dead_letter_id,
            received_at=now,
            topic=_printable(topic, 1000),
            store_id=store_id,
            device_id=device_id,
            reason=reason,
            detail=_printable(detail, 2000),
            seqs=list(seqs),
            payload=_printable(readable(data, keep=MAX_KEPT_PAYLOAD), MAX_KEPT_PAYLOAD),
        )
    )
    return dead_letter_id


def _printable(text: str, limit: int) -> str:
    return text[:limit].replace("\x00", "\\u0000")


@dataclass(frozen=True)
class _Received:
    """One message as it arrived: what each dead letter made of it records."""

    topic: str
    data: bytes
    now: datetime
    store_id: str | None = None
    device_id: str | None = None

    def dead_letter(
        self, conn: Connection, reason: RejectReason, detail: str, seqs: tuple[int, ...] = ()
    ) -> str:
        return dead_letter(
            conn,
            topic=self.topic,
            reason=reason.value,
            detail=detail,
            data=self.data,
            now=self.now,
            store_id=self.store_id,
            device_id=self.device_id,
            seqs=seqs,
        )


@dataclass(frozen=True)
class _Registered:
    """A live device as the registry holds it: the one source of what it may speak for."""

    sender: Sender
    seller_id: str


def _registered(conn: Connection, device_id: str) -> _Registered | None:
    """A live (registered, not revoked) device with its store and seller."""
    row = conn.execute(
        select(devices.c.store_id, devices.c.seller_id).where(
            devices.c.device_id == device_id, devices.c.revoked_at.is_(None)
        )
    ).first()
    return _Registered(Sender(row.store_id, device_id), row.seller_id) if row else None


def _load_state(conn: Connection, device_id: str, stream: Stream, now: datetime) -> SeqState:
    # Locked, so two deliveries of the same stream (a redelivery racing the original, or two ingest workers
    # holding one stream for a moment) apply one at a time. The row is made first when the stream is new:
    # a lock on no row locks nothing, and two first batches would both write their records and meet only
    # at the state's insert at the end, each holding rows the other waits for (a deadlock, found by
    # tests/cloud/test_ingest_interleaved.py). The second now waits here, before it has written anything.
    # One statement makes the row or locks the one held, and reads it: an upsert whose update changes
    # nothing still takes the row's lock, and returns the row as the last writer committed it.
    inserted = pg_insert(sync_streams).values(
        device_id=device_id, stream=stream.value, high_water=0, above=[], updated_at=now
    )
    row = conn.execute(
        inserted.on_conflict_do_update(
            index_elements=["device_id", "stream"], set_={"device_id": inserted.excluded.device_id}
        ).returning(sync_streams.c.high_water, sync_streams.c.above)
    ).one()
    return SeqState.of(row.high_water, row.above)


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


@dataclass(frozen=True)
class _Checked:
    """A record of a batch that passed its checks, with the price differences its sale showed."""

    seq: int
    payload: UplinkPayload
    differences: tuple[PriceDifference, ...] = ()


# The streams whose records a batch writes set-based; the rest (status changes, returns, Z-reports) are rare
# and each needs the order's lock and state, so they go one by one.
_SET_BASED = frozenset({Stream.ORDERS, Stream.STOCK_DELTAS, Stream.FOOTFALL})


def _apply(
    conn: Connection,
    device: _Registered,
    records: Sequence[_Checked],
    now: datetime,
    low_threshold: int,
    *,
    share_stock: bool,
) -> None:
    """Apply checked records of one batch: the records of a set-based stream together (a dozen statements
    whatever their number, ``cloud.order_batches``, ``cloud.stock.ingest_deltas``), any other one by one;
    the seller told of prices that differ from the store's catalog, and stock deltas passed on to the
    store's other devices (``share_stock``). A refusal raises ``MessageRejected``."""
    payloads = [r.payload for r in records]
    if len(records) > 1 and all(isinstance(p, Order) for p in payloads):
        sales = cast(list[Order], payloads)
        first: dict[str, _Checked] = {}  # an order sent twice is written (and judged) as it came first
        for sold, record in zip(sales, records, strict=True):
            first.setdefault(sold.order_id, record)
        order_batches.ingest_orders(
            conn,
            sales,
            now,
            also_ring={
                order_id: [_price_bell(device.seller_id, r.differences)]
                for order_id, r in first.items()
                if r.differences
            },
        )
        return
    if len(records) > 1 and all(isinstance(p, StockDelta) for p in payloads):
        deltas = cast(list[StockDelta], payloads)
        stock.ingest_deltas(conn, device.seller_id, deltas, now, low_threshold)
        if share_stock:
            sync_downlink.queue_deltas(conn, deltas, now)
        return
    if len(records) > 1 and all(isinstance(p, FootfallEvent) for p in payloads):
        # One id once (the first, as one by one keeps it): a statement must not meet its own row twice.
        events: dict[str, FootfallEvent] = {}
        for event in cast(list[FootfallEvent], payloads):
            events.setdefault(event.event_id, event)
        ingest_footfall(conn, list(events.values()))
        return
    for record in records:
        _apply_one(conn, device, record, now, low_threshold, share_stock=share_stock)


def _apply_one(
    conn: Connection,
    device: _Registered,
    record: _Checked,
    now: datetime,
    low_threshold: int,
    *,
    share_stock: bool,
) -> None:
    """One record, by the code that wrote records before batches were written set-based."""
    payload = record.payload
    if _write_one(conn, device, payload, now, low_threshold) and record.differences:
        notifications.notify_many(conn, [_price_bell(device.seller_id, record.differences)], now)
    if share_stock and isinstance(payload, StockDelta):
        sync_downlink.queue_deltas(conn, [payload], now)


def _write_one(
    conn: Connection, device: _Registered, payload: UplinkPayload, now: datetime, low_threshold: int
) -> bool:
    """Apply one record; False when it was here already (a redelivery)."""
    seller_id = device.seller_id
    if isinstance(payload, OrderReturn):
        return _apply_return(conn, device, payload, now, low_threshold)
    if isinstance(payload, Order):
        return orders.ingest_order(conn, payload, now, low_threshold=low_threshold)
    if isinstance(payload, StockDelta):
        return stock.write_deltas(conn, seller_id, [payload], now, low_threshold) > 0
    if isinstance(payload, FootfallEvent):
        return ingest_footfall(conn, [payload]) > 0
    if isinstance(payload, ZReport):
        return z_reports.ingest_z_report(conn, seller_id, payload, now)
    _apply_store_transition(conn, seller_id, payload, now, low_threshold)
    return True


def _apply_return(
    conn: Connection, device: _Registered, order_return: OrderReturn, now: datetime, low_threshold: int
) -> bool:
    """A partial return taken at the store. The batch's facts were read before its earlier records applied,
    so the units it brings back are judged again under the order's lock, against every return held now:
    two returns of one batch cannot bring back the same units."""
    orders.lock_order(conn, device.seller_id, order_return.order_id)
    check_return(order_return, device.sender, seller_facts(conn, device.seller_id, [order_return]))
    return orders.ingest_return(conn, device.seller_id, order_return, now, low_threshold=low_threshold)


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


def _price_bell(seller_id: str, differences: tuple[PriceDifference, ...]) -> notifications.Pending:
    """A sale kept at the price the store charged, when the catalog it held said another: the seller
    decides whether the till or the catalog was wrong."""
    first = differences[0]
    return notifications.Pending(
        seller_id,
        NotificationKind.PRICE_MISMATCH,
        {
            "orderId": first.order_id,
            "count": len(differences),
            "lines": [
                {
                    "itemId": d.item_id,
                    "variantId": d.variant_id,
                    "soldAt": d.sold_at,
                    "catalogPrice": d.catalog_price,
                }
                for d in differences[:20]
            ],
        },
        "order",
        first.order_id,
    )


def _ring_conflict(
    conn: Connection,
    seller_id: str,
    store_change: OrderTransition,
    other: OrderTransition,
    *,
    store_won: bool,
    now: datetime,
) -> None:
    won, lost = (store_change, other) if store_won else (other, store_change)
    notifications.notify(
        conn,
        seller_id,
        NotificationKind.SYNC_CONFLICT,
        {
            "orderId": store_change.order_id,
            "storeStatus": store_change.to_status.value,
            "otherStatus": other.to_status.value,
            "winner": won.to_status.value,
            "loser": lost.to_status.value,
        },
        ref_type="order",
        ref_id=store_change.order_id,
        now=now,
    )


def handle_uplink(
    db: CloudDatabase,
    topic: str,
    data: bytes,
    now: datetime,
    *,
    low_threshold: int = LOW_STOCK_THRESHOLD,
    max_bytes: int = DEFAULT_MAX_BATCH_BYTES,
    give_up: bool = False,
) -> Ack | None:
    """Apply one uplink message; the ack to publish to the device, or None when there is nobody to answer
    (an unparseable topic or an unknown device: dead-lettered, nothing is acknowledged).

    A record that is refused, or that the database refuses for its data (``cloud.failures``), is
    dead-lettered and the rest goes on. A transient database failure is raised, with nothing applied, so
    the whole message is tried again. So is an unexpected failure (a bug, a schema behind the code), unless
    ``give_up`` (the caller saw this stream fail that way several times in a row): then what failed is
    dead-lettered and the stream moves on, so no input can wedge it."""
    try:
        parsed = parse_topic(topic)
    except InvalidTopic as exc:
        parsed = None
        problem = (RejectReason.MALFORMED, str(exc))
    else:
        problem = (RejectReason.UNAUTHORISED, "not an uplink topic")
    if not isinstance(parsed, UplinkTopic):
        with db.transaction() as conn:
            _Received(topic, data, now).dead_letter(conn, *problem)
        return None
    received = _Received(topic, data, now, parsed.store_id, parsed.device_id)
    try:
        with db.transaction() as conn:
            return _handle(conn, parsed, received, low_threshold, max_bytes, give_up)
    except Exception as exc:
        failure = failure_of(exc)
        if failure is Failure.TRANSIENT or (failure is Failure.UNEXPECTED and not give_up):
            raise
        log.exception("uplink on %s failed to apply; dead-lettering its messages", topic)
        with db.transaction() as conn:
            return _dead_letter_batch(conn, parsed, received, exc, max_bytes)


def _handle(
    conn: Connection,
    parsed: UplinkTopic,
    received: _Received,
    low_threshold: int,
    max_bytes: int,
    give_up: bool,
) -> Ack | None:
    # Plan every statement of this transaction for its own parameters. psycopg prepares a statement run five
    # times, and Postgres may then keep one generic plan for it, made while the tables were small: a batch's
    # "which of these 500 payment ids exist" stayed a sequential scan as payments grew (130 ms a batch at
    # 10,000 orders, against under 5 ms with the primary key). Planning each time costs far less.
    conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
    device = _registered(conn, parsed.device_id)
    if device is None:
        received.dead_letter(conn, RejectReason.UNAUTHORISED, "unknown or revoked device")
        return None
    # The store the registry holds, not the one the topic claims: a refusal counts against the sender's own
    # store, never another seller's (under a broker ACL that did not bind the store).
    received = replace(received, store_id=device.sender.store_id)
    try:
        decoded = decode_uplink(
            received.data, topic=parsed, device_store_id=device.sender.store_id, max_bytes=max_bytes
        )
    except MessageRejected as exc:
        received.dead_letter(conn, exc.reason, exc.detail, exc.seqs)
        if exc.reason is RejectReason.BAD_PAYLOAD and exc.batch is not None:
            # A sound batch with poison messages: those are handled as dead letters, the rest applies.
            refused = set(exc.seqs) or {m.seq for m in exc.batch.messages}
            return _commit(
                conn, exc.batch, {}, device, received, low_threshold, refused=refused, give_up=give_up
            )
        if exc.reason is RejectReason.UNAUTHORISED:
            return None  # never acknowledge anything to a sender that claims another store
        # Unreadable as a whole: nothing advances; the device learns where the stream stands and re-sends.
        state = _load_state(conn, parsed.device_id, parsed.stream, received.now)
        return _ack(state, device.sender.store_id, parsed.device_id, parsed.stream, [])
    return _commit(
        conn, decoded.batch, decoded.payloads, device, received, low_threshold, refused=set(), give_up=give_up
    )


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
    payloads: Mapping[int, UplinkPayload],
    device: _Registered,
    received: _Received,
    low_threshold: int,
    *,
    refused: set[int],
    give_up: bool,
) -> Ack:
    # A store with more than one selling device: each must hear the others' stock deltas (their own come
    # back too, and are dropped by id). One device, the usual case, needs no copy of its own deltas.
    share_stock = batch.stream is Stream.STOCK_DELTAS and _live_devices(conn, batch.store_id) > 1
    state = _load_state(conn, batch.device_id, batch.stream, received.now)
    decision = classify(state, [m.seq for m in batch.messages])
    new = set(decision.new)
    dead: list[int] = sorted(refused & new)
    now = received.now

    envelopes = {m.seq: m for m in batch.messages}

    def refuse(seq: int, reason: RejectReason, detail: str) -> None:
        # The dead letter keeps this record's envelope, not the whole batch: a batch of 500 poison records
        # must not write 500 copies of itself.
        dead.append(seq)
        replace(received, data=encode(envelopes[seq])).dead_letter(conn, reason, detail, (seq,))

    checked = _checked(conn, batch, payloads, device, new - refused, refuse)
    if not (
        len(checked) > 1
        and batch.stream in _SET_BASED
        and _applied_set_based(conn, device, checked, received, low_threshold, share_stock, give_up)
    ):
        _apply_one_by_one(conn, device, checked, received, low_threshold, share_stock, give_up, refuse)
    _save_state(conn, batch.device_id, batch.stream, decision.state, now)
    return _ack(decision.state, batch.store_id, batch.device_id, batch.stream, dead)


def _checked(
    conn: Connection,
    batch: Batch,
    payloads: Mapping[int, UplinkPayload],
    device: _Registered,
    wanted: set[int],
    refuse: Callable[[int, RejectReason, str], None],
) -> list[_Checked]:
    """The records among ``wanted`` seqs that are well formed and that the sender may send (the trust
    boundary: ``sync_protocol.record_checks``, record by record); the rest refused. ``payloads``: those the
    decoder already validated, by seq (a batch with a poison message brings none: each is validated here)."""
    todo: list[tuple[int, UplinkPayload]] = []
    for message in batch.messages:
        if message.seq in wanted:
            try:
                payload = payloads.get(message.seq)
                todo.append((message.seq, payload if payload is not None else validate_payload(message)))
            except MessageRejected as exc:
                refuse(message.seq, exc.reason, exc.detail)
    facts = seller_facts(conn, device.seller_id, [payload for _, payload in todo])
    checked: list[_Checked] = []
    for seq, payload in todo:
        try:
            checked.append(_Checked(seq, payload, check_record(payload, device.sender, facts)))
        except MessageRejected as exc:
            refuse(seq, exc.reason, f"seq {seq}: {exc.detail}")
    return checked


def _applied_set_based(
    conn: Connection,
    device: _Registered,
    checked: list[_Checked],
    received: _Received,
    low_threshold: int,
    share_stock: bool,
    give_up: bool,
) -> bool:
    """Apply the whole batch set-based under one savepoint; False (nothing of it written) when the database
    refused some record, so that the caller applies them one by one and that record alone is
    dead-lettered. A transient failure, or an unexpected one unless ``give_up``, is raised as by one."""
    try:
        with conn.begin_nested():
            _apply(conn, device, checked, received.now, low_threshold, share_stock=share_stock)
    except Exception as exc:
        failure = failure_of(exc)
        if failure is Failure.TRANSIENT or (
            failure is Failure.UNEXPECTED and not give_up and not isinstance(exc, MessageRejected)
        ):
            raise
        log.info("batch on %s applied one by one after %r", received.topic, exc)
        return False
    return True


def _apply_one_by_one(
    conn: Connection,
    device: _Registered,
    checked: list[_Checked],
    received: _Received,
    low_threshold: int,
    share_stock: bool,
    give_up: bool,
    refuse: Callable[[int, RejectReason, str], None],
) -> None:
    for record in checked:
        seq = record.seq
        try:
            with conn.begin_nested():  # one bad record is dead-lettered; the rest of the batch still applies
                _apply(conn, device, [record], received.now, low_threshold, share_stock=share_stock)
        except MessageRejected as exc:
            refuse(seq, exc.reason, f"seq {seq}: {exc.detail}")
        except Exception as exc:
            failure = failure_of(exc)
            if failure is Failure.TRANSIENT or (failure is Failure.UNEXPECTED and not give_up):
                raise
            # The record's own fault (or, when giving up, failing the same way time after time): it would
            # fail again on every redelivery.
            log.warning("seq %d on %s could not be applied: %r", seq, received.topic, exc)
            refuse(seq, RejectReason.APPLY_FAILED, f"seq {seq}: {type(exc).__name__}: {exc}")


def _ack(state: SeqState, store_id: str, device_id: str, stream: Stream, dead: list[int]) -> Ack:
    handled = [s for s in dead if s <= state.high_water]
    return ack_for(
        state, store_id=store_id, device_id=device_id, stream=stream, dead_lettered=_ranges(handled)
    )


def _dead_letter_batch(
    conn: Connection, parsed: UplinkTopic, received: _Received, error: Exception, max_bytes: int
) -> Ack | None:
    """The last resort, after applying a message failed outside any one record: keep it as a dead letter
    and count its new seqs as handled, so the device moves on instead of sending it for ever."""
    detail = f"{type(error).__name__}: {error}"
    device = _registered(conn, parsed.device_id)
    batch: Batch | None
    try:
        batch = decode_batch(received.data, topic=parsed, max_bytes=max_bytes)
    except MessageRejected as exc:
        batch = exc.batch
    if device is None or batch is None:
        received.dead_letter(conn, RejectReason.APPLY_FAILED, detail)
        return None
    state = _load_state(conn, batch.device_id, batch.stream, received.now)
    decision = classify(state, [m.seq for m in batch.messages])
    received.dead_letter(conn, RejectReason.APPLY_FAILED, detail, tuple(decision.new))
    _save_state(conn, batch.device_id, batch.stream, decision.state, received.now)
    return _ack(decision.state, batch.store_id, batch.device_id, batch.stream, list(decision.new))
