"""What Postgres knows about the ids one uplink batch names, for ``sync_protocol.record_checks``.

The checks are pure; this module asks the database once per batch (a handful of queries, whatever the
batch's size; for a batch of sales one ``UNION ALL``) for the sender's seller's variants, products,
discounts and coupons among those named, for the orders, items, payments and Z-reports that already exist
under ids (or Z-report numbers) the batch uses, whoever owns them, for the stores of the staff accounts its
status changes, returns and Z-reports name, and, for partial returns, the sales they are of with every
return held of them.
"""

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Row,
    Select,
    Table,
    Text,
    any_,
    cast,
    func,
    literal,
    null,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY

from cloud.tables import (
    coupons,
    discounts,
    order_items,
    order_return_items,
    order_returns,
    orders,
    payments,
    products,
    staff,
    variants,
    z_reports,
)
from models.end_of_day import ZReport
from models.returns import OrderReturn
from models.sales import Order
from models.stock import StockDelta
from sync_protocol.envelope import OrderTransition, UplinkPayload
from sync_protocol.record_checks import (
    HeldReturn,
    SellerFacts,
    SoldItem,
    SoldOrder,
    VariantFacts,
    creator_key,
)


@dataclass
class _Named:
    """The ids a batch's records name, gathered to be asked for in one query per kind."""

    variant_ids: set[str] = field(default_factory=set)
    discount_ids: set[str] = field(default_factory=set)
    codes: set[str] = field(default_factory=set)
    order_ids: set[str] = field(default_factory=set)
    child_ids: set[str] = field(default_factory=set)
    product_ids: set[str] = field(default_factory=set)
    staff_ids: set[str] = field(default_factory=set)
    returned_orders: set[str] = field(default_factory=set)
    return_ids: set[str] = field(default_factory=set)
    reports: list[ZReport] = field(default_factory=list)

    def add(self, payload: UplinkPayload) -> None:
        if isinstance(payload, Order):
            self.order_ids.add(payload.order_id)
            for item in payload.items:
                self.variant_ids.add(item.variant_id)
                self.product_ids.add(item.product_id)
                self.child_ids.add(item.item_id)
                if item.discount_id is not None:
                    self.discount_ids.add(item.discount_id)
            self.child_ids.update(p.payment_id for p in payload.payments)
            if payload.coupon_code is not None:
                self.codes.add(payload.coupon_code.upper())
        elif isinstance(payload, StockDelta):
            self.variant_ids.add(payload.variant_id)
        elif isinstance(payload, OrderTransition | OrderReturn):
            self.order_ids.add(payload.order_id)
            if payload.staff is not None:
                self.staff_ids.add(payload.staff.staff_id)
            if isinstance(payload, OrderReturn):
                self.returned_orders.add(payload.order_id)
                self.return_ids.add(payload.return_id)
        elif isinstance(payload, ZReport):
            self.reports.append(payload)
            self.staff_ids.add(payload.closed_by.staff_id)


def seller_facts(conn: Connection, seller_id: str, payloads: Iterable[UplinkPayload]) -> SellerFacts:
    named = _Named()
    for payload in payloads:
        named.add(payload)
    variant_ids, product_ids = named.variant_ids, named.product_ids
    held = _held(conn, seller_id, named)
    facts_variants = {r.id: VariantFacts(r.a, int(r.price), int(r.version)) for r in held.get(_VARIANT, ())}
    own_products = frozenset(r.id for r in held.get(_PRODUCT, ()))
    return SellerFacts(
        variants=facts_variants,
        product_ids=own_products,
        # Ids the batch names that are not the seller's: another seller's, or removed from the catalog
        # since (a variant deleted from a product). Asked only when there are any, which is rare.
        foreign_ids=_others(
            conn, variants, variants.c.variant_id, seller_id, variant_ids - facts_variants.keys()
        )
        | _others(conn, products, products.c.product_id, seller_id, product_ids - own_products),
        discount_ids=_ids(
            conn, discounts.c.discount_id, discounts.c.seller_id, seller_id, named.discount_ids
        ),
        coupon_codes=_ids(conn, func.upper(coupons.c.code), coupons.c.seller_id, seller_id, named.codes),
        order_stores={r.id: creator_key(r.a, r.b) for r in held.get(_ORDER, ())},
        child_orders={r.id: r.a for kind in (_ITEM, _PAYMENT) for r in held.get(kind, ())},
        staff_stores=_staff_stores(conn, named.staff_ids),
        sold_orders=_sold_orders(conn, seller_id, named.returned_orders),
        held_returns=_held_returns(conn, named.returned_orders, named.return_ids),
        **_z_reports(conn, named.reports),
    )


def _sold_orders(conn: Connection, seller_id: str, order_ids: set[str]) -> dict[str, SoldOrder]:
    """The seller's sales among ``order_ids``, as the checks of their returns need them."""
    if not order_ids:
        return {}
    wanted = sorted(order_ids)
    heads = conn.execute(
        select(orders.c.order_id, orders.c.store_id, orders.c.device_id, orders.c.coupon_discount).where(
            orders.c.seller_id == seller_id, orders.c.order_id.in_(wanted)
        )
    ).all()
    lines: dict[str, list[SoldItem]] = {h.order_id: [] for h in heads}
    for r in conn.execute(
        select(
            order_items.c.order_id, order_items.c.item_id, order_items.c.quantity, order_items.c.line_total
        )
        .where(order_items.c.order_id.in_(list(lines)))
        .order_by(order_items.c.item_id)
    ):
        lines[r.order_id].append(SoldItem(r.item_id, r.quantity, r.line_total))
    methods: dict[str, set[str]] = {h.order_id: set() for h in heads}
    for paid in conn.execute(
        select(payments.c.order_id, payments.c.method).where(payments.c.order_id.in_(list(lines)))
    ):
        methods[paid.order_id].add(paid.method)
    return {
        h.order_id: SoldOrder(
            creator_key(h.store_id, h.device_id),
            tuple(lines[h.order_id]),
            h.coupon_discount,
            frozenset(methods[h.order_id]),
        )
        for h in heads
    }


