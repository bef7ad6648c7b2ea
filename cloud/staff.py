"""A seller's store staff: who may log in at each store's node, with what role and PIN.

Every change (an account made, renamed, given another role or PIN, removed) is a new ``version`` of the
account and goes down the store's feed in the same transaction (``cloud.sync_downlink.queue_staff``); a
store snapshot carries the store's accounts too, so a node that starts from one never misses an account
made before. PINs are kept and sent only as argon2 hashes (``plumbing.credentials``); a PIN the cloud makes
is returned once, to be told to the person. Removed accounts stay, marked, so nodes hear of the removal.

Names are unique among a store's active accounts whatever their case or width (``models.staff.name_key``):
the name is what staff type at the node. Every query is scoped to the calling seller; another seller's store
or account is 'not found'.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from cloud import sellers, sync_downlink
from cloud.tables import staff
from models.cloud_api import StaffCreate, StaffPublic, StaffSaved, StaffUpdate
from models.errors import Conflict, NotFound
from models.ids import new_id
from models.staff import StaffRecord, StaffRole, name_key
from plumbing.credentials import hash_pin, new_pin


def _public(row: Any) -> StaffPublic:
    return StaffPublic(
        staff_id=row.staff_id,
        store_id=row.store_id,
        name=row.name,
        role=StaffRole(row.role),
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def record(row: Any) -> StaffRecord:
    """The account as it goes to the store's nodes."""
    return StaffRecord(
        staff_id=row.staff_id,
        store_id=row.store_id,
        name=row.name,
        role=StaffRole(row.role),
        pin_hash=row.pin_hash,
        removed=row.removed_at is not None,
        version=row.version,
    )


def _taken(name: str) -> Conflict:
    return Conflict(f"the store has a staff member named {name}", code="staffNameTaken", field="name")


def _check_free(conn: Connection, store_id: str, name: str, staff_id: str | None = None) -> None:
    query = select(staff.c.staff_id).where(
        staff.c.store_id == store_id, staff.c.name_key == name_key(name), staff.c.removed_at.is_(None)
    )
    if staff_id is not None:
        query = query.where(staff.c.staff_id != staff_id)
    if conn.execute(query).first() is not None:
        raise _taken(name)


def _row(conn: Connection, seller_id: str, store_id: str, staff_id: str, *, lock: bool = False) -> Any:
    query = select(staff).where(
        staff.c.staff_id == staff_id,
        staff.c.store_id == store_id,
        staff.c.seller_id == seller_id,
        staff.c.removed_at.is_(None),
    )
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound(f"staff {staff_id} not found", code="staffNotFound")
    return row


def _saved(conn: Connection, staff_id: str, now: datetime, pin: str | None) -> StaffSaved:
    """After a write: the account sent down the store's feed, and returned with the PIN the cloud made."""
    row = conn.execute(select(staff).where(staff.c.staff_id == staff_id)).one()
    sync_downlink.queue_staff(conn, record(row), now)
    return StaffSaved(**_public(row).model_dump(), pin=pin)


def create(conn: Connection, seller_id: str, store_id: str, body: StaffCreate, now: datetime) -> StaffSaved:
    sellers.get_store(conn, seller_id, store_id)
    _check_free(conn, store_id, body.name)
    pin = body.pin or new_pin()
    made = None if body.pin else pin  # shown once, when the cloud chose it
    staff_id = new_id()
    try:
        with conn.begin_nested():
            conn.execute(
                insert(staff).values(
                    staff_id=staff_id,
                    seller_id=seller_id,
                    store_id=store_id,
                    name=body.name,
                    name_key=name_key(body.name),
                    role=body.role.value,
                    pin_hash=hash_pin(pin),
                    version=1,
                    created_at=now,
                    updated_at=now,
                )
            )
    except IntegrityError:  # a concurrent request took the name between the check and the insert
        raise _taken(body.name) from None
    return _saved(conn, staff_id, now, made)


def list_staff(conn: Connection, seller_id: str, store_id: str) -> list[StaffPublic]:
    """The store's active staff, by name."""
    sellers.get_store(conn, seller_id, store_id)
    rows = conn.execute(
        select(staff)
        .where(staff.c.store_id == store_id, staff.c.seller_id == seller_id, staff.c.removed_at.is_(None))
        .order_by(staff.c.name_key, staff.c.staff_id)
    )
    return [_public(r) for r in rows]


def get(conn: Connection, seller_id: str, store_id: str, staff_id: str) -> StaffPublic:
    sellers.get_store(conn, seller_id, store_id)
    return _public(_row(conn, seller_id, store_id, staff_id))


def update_staff(
    conn: Connection, seller_id: str, store_id: str, staff_id: str, body: StaffUpdate, now: datetime
) -> StaffSaved:
    sellers.get_store(conn, seller_id, store_id)
    row = _row(conn, seller_id, store_id, staff_id, lock=True)
    changes: dict[str, Any] = {}
    if body.name is not None and body.name != row.name:
        _check_free(conn, store_id, body.name, staff_id)
        changes |= {"name": body.name, "name_key": name_key(body.name)}
    if body.role is not None and body.role.value != row.role:
        changes["role"] = body.role.value
    made = new_pin() if body.new_pin else None
    pin = body.pin or made
    if pin is not None:
        changes["pin_hash"] = hash_pin(pin)
    if not changes:
        return StaffSaved(**_public(row).model_dump(), pin=None)  # nothing new to tell the store
    try:
        with conn.begin_nested():
            conn.execute(
                update(staff)
                .where(staff.c.staff_id == staff_id)
                .values(**changes, version=staff.c.version + 1, updated_at=now)
            )
    except IntegrityError:
        raise _taken(body.name or row.name) from None
    return _saved(conn, staff_id, now, made)


def remove(conn: Connection, seller_id: str, store_id: str, staff_id: str, now: datetime) -> None:
    """Remove an account: the store's nodes end its logins when the feed brings the removal."""
    sellers.get_store(conn, seller_id, store_id)
    _row(conn, seller_id, store_id, staff_id, lock=True)
    conn.execute(
        update(staff)
        .where(staff.c.staff_id == staff_id)
        .values(removed_at=now, version=staff.c.version + 1, updated_at=now)
    )
    _saved(conn, staff_id, now, None)


def records_for_store(conn: Connection, store_id: str) -> list[StaffRecord]:
    """Every account of the store, removed ones too, for its snapshot."""
    rows = conn.execute(select(staff).where(staff.c.store_id == store_id).order_by(staff.c.staff_id))
    return [record(r) for r in rows]
