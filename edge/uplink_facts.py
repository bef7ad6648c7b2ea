"""What this node knows about the ids a record it is about to send names, for
``sync_protocol.record_checks``: the same checks the cloud runs on arrival, run here first, so the node
never queues what the cloud would refuse (``edge.outbox.enqueue``).

The node's catalog cache is the catalog it sells from, so its prices are the ones the checks compare with
(``VariantFacts.version`` None: no older version to tell apart).

These lookups run for every record a sale or a return queues, inside the write lock, so they are plain
statements run on the driver connection: building and compiling a SQLAlchemy expression each time was most
of their cost (about 0.1 ms a statement, against 0.02 ms for the statement itself), and even
``exec_driver_sql`` spends several times SQLite's time on its result objects.
"""

from collections.abc import Iterable

from sqlalchemy import Connection

from edge import node_state
from edge.orders import get_order, returns_of
from edge.prepared import driver_connection
from models.end_of_day import ZReport
from models.errors import Conflict
from models.footfall import FootfallEvent
from models.returns import OrderReturn
from models.sales import Order
from models.stock import StockDelta
from sync_protocol.envelope import OrderTransition, UplinkPayload
from sync_protocol.record_checks import HeldReturn, SellerFacts, Sender, SoldOrder, VariantFacts, creator_key

_SENDER = "SELECT key, value FROM node_state WHERE key IN (?, ?)"
_VARIANT = "SELECT product_id, price FROM variants WHERE variant_id = ?"
_PRODUCT = "SELECT product_id FROM products WHERE product_id = ?"
_DISCOUNT = "SELECT discount_id FROM discounts WHERE discount_id = ?"
_COUPON = "SELECT upper(code) FROM coupons WHERE upper(code) = ?"
_ORDER = "SELECT store_id, device_id FROM orders WHERE order_id = ?"


def sender(conn: Connection) -> Sender:
    found = {
        row[0]: row[1]
        for row in driver_connection(conn).execute(_SENDER, (node_state.STORE_ID, node_state.DEVICE_ID))
    }
    store_id, device_id = found.get(node_state.STORE_ID), found.get(node_state.DEVICE_ID)
    if store_id is None or device_id is None:
        raise Conflict("this node has no store yet: load a catalog first", code="noStoreId")
    return Sender(store_id, device_id)


def node_facts(conn: Connection, record: UplinkPayload) -> SellerFacts:
    if isinstance(record, FootfallEvent | ZReport):
        # A Z-report is judged on its own figures and its sender; its number is this node's table's key,
        # and the manager who closed it is an account this node holds.
        return SellerFacts()
    if isinstance(record, OrderTransition):
        row = driver_connection(conn).execute(_ORDER, (record.order_id,)).fetchone()
        return SellerFacts(order_stores={record.order_id: creator_key(row[0], row[1])} if row else {})
    if isinstance(record, StockDelta):
        return SellerFacts(variants=_variants(conn, [record.variant_id]))
    if isinstance(record, OrderReturn):
        return _return_facts(conn, record.order_id)
    assert isinstance(record, Order)
    # The order was written in this transaction under its own primary key: it is this node's, and no other
    # order here holds its id or its items' and payments' ids. What remains to judge is the catalog.
    found = _variants(conn, {i.variant_id for i in record.items})
    return SellerFacts(
        variants=found,
        # A line whose variant left this node's catalog (a snapshot without it) still names its product.
        product_ids=_found(conn, _PRODUCT, {i.product_id for i in record.items if i.variant_id not in found}),
        discount_ids=_found(conn, _DISCOUNT, {i.discount_id for i in record.items if i.discount_id}),
        coupon_codes=_found(conn, _COUPON, {record.coupon_code.upper()} if record.coupon_code else set()),
        order_stores={record.order_id: creator_key(record.store_id, record.device_id)},
    )


def _return_facts(conn: Connection, order_id: str) -> SellerFacts:
    """The sale a return is of, and the order's returns (the new one among them: it is written before it is
    queued, and the checks pass over a return's own units)."""
    return SellerFacts(
        sold_orders={order_id: SoldOrder.of(get_order(conn, order_id))},
        held_returns={r.return_id: HeldReturn.of(r) for r in returns_of(conn, [order_id])[order_id]},
    )


def _variants(conn: Connection, ids: Iterable[str]) -> dict[str, VariantFacts]:
    found = {}
    raw = driver_connection(conn)
    for variant_id in ids:
        row = raw.execute(_VARIANT, (variant_id,)).fetchone()
        if row is not None:
            found[variant_id] = VariantFacts(row[0], row[1])
    return found


def _found(conn: Connection, statement: str, keys: set[str]) -> frozenset[str]:
    raw = driver_connection(conn)
    return frozenset(key for key in keys if raw.execute(statement, (key,)).fetchone() is not None)
