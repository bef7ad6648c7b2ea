"""The cloud's uplink ingest on a real Postgres: one transaction per batch with the sequence state, exactly
once under redelivery, gaps re-requested, and every refused message dead-lettered without stopping the
stream."""

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from cloud.sync_uplink import handle_uplink
from cloud.tables import dead_letters, orders
from models.ids import new_id
from models.stock import StockDelta, StockReason
from sync_protocol.encoding import encode
from sync_protocol.envelope import Batch, make_envelope
from sync_protocol.hlc import HLC
from sync_protocol.streams import Stream
from sync_protocol.topics import Topics
from tests.cloud.conftest import CloudServer, sale
from tests.cloud.test_cloud_catalog import make_product


@pytest.fixture
def shop(cloud_server: CloudServer, seller: httpx.Client) -> dict:
    store = seller.post("/stores", json={"name": "信義店"}).json()
    device = seller.post(f"/stores/{store['storeId']}/devices", json={"name": "Pi"}).json()
    product = make_product(seller)
    return {"store": store["storeId"], "device": device["deviceId"], "product": product}


def batch_of(shop: dict, first_seq: int, payloads: list) -> Batch:
    device, store = shop["device"], shop["store"]
    messages = tuple(
        make_envelope(
            message_id=new_id(),
            store_id=store,
            device_id=device,
            seq=first_seq + i,
            hlc=HLC(1_800_000_000_000 + i, 0, device),
            payload=p,
        )
        for i, p in enumerate(payloads)
    )
    return Batch(
        batch_id=new_id(), store_id=store, device_id=device, stream=messages[0].stream, messages=messages
    )


def topic(shop: dict, stream: Stream) -> str:
    return str(Topics.uplink(shop["store"], shop["device"], stream))


def count(cloud_server: CloudServer, table, *where) -> int:
    with cloud_server.cloud.db.read() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def test_orders_arrive_exactly_once_and_gaps_are_asked_for(
    cloud_server: CloudServer, seller: httpx.Client, shop: dict
):
    db, now = cloud_server.cloud.db, cloud_server.clock()
    sales = [
        sale(shop["store"], shop["product"], [(0, 1)], now + timedelta(seconds=i), device_id=shop["device"])
        for i in range(5)
    ]
    first = batch_of(shop, 1, sales[:2])
    ack = handle_uplink(db, topic(shop, Stream.ORDERS), encode(first), now)
    assert (ack.high_water_seq, ack.missing) == (2, ())
    again = handle_uplink(db, topic(shop, Stream.ORDERS), encode(first), now)  # the ack was lost: redelivery
    assert again.high_water_seq == 2
    assert count(cloud_server, orders) == 2  # nothing twice
    late = batch_of(shop, 4, sales[3:])  # seq 3 went missing on the way
    ack = handle_uplink(db, topic(shop, Stream.ORDERS), encode(late), now)
    assert ack.high_water_seq == 2
    assert [(r.first, r.last) for r in ack.missing] == [(3, 3)]
    ack = handle_uplink(db, topic(shop, Stream.ORDERS), encode(batch_of(shop, 3, [sales[2]])), now)
    assert (ack.high_water_seq, ack.missing) == (5, ())
    assert seller.get("/orders").json()["totals"]["orders"] == 5


def test_refused_messages_are_dead_lettered_and_the_stream_goes_on(cloud_server: CloudServer, shop: dict):
    db, now = cloud_server.cloud.db, cloud_server.clock()
    variant = shop["product"]["variants"][0]["variantId"]

    def delta(q: int, store: str) -> StockDelta:
        return StockDelta(
            delta_id=new_id(),
            store_id=store,
            variant_id=variant,
            quantity=q,
            reason=StockReason.SALE,
            created_at=now,
        )

    good, other_store = delta(-1, shop["store"]), delta(-1, "01HZZZZZZZZZZZZZZZZZZZZZZZ")
    b = batch_of(shop, 1, [good, other_store, delta(-2, shop["store"])])
    ack = handle_uplink(db, topic(shop, Stream.STOCK_DELTAS), encode(b), now)
    assert ack.high_water_seq == 3  # the stream moved past the bad message
    assert [(r.first, r.last) for r in ack.dead_lettered] == [(2, 2)]
    with db.read() as conn:
        row = conn.execute(select(dead_letters)).one()
    assert row.reason == "badPayload"
    assert row.seqs == [2]

    assert handle_uplink(db, topic(shop, Stream.STOCK_DELTAS), b"{not json", now).high_water_seq == 3
    assert handle_uplink(db, topic(shop, Stream.STOCK_DELTAS), b"x" * 300_000, now).high_water_seq == 3
    with db.read() as conn:
        reasons = {r.reason for r in conn.execute(select(dead_letters.c.reason))}
    assert reasons == {"badPayload", "malformed", "oversized"}


def test_unknown_devices_and_foreign_topics_are_refused(
    cloud_server: CloudServer, seller: httpx.Client, shop: dict
):
    db, now = cloud_server.cloud.db, cloud_server.clock()
    b = batch_of(shop, 1, [sale(shop["store"], shop["product"], [(0, 1)], now, device_id=shop["device"])])
    # the device publishes its batch under another store's path
    other = seller.post("/stores", json={"name": "板橋店"}).json()["storeId"]
    ack = handle_uplink(db, str(Topics.uplink(other, shop["device"], Stream.ORDERS)), encode(b), now)
    assert ack is None  # refused, and nothing of the device's stream moved: a correct resend still applies
    assert (
        handle_uplink(
            db, str(Topics.uplink(shop["store"], "01HZZZZZZZZZZZZZZZZZZZZZZZ", Stream.ORDERS)), encode(b), now
        )
        is None
    )
    assert handle_uplink(db, "edgestore/v1/nonsense", encode(b), now) is None
    seller.delete(f"/stores/{shop['store']}/devices/{shop['device']}")
    assert handle_uplink(db, topic(shop, Stream.ORDERS), encode(b), now) is None  # revoked
    assert count(cloud_server, orders) == 0
    assert count(cloud_server, dead_letters) == 4
    with cloud_server.cloud.db.read() as conn:
        assert {r.reason for r in conn.execute(select(dead_letters.c.reason))} == {
            "unauthorised",
            "malformed",
        }
