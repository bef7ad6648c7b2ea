"""The sync's health as a seller sees it: whether the cloud is applying what the stores send."""

from fastapi import APIRouter
from sqlalchemy import func, select

from cloud.api.deps import CloudDep, SellerId
from cloud.tables import dead_letters, stores
from models.cloud_api import SyncIngestStatus

router = APIRouter(tags=["sync"])


@router.get("/sync/status")
def sync_status(cloud: CloudDep, seller_id: SellerId) -> SyncIngestStatus:
    health = cloud.ingest_health.snapshot()
    with cloud.db.read() as conn:
        refused = conn.execute(
            select(func.count())
            .select_from(dead_letters)
            .join(stores, stores.c.store_id == dead_letters.c.store_id)
            .where(stores.c.seller_id == seller_id)
        ).scalar_one()
    return SyncIngestStatus(
        retrying=health.retrying,
        failing_since=health.failing_since,
        failures=health.failures,
        last_error=health.last_error,
        last_applied_at=health.last_applied_at,
        dead_letters=int(refused),
    )
