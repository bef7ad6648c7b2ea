"""The node packs only what it has not sent (issue 22), and the resend plan stays what it was: at most 500
rows per stream out unacknowledged, everything unacknowledged again once
``resend_after_s`` passed since the stream's last publish, at once when an ack asks for a gap, and after a
reconnect."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, event, select

from edge import sync_uplink
from edge.node import Node
from edge.settings import EdgeSettings
from edge.sync_agent import SyncAgent
from edge.sync_uplink import InFlight, pending_batches
from edge.tables import outbox, sync_acks
from models.ids import new_id
from sync_protocol.encoding import decode_batch, encode
from sync_protocol.envelope import Ack, Batch, Envelope, SeqRange
from sync_protocol.mqtt_link import MqttSettings
from sync_protocol.streams import Stream
from sync_protocol.topics import Topics

STORE = "01JSTORE0000000000000000A1"
DEVICE = "01JDEV00000000000000000NA1"
AT = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    opened = Node.open(EdgeSettings(data_dir=tmp_path / "node", device_id=DEVICE))
    yield opened
    opened.close()


def queue_deltas(node: Node, first: int, last: int, *, note: str | None = None) -> None:
    with node.db.write() as conn:
        for seq in range(first, last + 1):
            payload = {
                "deltaId": new_id(), "storeId": STORE, "variantId": "v-tea", "quantity": -1, "reason": "sale",
                "refId": None, "note": note, "createdAt": (AT + timedelta(seconds=seq)).isoformat(),
            }  # fmt: skip
            conn.execute(
                outbox.insert().values(
                    message_id=new_id(), stream=Stream.STOCK_DELTAS.value, stream_seq=seq,
                    aggregate_id=payload["deltaId"], payload=json.dumps(payload), created_at=AT,
                )
            )  # fmt: skip


def seqs_of(node: Node, sent: dict[Stream, int] | None) -> list[int]:
    with node.db.read() as conn:
        batches = pending_batches(conn, store_id=STORE, device_id=DEVICE, new_batch_id=new_id, sent=sent)
    return [m.seq for b in batches for m in b.messages]


def acknowledge(node: Node, up_to: int) -> None:
    with node.db.write() as conn:
        conn.execute(
            delete(outbox).where(outbox.c.stream == Stream.STOCK_DELTAS.value, outbox.c.stream_seq <= up_to)
        )


def test_a_round_reads_only_what_is_not_out_within_the_window(node: Node) -> None:
    queue_deltas(node, 1, 1200)
    assert seqs_of(node, None) == list(range(1, 501))  # the first round: the window from the oldest
    assert seqs_of(node, {Stream.STOCK_DELTAS: 500}) == []  # all 500 out: nothing more until an ack
    acknowledge(node, 200)
    # Room for 200 more, but 300 are still out: 200 would go as a runt, so they wait to go as a whole batch.
    assert seqs_of(node, {Stream.STOCK_DELTAS: 500}) == []
    acknowledge(node, 500)
    assert seqs_of(node, {Stream.STOCK_DELTAS: 500}) == list(range(501, 1001))  # only the 500 new ones
    assert seqs_of(node, {Stream.STOCK_DELTAS: 650}) == []  # 150 out: the rest of the window is a runt
    # Due again (silence, a gap asked for, a reconnect): everything unacknowledged in the window, again.
    assert seqs_of(node, {}) == list(range(501, 1001))


def queue_orders(node: Node, first: int, last: int) -> None:
    """Orders of about 1.4 KB each as version-1 JSON: 256 KiB batches hold under 200 of them."""
    with node.db.write() as conn:
        for seq in range(first, last + 1):
            order_id = new_id()
            items = [
                {"itemId": new_id(), "orderId": order_id, "productId": "p-tea", "variantId": "v-tea",
                 "name": "Oolong tea " + "x" * 300, "variantName": "500 ml", "quantity": 1, "unitPrice": 45,
                 "unitDiscount": 0, "unitFinalPrice": 45, "lineTotal": 45, "discountId": None}
            ]  # fmt: skip
            conn.execute(
                outbox.insert().values(
                    message_id=new_id(), stream=Stream.ORDERS.value, stream_seq=seq, aggregate_id=order_id,
                    payload=json.dumps({"orderId": order_id, "items": items * 2}), created_at=AT,
                )
            )  # fmt: skip


def test_a_window_cut_batch_waits_to_go_whole_while_others_are_out(node: Node) -> None:
    """Runts cost the cloud a whole batch each: the window's tail goes whole once an ack frees room."""
    queue_orders(node, 1, 1000)

    held: dict[str, Envelope] = {}
    last: list[Batch] = []

    def batches(sent: dict[Stream, int] | None) -> list[tuple[int, int]]:
        with node.db.read() as conn:
            last[:] = pending_batches(
                conn, store_id=STORE, device_id=DEVICE, new_batch_id=new_id, sent=sent, held=held
            )
        return [(b.messages[0].seq, b.messages[-1].seq) for b in last]

    first = batches(None)
    assert len(first) >= 2
    assert first[0][0] == 1
    full = first[0][1]  # how many orders a whole batch holds
    assert all(last - start + 1 == full for start, last in first)  # whole batches only: no runt
    out = first[-1][1]
    assert out < 500 < out + full  # the window's tail stayed back
    runt = dict(held)
    # Kept for the next round: the runt, and the row beyond the window that showed it short.
    assert sorted(e.seq for e in runt.values()) == list(range(out + 1, 502))
    with node.db.write() as conn:
        conn.execute(delete(outbox).where(outbox.c.stream_seq <= full))  # the first batch is acknowledged
    assert batches({Stream.ORDERS: out}) == [(out + 1, out + full)]  # room enough for one whole batch
    reused = [e for e in last[0].messages if e.seq <= 500]
    assert reused
    assert all(e is runt[e.message_id] for e in reused)  # not built again
    assert all(e.seq > out + full for e in held.values())  # the next runt, and only it
    # Nothing else out: the window's worth goes even though it is shorter than a whole batch.
    with node.db.write() as conn:
        conn.execute(delete(outbox).where(outbox.c.stream_seq <= 990))
    assert batches({}) == [(991, 1000)]
    with node.db.write() as conn:
        conn.execute(delete(outbox))
    queue_orders(node, 1001, 1001 + 600)
    # A window smaller than a batch still sends: one window's worth.
    with node.db.read() as conn:
        got = pending_batches(
            conn, store_id=STORE, device_id=DEVICE, new_batch_id=new_id, per_stream=10, sent=None
        )
    assert [(b.messages[0].seq, b.messages[-1].seq) for b in got] == [(1001, 1010)]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def sent_batch(first: int, last: int) -> Batch:
    with_seqs = [
        {"schemaVersion": 1, "messageId": new_id(), "storeId": STORE, "deviceId": DEVICE,
         "stream": "stockDeltas", "seq": s, "hlc": f"019b76daa800-0000-{DEVICE}", "payload": {}}
        for s in range(first, last + 1)
    ]  # fmt: skip
    return Batch.model_validate(
        {"batchId": new_id(), "storeId": STORE, "deviceId": DEVICE, "stream": "stockDeltas",
         "messages": with_seqs}
    )  # fmt: skip


