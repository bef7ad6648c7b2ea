"""The uplink ingest writes a batch set-based (issue 22): the same rows, stock levels, rollups and bells as
applying its records one by one, a statement count that does not grow with the batch, and a record the
database refuses dead-lettered alone while the rest of its batch applies."""

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, event, func, insert, select
from sqlalchemy.exc import DBAPIError

from cloud import bulk, order_batches, orders, stock, sync_downlink
from cloud.db import CloudDatabase
from cloud.failures import Failure, failure_of
from cloud.sync_uplink import handle_uplink
from cloud.tables import (
    coupons,
    daily_product_sales,
    daily_sales,
    daily_store_product_sales,
    dead_letters,
    devices,
    notifications,
    order_events,
    order_items,
    payments,
    products,
    sellers,
    stock_deltas,
    stores,
    sync_streams,
    variants,
)
from cloud.tables import orders as orders_table
from models.ids import new_id
from models.order_states import OrderStatus
from models.sales import Order, OrderItem, Payment, PaymentMethod
from models.stock import StockDelta, StockReason
from sync_protocol.encoding import encode
from sync_protocol.envelope import Batch, Envelope, UplinkPayload, make_envelope
from sync_protocol.hlc import HLC
from sync_protocol.streams import Stream
from sync_protocol.topics import Topics
from tests.cloud.conftest import PostgresForTests

NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
INITIAL_STOCK = 8  # a few sales cross the low-stock threshold (5) and zero: the bells ring


@dataclass(frozen=True)
class Shop:
    """One seller's store with a device, four variants of two products (one a group buy) and a coupon with
    one use; the same ids in every database made from it, so two databases can be compared row by row."""

    seller_id: str
    store_id: str
    device_id: str
    variants: tuple[tuple[str, str, str, int], ...]  # variant id, product id, product name, price
    coupon: str = "ONCE"


def make_shop() -> Shop:
    seller_id, store_id, device_id = new_id(), new_id(), new_id()
    group_buy, plain = new_id(), new_id()
    found = tuple(
        (new_id(), product_id, name, price)
        for product_id, name in ((plain, "凍頂烏龍茶"), (group_buy, "團購鳳梨酥"))
        for price in (300, 550)
    )
    return Shop(seller_id, store_id, device_id, found)


def add_store(conn: Connection, shop: Shop, name: str) -> None:
    """The shop's store, of its seller, and the shop's device in it."""
    conn.execute(
        insert(stores).values(
            store_id=shop.store_id,
            seller_id=shop.seller_id,
            name=name,
            shop_type="physical",
            created_at=NOW,
            updated_at=NOW,
        )
    )
    conn.execute(
        insert(devices).values(
            device_id=shop.device_id,
            store_id=shop.store_id,
            seller_id=shop.seller_id,
            kind="node",
            mqtt_password_hash="-",
            created_at=NOW,
        )
    )


