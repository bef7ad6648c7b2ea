"""Property (hypothesis) through the real code on both sides: the same order status changes, made
concurrently in the cloud and at the store and delivered to each side in its own random order, with the
stock deltas each side writes exchanged afterwards, leave the node (SQLite) and the cloud (Postgres) with
the same status, the one the rule defines, and the same stock. A partial return taken at the store before
its own changes, reaching the cloud at any point among the others, counts its units back once: none more
when a whole return stands."""

import json
import random

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from cloud import orders as cloud_orders
from cloud import stock as cloud_stock
from cloud.tables import downlink_feed
from edge import carts, node_state, order_status, orders, returns
from edge import stock as edge_stock
from edge.catalog import load_snapshot
from edge.checkout import checkout
from edge.node import Node
from edge.settings import EdgeSettings
from edge.tables import outbox as outbox_table
from models.catalog import CatalogSnapshot
from models.node_api import CheckoutRequest, ReturnItemRequest, ReturnRequest
from models.order_states import Actor, OrderStatus
from models.sales import PaymentMethod
from models.staff import StaffRef
from models.stock import StockDelta
from sync_protocol.envelope import CLOUD_ORIGIN, OrderTransition
from sync_protocol.hlc import HLC
from sync_protocol.rules import StatusState, creation_transition, merge_all
from sync_protocol.streams import DownlinkKind, Stream
from tests.cloud.conftest import CloudServer, ingest, restock
from tests.cloud.test_cloud_catalog import make_product

S, A = OrderStatus, Actor
MOVES = [(S.REFUNDED, A.SELLER), (S.RETURNED, A.SELLER), (S.REFUNDED, A.STORE), (S.RETURNED, A.STORE)]


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_the_node_and_the_cloud_converge_whatever_the_delivery_order(
    cloud_server: CloudServer, seller: httpx.Client, tmp_path_factory, data
):
    rig = _rig(cloud_server, seller, tmp_path_factory)
    node, store, variant = rig["node"], rig["store"], rig["variant"]
    cloud, now = cloud_server.cloud, cloud_server.clock()
    seller_id = rig["seller_id"]

    # A sale at the node, in the cloud as the uplink would put it there.
    with node.db.read() as conn:
        level_before = edge_stock.levels(conn, [variant])[variant]
    quantity = data.draw(st.integers(1, 3), label="quantity")
    with node.db.write() as conn:
        cart = carts.create_cart(conn, now)
        carts.add_item(conn, cart, variant, quantity, now)
        order = checkout(
            conn, cart, CheckoutRequest(payment_method=PaymentMethod.CASH), device_id=node.device_id, at=now
        ).order
    ingest(cloud_server, order, with_deltas=False)  # its deltas go up with the node's below

    # Some units back at the counter first (0: none), while the node still holds the sale completed.
    returning = data.draw(st.integers(0, quantity - 1), label="returned units")
    taken = None
    if returning:
        request = ReturnRequest(items=[ReturnItemRequest(item_id=order.items[0].item_id, quantity=returning)])
        with node.db.write() as conn:
            taken = returns.return_items(
                conn,
                device_id=node.device_id,
                order_id=order.order_id,
                request=request,
                staff=StaffRef(staff_id="local-manager", name="店長"),
                now=now,
            ).order_return

    # Concurrent changes: the seller's in the cloud, the staff's at the store, with their own clocks.
    base = int(now.timestamp() * 1000)
    picked = data.draw(st.lists(st.sampled_from(MOVES), min_size=1, max_size=4), label="moves")
    made = []
    for i, (target, actor) in enumerate(picked):
        device = CLOUD_ORIGIN if actor is A.SELLER else node.device_id
        stamp = HLC(base + data.draw(st.integers(0, 3), label="ms"), i, device)
        made.append(
            OrderTransition(
                order_id=order.order_id,
                from_status=S.COMPLETED,
                to_status=target,
                actor=actor,
                hlc=stamp.encode(),
                device_id=device,
            )
        )
    rng = random.Random(data.draw(st.integers(0, 2**32), label="seed"))
    at_node, in_cloud = rng.sample(made, len(made)), rng.sample(made, len(made))
    for t in at_node:
        with node.db.write() as conn:
            order_status.merge(conn, t, now, device_id=node.device_id)
    arrivals: list[OrderTransition | None] = list(in_cloud)
    if taken is not None:  # the return reaches the cloud at any point among the transitions
        arrivals.insert(data.draw(st.integers(0, len(in_cloud)), label="return arrives at"), None)
    for t in arrivals:
        with cloud.db.transaction() as conn:
            if t is None:
                assert taken is not None
                cloud_orders.ingest_return(conn, seller_id, taken, now)
            else:
                cloud_orders.merge_transition(conn, seller_id, order.order_id, t, now)

    _exchange_deltas(rig, cloud_server)

    creation = creation_transition(order.order_id, S.COMPLETED, order.created_at, node.device_id)
    expected = merge_all(StatusState(order.order_id, frozenset({creation})), made)[0].status
    with node.db.read() as conn:
        node_status = order_status.order_state(conn, order.order_id).status
        node_level = edge_stock.levels(conn, [variant])[variant]
    with cloud.db.read() as conn:
        cloud_status = cloud_orders.get_order(conn, seller_id, order.order_id).status
        cloud_level = cloud_stock.levels(conn, store, [variant]).get(variant, 0)
    assert node_status == cloud_status == expected
    assert node_level == cloud_level
    back = quantity if expected in (S.RETURNED, S.CANCELLED) else returning
    assert node_level == level_before - quantity + back  # each unit back once, whoever put it back
    with node.db.read() as conn:
        at_node = orders.get_order_view(conn, order.order_id)
    with cloud.db.read() as conn:
        up_there = cloud_orders.get_order(conn, seller_id, order.order_id)
    assert at_node.refunded_amount == up_there.refunded_amount <= order.total
    assert at_node.returned_quantities == up_there.returned_quantities


