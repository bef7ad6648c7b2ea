"""Health and sync status: what field staff and the kiosk check first.

``/health`` is open: the kiosk, a monitor and a technician read whether the node runs, is linked and has a
backlog (``pendingOutbox``). ``/sync/status`` is staff only: per stream, what waits, the dead letters and the
resends are for the people who run the shop.
"""

import logging

from fastapi import APIRouter

from edge import model_files, node_state, outbox
from edge.api.deps import NodeDep, StaffDep
from edge.api.routes_recognition import recognition_health
from edge.node import Node
from edge.sync_downlink import dead_letter_count
from models.node_api import CloudLink, Health, ModelRejection, SnapshotDownload, SyncStatus
from plumbing import VERSION

log = logging.getLogger(__name__)
router = APIRouter(tags=["system"])


@router.get("/health")
def health(node: NodeDep) -> Health:
    database_ok, pending, store_id, catalog_version, models = False, 0, None, None, {}
    store_name = None
    recognition = None
    try:
        with node.db.read() as conn:
            pending = outbox.pending_count(conn)
            store_id = node_state.get(conn, node_state.STORE_ID)
            store_name = node_state.get(conn, node_state.STORE_NAME)
            catalog_version = node_state.catalog_version(conn)
            models = model_files.versions(conn)
            if node.recognizer is not None:
                recognition = recognition_health(node, conn)
        database_ok = True
    except Exception:  # health reports an unreadable database instead of failing
        database_ok = False
    return Health(
        status="ok" if database_ok else "degraded",
        version=VERSION,
        store_id=store_id,
        device_id=node.device_id,
        database_ok=database_ok,
        catalog_version=catalog_version,
        online=node.cloud.connected,
        cloud=CloudLink(connected=node.cloud.connected, last_contact_at=node.cloud.last_contact_at),
        pending_outbox=pending,
        models=models,
        recognition=recognition,
        store_name=store_name,
    )


def _model_rejections(node: Node) -> dict[str, ModelRejection]:
    """The model files refused; none said when the node's state cannot be read (health says that)."""
    try:
        with node.db.read() as conn:
            return model_files.rejections(conn)
    except Exception:  # the sync status is still worth showing
        log.exception("model rejections unreadable")
        return {}


@router.get("/sync/status")
def sync_status(node: NodeDep, _member: StaffDep) -> SyncStatus:
    with node.db.read() as conn:
        streams = outbox.backlog(conn)
        refused = dead_letter_count(conn)
    rejected = _model_rejections(node)
    acks = [s.last_ack_at for s in streams if s.last_ack_at is not None]
    return SyncStatus(
        online=node.cloud.connected,
        pending_total=sum(s.pending for s in streams),
        last_ack_at=max(acks) if acks else None,
        streams=streams,
        dead_letters=refused,
        waiting_for_ack_since=node.cloud.waiting_for_ack_since,
        resends=node.cloud.resends,
        model_rejections=[r for _, r in sorted(rejected.items())],
        snapshot_download=_snapshot_download(node),
    )


def _snapshot_download(node: Node) -> SnapshotDownload | None:
    progress = node.cloud.snapshot_download  # read once: the sync agent's thread clears it when done
    if progress is None:
        return None
    return SnapshotDownload(
        what=progress.what,
        phase=progress.phase,
        started_at=progress.started_at,
        received_bytes=progress.received_bytes,
        expected_bytes=progress.expected_bytes,
        resumed_from=progress.resumed_from,
    )
