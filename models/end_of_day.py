"""End of day at a store's till: the X-report (a look at the till now, changing nothing) and the Z-report
(日結, Z帳), which closes the till's period, numbers it and goes to the cloud.

**A period is what the till did since its last Z-report**, not a calendar day. As on Taiwanese POS
tills, each Z-report closes and numbers one period (1, 2, 3... per till), so every sale and every refund
is in exactly one Z-report: a shop that closes after midnight, or forgets to close one day, loses nothing
and counts nothing twice. The report's **business day** is the Taiwan day the period's first sale or
refund was made (the day of the close when there was none), so a till closed at 01:00 reports the day it
took the money; the period's start and end say exactly what it covers.

The figures (``till_figures``), from the period's sales (``TillSale``) and the money given back at the
till (``TillRefund``):

- sales: how many, ``grossSales`` (list prices x quantities), ``discounts``, ``coupons``, ``netSales``
  (= gross - discounts - coupons: what the shoppers paid);
- refunds: how many and how much went back (a refund goes back by the method the sale was paid by);
- ``takings`` = net sales - refunds;
- per payment method (cash, card): the sales and the refunds;
- the drawer: ``cashExpected`` = the opening float the manager put in + cash sales - cash refunds; when
  the manager counted the drawer, ``countedCash`` and ``overShort`` = counted - expected (below zero: cash
  short; above: cash over).

``inconsistencies`` says what in a set of figures does not add up: the record check of a Z-report sent
to the cloud (``sync_protocol.record_checks``) and the tests use it, so the rule is written once.

Pure: these functions are given the period's records and never read a clock or a database.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

from pydantic import AwareDatetime, Field

from models.base import CamelModel
from models.business_days import business_day
from models.ids import Ident
from models.money import TWD
from models.sales import PaymentMethod
from models.staff import StaffRef

MAX_PERIOD_TWD = 10**12
"""The most any of a period's totals may be: ten thousand times the most one sale may be, and still exact
in every JSON reader (below 2^53) and in a Postgres bigint."""
PeriodTWD = Annotated[
    int, Field(strict=True, ge=0, le=MAX_PERIOD_TWD, description="Whole New Taiwan dollars")
]
SignedPeriodTWD = Annotated[
    int,
    # The drawer's figures may go below zero: refunds of earlier periods' cash sales can take more out
    # than the period's sales and the float put in.
    Field(
        strict=True, ge=-2 * MAX_PERIOD_TWD, le=2 * MAX_PERIOD_TWD, description="Whole TWD, may be negative"
    ),
]
Count = Annotated[int, Field(strict=True, ge=0, le=10**9)]
ReportNote = Annotated[str, Field(max_length=500)]
ZReportNumber = Annotated[int, Field(strict=True, ge=1, le=2_147_483_647)]


# --- what a period holds ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TillSale:
    """A sale of the period as it was made: its amounts and how it was paid (``payments``: the amount by
    each method, adding up to what the shopper paid)."""

    order_id: str
    at: datetime
    gross: int
    discounts: int
    coupon: int
    payments: tuple[tuple[PaymentMethod, int], ...]

    def __post_init__(self) -> None:
        if min(self.gross, self.discounts, self.coupon, *(amount for _, amount in self.payments)) < 0:
            raise ValueError(f"sale {self.order_id}: an amount below zero")
        if self.net < 0:
            raise ValueError(f"sale {self.order_id}: discounts and coupon above its list price")
        if sum(amount for _, amount in self.payments) != self.net:
            raise ValueError(f"sale {self.order_id}: payments do not add up to {self.net}")

    @property
    def net(self) -> int:
        return self.gross - self.discounts - self.coupon


@dataclass(frozen=True)
class TillRefund:
    """Money given back at the till in the period, by the method it went back by (a refund goes back the
    way its sale was paid). Today a refund is a whole sale undone at the counter (refunded, returned,
    cancelled); a partial return's refund is one of these too, for the part given back."""

    order_id: str
    at: datetime
    amounts: tuple[tuple[PaymentMethod, int], ...]

    def __post_init__(self) -> None:
        if any(amount < 0 for _, amount in self.amounts):
            raise ValueError(f"refund of {self.order_id}: an amount below zero")


# --- the figures -------------------------------------------------------------------------------------------


class MethodFigures(CamelModel):
    """One payment method's part of a period: sales and refunds by it."""

    method: PaymentMethod
    sales_count: Count = Field(description="Sales paid (wholly or partly) by this method")
    sales: PeriodTWD
    refund_count: Count
    refunds: PeriodTWD


class TillFigures(CamelModel):
    """A period's figures (see the module's docstring for how they add up)."""

    sales_count: Count
    gross_sales: PeriodTWD = Field(description="List prices x quantities")
    discounts: PeriodTWD
    coupons: PeriodTWD
    net_sales: PeriodTWD = Field(description="grossSales - discounts - coupons: what shoppers paid")
    refund_count: Count
    refunds: PeriodTWD = Field(description="Money given back at the till")
    takings: SignedPeriodTWD = Field(description="netSales - refunds")
    by_method: list[MethodFigures] = Field(max_length=len(PaymentMethod), description="One per method")
    opening_float: TWD = Field(description="The cash the manager put in the drawer at the start")
    cash_expected: SignedPeriodTWD = Field(description="openingFloat + cash sales - cash refunds")
    counted_cash: TWD | None = Field(default=None, description="The cash the manager counted, if counted")
    over_short: SignedPeriodTWD | None = Field(
        default=None, description="countedCash - cashExpected: below zero the drawer is short, above over"
    )

    def method(self, method: PaymentMethod) -> MethodFigures:
        """This method's figures (zeros when the list has none for it)."""
        for figures in self.by_method:
            if figures.method is method:
                return figures
        return MethodFigures(method=method, sales_count=0, sales=0, refund_count=0, refunds=0)

    @property
    def short(self) -> bool:
        """The drawer was counted and held less than expected."""
        return self.over_short is not None and self.over_short < 0


