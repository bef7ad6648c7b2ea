"""A store device's login in an attacker's hands, on a real Postgres: what it publishes on its own topics
reaches nothing outside its own store and seller, and no message it sends can stop its streams.

Each attack was reproduced against ``edgestore demo`` before the checks of ``sync_protocol.record_checks``:
seller B's order gained a line and a refunded NT$99,999 payment, B's group buy rang, totals were taken as
sent, and a NUL, a colliding id or an overlong field stopped the device's stream for good.
"""

import json
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

import cloud.sync_uplink
from cloud import notifications as bell
from cloud.i18n import translator
from cloud.sync_service import SyncService
from cloud.sync_uplink import handle_uplink
from cloud.tables import (
    dead_letters,
    notifications,
    order_items,
    orders,
    payments,
    stock_deltas,
    stores,
    sync_streams,
)
from models.catalog import CatalogSnapshot
from models.ids import new_id
from models.order_states import Actor, OrderStatus
from models.sales import Order, Payment, PaymentMethod, PaymentStatus
from models.stock import StockDelta, StockReason
from plumbing import free_port
from sync_protocol.encoding import encode
from sync_protocol.envelope import Ack, Batch, OrderTransition, make_envelope, stream_of
from sync_protocol.hlc import HLC
from sync_protocol.mqtt_link import MqttSettings
from sync_protocol.streams import Stream
from sync_protocol.topics import Topics
from tests.cloud.conftest import CloudServer, PostgresForTests, ingest, sale
from tests.cloud.test_cloud_catalog import make_product
from tests.cloud.test_dashboard_pages import browser, signup_and_login
from tests.cloud.test_sync_end_to_end import wait_for
from tests.cloud.test_sync_faults import DeviceClient, Shop, orders_batch, postgres_outage, shop  # noqa: F401 (a fixture)
from tests.edge.conftest import load_catalog
from tests.edge.helpers import as_staff

T0 = 1_800_000_000_000


@dataclass
class Device:
    """A registered device of one seller's store, and what its seller sells."""

    store: str
    device: str
    product: dict
    seller: httpx.Client
    seqs: dict[Stream, int]

    def next_seq(self, stream: Stream, n: int = 1) -> int:
        first = self.seqs.get(stream, 0) + 1
        self.seqs[stream] = first + n - 1
        return first

    def sale(self, at: datetime, lines: list[tuple[int, int]] | None = None) -> Order:
        return sale(self.store, self.product, lines or [(0, 1)], at, device_id=self.device)


def registered(client: httpx.Client, store_name: str, **product: Any) -> Device:
    store = client.post("/stores", json={"name": store_name}).json()["storeId"]
    device = client.post(f"/stores/{store}/devices", json={"name": "Pi"}).json()["deviceId"]
    return Device(store, device, make_product(client, **product), client, {})


@pytest.fixture
def mine(seller: httpx.Client) -> Device:
    return registered(seller, "信義店")


@pytest.fixture
def theirs(other_seller: httpx.Client) -> Device:
    end = (datetime.now().astimezone() + timedelta(days=30)).isoformat()
    return registered(other_seller, "板橋店", name="團購鳳梨酥", groupBuy={"minQuantity": 3, "endsAt": end})


def encoded_batch(device: Device, payloads: list[Any], first_seq: int) -> tuple[Stream, bytes]:
    """``payloads`` as the device's node would send them from ``first_seq`` on: its stream and the bytes."""
    messages = tuple(
        make_envelope(
            message_id=new_id(),
            store_id=device.store,
            device_id=device.device,
            seq=first_seq + i,
            hlc=HLC(T0 + first_seq + i, 0, device.device),
            payload=p,
        )
        for i, p in enumerate(payloads)
    )
    stream = messages[0].stream
    batch = Batch(
        batch_id=new_id(), store_id=device.store, device_id=device.device, stream=stream, messages=messages
    )
    return stream, encode(batch)


def publish(server: CloudServer, device: Device, payloads: list[Any]) -> Ack:
    """Send ``payloads`` as the device's next batch, as its node would (its own login, its own topic)."""
    stream, data = encoded_batch(device, payloads, device.next_seq(stream_of(payloads[0]), len(payloads)))
    return publish_raw(server, device, stream, data)


