"""The till's journal: every sale and every refund made at this node's till, one row each, written in the
transaction that made it (the checkout, a refund at the counter). A Z-report closes every row still open
(``close``), so each sale and refund is in exactly one Z-report however the node's clock moved, and what
the period holds is read here (``open_period``) as the pure rules take it (``models.end_of_day``).

Refunds are counted where money went back at this till: a manager undoing a sale at the counter (a
refund, a return; a cancellation, for an order a node would hold in ``toShip``), for what of the sale had
not gone back already, by the methods it was paid by; and a partial return, for its refund, the way it went
back. A change made in the cloud (a seller's refund in the dashboard) gave nothing back from this drawer
and is not entered.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.dialects.sqlite import insert

from edge.prepared import Prepared
from edge.tables import order_returns, orders, payments, till_entries
from models.end_of_day import TillRefund, TillSale
from models.sales import PaymentMethod

SALE = "sale"
REFUND = "refund"
RETURN = "return"  # a partial return's refund: the entry's id names the return


def _enter(conn: Connection, kind: str, order_id: str, at: datetime, *, key: str | None = None) -> None:
    conn.execute(
        insert(till_entries)
        .values(entry_id=f"{kind}:{key or order_id}", kind=kind, order_id=order_id, at=at)
        .on_conflict_do_nothing()
    )


_ENTER_SALE = Prepared(
    insert(till_entries)
    .values(entry_id=bindparam("entry_id"), kind=SALE, order_id=bindparam("order_id"), at=bindparam("at"))
    .on_conflict_do_nothing()
)


def record_sale(conn: Connection, order_id: str, at: datetime) -> None:
    """A sale made at the till (in the checkout's transaction; ``_enter``'s row, prepared once)."""
    _ENTER_SALE.run(conn, {"entry_id": f"{SALE}:{order_id}", "order_id": order_id, "at": at})


def record_refund(conn: Connection, order_id: str, at: datetime) -> None:
    """A whole sale's money given back at the counter (in the transaction of the status change)."""
    _enter(conn, REFUND, order_id, at)


def record_return(conn: Connection, return_id: str, order_id: str, at: datetime) -> None:
    """A partial return's refund given back at the counter (in the return's transaction)."""
    _enter(conn, RETURN, order_id, at, key=return_id)


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
    returned = _partial_refunds(conn)
    sales: list[TillSale] = []
    refunds: list[TillRefund] = []
    for row in conn.execute(
        select(
            till_entries.c.kind,
            till_entries.c.entry_id,
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
            # The one place a refund's amounts are decided: a whole refund or return gives back what the
            # partial returns before it had not (they were refunds of their own, at their time).
            rest = _less(payments_of, returned.get(row.order_id, {}))
            refunds.append(TillRefund(row.order_id, row.at, rest))
        elif row.kind == RETURN:
            given = conn.execute(
                select(order_returns.c.refund_method, order_returns.c.refund).where(
                    order_returns.c.return_id == row.entry_id.removeprefix(f"{RETURN}:")
                )
            ).one()
            refunds.append(
                TillRefund(row.order_id, row.at, ((PaymentMethod(given.refund_method), given.refund),))
            )
    return Period(sales, refunds)


def _partial_refunds(conn: Connection) -> dict[str, dict[PaymentMethod, int]]:
    """Per order with an open entry, what its partial returns gave back, by method."""
    given: dict[str, dict[PaymentMethod, int]] = defaultdict(lambda: defaultdict(int))
    for r in conn.execute(
        select(order_returns.c.order_id, order_returns.c.refund_method, order_returns.c.refund).where(
            order_returns.c.order_id.in_(
                select(till_entries.c.order_id).where(till_entries.c.z_report_number.is_(None))
            )
        )
    ):
        given[r.order_id][PaymentMethod(r.refund_method)] += r.refund
    return given


def _less(
    paid: tuple[tuple[PaymentMethod, int], ...], given: dict[PaymentMethod, int]
) -> tuple[tuple[PaymentMethod, int], ...]:
    """What was paid by each method, less what went back by it already (never below nothing)."""
    left = dict(given)
    rest = []
    for method, amount in paid:
        taken = min(amount, left.get(method, 0))
        left[method] = left.get(method, 0) - taken
        rest.append((method, amount - taken))
    return tuple(rest)


def close(conn: Connection, number: int) -> None:
    """Close the open period into Z-report ``number`` (in the transaction that writes the report)."""
    conn.execute(
        update(till_entries).where(till_entries.c.z_report_number.is_(None)).values(z_report_number=number)
    )