def till_figures(
    sales: Iterable[TillSale],
    refunds: Iterable[TillRefund],
    *,
    opening_float: int,
    counted_cash: int | None = None,
) -> TillFigures:
    """The figures of a period holding ``sales`` and ``refunds``."""
    sales, refunds = list(sales), list(refunds)
    by_method = []
    for method in PaymentMethod:
        paid = [amount for sale in sales for m, amount in sale.payments if m is method]
        back = [amount for refund in refunds for m, amount in refund.amounts if m is method]
        by_method.append(
            MethodFigures(
                method=method,
                sales_count=sum(1 for sale in sales if any(m is method for m, _ in sale.payments)),
                sales=sum(paid),
                refund_count=sum(1 for refund in refunds if any(m is method for m, _ in refund.amounts)),
                refunds=sum(back),
            )
        )
    net_sales = sum(sale.net for sale in sales)
    refunded = sum(amount for refund in refunds for _, amount in refund.amounts)
    cash = next(m for m in by_method if m.method is PaymentMethod.CASH)
    expected = opening_float + cash.sales - cash.refunds
    return TillFigures(
        sales_count=len(sales),
        gross_sales=sum(sale.gross for sale in sales),
        discounts=sum(sale.discounts for sale in sales),
        coupons=sum(sale.coupon for sale in sales),
        net_sales=net_sales,
        refund_count=len(refunds),
        refunds=refunded,
        takings=net_sales - refunded,
        by_method=by_method,
        opening_float=opening_float,
        cash_expected=expected,
        counted_cash=counted_cash,
        over_short=None if counted_cash is None else counted_cash - expected,
    )


def inconsistencies(figures: TillFigures) -> list[str]:
    """What in ``figures`` does not add up, in words; empty when everything does."""
    f = figures
    found = []
    if f.net_sales != f.gross_sales - f.discounts - f.coupons:
        found.append(f"net sales {f.net_sales} are not gross - discounts - coupons")
    methods = [m.method for m in f.by_method]
    if len(set(methods)) != len(methods):
        found.append("a payment method is listed twice")
    if sum(m.sales for m in f.by_method) != f.net_sales:
        found.append("the methods' sales do not add up to the net sales")
    if sum(m.refunds for m in f.by_method) != f.refunds:
        found.append("the methods' refunds do not add up to the refunds")
    if f.takings != f.net_sales - f.refunds:
        found.append(f"takings {f.takings} are not net sales - refunds")
    found += _counts_without_money(f)
    cash = f.method(PaymentMethod.CASH)
    if f.cash_expected != f.opening_float + cash.sales - cash.refunds:
        found.append("cash expected is not the float + cash sales - cash refunds")
    if f.counted_cash is None and f.over_short is not None:
        found.append("an over/short without counted cash")
    if f.counted_cash is not None and f.over_short != f.counted_cash - f.cash_expected:
        found.append("over/short is not counted - expected cash")
    return found


def _counts_without_money(f: TillFigures) -> list[str]:
    """Money with no sale or refund to carry it, or more sales by one method than there were sales."""
    found = []
    if f.sales_count == 0 and f.gross_sales:
        found.append("gross sales without a sale")
    if f.refund_count == 0 and f.refunds:
        found.append("refunds without a refund")
    for m in f.by_method:
        if m.sales_count > f.sales_count or m.refund_count > f.refund_count:
            found.append(f"more {m.method.value} sales or refunds than the period holds")
        if (m.sales_count == 0 and m.sales) or (m.refund_count == 0 and m.refunds):
            found.append(f"{m.method.value} money without a sale or refund by it")
    return found


def report_day(moments: Sequence[datetime], end: datetime) -> date:
    """A period's business day: the Taiwan day of its first sale or refund (``moments``), or of its end
    when it holds none."""
    return business_day(min(moments, default=end))


# --- the reports ---------------------------------------------------------------------------------------------


class XReport(CamelModel):
    """The till's period so far, as it would close now (an X-report: reading it changes nothing).
    ``periodStart`` is the end of the till's last Z-report (null before its first)."""

    store_id: Ident
    device_id: Ident
    business_day: date
    period_start: AwareDatetime | None
    period_end: AwareDatetime
    figures: TillFigures


class ZReport(XReport):
    """A closed period (a Z-report, 日結), numbered 1, 2, 3... per till (``deviceId``): made at the node by
    a manager, kept there and sent to the cloud (the ``zReports`` uplink stream), never changed after."""

    z_report_id: Ident
    number: ZReportNumber
    closed_by: StaffRef = Field(description="The manager who closed the period")
    note: ReportNote | None = None