def publish_raw(server: CloudServer, device: Device, stream: Stream, data: bytes) -> Ack:
    ack = handle_uplink(
        server.cloud.db, str(Topics.uplink(device.store, device.device, stream)), data, server.clock()
    )
    assert ack is not None
    return ack


def dead_seqs(ack: Ack) -> list[int]:
    return [seq for r in ack.dead_lettered for seq in range(r.first, r.last + 1)]


def reasons(server: CloudServer) -> list[str]:
    with server.cloud.db.read() as conn:
        return list(
            conn.execute(
                select(dead_letters.c.reason).order_by(
                    dead_letters.c.received_at, dead_letters.c.dead_letter_id
                )
            ).scalars()
        )


def count(server: CloudServer, table: Any, *where: Any) -> int:
    with server.cloud.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def their_state(server: CloudServer, victim: Device) -> dict[str, Any]:
    """Everything of the other seller that an attack could change."""
    with server.cloud.db.read() as conn:
        seller_id = conn.execute(
            select(stores.c.seller_id).where(stores.c.store_id == victim.store)
        ).scalar_one()
        return {
            "orders": conn.execute(
                select(orders.c.order_id, orders.c.status, orders.c.total)
                .where(orders.c.store_id == victim.store)
                .order_by(orders.c.order_id)
            ).all(),
            "items": conn.execute(
                select(order_items)
                .join(orders)
                .where(orders.c.store_id == victim.store)
                .order_by(order_items.c.item_id)
            ).all(),
            "payments": conn.execute(
                select(payments)
                .join(orders)
                .where(orders.c.store_id == victim.store)
                .order_by(payments.c.payment_id)
            ).all(),
            "stock": conn.execute(
                select(stock_deltas)
                .where(stock_deltas.c.variant_id.in_([v["variantId"] for v in victim.product["variants"]]))
                .order_by(stock_deltas.c.delta_id)
            ).all(),
            "bell": conn.execute(
                select(notifications.c.kind, notifications.c.ref_id)
                .where(notifications.c.seller_id == seller_id)
                .order_by(notifications.c.notification_id)
            ).all(),
        }


def my_bell_text(server: CloudServer, device: Device) -> str:
    with server.cloud.db.read() as conn:
        seller_id = conn.execute(
            select(stores.c.seller_id).where(stores.c.store_id == device.store)
        ).scalar_one()
        shown = [
            n
            for locale in ("zh-TW", "en")
            for n in bell.list_notifications(
                conn, seller_id, translator(locale), cursor=None, limit=500
            ).items
        ]
    return " ".join(f"{n.title} {n.body} {n.params}" for n in shown)


@pytest.fixture
def victim_order(cloud_server: CloudServer, theirs: Device) -> Order:
    order = theirs.sale(cloud_server.clock())
    assert ingest(cloud_server, order)
    return order


def test_children_cannot_be_attached_to_another_sellers_order(
    cloud_server: CloudServer, mine: Device, theirs: Device, victim_order: Order
):
    before = their_state(cloud_server, theirs)
    now = cloud_server.clock()
    forged_line = mine.sale(now)
    forged_line.items[0].order_id = victim_order.order_id
    forged_payment = mine.sale(now)
    forged_payment.payments.append(
        Payment(
            payment_id=new_id(),
            order_id=victim_order.order_id,
            method=PaymentMethod.CARD,
            amount=99_999,
            status=PaymentStatus.REFUNDED,
            created_at=now,
        )
    )
    reused_id = mine.sale(now).model_copy(update={"order_id": victim_order.order_id})
    for item in reused_id.items:
        item.order_id = victim_order.order_id
    for p in reused_id.payments:
        p.order_id = victim_order.order_id
    taken_item = mine.sale(now)
    taken_item.items[0].item_id = victim_order.items[0].item_id
    taken_payment = mine.sale(now)
    taken_payment.payments[0].payment_id = victim_order.payments[0].payment_id
    ack = publish(cloud_server, mine, [forged_line, forged_payment, reused_id, taken_item, taken_payment])
    assert ack.high_water_seq == 5
    assert dead_seqs(ack) == [1, 2, 3, 4, 5]
    assert reasons(cloud_server) == ["foreignReference"] * 5
    assert their_state(cloud_server, theirs) == before
    assert count(cloud_server, orders, orders.c.store_id == mine.store) == 0
    assert publish(cloud_server, mine, [mine.sale(now)]).high_water_seq == 6  # the stream goes on
    assert count(cloud_server, orders, orders.c.store_id == mine.store) == 1


