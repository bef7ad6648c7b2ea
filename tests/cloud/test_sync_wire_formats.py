"""Both uplink content encodings end to end on a real Mosquitto and Postgres (issue 22): a version-1 batch
(plain JSON, every field, as nodes sent before) is still applied; a node of this version drains its
backlog in compact2+zstd into the same rows; a batch in an encoding the cloud does not read, and a
decompression bomb, are dead-lettered with their reason while the stream goes on with the next good batch."""

from collections.abc import Callable

import pytest
import zstandard
from sqlalchemy import select

from cloud import sync_service
from cloud.tables import dead_letters
from models.ids import new_id
from sync_protocol.encoding import ContentEncoding, decode_batch, encode, encode_batch
from sync_protocol.envelope import Ack, Batch, Envelope
from sync_protocol.errors import RejectReason
from sync_protocol.streams import Stream
from tests.cloud.test_sync_faults import (  # noqa: F401 (shop: the fixture, used by name)
    DeviceClient,
    Shop,
    order_envelopes,
    shop,
)

pytestmark = pytest.mark.slow


def orders(at: Shop, envelopes: list[Envelope]) -> Batch:
    return Batch(
        batch_id=new_id(), store_id=at.store, device_id=at.device_id, stream=Stream.ORDERS,
        messages=tuple(envelopes),
    )  # fmt: skip


def answered(at: Shop, device: DeviceClient, data: bytes) -> Ack:
    device.publish(data)
    ack = device.acks.get(timeout=30)
    assert (ack.store_id, ack.device_id, ack.stream) == (at.store, at.device_id, Stream.ORDERS)
    return ack


def dead_letter_rows(at: Shop) -> list[tuple[str, str, str | None, str | None]]:
    with at.cloud_server.cloud.db.read() as conn:
        rows = conn.execute(
            select(
                dead_letters.c.reason,
                dead_letters.c.detail,
                dead_letters.c.store_id,
                dead_letters.c.device_id,
            ).order_by(dead_letters.c.received_at, dead_letters.c.dead_letter_id)
        ).all()
    return [tuple(r) for r in rows]


def test_old_and_new_encodings_and_what_no_cloud_reads(shop: Shop) -> None:  # noqa: F811 (the fixture)
    shop.start_cloud()
    device = DeviceClient(shop)
    envelopes = order_envelopes(shop, 4)

    # A node from before issue 22: its batch as JSON, every field spelled out.
    old = encode(orders(shop, envelopes[:2]))
    assert old.startswith(b'{"schemaVersion":1,')
    ack = answered(shop, device, old)
    assert (ack.high_water_seq, ack.missing, ack.dead_lettered) == (2, (), ())
    assert shop.cloud_order_ids() == sorted(e.payload["orderId"] for e in envelopes[:2])

    # An encoding this cloud does not read: dead-lettered with its reason; the stream stands where it was.
    newer = b"#compact9+brotli\n" + zstandard.ZstdCompressor().compress(b"whatever a later node sends")
    ack = answered(shop, device, newer)
    assert (ack.high_water_seq, ack.missing) == (2, ())
    # A decompression bomb: a few bytes that declare 64 MiB, refused before anything is inflated.
    bomb = b"#compact2+zstd\n" + zstandard.ZstdCompressor(level=19).compress(b"{" * (64 << 20))
    assert len(bomb) < 10_000
    ack = answered(shop, device, bomb)
    assert (ack.high_water_seq, ack.missing) == (2, ())
    # A compact batch that inflates but says no batch: its dead letter keeps what it inflated to, readable.
    nonsense = b'{"schemaVersion":1,"batchId":"not a batch"}'
    unreadable = b"#compact2+zstd\n" + zstandard.ZstdCompressor(write_content_size=True).compress(nonsense)
    ack = answered(shop, device, unreadable)
    assert (ack.high_water_seq, ack.missing) == (2, ())

    # The next good batch, from a node of this version: applied after them.
    new = encode_batch(orders(shop, envelopes[2:]), ContentEncoding.COMPACT_ZSTD)
    assert new.startswith(b"#compact2+zstd\n")
    ack = answered(shop, device, new)
    assert (ack.high_water_seq, ack.missing, ack.dead_lettered) == (4, (), ())

    assert shop.cloud_order_ids() == sorted(e.payload["orderId"] for e in envelopes)
    assert shop.seller.get("/orders").json()["totals"]["orders"] == 4
    assert shop.high_water(Stream.ORDERS) == (4, [])
    letters = dead_letter_rows(shop)
    assert [(r[0], r[2], r[3]) for r in letters] == [
        (RejectReason.UNKNOWN_VERSION.value, shop.store, shop.device_id),
        (RejectReason.OVERSIZED.value, shop.store, shop.device_id),
        (RejectReason.MALFORMED.value, shop.store, shop.device_id),
    ]
    assert "content encoding compact9+brotli" in letters[0][1]
    assert f"inflates to {64 << 20} bytes" in letters[1][1]
    assert "firstSeq" in letters[2][1]
    payloads = dead_letter_payloads(shop)
    assert payloads[0].startswith("#compact9+brotli\n")  # an encoding nobody here reads: kept as it came
    assert payloads[2] == "#compact2+zstd\n" + nonsense.decode()


def dead_letter_payloads(at: Shop) -> list[str]:
    with at.cloud_server.cloud.db.read() as conn:
        return list(
            conn.execute(
                select(dead_letters.c.payload).order_by(
                    dead_letters.c.received_at, dead_letters.c.dead_letter_id
                )
            ).scalars()
        )


def recording_uplinks(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every uplink message the cloud's sync service hands to its ingest, as it came off the broker."""
    seen: list[bytes] = []
    real: Callable[..., Ack | None] = sync_service.handle_uplink

    def recorded(db: object, topic: str, data: bytes, *args: object, **kwargs: object) -> Ack | None:
        seen.append(data)
        return real(db, topic, data, *args, **kwargs)

    monkeypatch.setattr(sync_service, "handle_uplink", recorded)
    return seen


def test_a_node_drains_its_backlog_in_compact2_zstd(
    shop: Shop,  # noqa: F811 (the fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = recording_uplinks(monkeypatch)
    shop.sell_offline(60)
    shop.start_cloud()
    shop.start_node()
    shop.wait_synced(60)
    shop.assert_exactly_once(60)  # every order and stock delta once, equal stock, no dead letters

    assert seen
    assert all(data.startswith(b"#compact2+zstd\n") for data in seen)
    as_json = sum(len(encode(decode_batch(data))) for data in seen)
    assert sum(len(data) for data in seen) * 5 < as_json  # a fifth of version 1 at most, even for 60