def _held_returns(conn: Connection, order_ids: set[str], return_ids: set[str]) -> dict[str, HeldReturn]:
    """Every return held of those orders, and any held under one of those return ids, whoever's."""
    if not order_ids and not return_ids:
        return {}
    rows = conn.execute(
        select(order_returns.c.return_id, order_returns.c.order_id).where(
            order_returns.c.order_id.in_(sorted(order_ids))
            | order_returns.c.return_id.in_(sorted(return_ids))
        )
    ).all()
    units: dict[str, list[tuple[str, int, int]]] = {r.return_id: [] for r in rows}
    if rows:
        for r in conn.execute(
            select(order_return_items).where(order_return_items.c.return_id.in_(sorted(units)))
        ):
            units[r.return_id].append((r.item_id, r.returned_before, r.quantity))
    return {r.return_id: HeldReturn(r.order_id, tuple(units[r.return_id])) for r in rows}


def _among(column: ColumnElement[Any], ids: Collection[str]) -> ColumnElement[bool]:
    """``column = ANY(array)``: one parameter however many ids, where ``IN`` had one each (a batch names
    hundreds: SQLAlchemy rendered and psycopg converted every one, on every batch)."""
    return column == any_(literal(sorted(ids), ARRAY(Text)))


def _ids(
    conn: Connection, column: ColumnElement[Any], owner: ColumnElement[Any], seller_id: str, wanted: set[str]
) -> frozenset[str]:
    if not wanted:
        return frozenset()
    query = select(column).where(owner == seller_id, _among(column, wanted))
    return frozenset(conn.execute(query).scalars())


def _others(
    conn: Connection, table: Table, id_column: ColumnElement[str], seller_id: str, ids: set[str]
) -> frozenset[str]:
    if not ids:
        return frozenset()
    query = select(id_column).where(table.c.seller_id != seller_id, _among(id_column, ids))
    return frozenset(conn.execute(query).scalars())


_VARIANT, _PRODUCT, _ORDER, _ITEM, _PAYMENT = "variant", "product", "order", "item", "payment"
# kind, id, a, b, price, version: what a and b hold depends on the kind, and any may be NULL (an order made
# online has no device).
if TYPE_CHECKING:  # SQLAlchemy 2.0's Select and Row take one type argument: only the checker reads these
    _HeldQuery = Select[str, str, Any, Any, Any, Any]
    _HeldRow = Row[str, str, Any, Any, Any, Any]


def _held(conn: Connection, seller_id: str, named: _Named) -> "dict[str, list[_HeldRow]]":
    """What the database holds of the ids a batch names, by kind, in one query (each kind was a round trip
    of its own, five for a batch of orders): the seller's variants (``a``: product, ``price``,
    ``version``: its catalog version) and products among those named, and the orders (``a``, ``b``: store
    and device), lines and payments (``a``: order) held under the ids the batch uses, whoever's."""

    def kind(name: str, id_column: ColumnElement[str], *columns: ColumnElement[Any]) -> "_HeldQuery":
        filled: list[ColumnElement[Any]] = [*columns, *[null()] * (4 - len(columns))]
        a, b, price, version = filled
        chosen: _HeldQuery = select(
            literal(name, Text).label("kind"),
            id_column.label("id"),
            cast(a, Text).label("a"),
            cast(b, Text).label("b"),
            cast(price, BigInteger).label("price"),
            cast(version, BigInteger).label("version"),
        )
        return chosen

    parts: list[_HeldQuery] = []
    if named.variant_ids:
        parts.append(
            kind(
                _VARIANT,
                variants.c.variant_id,
                variants.c.product_id,
                null(),
                variants.c.price,
                products.c.catalog_version,
            )
            .select_from(variants.join(products, products.c.product_id == variants.c.product_id))
            .where(variants.c.seller_id == seller_id, _among(variants.c.variant_id, named.variant_ids))
        )
    if named.product_ids:
        parts.append(
            kind(_PRODUCT, products.c.product_id).where(
                products.c.seller_id == seller_id, _among(products.c.product_id, named.product_ids)
            )
        )
    if named.order_ids:
        parts.append(
            kind(_ORDER, orders.c.order_id, orders.c.store_id, orders.c.device_id).where(
                _among(orders.c.order_id, named.order_ids)
            )
        )
    if named.child_ids:
        for name, table, id_column in (
            (_ITEM, order_items, order_items.c.item_id),
            (_PAYMENT, payments, payments.c.payment_id),
        ):
            parts.append(kind(name, id_column, table.c.order_id).where(_among(id_column, named.child_ids)))
    if not parts:
        return {}
    found: dict[str, list[_HeldRow]] = {}
    for row in conn.execute(union_all(*parts)):
        found.setdefault(row.kind, []).append(row)
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