def test_another_sellers_products_and_variants_are_refused_and_never_named(
    cloud_server: CloudServer, mine: Device, theirs: Device
):
    before = their_state(cloud_server, theirs)
    now = cloud_server.clock()
    their_variant = theirs.product["variants"][0]
    order = sale(
        mine.store, theirs.product, [(0, 3)], now, device_id=mine.device
    )  # reaches the group buy's 3
    mixed = mine.sale(now)
    mixed.items[0].product_id = theirs.product["productId"]
    delta = StockDelta(
        delta_id=new_id(),
        store_id=mine.store,
        variant_id=their_variant["variantId"],
        quantity=-1,
        reason=StockReason.SALE,
        created_at=now,
    )
    assert dead_seqs(publish(cloud_server, mine, [order, mixed])) == [1, 2]
    assert dead_seqs(publish(cloud_server, mine, [delta])) == [1]
    assert reasons(cloud_server) == ["foreignReference"] * 3
    assert their_state(cloud_server, theirs) == before  # no group-buy bell, no stock
    assert theirs.product["name"] not in my_bell_text(cloud_server, mine)


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda o: o.model_copy(update={"total": 1}), "badAmounts"),
        (lambda o: o.model_copy(update={"items": [], "subtotal": 5_000, "total": 5_000}), "badPayload"),
        (lambda o: o.model_copy(update={"status": OrderStatus.REFUNDED}), "badPayload"),
        (lambda o: o.model_copy(update={"payments": []}), "badAmounts"),
        (
            lambda o: o.model_copy(
                update={"coupon_code": "NOT-MINE", "coupon_discount": 1, "total": o.total - 1}
            ),
            "foreignReference",
        ),
    ],
    ids=["total-1", "empty-order", "created-refunded", "unpaid", "foreign-coupon"],
)
def test_orders_must_add_up_and_be_sales(cloud_server: CloudServer, mine: Device, tamper, reason):
    now = cloud_server.clock()
    big = mine.sale(now, [(0, 20), (1, 20)])  # NT$25,900 of tea
    assert big.total == 20 * 450 + 20 * 850
    ack = publish(cloud_server, mine, [tamper(big)])
    assert dead_seqs(ack) == [1]
    assert reasons(cloud_server) == [reason]
    assert count(cloud_server, orders) == 0
    assert publish(cloud_server, mine, [big]).high_water_seq == 2
    assert count(cloud_server, orders) == 1


def test_a_price_other_than_the_catalog_is_kept_and_rung(cloud_server: CloudServer, mine: Device):
    version = mine.seller.get(f"/stores/{mine.store}/catalog-snapshot").json()["version"]
    order = mine.sale(cloud_server.clock()).model_copy(update={"catalog_version": version})
    item = order.items[0]
    item.unit_price = item.unit_final_price = item.line_total = 400  # the till said 400, the catalog 450
    order = order.model_copy(update={"subtotal": 400, "total": 400})
    order.payments[0].amount = 400
    assert dead_seqs(publish(cloud_server, mine, [order])) == []
    with cloud_server.cloud.db.read() as conn:
        assert conn.execute(select(orders.c.total).where(orders.c.order_id == order.order_id)).scalar() == 400
        kinds = list(conn.execute(select(notifications.c.kind, notifications.c.params)).all())
    [(_, data)] = [k for k in kinds if k.kind == "priceMismatch"]
    assert data["lines"][0]["soldAt"] == 400
    assert data["lines"][0]["catalogPrice"] == 450


