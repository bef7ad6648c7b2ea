"""Staff accounts at the store node: the seller's, sent down by the cloud, and the node's own.

Two origins, one rule per name:

- **cloud**: the seller manages the store's staff in the cloud; each account reaches the node in the store's
  feed (and in its snapshot) as a versioned ``StaffRecord``, applied only when newer than what the node
  holds. The node never changes one by itself: ``edgestore edge staff remove`` refuses, so the cloud and
  the node cannot disagree about an account (remove it in the dashboard; it leaves the node with the next
  feed message).
- **local**: made at the node with ``edgestore edge staff add``, so a node that was never online, or has
  no link today, can still be served. Unknown to the cloud; changed only at the node.

A name (compared by ``models.staff.name_key``) belongs to at most one active account. A local account
cannot take a name a cloud account has; when a cloud account arrives (or is renamed) with a name a local
one holds, the cloud's wins: the local account is removed and its sessions end. Accounts are never deleted
(order events name them), only marked removed; removing an account or changing its PIN ends its sessions.

Every function runs in the caller's write transaction, which holds the database lock from BEGIN, so a
check and the write after it cannot be raced.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from edge.tables import staff, staff_sessions
from models.errors import Conflict, NotFound
from models.ids import new_id
from models.staff import StaffRecord, StaffRole, name_key
from plumbing.credentials import hash_pin, new_pin

log = logging.getLogger(__name__)


class Origin(StrEnum):
    CLOUD = "cloud"
    LOCAL = "local"


@dataclass(frozen=True)
class StaffAccount:
    staff_id: str
    name: str
    role: StaffRole
    origin: Origin
    version: int
    removed: bool
    updated_at: datetime


def _account(row: Any) -> StaffAccount:
    return StaffAccount(
        staff_id=row.staff_id,
        name=row.name,
        role=StaffRole(row.role),
        origin=Origin(row.origin),
        version=int(row.version),
        removed=bool(row.removed),
        updated_at=row.updated_at,
    )


def active_row(conn: Connection, name: str) -> Any:
    """The active account holding ``name`` (any case or width), with its PIN hash; None when nobody does."""
    return conn.execute(
        select(staff).where(staff.c.name_key == name_key(name), staff.c.removed.is_(False))
    ).first()


def list_accounts(conn: Connection, *, with_removed: bool = False) -> list[StaffAccount]:
    query = select(staff).order_by(staff.c.name_key, staff.c.staff_id)
    if not with_removed:
        query = query.where(staff.c.removed.is_(False))
    return [_account(r) for r in conn.execute(query)]


def end_sessions(conn: Connection, staff_id: str) -> None:
    conn.execute(delete(staff_sessions).where(staff_sessions.c.staff_id == staff_id))


def add_local(
    conn: Connection, name: str, role: StaffRole, pin: str | None, now: datetime
) -> tuple[StaffAccount, str]:
    """A node-local account; returns it with its PIN (the one given, or a new random one to show once).
    ``Conflict`` (``staffNameTaken``) when an active account has the name."""
    holder = active_row(conn, name)
    if holder is not None:
        where = "the cloud's account" if holder.origin == Origin.CLOUD else "a local account"
        raise Conflict(f"{name} is taken by {where} {holder.name}", code="staffNameTaken", name=holder.name)
    pin = pin or new_pin()
    staff_id = new_id()
    conn.execute(
        insert(staff).values(
            staff_id=staff_id,
            name=name,
            name_key=name_key(name),
            role=role.value,
            pin_hash=hash_pin(pin),
            origin=Origin.LOCAL.value,
            version=1,
            removed=False,
            updated_at=now,
        )
    )
    row = conn.execute(select(staff).where(staff.c.staff_id == staff_id)).one()
    return _account(row), pin


def remove_local(conn: Connection, name: str, now: datetime) -> StaffAccount:
    """Remove a node-local account by name; its sessions end. A cloud account is the seller's to remove."""
    holder = active_row(conn, name)
    if holder is None:
        raise NotFound(f"no active staff account is named {name}", code="staffNotFound")
    if holder.origin == Origin.CLOUD:
        raise Conflict(
            f"{holder.name} is managed in the cloud: remove them in the dashboard's Staff page",
            code="staffManagedInCloud",
        )
    return _mark_removed(conn, holder.staff_id, now)


def _mark_removed(conn: Connection, staff_id: str, now: datetime) -> StaffAccount:
    conn.execute(
        update(staff)
        .where(staff.c.staff_id == staff_id)
        .values(removed=True, version=staff.c.version + 1, updated_at=now)
    )
    end_sessions(conn, staff_id)
    return _account(conn.execute(select(staff).where(staff.c.staff_id == staff_id)).one())


def apply_record(conn: Connection, record: StaffRecord, now: datetime) -> bool:
    """Apply a cloud account (from the feed or a snapshot) when it is newer than the one held; True when it
    changed something. An active one takes its name from any other active account holding it."""
    held = conn.execute(select(staff).where(staff.c.staff_id == record.staff_id)).first()
    if held is not None and held.origin != Origin.CLOUD:
        log.warning("staff %s from the cloud has the id of a local account: not applied", record.staff_id)
        return False
    if held is not None and held.version >= record.version:
        return False
    key = name_key(record.name)
    if not record.removed:
        for other in conn.execute(
            select(staff.c.staff_id, staff.c.name, staff.c.origin).where(
                staff.c.name_key == key, staff.c.removed.is_(False), staff.c.staff_id != record.staff_id
            )
        ).all():
            # The cloud's account wins its name. Another cloud account holding it can only be one renamed in
            # the cloud since, whose own newer record is on its way (the cloud keeps names unique).
            log.info("staff %s (%s) gives the name up to the cloud's account", other.name, other.origin)
            _mark_removed(conn, other.staff_id, now)
    values = {
        "name": record.name,
        "name_key": key,
        "role": record.role.value,
        "pin_hash": record.pin_hash,
        "origin": Origin.CLOUD.value,
        "version": record.version,
        "removed": record.removed,
        "updated_at": now,
    }
    if held is None:
        conn.execute(insert(staff).values(staff_id=record.staff_id, **values))
    else:
        conn.execute(update(staff).where(staff.c.staff_id == record.staff_id).values(**values))
        if record.removed or record.pin_hash != held.pin_hash:
            end_sessions(conn, record.staff_id)  # a new PIN often means the old one was seen
    return True


def apply_records(conn: Connection, records: Iterable[StaffRecord], now: datetime) -> int:
    """The accounts of a store snapshot (the sync's, or a file ``load-catalog`` takes), each applied like a
    feed message; returns how many changed."""
    return sum(apply_record(conn, record, now) for record in records)
