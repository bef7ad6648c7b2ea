"""The till's journal: every sale and every refund made at this node's till, one row each, written in the
transaction that made it (the checkout, a refund at the counter). A Z-report closes every row still open
(``close``), so each sale and refund is in exactly one Z-report however the node's clock moved, and what
the period holds is read here (``open_period``) as the pure rules take it (``models.end_of_day``).

Refunds are counted where money went back at this till: a manager undoing a sale at the counter (a
refund, a return; a cancellation, for an order a node would hold in ``toShip``), for the whole sale, by
the methods it was paid by. A change made in the cloud (a seller's refund in the dashboard) gave nothing
back from this drawer and is not entered.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.sqlite import insert

from edge.tables import orders, payments, till_entries
from models.end_of_day import TillRefund, TillSale
from models.sales import PaymentMethod

SALE = "sale"
REFUND = "refund"


def _enter(conn: Connection, kind: str, order_id: str, at: datetime) -> None:
    conn.execute(
        insert(till_entries)
        .values(entry_id=f"{kind}:{order_id}", kind=kind, order_id=order_id, at=at)
        .on_conflict_do_nothing()
    )


def record_sale(conn: Connection, order_id: str, at: datetime) -> None:
    """A sale made at the till (in the checkout's transaction)."""
    _enter(conn, SALE, order_id, at)


def record_refund(conn: Connection, order_id: str, at: datetime) -> None:
    """A whole sale's money given back at the counter (in the transaction of the status change)."""
    _enter(conn, REFUND, order_id, at)


@dataclass(frozen=True)
class Period:
    """What the till did since its last Z-report."""

    sales: list[TillSale] = field(default_factory=list)
    refunds: list[TillRefund] = field(default_factory=list)

    @property
    def moments(self) -> list[datetime]:
        return [s.at for s in self.sales] + [r.at for r in self.refunds]


def open_period(conn: Connection) -> Period:
    """The sales and refunds no Z-report has closed yet."""
    open_entries = till_entries.c.z_report_number.is_(None)
    paid: dict[str, list[tuple[PaymentMethod, int]]] = defaultdict(list)
    for payment in conn.execute(
        select(payments.c.order_id, payments.c.method, payments.c.amount)
        .where(payments.c.order_id.in_(select(till_entries.c.order_id).where(open_entries)))
        .order_by(payments.c.order_id, payments.c.payment_id)
    ):
        paid[payment.order_id].append((PaymentMethod(payment.method), payment.amount))
    sales: list[TillSale] = []
    refunds: list[TillRefund] = []
    for row in conn.execute(
        select(
            till_entries.c.kind,
            till_entries.c.order_id,
            till_entries.c.at,
            orders.c.subtotal,
            orders.c.discount_total,
            orders.c.coupon_discount,
        )
        .join(orders, orders.c.order_id == till_entries.c.order_id)
        .where(open_entries)
        .order_by(till_entries.c.at, till_entries.c.entry_id)
    ):
        payments_of = tuple(paid[row.order_id])
        if row.kind == SALE:
            sales.append(
                TillSale(
                    row.order_id, row.at, row.subtotal, row.discount_total, row.coupon_discount, payments_of
                )
            )
        elif row.kind == REFUND:
            # The one place a refund's amounts are decided. Today every refund at the counter gives back the
            # whole sale, by the methods it was paid by. A partial return's refund will be another kind of
            # entry naming its return record, whose amounts by method are what went back: read them here.
            refunds.append(TillRefund(row.order_id, row.at, payments_of))
    return Period(sales, refunds)


def close(conn: Connection, number: int) -> None:
    """Close the open period into Z-report ``number`` (in the transaction that writes the report)."""
    conn.execute(
        update(till_entries).where(till_entries.c.z_report_number.is_(None)).values(z_report_number=number)
    )