def test_a_sale_of_a_variant_removed_since_is_kept(cloud_server: CloudServer, mine: Device):
    """The seller takes a variant out of a product while a node, not yet told, sells it: the sale is kept
    (the shopper paid), and so are its stock delta and a later return."""
    sold = mine.sale(cloud_server.clock(), [(0, 1)])
    kept = mine.product["variants"][1]
    r = mine.seller.patch(
        f"/products/{mine.product['productId']}",
        json={"variants": [{"variantId": kept["variantId"], "name": kept["name"], "price": kept["price"]}]},
    )
    assert r.status_code == 200, r.text
    assert len(r.json()["variants"]) == 1
    gone = sold.items[0].variant_id
    delta = StockDelta(
        delta_id=new_id(),
        store_id=mine.store,
        variant_id=gone,
        quantity=-1,
        reason=StockReason.SALE,
        ref_id=sold.order_id,
        created_at=cloud_server.clock(),
    )
    assert dead_seqs(publish(cloud_server, mine, [sold])) == []
    assert dead_seqs(publish(cloud_server, mine, [delta])) == []
    change = OrderTransition(
        order_id=sold.order_id,
        from_status=OrderStatus.COMPLETED,
        to_status=OrderStatus.RETURNED,
        actor=Actor.STORE,
        hlc=HLC(T0 + 500, 0, mine.device).encode(),
        device_id=mine.device,
    )
    assert dead_seqs(publish(cloud_server, mine, [change])) == []
    assert reasons(cloud_server) == []
    with cloud_server.cloud.db.read() as conn:
        assert (
            conn.execute(select(orders.c.status).where(orders.c.order_id == sold.order_id)).scalar()
            == "returned"
        )


def test_a_status_change_on_another_stores_order_is_refused(
    cloud_server: CloudServer, seller: httpx.Client, mine: Device
):
    other_store = registered(seller, "板橋店")  # the same seller's other store
    order = other_store.sale(cloud_server.clock())
    assert ingest(cloud_server, order)
    change = OrderTransition(
        order_id=order.order_id,
        from_status=OrderStatus.COMPLETED,
        to_status=OrderStatus.REFUNDED,
        actor=Actor.STORE,
        hlc=HLC(T0 + 99, 0, mine.device).encode(),
        device_id=mine.device,
    )
    assert dead_seqs(publish(cloud_server, mine, [change])) == [1]
    assert reasons(cloud_server) == ["foreignReference"]
    with cloud_server.cloud.db.read() as conn:
        assert (
            conn.execute(select(orders.c.status).where(orders.c.order_id == order.order_id)).scalar()
            == "completed"
        )


# --- poison messages: each is dead-lettered and the next real sale arrives ------------------------------


def _poison_order_json(device: Device, now: datetime, **changes: Any) -> dict[str, Any]:
    body = device.sale(now).to_json_dict()
    for path, value in changes.items():
        target: Any = body
        *parents, leaf = path.split("__")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[leaf] = value
    return body


@pytest.mark.parametrize(
    ("stream", "poison"),
    [
        (Stream.ORDERS, {"items__0__name": "x" * 201}),
        (Stream.ORDERS, {"couponCode": "C" * 33}),
        (Stream.ORDERS, {"items__0__name": "broken cup\u0000"}),
        (Stream.ORDERS, {"items__0__quantity": "2"}),
        (Stream.ORDERS, {"items__0__quantity": True}),
        (Stream.STOCK_DELTAS, {"quantity": 2**40}),
        (Stream.STOCK_DELTAS, {"quantity": 0}),
        (Stream.ORDER_STATUS, {"note": "broken cup\u0000"}),
    ],
    ids=[
        "name-201",
        "coupon-33",
        "nul-name",
        "quantity-string",
        "quantity-bool",
        "delta-2^40",
        "delta-0",
        "nul-note",
    ],
)
def test_a_poison_record_is_dead_lettered_and_the_stream_goes_on(
    cloud_server: CloudServer, mine: Device, stream: Stream, poison: dict[str, Any]
):
    now = cloud_server.clock()
    if stream is Stream.ORDERS:
        payload = _poison_order_json(mine, now, **poison)
    elif stream is Stream.STOCK_DELTAS:
        payload = {
            "deltaId": new_id(),
            "storeId": mine.store,
            "variantId": mine.product["variants"][0]["variantId"],
            "reason": "adjustment",
            "createdAt": now.isoformat(),
            **poison,
        }
    else:
        order = mine.sale(now)
        publish(cloud_server, mine, [order])
        payload = {
            "orderId": order.order_id,
            "fromStatus": "completed",
            "toStatus": "returned",
            "actor": "store",
            "hlc": HLC(T0 + 50, 0, mine.device).encode(),
            "deviceId": mine.device,
            **poison,
        }
    first = mine.next_seq(stream)
    envelope = {
        "schemaVersion": 1,
        "messageId": new_id(),
        "storeId": mine.store,
        "deviceId": mine.device,
        "stream": stream.value,
        "seq": first,
        "hlc": HLC(T0 + 60, 0, mine.device).encode(),
        "payload": payload,
    }
    raw = {
        "schemaVersion": 1,
        "batchId": new_id(),
        "storeId": mine.store,
        "deviceId": mine.device,
        "stream": stream.value,
        "messages": [envelope],
    }

    ack = publish_raw(cloud_server, mine, stream, json.dumps(raw).encode())
    assert ack.high_water_seq == first
    assert dead_seqs(ack) == [first]
    assert reasons(cloud_server)[-1] == "badPayload"
    orders_before = count(cloud_server, orders)
    assert publish(cloud_server, mine, [mine.sale(now)]).high_water_seq == mine.seqs[Stream.ORDERS]
    assert count(cloud_server, orders) == orders_before + 1