def test_the_resend_plan(node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(sync_uplink.time, "monotonic", clock)
    plan = InFlight(node, resend_after_s=10)
    deltas = Stream.STOCK_DELTAS
    assert plan.sent_up_to() == {}
    assert not plan.resending(deltas)

    plan.published(sent_batch(1, 300), resend=False)
    plan.published(sent_batch(301, 500), resend=False)
    assert plan.sent_up_to() == {deltas: 500}  # the next round sends only beyond 500
    clock.now += 9.9
    ack = Ack(store_id=STORE, device_id=DEVICE, stream=deltas, high_water_seq=300)
    plan.acknowledged(ack)
    assert plan.sent_up_to() == {deltas: 500}  # acknowledged in part: the rest still has time
    clock.now += 0.1  # 10 s since the last publish without an ack for the rest: due again, from the oldest
    assert plan.sent_up_to() == {}
    assert plan.resending(deltas)
    plan.published(sent_batch(301, 500), resend=True)
    assert node.cloud.resends == 1
    assert plan.sent_up_to() == {deltas: 500}
    assert not plan.resending(deltas)

    gap = Ack(
        store_id=STORE, device_id=DEVICE, stream=deltas, high_water_seq=300,
        missing=(SeqRange(first=301, last=320),),
    )  # fmt: skip
    plan.acknowledged(gap)
    assert plan.sent_up_to() == {}  # the cloud asks for a gap: everything waiting goes again now
    plan.published(sent_batch(301, 500), resend=False)
    plan.new_session()
    assert plan.sent_up_to() == {}  # a new broker session: everything unacknowledged again


def test_an_overdue_stream_sends_its_oldest_batch_again_and_a_gap_everything(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The agent's rounds with the link's publish recorded (no broker): what goes out, in what encoding."""
    clock = Clock()
    monkeypatch.setattr(sync_uplink.time, "monotonic", clock)
    queue_deltas(node, 1, 800, note="備註" * 300)  # about 2 kB each: several batches fill the window
    agent = SyncAgent(node, MqttSettings(host="127.0.0.1"), store_id=STORE, status_every_s=60)
    published: list[bytes] = []

    def publish(_topic: str, payload: bytes, **_options: object) -> bool:
        published.append(payload)
        return True

    monkeypatch.setattr(agent.link, "publish", publish)

    def round_seqs() -> list[list[int]]:
        published.clear()
        agent._drain()
        assert all(data.startswith(b"#compact2+zstd\n") for data in published)
        return [[m.seq for m in decode_batch(data).messages] for data in published]

    first = round_seqs()
    assert len(first) > 1
    # The window, in several whole batches; its tail, a runt, waits for the first ack to go whole.
    whole = [s for b in first for s in b]
    assert whole == list(range(1, len(whole) + 1))
    assert 500 - len(first[0]) < len(whole) < 500
    assert round_seqs() == []  # nothing new to send, nothing overdue
    clock.now += 10
    again = round_seqs()
    assert again == first[:1]  # overdue: the oldest batch again, and only it
    assert node.cloud.resends == 1
    assert round_seqs() == []
    gap = Ack(
        store_id=STORE, device_id=DEVICE, stream=Stream.STOCK_DELTAS, high_water_seq=0,
        missing=(SeqRange(first=1, last=10),),
    )  # fmt: skip
    agent._in_flight.acknowledged(gap)
    assert [s for b in round_seqs() for s in b] == whole  # asked for: all of it at once
    agent.link.close()


def test_a_window_of_whole_batches_goes_whole_and_a_moved_node_builds_its_envelopes_again(node: Node) -> None:
    """Only a short last batch waits: a window that packs into whole batches sends them all."""
    queue_deltas(node, 1, 1500)
    held: dict[str, Envelope] = {}

    def batches(sent: dict[Stream, int] | None, *, store: str = STORE) -> list[Batch]:
        with node.db.read() as conn:
            return pending_batches(
                conn,
                store_id=store,
                device_id=DEVICE,
                new_batch_id=new_id,
                per_stream=1000,
                sent=sent,
                held=held,
            )

    assert [(b.messages[0].seq, b.messages[-1].seq) for b in batches(None)] == [(1, 500), (501, 1000)]
    assert [e.seq for e in held.values()] == [1001]  # only the row beyond the window, read to see that
    acknowledge(node, 500)
    # The node now belongs to another store: nothing built for the old one is reused.
    moved = "01JSTORE0000000000000000C3"
    again = batches({Stream.STOCK_DELTAS: 1000}, store=moved)
    assert [(b.messages[0].seq, b.messages[-1].seq) for b in again] == [(1001, 1500)]
    assert {e.store_id for b in again for e in b.messages} == {moved}


def test_acks_are_applied_by_the_loop_thread_together(node: Node) -> None:
    """The network thread only hands an ack over; the loop applies what came since its last round in one
    write transaction, and the resend plan learns of them only then (issue 22)."""
    queue_deltas(node, 1, 30)
    agent = SyncAgent(node, MqttSettings(host="127.0.0.1"), store_id=STORE, status_every_s=60)
    topic = str(Topics.ack(STORE, DEVICE))
    for high in (10, 20, 25):
        ack = Ack(store_id=STORE, device_id=DEVICE, stream=Stream.STOCK_DELTAS, high_water_seq=high)
        agent._on_ack(topic, encode(ack))
    other = Ack(
        store_id=STORE, device_id="01JDEV00000000000000000NA2", stream=Stream.STOCK_DELTAS, high_water_seq=30
    )
    agent._on_ack(topic, encode(other))  # another device's: not ours to apply
    assert seqs_of(node, None) == list(range(1, 31))  # nothing deleted on the network thread
    commits: list[object] = []
    count = commits.append
    event.listen(node.db.engine, "commit", count)
    try:
        agent._apply_acks()
        agent._apply_acks()  # nothing new: no transaction
    finally:
        event.remove(node.db.engine, "commit", count)
    assert len(commits) == 1
    assert seqs_of(node, None) == list(range(26, 31))
    with node.db.read() as conn:
        assert conn.execute(select(sync_acks.c.acked_seq)).scalar_one() == 25
    agent.link.close()


def test_rows_held_behind_what_is_out_are_a_backlog(node: Node) -> None:
    """What lets the agent skip its pause between rounds: rows that wait for an ack, not a new sale."""
    queue_deltas(node, 1, 600)
    with node.db.read() as conn:
        assert sync_uplink.held_back(conn, {Stream.STOCK_DELTAS: 500})  # 500 out, 100 behind them
        assert sync_uplink.held_back(conn, {Stream.STOCK_DELTAS: 300})  # a runt held for the next ack
        assert not sync_uplink.held_back(conn, {Stream.STOCK_DELTAS: 600})  # all out: nothing held
        assert not sync_uplink.held_back(conn, {})  # nothing out yet: the next round sends
    acknowledge(node, 500)
    with node.db.read() as conn:
        assert not sync_uplink.held_back(conn, {Stream.STOCK_DELTAS: 500})  # nothing out: nothing to wait for


def test_an_ack_that_cannot_be_written_waits_for_the_next_round(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue_deltas(node, 1, 30)
    agent = SyncAgent(node, MqttSettings(host="127.0.0.1"), store_id=STORE, status_every_s=60)
    topic = str(Topics.ack(STORE, DEVICE))

    def ack(high: int) -> bytes:
        return encode(Ack(store_id=STORE, device_id=DEVICE, stream=Stream.STOCK_DELTAS, high_water_seq=high))

    agent._on_ack(topic, ack(20))
    agent._on_ack(topic, ack(10))  # late and older: the newer mark already says it
    failing = True

    def apply(conn: object, ack: Ack, now: datetime) -> object:
        if failing:
            raise OSError("disk full")
        return real_apply(conn, ack, now)  # type: ignore[arg-type]

    real_apply = sync_uplink.apply_ack
    monkeypatch.setattr("edge.sync_agent.apply_ack", apply)
    agent._apply_acks()  # logged, kept
    assert seqs_of(node, None) == list(range(1, 31))
    failing = False
    agent._apply_acks()
    assert seqs_of(node, None) == list(range(21, 31))
    agent.link.close()
