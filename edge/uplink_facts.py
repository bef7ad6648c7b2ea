"""What this node knows about the ids a record it is about to send names, for
``sync_protocol.record_checks``: the same checks the cloud runs on arrival, run here first, so the node
never queues what the cloud would refuse (``edge.outbox.enqueue``).

The node's catalog cache is the catalog it sells from, so its prices are the ones the checks compare with
(``VariantFacts.version`` None: no older version to tell apart).
"""

from sqlalchemy import Connection, func, select

from edge import node_state
from edge.tables import coupons, discounts, orders, variants
from models.errors import Conflict
from models.footfall import FootfallEvent
from models.sales import Order
from models.stock import StockDelta
from sync_protocol.envelope import OrderTransition, UplinkPayload
from sync_protocol.record_checks import SellerFacts, Sender, VariantFacts, creator_key


def sender(conn: Connection) -> Sender:
    store_id, device_id = (
        node_state.get(conn, node_state.STORE_ID),
        node_state.get(conn, node_state.DEVICE_ID),
    )
    if store_id is None or device_id is None:
        raise Conflict("this node has no store yet: load a catalog first", code="noStoreId")
    return Sender(store_id, device_id)


def node_facts(conn: Connection, record: UplinkPayload) -> SellerFacts:
    if isinstance(record, FootfallEvent):
        return SellerFacts()
    if isinstance(record, OrderTransition):
        return SellerFacts(order_stores=_creators(conn, record.order_id))
    if isinstance(record, StockDelta):
        return SellerFacts(variants=_variants(conn, {record.variant_id}))
    assert isinstance(record, Order)
    discount_ids = {i.discount_id for i in record.items if i.discount_id is not None}
    code = record.coupon_code.upper() if record.coupon_code else None
    return SellerFacts(
        variants=_variants(conn, {i.variant_id for i in record.items}),
        discount_ids=frozenset(
            conn.execute(
                select(discounts.c.discount_id).where(discounts.c.discount_id.in_(sorted(discount_ids)))
            ).scalars()
        )
        if discount_ids
        else frozenset(),
        coupon_codes=frozenset(
            conn.execute(
                select(func.upper(coupons.c.code)).where(func.upper(coupons.c.code) == code)
            ).scalars()
        )
        if code
        else frozenset(),
        order_stores=_creators(conn, record.order_id),
    )


def _variants(conn: Connection, ids: set[str]) -> dict[str, VariantFacts]:
    rows = conn.execute(
        select(variants.c.variant_id, variants.c.product_id, variants.c.price).where(
            variants.c.variant_id.in_(sorted(ids))
        )
    )
    return {r.variant_id: VariantFacts(r.product_id, r.price) for r in rows}


def _creators(conn: Connection, order_id: str) -> dict[str, str]:
    row = conn.execute(
        select(orders.c.store_id, orders.c.device_id).where(orders.c.order_id == order_id)
    ).first()
    return {order_id: creator_key(row.store_id, row.device_id)} if row else {}
