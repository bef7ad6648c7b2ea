"""Facts about this node kept in its database: its device id, its store, the catalog version it holds."""

from sqlalchemy import Connection, select
from sqlalchemy.dialects.sqlite import insert

from edge.tables import node_state
from models.ids import new_id

DEVICE_ID = "deviceId"
STORE_ID = "storeId"
CATALOG_VERSION = "catalogVersion"
LAST_CLOUD_CONTACT_AT = "lastCloudContactAt"


def get(conn: Connection, key: str) -> str | None:
    return conn.execute(select(node_state.c.value).where(node_state.c.key == key)).scalar_one_or_none()


def put(conn: Connection, key: str, value: str | None) -> None:
    stmt = insert(node_state).values(key=key, value=value)
    conn.execute(stmt.on_conflict_do_update(index_elements=[node_state.c.key], set_={"value": value}))


def ensure_identity(conn: Connection, configured_store_id: str | None) -> tuple[str, str | None]:
    """The node's device id (made once, on first start) and store id (configured wins over remembered)."""
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
