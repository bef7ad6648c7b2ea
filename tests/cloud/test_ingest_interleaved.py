"""Two ingest workers on one stream (what a re-counted partition or a broker handing one stream to two
subscribers can do for a moment): whatever batches each gets, in whatever order and interleaving, every sale
is applied exactly once, the stream's mark ends at the last seq, and stock is what the sales took. The
sequence row lock serialises them; this is the property that the store split (``sync_protocol.partition``)
keeps from being needed for correctness, only for order."""

import threading
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from cloud.db import CloudDatabase
from cloud.tables import dead_letters, order_items, sync_streams
from cloud.tables import orders as orders_table
from sync_protocol.envelope import Envelope
from sync_protocol.streams import Stream
from tests.cloud.conftest import PostgresForTests
from tests.cloud.test_sync_ingest_sets import Shop, envelopes, install, make_shop, sale, send

pytestmark = pytest.mark.slow

SALES = 12


@pytest.fixture(scope="module")
def database(postgres: PostgresForTests) -> Iterator[CloudDatabase]:
    db = CloudDatabase(postgres.fresh_database(), pool_size=4)
    yield db
    db.dispose()


def batches(draw: st.DrawFn) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Two workers' deliveries: runs (first, last) of seqs 1..SALES, split among them at random, with
    repeats and in any order, so that between them every seq is delivered at least once."""
    cuts = sorted(draw(st.sets(st.integers(2, SALES), max_size=5)))
    runs = [(a, b - 1) for a, b in zip([1, *cuts], [*cuts, SALES + 1], strict=True)]
    repeats = draw(st.lists(st.sampled_from(runs), max_size=4))
    every = runs + repeats
    owner = draw(st.lists(st.booleans(), min_size=len(every), max_size=len(every)))
    mine = [r for r, w in zip(every, owner, strict=True) if w]
    theirs = [r for r, w in zip(every, owner, strict=True) if not w]
    return draw(st.permutations(mine)), draw(st.permutations(theirs))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=st.composite(batches)())
def test_two_workers_on_one_stream_apply_every_sale_once(database: CloudDatabase, plan):
    shop: Shop = make_shop()
    install(database, shop)
    sold = [sale(shop, [(0, 1)], overcharge=False, coupon=False, n=i) for i in range(SALES)]
    messages: tuple[Envelope, ...] = envelopes(shop, 1, list(sold))
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def worker(runs: list[tuple[int, int]]) -> None:
        try:
            start.wait(10)
            for first, last in runs:
                send(database, shop, messages[first - 1 : last])
        except BaseException as exc:  # reported below: a thread's exception would vanish
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(runs,)) for runs in plan]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures, failures
    # Between them every seq came at least once: the mark is at the end with nothing resent. Then the whole
    # stream once more, as a node that never saw an ack sends it: nothing changes.
    with database.read() as conn:
        mark_before = conn.execute(
            select(sync_streams.c.high_water).where(
                sync_streams.c.device_id == shop.device_id, sync_streams.c.stream == str(Stream.ORDERS)
            )
        ).scalar_one()
    assert mark_before == SALES
    send(database, shop, messages)

    with database.read() as conn:
        held = conn.execute(
            select(func.count()).select_from(orders_table).where(orders_table.c.store_id == shop.store_id)
        ).scalar_one()
        mark = conn.execute(
            select(sync_streams.c.high_water).where(
                sync_streams.c.device_id == shop.device_id, sync_streams.c.stream == str(Stream.ORDERS)
            )
        ).scalar_one()
        dead = conn.execute(
            select(func.count()).select_from(dead_letters).where(dead_letters.c.device_id == shop.device_id)
        ).scalar_one()
        lines = conn.execute(
            select(func.count())
            .select_from(order_items)
            .where(order_items.c.order_id.in_([o.order_id for o in sold]))
        ).scalar_one()
    assert held == SALES
    assert lines == SALES
    assert mark == SALES
    assert dead == 0
