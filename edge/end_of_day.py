"""End of day at the node: the X-report (the till's open period, as it would close now) and the Z-report,
which closes it (docs/domain.md, "End of day").

Closing is one write transaction: the open period is read from the till's journal (``edge.till``), its
figures worked out (``models.end_of_day``), the report numbered after the node's last one, kept, every
journal row of the period closed under its number, and the report queued for the cloud (the ``zReports``
stream). The write lock is held from the first read, so no sale can slip in between reading the period and
closing it: it waits, and belongs to the next period.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from edge import outbox, till
from edge.tables import z_reports
from edge.uplink_facts import sender
from models.end_of_day import XReport, ZReport, report_day, till_figures
from models.errors import Conflict, InvalidInput, NotFound
from models.ids import new_id
from models.node_api import EndOfDayClose, Page
from models.paging import decode_cursor, encode_cursor
from models.staff import StaffRef


def _last(conn: Connection) -> Any:
    """The node's latest Z-report row, or None before its first."""
    return conn.execute(select(z_reports).order_by(z_reports.c.number.desc()).limit(1)).first()


def preview(
    conn: Connection, now: datetime, *, opening_float: int, counted_cash: int | None = None
) -> XReport:
    """The open period as it would close at ``now`` (an X-report): nothing is written."""
    who = sender(conn)
    last = _last(conn)
    start = last.closed_at if last is not None else None
    # A clock set back since the last close does not end a period before it began.
    end = max(now, start) if start is not None else now
    period = till.open_period(conn)
    return XReport(
        store_id=who.store_id,
        device_id=who.device_id,
        business_day=report_day(period.moments, end),
        period_start=start,
        period_end=end,
        figures=till_figures(
            period.sales, period.refunds, opening_float=opening_float, counted_cash=counted_cash
        ),
    )


def close(
    conn: Connection, request: EndOfDayClose, *, staff: StaffRef, now: datetime
) -> tuple[ZReport, bool]:
    """Close the open period into the next Z-report (in the caller's write transaction); the report, and
    False when an earlier close with the request's idempotency key made it (then nothing is written)."""
    if request.idempotency_key is not None:
        earlier = _earlier_close(conn, request)
        if earlier is not None:
            return earlier, False
    last = _last(conn)
    so_far = preview(conn, now, opening_float=request.opening_float, counted_cash=request.counted_cash)
    report = ZReport(
        **so_far.to_row(),
        z_report_id=new_id(),
        number=last.number + 1 if last is not None else 1,
        closed_by=staff,
        note=request.note,
    )
    conn.execute(
        insert(z_reports).values(
            number=report.number,
            z_report_id=report.z_report_id,
            idempotency_key=request.idempotency_key,
            closed_at=report.period_end,
            report=report.model_dump_json(),
        )
    )
    till.close(conn, report.number)
    outbox.enqueue(conn, report, now)
    return report, True


def _earlier_close(conn: Connection, request: EndOfDayClose) -> ZReport | None:
    """The report a close with this key made, for a repeat of the same close; None when the key is new. The
    key with other figures (another float or count, another note) is refused: it is another close."""
    row = conn.execute(
        select(z_reports).where(z_reports.c.idempotency_key == request.idempotency_key)
    ).first()
    if row is None:
        return None
    report = ZReport.model_validate_json(row.report)
    asked = (request.opening_float, request.counted_cash, request.note)
    if asked != (report.figures.opening_float, report.figures.counted_cash, report.note):
        raise Conflict(
            "this idempotency key closed a period with other figures",
            code="idempotencyKeyReused",
            number=report.number,
        )
    return report


def get_report(conn: Connection, number: int) -> ZReport:
    row = conn.execute(select(z_reports.c.report).where(z_reports.c.number == number)).first()
    if row is None:
        raise NotFound(f"Z-report {number} not found", code="zReportNotFound")
    return ZReport.model_validate_json(row.report)


def list_reports(conn: Connection, *, cursor: str | None, limit: int) -> Page[ZReport]:
    """The node's Z-reports, the latest first."""
    stmt = select(z_reports.c.number, z_reports.c.report).order_by(z_reports.c.number.desc()).limit(limit + 1)
    before = _number_of(cursor)
    if before is not None:
        stmt = stmt.where(z_reports.c.number < before)
    rows = conn.execute(stmt).all()
    page, more = rows[:limit], len(rows) > limit
    return Page(
        items=[ZReport.model_validate_json(r.report) for r in page],
        next_cursor=encode_cursor(str(page[-1].number)) if more and page else None,
    )


def _number_of(cursor: str | None) -> int | None:
    key = decode_cursor(cursor)
    if key is None:
        return None
    if not key.isdigit():  # a cursor of another list: a position this one cannot take
        raise InvalidInput("cursor is not one this API returned", code="invalidCursor", field="cursor")
    return int(key)
