"""A store's Z-reports (日結), as its store nodes closed and sent them: the seller reads them here (the
dashboard's Z-reports tab shows the same list)."""

from fastapi import APIRouter

from cloud import z_reports
from cloud.api.deps import CloudDep, CursorQuery, LimitQuery, SellerId, StoreIdPath
from models.cloud_api import ZReportList

router = APIRouter(tags=["end of day"])


@router.get("/stores/{storeId}/z-reports")
def list_z_reports(
    store_id: StoreIdPath,
    cloud: CloudDep,
    seller_id: SellerId,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> ZReportList:
    """The store's Z-reports, the latest first (by the end of their period): each till's closed period with
    its sales, refunds, payment methods, the cash expected in the drawer and, when counted, over/short
    (below zero: short, which rang the ``cashShort`` bell). Another seller's store is 404."""
    with cloud.db.read() as conn:
        return z_reports.list_z_reports(conn, seller_id, store_id, cursor=cursor, limit=limit)