def test_a_payload_with_a_nul_byte_is_dead_lettered(cloud_server: CloudServer, mine: Device):
    raw = b'{"schemaVersion":1,"batchId":"\x00' + b"\x00" * 40 + b'"}'
    ack = publish_raw(cloud_server, mine, Stream.ORDERS, raw)
    assert ack.high_water_seq == 0
    assert reasons(cloud_server) == ["malformed"]
    with cloud_server.cloud.db.read() as conn:
        assert "\\u0000" in conn.execute(select(dead_letters.c.payload)).scalar_one()
    assert publish(cloud_server, mine, [mine.sale(cloud_server.clock())]).high_water_seq == 1


def test_ids_that_collide_inside_one_batch_dead_letter_the_later_record(
    cloud_server: CloudServer, mine: Device
):
    now = cloud_server.clock()
    first, second = mine.sale(now), mine.sale(now)
    second.items[0].item_id = first.items[0].item_id  # both new to Postgres: only inserting finds it
    ack = publish(cloud_server, mine, [first, second, mine.sale(now)])
    assert ack.high_water_seq == 3
    assert dead_seqs(ack) == [2]
    assert reasons(cloud_server) == ["applyFailed"]
    assert count(cloud_server, orders) == 2


def test_a_transient_database_failure_raises_and_the_redelivery_applies(
    cloud_server: CloudServer, mine: Device, monkeypatch: pytest.MonkeyPatch
):
    """A failure of the database, not of the record (here: the server shutting down under the ingest),
    leaves nothing behind and is raised, so the message is tried again; it is not dead-lettered."""
    real_apply = cloud.sync_uplink._apply
    failures = iter([psycopg.errors.AdminShutdown("terminating connection due to administrator command")])

    def failing_once(*args: Any, **kwargs: Any) -> None:
        for error in failures:
            raise error
        real_apply(*args, **kwargs)

    monkeypatch.setattr(cloud.sync_uplink, "_apply", failing_once)
    order = mine.sale(cloud_server.clock())
    envelope_seq = mine.next_seq(Stream.ORDERS)
    mine.seqs[Stream.ORDERS] = envelope_seq - 1
    with pytest.raises(psycopg.errors.AdminShutdown):
        publish(cloud_server, mine, [order])
    assert count(cloud_server, orders) == 0
    assert count(cloud_server, dead_letters) == 0
    mine.seqs[Stream.ORDERS] = envelope_seq - 1
    assert publish(cloud_server, mine, [order]).high_water_seq == envelope_seq
    assert count(cloud_server, orders) == 1


# --- whatever a device sends ---------------------------------------------------------------------------


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


def _mutate(document: Any, path: tuple[Any, ...], op: str, value: Any) -> Any:
    if not path:
        return value if op == "set" else document
    *parents, leaf = path
    target = document
    for part in parents:
        target = target[part]
    if op == "delete":
        del target[leaf]
    elif op == "duplicate" and isinstance(target, list):
        target.append(json.loads(json.dumps(target[leaf])))
    else:
        target[leaf] = value
    return document