def _rig(cloud_server: CloudServer, seller: httpx.Client, tmp_path_factory) -> dict:
    """One store, product and node for all examples of the test (hypothesis runs them in one test call)."""
    cached = getattr(cloud_server, "_convergence_rig", None)
    if cached is not None:
        return cached
    store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    product = make_product(seller)
    variant = product["variants"][0]["variantId"]
    restock(seller, store, variant, 500)
    snapshot = CatalogSnapshot.model_validate(seller.get(f"/stores/{store}/catalog-snapshot").json())
    node = Node.open(EdgeSettings(data_dir=tmp_path_factory.mktemp("node"), store_id=store))
    with node.db.write() as conn:
        load_snapshot(conn, snapshot, cloud_server.clock())
        assert node_state.downlink_seq(conn) == snapshot.downlink_seq
    seller_id = seller.get("/me").json()["sellerId"]
    # The snapshot's levels include the feed up to its position: the node follows the feed from there.
    feed_seen = snapshot.downlink_seq or 0
    rig = {"node": node, "store": store, "variant": variant, "seller_id": seller_id, "feed_seen": feed_seen}
    cloud_server._convergence_rig = rig  # type: ignore[attr-defined]
    return rig


def _exchange_deltas(rig: dict, cloud_server: CloudServer) -> None:
    """What the two directions of sync carry for stock: the node's stockDeltas stream up, the cloud's
    feed down. Both sides count a delta once by its id."""
    node, cloud, now = rig["node"], cloud_server.cloud, cloud_server.clock()
    with node.db.read() as conn:
        up = [
            StockDelta.model_validate(json.loads(r.payload))
            for r in conn.execute(
                select(outbox_table.c.payload).where(outbox_table.c.stream == Stream.STOCK_DELTAS.value)
            )
        ]
    with cloud.db.transaction() as conn:
        cloud_stock.write_deltas(conn, rig["seller_id"], up, now, 5)
        down = [
            StockDelta.model_validate(r.payload["delta"])
            for r in conn.execute(
                select(downlink_feed).where(
                    downlink_feed.c.store_id == rig["store"],
                    downlink_feed.c.kind == DownlinkKind.STOCK.value,
                    downlink_feed.c.seq > rig["feed_seen"],
                )
            )
        ]
        rig["feed_seen"] = int(
            conn.execute(select(downlink_feed.c.seq).order_by(downlink_feed.c.seq.desc()).limit(1)).scalar()
            or 0
        )
    with node.db.write() as conn:
        for delta in down:
            edge_stock.record(conn, delta, send=False)