def install(db: CloudDatabase, shop: Shop) -> None:
    with db.transaction() as conn:
        conn.execute(
            insert(sellers).values(
                seller_id=shop.seller_id,
                account=f"s{shop.seller_id}",
                password_hash="-",
                name="小舖",
                created_at=NOW,
            )
        )
        add_store(conn, shop, "信義店")
        for product_id in dict.fromkeys(v[1] for v in shop.variants):
            name = next(v[2] for v in shop.variants if v[1] == product_id)
            conn.execute(
                insert(products).values(
                    product_id=product_id,
                    seller_id=shop.seller_id,
                    name=name,
                    name_en=f"{name} (en)",
                    metadata_id=product_id,
                    shipping=[],
                    group_buy={"minQuantity": 4, "maxQuantity": 50, "endsAt": "2027-01-01T00:00:00+00:00"}
                    if product_id == shop.variants[-1][1]
                    else None,
                    catalog_version=1,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
        for n, (variant_id, product_id, _, price) in enumerate(shop.variants):
            conn.execute(
                insert(variants).values(
                    variant_id=variant_id,
                    product_id=product_id,
                    seller_id=shop.seller_id,
                    name=f"{price}g",
                    name_en=f"{price} g",
                    price=price,
                    position=n,
                )
            )
        conn.execute(
            insert(coupons).values(
                coupon_id=shop.seller_id,
                seller_id=shop.seller_id,
                code=shop.coupon,
                kind="amount",
                value=20,
                max_uses=1,
                created_at=NOW,
            )
        )
        stock.write_deltas(
            conn,
            shop.seller_id,
            [
                StockDelta(
                    delta_id=f"{v[0]}-restock",
                    store_id=shop.store_id,
                    variant_id=v[0],
                    quantity=INITIAL_STOCK,
                    reason=StockReason.RESTOCK,
                    created_at=NOW,
                )
                for v in shop.variants
            ],
            NOW,
            5,
        )


def sale(shop: Shop, lines: list[tuple[int, int]], *, overcharge: bool, coupon: bool, n: int) -> Order:
    """A valid in-store sale: ``lines`` are (variant index, quantity); ``overcharge`` sells 10 above the
    catalog (a price difference the seller's bell hears of); ``coupon`` takes 20 off with the one-use coupon."""
    order_id, at = new_id(), NOW - timedelta(minutes=60 - n)
    items = []
    for index, quantity in lines:
        variant_id, product_id, name, price = shop.variants[index]
        unit = price + (10 if overcharge else 0)
        items.append(
            OrderItem(
                item_id=new_id(),
                order_id=order_id,
                product_id=product_id,
                variant_id=variant_id,
                name=name,
                variant_name=f"{price}g",
                quantity=quantity,
                unit_price=unit,
                unit_discount=0,
                unit_final_price=unit,
                line_total=unit * quantity,
            )
        )
    subtotal = sum(i.line_total for i in items)
    off = 20 if coupon else 0
    return Order(
        order_id=order_id,
        store_id=shop.store_id,
        device_id=shop.device_id,
        status=OrderStatus.COMPLETED,
        subtotal=subtotal,
        discount_total=0,
        coupon_code=shop.coupon if coupon else None,
        coupon_discount=off,
        total=subtotal - off,
        items=items,
        payments=[
            Payment(
                payment_id=new_id(),
                order_id=order_id,
                method=PaymentMethod.CASH,
                amount=subtotal - off,
                created_at=at,
            )
        ],
        catalog_version=1,
        created_at=at,
        updated_at=at,
    )


def delta(shop: Shop, index: int, quantity: int) -> StockDelta:
    return StockDelta(
        delta_id=new_id(),
        store_id=shop.store_id,
        variant_id=shop.variants[index][0],
        quantity=quantity,
        reason=StockReason.SALE if quantity < 0 else StockReason.RESTOCK,
        created_at=NOW,
    )


def envelopes(shop: Shop, first_seq: int, payloads: list[UplinkPayload]) -> tuple[Envelope, ...]:
    return tuple(
        make_envelope(
            message_id=new_id(),
            store_id=shop.store_id,
            device_id=shop.device_id,
            seq=first_seq + i,
            hlc=HLC(1_800_000_000_000 + first_seq + i, 0, shop.device_id),
            payload=p,
        )
        for i, p in enumerate(payloads)
    )


def send(db: CloudDatabase, shop: Shop, messages: tuple[Envelope, ...]) -> Any:
    batch = Batch(
        batch_id=new_id(),
        store_id=shop.store_id,
        device_id=shop.device_id,
        stream=messages[0].stream,
        messages=messages,
    )
    return handle_uplink(
        db, str(Topics.uplink(shop.store_id, shop.device_id, batch.stream)), encode(batch), NOW
    )


@pytest.fixture
def shop_db(postgres: PostgresForTests) -> Iterator[tuple[CloudDatabase, Shop]]:
    db = CloudDatabase(postgres.fresh_database(), pool_size=2)
    shop = make_shop()
    install(db, shop)
    yield db, shop
    db.dispose()


class Statements:
    """SQL statements sent to Postgres (Core and ``exec_driver_sql`` alike)."""

    def __init__(self, db: CloudDatabase) -> None:
        self.count = 0
        event.listen(db.engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: object) -> None:
        self.count += 1

    def during(self, call: Any) -> int:
        before = self.count
        call()
        return self.count - before


def test_statements_per_batch_do_not_grow_with_its_orders_or_deltas(shop_db: tuple[CloudDatabase, Shop]):
    db, shop = shop_db
    statements = Statements(db)
    seq = {Stream.ORDERS: 1, Stream.STOCK_DELTAS: 1}
    counts: dict[Stream, list[int]] = {Stream.ORDERS: [], Stream.STOCK_DELTAS: []}
    for size in (5, 40, 100):  # 100 orders of three lines: near the largest batch the cloud takes
        sales: list[UplinkPayload] = [
            sale(shop, [(0, 1), (1, 1), (2, 1)], overcharge=False, coupon=False, n=i) for i in range(size)
        ]
        deltas: list[UplinkPayload] = [delta(shop, i % 2, 1) for i in range(size)]  # restocks: no bell rings
        for stream, payloads in ((Stream.ORDERS, sales), (Stream.STOCK_DELTAS, deltas)):
            messages = envelopes(shop, seq[stream], payloads)
            seq[stream] += size
            counts[stream].append(statements.during(lambda m=messages: send(db, shop, m)))
    # The same statements for 5 orders as for 100: each kind of row is written by one statement per batch.
    assert len(set(counts[Stream.ORDERS])) == 1, counts
    assert len(set(counts[Stream.STOCK_DELTAS])) == 1, counts
    assert counts[Stream.ORDERS][0] <= 30
    assert counts[Stream.STOCK_DELTAS][0] <= 15
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(orders_table)).scalar_one() == 145
        assert conn.execute(select(func.count()).select_from(dead_letters)).scalar_one() == 0


def test_a_bad_order_among_good_ones_is_dead_lettered_alone_with_its_reason(
    shop_db: tuple[CloudDatabase, Shop], monkeypatch: pytest.MonkeyPatch
):
    """Seq 2 fails its checks (its total does not add up: refused before anything is written); seq 4 reuses
    a line id of seq 1, which only the database finds (the set-based write fails, and the batch is applied
    one by one so that seq 4 alone is dead-lettered with the database's reason). The rest applies."""
    db, shop = shop_db
    set_based: list[int] = []
    real = order_batches.ingest_orders

    def spied(conn: Any, batch: Any, *args: Any, **kwargs: Any) -> list[bool]:
        set_based.append(len(batch))
        return real(conn, batch, *args, **kwargs)

    monkeypatch.setattr(order_batches, "ingest_orders", spied)
    sales = [sale(shop, [(0, 1), (3, 2)], overcharge=False, coupon=False, n=i) for i in range(6)]
    sales[1].total += 1
    sales[1].payments[0].amount += 1
    sales[3].items[0].item_id = sales[0].items[0].item_id
    ack = send(db, shop, envelopes(shop, 1, list(sales)))
    assert ack.high_water_seq == 6
    assert [(r.first, r.last) for r in ack.dead_lettered] == [(2, 2), (4, 4)]
    assert set_based == [5]  # the five that passed their checks were tried together first
    with db.read() as conn:
        letters = conn.execute(
            select(dead_letters.c.seqs, dead_letters.c.reason, dead_letters.c.detail)
        ).all()
        held = set(conn.execute(select(orders_table.c.order_id)).scalars())
        units = conn.execute(select(func.sum(daily_sales.c["items"]))).scalar_one()
        bells = conn.execute(
            select(func.count()).select_from(notifications).where(notifications.c.kind == "newOrder")
        ).scalar_one()
    assert sorted((r.seqs, r.reason) for r in letters) == [([2], "badAmounts"), ([4], "applyFailed")]
    assert any("UniqueViolation" in r.detail or "duplicate key" in r.detail for r in letters if r.seqs == [4])
    assert held == {sales[i].order_id for i in (0, 2, 4, 5)}
    assert units == 4 * 3
    assert bells == 4

    # A good batch after it goes set-based again, whole.
    ack = send(db, shop, envelopes(shop, 7, [sale(shop, [(1, 1)], overcharge=False, coupon=False, n=9)] * 2))
    assert ack.high_water_seq == 8
    assert ack.dead_lettered == ()
    assert set_based[-1] == 2


# --- set-based against one by one ----------------------------------------------------------------------


def snapshot(db: CloudDatabase, shop: Shop) -> dict[str, Any]:
    """What ingest left of ``shop``, without the ids ingest itself makes (event and notification ids) and in
    a stable order; notifications in the order they were raised."""

    def rows(query: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in conn.execute(query)]

    mine = select(orders_table.c.order_id).where(orders_table.c.store_id == shop.store_id)
    with db.read() as conn:
        return {
            "orders": rows(
                select(orders_table)
                .where(orders_table.c.store_id == shop.store_id)
                .order_by(orders_table.c.order_id)
            ),
            "items": rows(
                select(order_items).where(order_items.c.order_id.in_(mine)).order_by(order_items.c.item_id)
            ),
            "payments": rows(
                select(payments).where(payments.c.order_id.in_(mine)).order_by(payments.c.payment_id)
            ),
            "events": rows(
                select(
                    order_events.c.order_id,
                    order_events.c.from_status,
                    order_events.c.to_status,
                    order_events.c.actor,
                    order_events.c.at,
                )
                .where(order_events.c.order_id.in_(mine))
                .order_by(order_events.c.order_id)
            ),
            **{
                table.name: rows(
                    select(table)
                    .where(table.c.seller_id == shop.seller_id)
                    .order_by(*table.primary_key.columns)
                )
                for table in (daily_sales, daily_product_sales, daily_store_product_sales)
            },
            "deltas": rows(
                select(stock_deltas)
                .where(stock_deltas.c.store_id == shop.store_id)
                .order_by(stock_deltas.c.delta_id)
            ),
            "levels": sorted(stock.levels(conn, shop.store_id).items()),
            # The level rows are the deltas' sums, whichever path wrote them.
            "summed": sorted(
                (variant_id, int(total))
                for variant_id, total in conn.execute(
                    select(stock_deltas.c.variant_id, func.sum(stock_deltas.c.quantity))
                    .where(stock_deltas.c.store_id == shop.store_id)
                    .group_by(stock_deltas.c.variant_id)
                )
            ),
            "bells": [
                (r.kind, r.ref_type, r.ref_id, r.params)
                for r in conn.execute(
                    select(notifications)
                    .where(notifications.c.seller_id == shop.seller_id)
                    .order_by(notifications.c.notification_id)
                )
            ],
            "streams": rows(
                select(sync_streams.c.stream, sync_streams.c.high_water, sync_streams.c.above)
                .where(sync_streams.c.device_id == shop.device_id)
                .order_by(sync_streams.c.stream)
            ),
            "dead_letters": sorted(
                rows(
                    select(dead_letters.c.reason, dead_letters.c.seqs).where(
                        dead_letters.c.device_id == shop.device_id
                    )
                ),
                key=str,
            ),
        }


@pytest.fixture(scope="module")
def two_databases(postgres: PostgresForTests) -> Iterator[tuple[CloudDatabase, CloudDatabase]]:
    """Two databases for the whole property test (each example has a shop of its own in both)."""
    together, alone = (CloudDatabase(postgres.fresh_database(), pool_size=2) for _ in range(2))
    yield together, alone
    together.dispose()
    alone.dispose()


_line = st.tuples(st.integers(0, 3), st.integers(1, 3))
_sale = st.fixed_dictionaries(
    {
        "lines": st.lists(_line, min_size=1, max_size=3, unique_by=lambda line: line[0]),
        "overcharge": st.booleans(),
        "coupon": st.integers(0, 5).map(lambda n: n == 0),
        "again": st.integers(0, 6).map(lambda n: n == 0),  # the node sends an order it sent before, anew
    }
)
_delta = st.fixed_dictionaries(
    {
        "variant": st.integers(0, 3),
        "quantity": st.integers(-4, 3).filter(bool),
        "again": st.integers(0, 6).map(lambda n: n == 0),
    }
)
_step = st.one_of(
    st.tuples(st.just(Stream.ORDERS), st.lists(_sale, min_size=1, max_size=6), st.booleans()),
    st.tuples(st.just(Stream.STOCK_DELTAS), st.lists(_delta, min_size=1, max_size=6), st.booleans()),
)


# Shrinking replays examples against Postgres for minutes: a failure is reported as found (its seed too).
@settings(
    max_examples=60,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(_step, min_size=1, max_size=5))
def test_set_based_batches_leave_what_one_by_one_leaves(
    two_databases: tuple[CloudDatabase, CloudDatabase], steps: list[Any]
):
    """Random batches of sales (some overcharged, some with the one-use coupon, some group buys, some sent
    again under a new seq) and stock deltas (crossing the low and negative levels, some sent again), some
    batches redelivered: ingested as batches (set-based) and envelope by envelope (each a batch of one: the
    per-record path), two databases end with the same rows, levels, rollups, bells and stream marks."""
    together, alone = two_databases
    shop = make_shop()
    for db in (together, alone):
        install(db, shop)
    seq = {Stream.ORDERS: 1, Stream.STOCK_DELTAS: 1}
    sent: dict[Stream, list[UplinkPayload]] = {Stream.ORDERS: [], Stream.STOCK_DELTAS: []}
    for n, (stream, specs, redeliver) in enumerate(steps):
        payloads: list[UplinkPayload] = []
        for spec in specs:
            if spec["again"] and sent[stream]:
                payloads.append(sent[stream][len(sent[stream]) // 2])
            elif stream is Stream.ORDERS:
                payloads.append(
                    sale(shop, spec["lines"], overcharge=spec["overcharge"], coupon=spec["coupon"], n=n)
                )
            else:
                payloads.append(delta(shop, spec["variant"], spec["quantity"]))
        sent[stream] += payloads
        messages = envelopes(shop, seq[stream], payloads)
        seq[stream] += len(messages)
        for _ in range(2 if redeliver else 1):
            send(together, shop, messages)
            for message in messages:
                send(alone, shop, (message,))
    left = snapshot(together, shop)
    assert left == snapshot(alone, shop)
    assert left["levels"] == left["summed"]


def test_one_by_one_is_the_per_record_code(
    shop_db: tuple[CloudDatabase, Shop], monkeypatch: pytest.MonkeyPatch
):
    """The property above compares the set-based writes with the code that applied records before them: a
    batch of one goes through ``cloud.orders.ingest_order``, never ``cloud.order_batches``."""
    db, shop = shop_db
    used: list[str] = []
    real = orders.ingest_order
    monkeypatch.setattr(orders, "ingest_order", lambda *a, **k: used.append("one") or real(*a, **k))
    monkeypatch.setattr(order_batches, "ingest_orders", lambda *a, **k: used.append("set") or [])
    send(db, shop, envelopes(shop, 1, [sale(shop, [(0, 1)], overcharge=False, coupon=False, n=0)]))
    assert used == ["one"]


def test_two_ingest_workers_on_one_sellers_stores_never_deadlock(postgres: PostgresForTests):
    """Issue 22 saw two workers on one seller's stores deadlock 20 times on the seller-wide product rollup:
    each order's upserts took the product rows in its own order. A batch now takes them in one sorted
    statement, so two batches touching the same products wait for each other and never deadlock."""
    db = CloudDatabase(postgres.fresh_database(), pool_size=4)
    try:
        shop = make_shop()
        install(db, shop)
        other = Shop(shop.seller_id, new_id(), new_id(), shop.variants)  # a second store of the seller
        with db.transaction() as conn:
            add_store(conn, other, "板橋店")
        # One store sells product A then B, the other B then A, order after order: the pattern that deadlocked
        # when each order's upserts took their rows as they came.
        plans = {
            store: [
                envelopes(
                    store,
                    1 + 30 * b,
                    [
                        sale(store, lines, overcharge=False, coupon=False, n=0)
                        for lines in ([(0, 1)], [(2, 1)]) * 15
                    ][:: 1 if store is shop else -1],
                )
                for b in range(6)
            ]
            for store in (shop, other)
        }
        failures: list[BaseException] = []

        def drain(store: Shop) -> None:
            try:
                for messages in plans[store]:
                    ack = send(db, store, messages)
                    assert ack.dead_lettered == ()
            except BaseException as exc:  # a deadlock is raised as a transient failure
                failures.append(exc)

        workers = [threading.Thread(target=drain, args=(store,)) for store in (shop, other)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
        assert failures == []
        with db.read() as conn:
            quantities = dict(
                conn.execute(
                    select(daily_product_sales.c.product_id, daily_product_sales.c.quantity).where(
                        daily_product_sales.c.seller_id == shop.seller_id
                    )
                ).all()
            )
        # 2 stores x 6 batches x 15 orders of one unit, of each product
        assert quantities == {shop.variants[0][1]: 180, shop.variants[2][1]: 180}
    finally:
        db.dispose()


@pytest.mark.parametrize("reason", ["x" * 17, "sale\x00"], ids=["longer-than-the-column", "nul"])
def test_set_based_writes_refuse_what_one_insert_refuses(shop_db: tuple[CloudDatabase, Shop], reason: str):
    """``cloud.bulk`` casts nothing to a shorter type: a value longer than its column, or text Postgres
    cannot hold, fails the statement as a plain insert would (a failure of the data, so the batch is then
    applied one by one and the record dead-lettered), never cut short and stored."""
    db, shop = shop_db
    row = delta(shop, 0, -1).to_row() | {"reason": reason}
    with pytest.raises(DBAPIError) as raised, db.transaction() as conn:
        bulk.insert_rows(conn, stock_deltas, [row])
    assert failure_of(raised.value) is Failure.DATA
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(stock_deltas)).scalar_one() == 4  # the restocks


def test_writers_of_one_stores_stock_wait_for_each_other_and_never_deadlock(
    shop_db: tuple[CloudDatabase, Shop],
):
    """A store's level rows are taken only after its store row (``cloud.stock``), the row the store's feed is
    numbered on. So a transaction that wrote stock and queued it for the store (a restock, a cancelled sale
    applied record by record) and goes on to another variant cannot deadlock with one that writes that
    variant's stock meanwhile: the second waits for the store row, then sees the first's levels."""
    db, shop = shop_db
    waiting = threading.Event()
    second: list[list[bool]] = []
    failures: list[BaseException] = []

    def other_writer() -> None:
        try:
            with db.transaction() as conn:
                waiting.set()
                sale = delta(shop, 1, -2)
                second.append(stock.ingest_deltas(conn, shop.seller_id, [sale], NOW, 0))
                sync_downlink.queue_deltas(conn, [sale], NOW)  # as a store with two tills shares it
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    with db.transaction() as conn:
        first = delta(shop, 0, -1)
        stock.write_deltas(conn, shop.seller_id, [first], NOW, 0)
        sync_downlink.queue_deltas(conn, [first], NOW)  # this transaction holds the store's row from here
        thread = threading.Thread(target=other_writer)
        thread.start()
        assert waiting.wait(10)
        thread.join(1.0)
        assert thread.is_alive(), "the second writer went ahead without the store's row"
        stock.write_deltas(conn, shop.seller_id, [delta(shop, 1, -3)], NOW, 0)  # its variant, after it
    thread.join(30)
    assert not thread.is_alive()
    assert not failures, failures
    assert second == [[True]]
    with db.read() as conn:
        assert stock.levels(conn, shop.store_id, [shop.variants[0][0], shop.variants[1][0]]) == {
            shop.variants[0][0]: INITIAL_STOCK - 1,
            shop.variants[1][0]: INITIAL_STOCK - 3 - 2,
        }