def _hostile(victim: Device, victim_order: Order) -> st.SearchStrategy[Any]:
    their_ids = [
        victim.store,
        victim.device,
        victim_order.order_id,
        victim_order.items[0].item_id,
        victim_order.payments[0].payment_id,
        victim.product["productId"],
        victim.product["variants"][0]["variantId"],
    ]
    return st.one_of(
        st.sampled_from(their_ids),
        st.sampled_from([0, -1, 1, 2**31, 2**40, 2**63, 10**30, 99_999, 100_000_001]),
        st.sampled_from(
            ["", "x" * 300, "a\u0000b", "\u0000", "refunded", "online", "USD", "2999-01-01T00:00:00Z"]
        ),
        st.sampled_from([None, True, False, [], {}, 1.5]),
        st.text(max_size=20),
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_batch_a_device_sends_leaves_other_stores_alone_and_its_stream_moving(
    cloud_server: CloudServer, mine: Device, theirs: Device, victim_order: Order, data: st.DataObject
):
    """Random mutations of real batches (orders, stock deltas, status changes): whatever the bytes say,
    nothing of another store or seller changes, each message is acknowledged or dead-lettered, and the
    device's next honest sale applies."""
    before = their_state(cloud_server, theirs)
    now = cloud_server.clock()
    stream = data.draw(st.sampled_from([Stream.ORDERS, Stream.STOCK_DELTAS, Stream.ORDER_STATUS]), "stream")
    if stream is Stream.ORDERS:
        payloads: list[Any] = [mine.sale(now, [(0, 2), (1, 1)]), mine.sale(now)]
    elif stream is Stream.STOCK_DELTAS:
        payloads = [
            StockDelta(
                delta_id=new_id(),
                store_id=mine.store,
                variant_id=mine.product["variants"][0]["variantId"],
                quantity=-1,
                reason=StockReason.SALE,
                created_at=now,
            )
        ]
    else:
        sold = mine.sale(now)
        publish(cloud_server, mine, [sold])
        payloads = [
            OrderTransition(
                order_id=sold.order_id,
                from_status=OrderStatus.COMPLETED,
                to_status=OrderStatus.RETURNED,
                actor=Actor.STORE,
                hlc=HLC(T0 + 5_000, 0, mine.device).encode(),
                device_id=mine.device,
                note="破損",
            )
        ]
    first = mine.seqs.get(stream, 0) + 1
    document = json.loads(
        encode(
            Batch(
                batch_id=new_id(),
                store_id=mine.store,
                device_id=mine.device,
                stream=stream,
                messages=tuple(
                    make_envelope(
                        message_id=new_id(),
                        store_id=mine.store,
                        device_id=mine.device,
                        seq=first + i,
                        hlc=HLC(T0 + first + i, 0, mine.device),
                        payload=p,
                    )
                    for i, p in enumerate(payloads)
                ),
            )
        )
    )
    for _ in range(data.draw(st.integers(1, 4), "mutations")):
        paths = _paths(document)
        # Half the time aim at what names something (ids, the order of a child): where trust is decided.
        aimed = [p for p in paths if p and isinstance(p[-1], str) and p[-1].endswith("Id")]
        path = data.draw(
            st.sampled_from(aimed) | st.sampled_from(paths) if aimed else st.sampled_from(paths), "path"
        )
        op = data.draw(st.sampled_from(["set", "set", "set", "delete", "duplicate"]), "op")
        document = _mutate(document, path, op, data.draw(_hostile(theirs, victim_order), "value"))
    dead_before = count(cloud_server, dead_letters)
    ack = handle_uplink(
        cloud_server.cloud.db,
        str(Topics.uplink(mine.store, mine.device, stream)),
        json.dumps(document).encode(),
        cloud_server.clock(),
    )
    assert ack is not None or count(cloud_server, dead_letters) > dead_before
    assert their_state(cloud_server, theirs) == before
    with cloud_server.cloud.db.read() as conn:
        marks = dict(
            conn.execute(
                select(sync_streams.c.stream, sync_streams.c.high_water).where(
                    sync_streams.c.device_id == mine.device
                )
            ).all()
        )
    mine.seqs = {Stream(s): int(mark) for s, mark in marks.items()}
    orders_before = count(cloud_server, orders, orders.c.store_id == mine.store)
    honest = mine.sale(cloud_server.clock())
    ack = publish(cloud_server, mine, [honest])
    # At or past its seq: a mutated batch may have left a later seq applied above a gap the sale now fills.
    assert ack.high_water_seq >= mine.seqs[Stream.ORDERS]
    assert count(cloud_server, orders, orders.c.store_id == mine.store) == orders_before + 1


def test_while_postgres_is_down_the_ingest_retries_and_says_so(
    cloud_server: CloudServer, postgres: PostgresForTests, mine: Device
):
    """A real outage (connections refused and cut): the message is tried again with pauses, nothing is
    dead-lettered, the seller's API and pages say the cloud is retrying; once Postgres is back the next try
    applies and the warning goes."""
    service = SyncService(
        cloud_server.cloud,
        MqttSettings(host="127.0.0.1", port=free_port()),  # never started: only its ingest is used here
        cloud_server.clock,
        retry_pauses_s=(0.05, 0.05),
    )
    with browser(cloud_server) as page:
        signup_and_login(page, f"watcher{new_id()[-6:].lower()}")
        order = mine.sale(cloud_server.clock())
        _, batch = encoded_batch(mine, [order], 1)
        topic = str(Topics.uplink(mine.store, mine.device, Stream.ORDERS))
        with postgres_outage(postgres, cloud_server.cloud.db):
            assert service._ingest(topic, batch) is None  # three tries, then left to the device
            health = cloud_server.cloud.ingest_health.snapshot()
            assert health.retrying
            assert health.failures == 3
        status = mine.seller.get("/sync/status").json()
        assert status["retrying"] is True
        assert status["failures"] == 3
        assert status["lastError"]
        assert 'id="sync-retrying"' in page.get("/dashboard").text
        assert count(cloud_server, dead_letters) == 0

        ack = service._ingest(topic, batch)  # the device sends it again
        assert ack is not None
        assert ack.high_water_seq == 1
        assert count(cloud_server, orders) == 1
        status = mine.seller.get("/sync/status").json()
        assert status["retrying"] is False
        assert status["lastAppliedAt"] is not None
        assert 'id="sync-retrying"' not in page.get("/dashboard").text


# --- over the real broker --------------------------------------------------------------------------------


def _node_status(wired: Shop) -> dict[str, Any]:
    """The node's /sync/status, read by a manager of its own (the route is staff only)."""
    with httpx.Client(base_url=f"http://127.0.0.1:{wired.node.port}/api/v1", timeout=10) as node:
        return node.get("/sync/status", headers=as_staff(node, wired.node)).json()


@pytest.mark.slow
def test_poison_published_with_the_devices_login_stops_nothing(shop: Shop):  # noqa: F811 (the fixture)
    """Through Mosquitto with the device's own login and topic, as a stolen login would: bytes that are not
    JSON, a NUL in a name, an order that does not add up. Each is dead-lettered; the node's real sales,
    sent afterwards on the same stream, all arrive."""
    shop.start_cloud()
    device = DeviceClient(shop)
    now = shop.cloud_server.clock()

    def envelope_of(seq: int, order: Order) -> Any:
        return make_envelope(
            message_id=new_id(),
            store_id=shop.store,
            device_id=shop.device_id,
            seq=seq,
            hlc=HLC(T0 + seq, 0, shop.device_id),
            payload=order,
        )

    honest = sale(shop.store, shop.product, [(0, 1)], now, device_id=shop.device_id)
    nul_name = json.loads(orders_batch(shop, [envelope_of(1000, honest)]))
    nul_name["messages"][0]["payload"]["items"][0]["name"] = "珍珠\u0000奶茶"
    short_total = honest.model_copy(update={"order_id": new_id(), "total": 1})
    for item in short_total.items:
        item.order_id = short_total.order_id
    for payment in short_total.payments:
        payment.order_id = short_total.order_id
    device.publish(b'{"schemaVersion":1,"batchId":"\x00\x00"}')
    device.publish(json.dumps(nul_name).encode())
    device.publish(orders_batch(shop, [envelope_of(1001, short_total)]))
    wait_for(lambda: shop.cloud_count(dead_letters) == 3, what="three dead letters")
    device.close()  # the device's login is one client at the broker: the node takes it back now

    shop.sell_offline(3)
    shop.start_node()
    shop.wait_synced(3)
    with shop.cloud_server.cloud.db.read() as conn:
        assert sorted(conn.execute(select(dead_letters.c.reason)).scalars()) == [
            "badAmounts",
            "badPayload",
            "malformed",
        ]


@pytest.mark.slow
def test_the_node_shows_what_waits_for_the_clouds_ack(shop: Shop):  # noqa: F811 (the fixture)
    """With the cloud's ingest away, /sync/status says since when a batch waits and counts the resends;
    once the cloud acknowledges, both clear."""
    shop.sell_offline(1)
    shop.start_node()
    wait_for(lambda: _node_status(shop)["waitingForAckSince"] is not None, what="a batch waiting for its ack")
    wait_for(lambda: _node_status(shop)["resends"] >= 1, timeout=60, what="a resend after no ack came")
    shop.start_cloud()
    shop.wait_synced(1)
    wait_for(
        lambda: _node_status(shop)["waitingForAckSince"] is None and _node_status(shop)["resends"] == 0,
        what="the wait to clear",
    )


def test_an_unexpected_failure_is_not_acknowledged_until_it_has_failed_several_times(
    cloud_server: CloudServer, mine: Device, monkeypatch: pytest.MonkeyPatch
):
    """A failure that is neither the database's nor the record's (here a bug in the code that applies
    orders) must not cost good sales: the message is not acknowledged and the device sends it again. Only
    after ``give_up_after`` such failures in a row on that stream is it dead-lettered, so that even then
    no stream is stuck for good."""

    def broken(*args: Any, **kwargs: Any) -> bool:
        raise RuntimeError("a bug in the code that applies orders")

    monkeypatch.setattr(cloud.sync_uplink, "_apply", broken)
    service = SyncService(
        cloud_server.cloud,
        MqttSettings(host="127.0.0.1", port=free_port()),
        cloud_server.clock,
        give_up_after=3,
    )
    order = mine.sale(cloud_server.clock())
    _, batch = encoded_batch(mine, [order], 1)
    topic = str(Topics.uplink(mine.store, mine.device, Stream.ORDERS))
    for _ in range(2):
        assert service._ingest(topic, batch) is None  # not acknowledged: the device resends it
        assert count(cloud_server, dead_letters) == 0
    assert cloud_server.cloud.ingest_health.snapshot().last_error == "RuntimeError"
    ack = service._ingest(topic, batch)  # the third time in a row: given up
    assert ack is not None
    assert ack.high_water_seq == 1
    assert dead_seqs(ack) == [1]
    assert reasons(cloud_server) == ["applyFailed"]

    monkeypatch.undo()
    mine.seqs[Stream.ORDERS] = 1
    assert publish(cloud_server, mine, [mine.sale(cloud_server.clock())]).high_water_seq == 2
    assert count(cloud_server, orders) == 1


@pytest.mark.slow
def test_a_sale_goes_up_at_once_and_a_node_without_a_store_starts_syncing_when_it_gets_one(
    shop: Shop,  # noqa: F811 (the fixture)
    tmp_path: Path,
):
    """The agent's own tick is an hour here, so only the nudge a sale gives can send it; and the node starts
    with no store at all (no catalog, no EDGESTORE_STORE_ID) until a catalog is loaded beside it."""
    snapshot = CatalogSnapshot.model_validate(
        shop.seller.get(f"/stores/{shop.store}/catalog-snapshot").json()
    )
    shop.node = shop.node.model_copy(update={"store_id": None, "sync_interval_s": 3600.0})
    shutil.rmtree(shop.node.data_dir)  # provisioned without its catalog
    shop.start_cloud()
    shop.start_node()
    node_api = f"http://127.0.0.1:{shop.node.port}/api/v1"
    time.sleep(1)
    assert _node_status(shop)["online"] is False  # no store: nothing to sync under yet
    load_catalog(shop.node, snapshot, shop.cloud_server.clock())
    wait_for(lambda: _node_status(shop)["online"], what="the node to link once it knows its store")
    time.sleep(2)  # the first round after linking has gone by: from here on only a nudge sends
    cart = httpx.post(
        f"{node_api}/carts", json={"items": [{"variantId": shop.variant, "quantity": 1}]}
    ).json()
    sold = httpx.post(f"{node_api}/carts/{cart['cartId']}/checkout", json={"paymentMethod": "cash"})
    assert sold.status_code == 201, sold.text
    wait_for(
        lambda: shop.cloud_order_ids() == [sold.json()["orderId"]], timeout=30, what="the sale in the cloud"
    )
