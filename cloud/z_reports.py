"""The stores' Z-reports (日結): each till's closed periods as its store node sent them up the ``zReports``
stream, kept once by id (``ingest_z_report``, which the sync layer calls after the record checks) and listed
per store for its seller.

A report whose drawer was counted short rings the seller's ``cashShort`` bell in the transaction that keeps
it, so the bell rings once, and only for a report that is there. One over is shown (the dashboard marks it)
but rings nothing: money found is no alarm.
"""

from datetime import datetime

from sqlalchemy import Connection, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert

from cloud import notifications, sellers
from cloud.tables import z_reports
from models.cloud_api import NotificationKind, ZReportList
from models.end_of_day import ZReport
from models.paging import decode_time_cursor, encode_time_cursor


def ingest_z_report(conn: Connection, seller_id: str, report: ZReport, now: datetime) -> bool:
    """Keep a Z-report of one of ``seller_id``'s stores (the sender's, as the record checks made sure);
    False when it was here already (a redelivery)."""
    kept = conn.execute(
        pg_insert(z_reports)
        .values(
            z_report_id=report.z_report_id,
            seller_id=seller_id,
            store_id=report.store_id,
            device_id=report.device_id,
            number=report.number,
            business_day=report.business_day,
            period_end=report.period_end,
            report=report.to_json_dict(),
            received_at=now,
        )
        # Only the id: the same number under another id is another report, which the record checks refuse
        # and the unique index would not let in.
        .on_conflict_do_nothing(index_elements=["z_report_id"])
        .returning(z_reports.c.z_report_id)
    ).first()
    if kept is None:
        return False
    if report.figures.short:
        _ring_cash_short(conn, seller_id, report, now)
    return True


def _ring_cash_short(conn: Connection, seller_id: str, report: ZReport, now: datetime) -> None:
    figures = report.figures
    notifications.notify(
        conn,
        seller_id,
        NotificationKind.CASH_SHORT,
        {
            "zReportId": report.z_report_id,
            "storeId": report.store_id,
            "storeName": sellers.get_store(conn, seller_id, report.store_id).name,
            "number": report.number,
            "businessDay": report.business_day.isoformat(),
            "cashExpected": figures.cash_expected,
            "countedCash": figures.counted_cash,
            "short": -(figures.over_short or 0),
            "closedBy": report.closed_by.name,
        },
        ref_type="zReport",
        ref_id=report.z_report_id,
        now=now,
    )


def list_z_reports(
    conn: Connection, seller_id: str, store_id: str, *, cursor: str | None, limit: int
) -> ZReportList:
    """The store's Z-reports, the latest (by the end of their period) first; another seller's store is
    not found."""
    sellers.get_store(conn, seller_id, store_id)
    query = select(z_reports.c.report, z_reports.c.period_end, z_reports.c.z_report_id).where(
        z_reports.c.store_id == store_id, z_reports.c.seller_id == seller_id
    )
    after = decode_time_cursor(cursor)
    if after is not None:
        query = query.where(tuple_(z_reports.c.period_end, z_reports.c.z_report_id) < tuple_(*after))
    rows = conn.execute(
        query.order_by(z_reports.c.period_end.desc(), z_reports.c.z_report_id.desc()).limit(limit + 1)
    ).all()
    page = rows[:limit]
    return ZReportList(
        items=[ZReport.model_validate(r.report) for r in page],
        next_cursor=encode_time_cursor(page[-1].period_end, page[-1].z_report_id)
        if len(rows) > limit
        else None,
    )
