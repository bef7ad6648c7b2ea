"""What Postgres knows about the ids one uplink batch names, for ``sync_protocol.record_checks``.

The checks are pure; this module asks the database once per batch (a handful of ``IN`` queries, whatever
the batch's size) for the sender's seller's variants, discounts and coupons among those named, for the
orders, items, payments and Z-reports that already exist under ids (or Z-report numbers) the batch uses,
whoever owns them, and for the stores of the staff accounts its status changes and Z-reports name.
"""

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, func, select, tuple_

from cloud.tables import (
    coupons,
    discounts,
    order_items,
    orders,
    payments,
    products,
    staff,
    variants,
    z_reports,
)
from models.end_of_day import ZReport
from models.sales import Order
from models.stock import StockDelta
from sync_protocol.envelope import OrderTransition, UplinkPayload
from sync_protocol.record_checks import SellerFacts, VariantFacts, creator_key


def seller_facts(conn: Connection, seller_id: str, payloads: Iterable[UplinkPayload]) -> SellerFacts:
    variant_ids: set[str] = set()
    discount_ids: set[str] = set()
    codes: set[str] = set()
    order_ids: set[str] = set()
    child_ids: set[str] = set()
    product_ids: set[str] = set()
    payloads = list(payloads)
    reports = [p for p in payloads if isinstance(p, ZReport)]
    staff_ids = {r.closed_by.staff_id for r in reports}  # and, below, those the status changes name
    for payload in payloads:
        if isinstance(payload, Order):
            order_ids.add(payload.order_id)
            for item in payload.items:
                variant_ids.add(item.variant_id)
                product_ids.add(item.product_id)
                child_ids.add(item.item_id)
                if item.discount_id is not None:
                    discount_ids.add(item.discount_id)
            child_ids.update(p.payment_id for p in payload.payments)
            if payload.coupon_code is not None:
                codes.add(payload.coupon_code.upper())
        elif isinstance(payload, StockDelta):
            variant_ids.add(payload.variant_id)
        elif isinstance(payload, OrderTransition):
            order_ids.add(payload.order_id)
            if payload.staff is not None:
                staff_ids.add(payload.staff.staff_id)
    facts_variants = {}
    if variant_ids:
        rows = conn.execute(
            select(variants.c.variant_id, variants.c.product_id, variants.c.price, products.c.catalog_version)
            .join(products, products.c.product_id == variants.c.product_id)
            .where(variants.c.seller_id == seller_id, variants.c.variant_id.in_(sorted(variant_ids)))
        )
        facts_variants = {
            r.variant_id: VariantFacts(r.product_id, int(r.price), int(r.catalog_version)) for r in rows
        }
    own_products = _ids(conn, products.c.product_id, products.c.seller_id, seller_id, product_ids)
    return SellerFacts(
        variants=facts_variants,
        product_ids=own_products,
        # Ids the batch names that are not the seller's: another seller's, or removed from the catalog
        # since (a variant deleted from a product). Asked only when there are any, which is rare.
        foreign_ids=_others(
            conn, variants, variants.c.variant_id, seller_id, variant_ids - facts_variants.keys()
        )
        | _others(conn, products, products.c.product_id, seller_id, product_ids - own_products),
        discount_ids=_ids(conn, discounts.c.discount_id, discounts.c.seller_id, seller_id, discount_ids),
        coupon_codes=_ids(conn, func.upper(coupons.c.code), coupons.c.seller_id, seller_id, codes),
        order_stores={
            r.order_id: creator_key(r.store_id, r.device_id)
            for r in (
                conn.execute(
                    select(orders.c.order_id, orders.c.store_id, orders.c.device_id).where(
                        orders.c.order_id.in_(sorted(order_ids))
                    )
                )
                if order_ids
                else ()
            )
        },
        child_orders=_child_orders(conn, child_ids),
        staff_stores=_staff_stores(conn, staff_ids),
        **_z_reports(conn, reports),
    )


def _ids(
    conn: Connection, column: ColumnElement[Any], owner: ColumnElement[Any], seller_id: str, wanted: set[str]
) -> frozenset[str]:
    if not wanted:
        return frozenset()
    query = select(column).where(owner == seller_id, column.in_(sorted(wanted)))
    return frozenset(conn.execute(query).scalars())


def _others(
    conn: Connection, table: Table, id_column: ColumnElement[str], seller_id: str, ids: set[str]
) -> frozenset[str]:
    if not ids:
        return frozenset()
    query = select(id_column).where(table.c.seller_id != seller_id, id_column.in_(sorted(ids)))
    return frozenset(conn.execute(query).scalars())


def _child_orders(conn: Connection, child_ids: set[str]) -> dict[str, str]:
    if not child_ids:
        return {}
    wanted = sorted(child_ids)
    found: dict[str, str] = {}
    for table, id_column in ((order_items, order_items.c.item_id), (payments, payments.c.payment_id)):
        found.update(
            (row[0], row[1])
            for row in conn.execute(select(id_column, table.c.order_id).where(id_column.in_(wanted)))
        )
    return found


def _staff_stores(conn: Connection, staff_ids: set[str]) -> dict[str, str]:
    """The store of each named staff account the cloud keeps, whoever's (one made at a node is not here)."""
    if not staff_ids:
        return {}
    query = select(staff.c.staff_id, staff.c.store_id).where(staff.c.staff_id.in_(sorted(staff_ids)))
    return {row.staff_id: row.store_id for row in conn.execute(query)}


def _z_reports(conn: Connection, reports: list[ZReport]) -> dict[str, Any]:
    """The Z-reports held under the ids, or the (device, number) pairs, that ``reports`` use, whoever's."""
    if not reports:
        return {}
    rows = conn.execute(
        select(
            z_reports.c.z_report_id, z_reports.c.store_id, z_reports.c.device_id, z_reports.c.number
        ).where(
            z_reports.c.z_report_id.in_(sorted({r.z_report_id for r in reports}))
            | tuple_(z_reports.c.device_id, z_reports.c.number).in_(
                sorted({(r.device_id, r.number) for r in reports})
            )
        )
    ).all()
    return {
        "z_report_owners": {r.z_report_id: creator_key(r.store_id, r.device_id) for r in rows},
        "z_report_numbers": {(r.device_id, r.number): r.z_report_id for r in rows},
    }
