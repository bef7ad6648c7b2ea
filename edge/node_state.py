"""Facts about this node kept in its database: its device id, its store and the store's name, the catalog
version it holds (and the version phones' cached catalogs must be reset before), how its search index was
built, the cloud's recognition photo set version it holds."""

from contextlib import suppress
from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.dialects.sqlite import insert

from edge.tables import node_state
from models.ids import new_id
from sync_protocol.errors import ClockDriftExceeded
from sync_protocol.hlc import HLC, HybridClock

DEVICE_ID = "deviceId"
STORE_ID = "storeId"
CATALOG_VERSION = "catalogVersion"
LAST_CLOUD_CONTACT_AT = "lastCloudContactAt"
DOWNLINK_SEQ = "downlinkSeq"  # the position in the store's downlink feed applied up to
HLC_LAST = "hlcLast"  # the node's latest HLC stamp, so stamps keep increasing across restarts
SEARCH_INDEX_VERSION = "searchIndexVersion"  # how product_search's rows were built (edge.search_index)
# The version of the seller's cloud-enrolled recognition photo set the node holds in full (issue 18)
RECOGNITION_PHOTOS_VERSION = "recognitionPhotosVersion"
# A phone's cached catalog older than this cannot be brought up to date by per-product changes: discounts
# or categories changed at this version (edge.product_revisions)
CATALOG_RESET_VERSION = "catalogResetVersion"
STORE_NAME = "storeName"  # the store's name, from the last catalog snapshot that named it


def get(conn: Connection, key: str) -> str | None:
    return conn.execute(select(node_state.c.value).where(node_state.c.key == key)).scalar_one_or_none()


def put(conn: Connection, key: str, value: str | None) -> None:
    stmt = insert(node_state).values(key=key, value=value)
    conn.execute(stmt.on_conflict_do_update(index_elements=[node_state.c.key], set_={"value": value}))


def ensure_identity(
    conn: Connection, configured_store_id: str | None, configured_device_id: str | None = None
) -> tuple[str, str | None]:
    """The node's device id and store id: configured ones (from provisioning) win over remembered ones; with
    none configured, the device id is made once, on first start."""
    if configured_device_id is not None and get(conn, DEVICE_ID) != configured_device_id:
        put(conn, DEVICE_ID, configured_device_id)
    device_id = get(conn, DEVICE_ID)
    if device_id is None:
        device_id = new_id()
        put(conn, DEVICE_ID, device_id)
    if configured_store_id is not None and get(conn, STORE_ID) != configured_store_id:
        put(conn, STORE_ID, configured_store_id)
    return device_id, get(conn, STORE_ID)


def catalog_version(conn: Connection) -> int | None:
    value = get(conn, CATALOG_VERSION)
    return int(value) if value is not None else None


def catalog_reset_version(conn: Connection) -> int | None:
    value = get(conn, CATALOG_RESET_VERSION)
    return int(value) if value is not None else None


def downlink_seq(conn: Connection) -> int:
    value = get(conn, DOWNLINK_SEQ)
    return int(value) if value is not None else 0


def recognition_photos_version(conn: Connection) -> int:
    """The cloud-enrolled photo set version held in full; 0 for none (``edge.recognition.cloud_photos``)."""
    value = get(conn, RECOGNITION_PHOTOS_VERSION)
    return int(value) if value is not None else 0


def stamp(conn: Connection, device_id: str, now: datetime, *, observed: HLC | None = None) -> HLC:
    """The node's next HLC stamp (after ``observed``, a remote stamp just received, if it is not too far
    ahead), persisted in the caller's write transaction."""
    value = get(conn, HLC_LAST)
    clock = HybridClock(device_id, last=HLC.parse(value) if value else None)
    now_ms = int(now.timestamp() * 1000)
    if observed is not None:
        # A clock far ahead does not drag ours along; the merge still orders by the stamps.
        with suppress(ClockDriftExceeded):
            clock.observe(observed, now_ms)
    stamped = clock.tick(now_ms)
    put(conn, HLC_LAST, stamped.encode())
    return stamped
