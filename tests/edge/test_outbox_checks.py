"""The node runs the cloud's record checks before it queues anything: it never emits what the cloud would
refuse (sync_protocol.record_checks), and a change that would be refused fails with its transaction."""

from datetime import datetime

import pytest
from sqlalchemy.exc import OperationalError

from edge import outbox
from edge.node import Node
from models.errors import Conflict
from models.ids import new_id
from models.order_states import Actor, OrderStatus
from models.sales import Order
from models.stock import StockDelta, StockReason
from sync_protocol.envelope import OrderTransition
from sync_protocol.hlc import HLC
from tests.edge.conftest import EdgeServer
from tests.edge.helpers import as_staff, checkout, new_cart, table_counts


def sold(edge: EdgeServer) -> Order:
    cart = new_cart(edge.client, ("bubble-tea-1", 2))
    response = checkout(edge.client, cart["cartId"])
    assert response.status_code == 201, response.text
    return Order.model_validate(response.json())


def refused_at_the_node(edge: EdgeServer, record: object, at: datetime) -> Conflict:
    node = Node.open(edge.settings)
    try:
        with pytest.raises(Conflict) as caught, node.db.write() as conn:
            outbox.enqueue(conn, record, at)  # type: ignore[arg-type]
    finally:
        node.close()
    assert caught.value.code == "syncRefused"
    return caught.value


def test_a_sale_made_here_passes_the_checks_and_is_queued(edge: EdgeServer):
    before = table_counts(edge.database_path)["outbox"]
    sold(edge)
    assert table_counts(edge.database_path)["outbox"] == before + 2  # the order and the line's stock delta


def test_records_the_cloud_would_refuse_are_never_queued(edge: EdgeServer):
    order = sold(edge)
    at = edge.clock()
    before = table_counts(edge.database_path)["outbox"]
    tampered = order.model_copy(update={"total": order.total - 1})
    assert refused_at_the_node(edge, tampered, at).details["reason"] == "badAmounts"
    other_store = StockDelta(
        delta_id=new_id(),
        store_id="another-store",
        variant_id="bubble-tea-1",
        quantity=-1,
        reason=StockReason.SALE,
        created_at=at,
    )
    assert refused_at_the_node(edge, other_store, at).details["reason"] == "foreignReference"
    node = Node.open(edge.settings)
    device = node.device_id
    node.close()
    unknown_order = OrderTransition(
        order_id=new_id(),
        from_status=OrderStatus.COMPLETED,
        to_status=OrderStatus.RETURNED,
        actor=Actor.STORE,
        hlc=HLC(int(at.timestamp() * 1000), 0, device).encode(),
        device_id=device,
    )
    assert refused_at_the_node(edge, unknown_order, at).details["reason"] == "foreignReference"
    assert table_counts(edge.database_path)["outbox"] == before


def test_a_return_note_with_a_nul_is_refused_before_anything_is_written(edge: EdgeServer):
    manager = as_staff(edge.client, edge.settings)
    order = sold(edge)
    before = table_counts(edge.database_path)
    response = edge.client.post(
        f"/orders/{order.order_id}/transitions",
        json={"toStatus": "returned", "note": "broken cup\u0000"},
        headers=manager,
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validationError"
    assert table_counts(edge.database_path) == before
    response = edge.client.post(
        f"/orders/{order.order_id}/transitions",
        json={"toStatus": "returned", "note": "破損"},
        headers=manager,
    )
    assert response.status_code == 200, response.text


def test_the_backlog_is_read_beside_the_running_node_without_writing(edge: EdgeServer, tmp_path):
    sold(edge)
    node = Node.open(edge.settings)
    try:
        with node.db.read() as conn:
            expected = outbox.backlog(conn)
    finally:
        node.close()
    assert outbox.read_backlog(edge.database_path) == expected
    assert sum(s.pending for s in expected) == 2  # the order and its line's stock delta
    missing = tmp_path / "elsewhere" / "edge.sqlite3"
    missing.parent.mkdir()
    with pytest.raises(OperationalError):
        outbox.read_backlog(missing)
    assert not missing.exists()  # read-only: nothing made
