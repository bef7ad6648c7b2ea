"""Staff logins at the store node: name and PIN for a short-lived bearer token, offline.

- **Tokens** are 32 random bytes shown once; the node keeps only their SHA-256 (``plumbing.credentials``).
  A token works for ``staff_session_minutes`` (8 hours, a shift, at most), until logout, or until its
  account is removed or its PIN changes. The role is read from the account on every request, so a role
  changed in the cloud applies at once.
- **Failures lock the name**, whether an account has it or not (the answer never tells which names
  exist, and a wrong name costs the same argon2 check as a wrong PIN). The first ``FREE_FAILURES`` in a row
  cost nothing; each one after that locks the name for ``FIRST_LOCK_S``, doubling up to ``MAX_LOCK_S``.
  While locked, a login answers ``429 tooManyAttempts`` with ``Retry-After`` before the PIN is looked at.
  A success, or ``edgestore edge staff unlock NAME``, clears the name's failures; failures older than
  ``FORGET_AFTER`` no longer count. With 4 digits, that leaves a guesser about 100 tries a day, while a
  cashier who mistypes a few times waits at most half a minute.
- **Races**: the attempt is counted as a failure before the PIN is checked, in its own write
  transaction (SQLite's lock makes count-and-record one step), and forgiven after a success; so twenty
  parallel guesses are twenty counted failures, while argon2 (tens of milliseconds) runs outside the lock
  and never holds up a checkout.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.dialects.sqlite import insert as upsert

from edge import staff as accounts
from edge.db import Database
from edge.tables import staff, staff_login_failures, staff_sessions
from models.errors import TooManyAttempts, Unauthenticated
from models.staff import StaffRole, name_key
from plumbing.credentials import new_token, token_hash, verify_pin

FREE_FAILURES = 5
FIRST_LOCK_S = 30
MAX_LOCK_S = 15 * 60
FORGET_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class StaffMember:
    """Who a live token belongs to, as the account is now."""

    staff_id: str
    name: str
    role: StaffRole
    expires_at: datetime


def lock_seconds(failures: int) -> int:
    """How long the ``failures``-th failure in a row locks its name: nothing for the free ones, then
    ``FIRST_LOCK_S`` doubling per failure up to ``MAX_LOCK_S``."""
    if failures < FREE_FAILURES:
        return 0
    doublings = min(failures - FREE_FAILURES, 32)  # 2**32 x the first lock is past any cap
    return int(min(FIRST_LOCK_S * 2**doublings, MAX_LOCK_S))


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


def _count_attempt(conn: Connection, key: str, now: datetime) -> None:
    """Refuse while the name is locked; otherwise record this attempt as a failure (forgiven on success)."""
    # Names nobody tried for a day count nothing any more: dropped, so a flood of made-up names cannot grow
    # the table for good.
    conn.execute(
        delete(staff_login_failures).where(staff_login_failures.c.last_failure_at <= now - FORGET_AFTER)
    )
    row = conn.execute(select(staff_login_failures).where(staff_login_failures.c.name_key == key)).first()
    failures = 0
    if row is not None:
        if row.locked_until is not None and row.locked_until > now:
            raise TooManyAttempts(_seconds_until(row.locked_until, now))
        failures = int(row.failures)
    failures += 1
    wait = lock_seconds(failures)
    locked_until = now + timedelta(seconds=wait) if wait else None
    values = {"failures": failures, "last_failure_at": now, "locked_until": locked_until}
    conn.execute(
        upsert(staff_login_failures)
        .values(name_key=key, **values)
        .on_conflict_do_update(index_elements=[staff_login_failures.c.name_key], set_=values)
    )


def login(db: Database, name: str, pin: str, now: datetime, ttl: timedelta) -> tuple[str, StaffMember]:
    """A new token for the active account named ``name`` whose PIN is ``pin``. Raises ``TooManyAttempts``
    while the name is locked and ``Unauthenticated`` (``invalidCredentials``) for a wrong name or PIN."""
    key = name_key(name)
    with db.write() as conn:
        _count_attempt(conn, key, now)
        row = accounts.active_row(conn, name)
    right = verify_pin(row.pin_hash if row is not None else None, pin)  # always: unknown names cost the same
    if row is None or not right:
        raise Unauthenticated("wrong name or PIN", code="invalidCredentials")
    token = new_token()
    expires_at = now + ttl
    with db.write() as conn:
        conn.execute(delete(staff_login_failures).where(staff_login_failures.c.name_key == key))
        conn.execute(delete(staff_sessions).where(staff_sessions.c.expires_at <= now))  # keep the table small
        still = accounts.active_row(conn, name)
        if still is None or still.staff_id != row.staff_id or still.pin_hash != row.pin_hash:
            # Removed, or given a new PIN, by the cloud while the PIN was being checked.
            raise Unauthenticated("wrong name or PIN", code="invalidCredentials")
        conn.execute(
            insert(staff_sessions).values(
                token_hash=token_hash(token), staff_id=row.staff_id, created_at=now, expires_at=expires_at
            )
        )
    return token, StaffMember(row.staff_id, row.name, StaffRole(row.role), expires_at)


def member_for_token(conn: Connection, token: str, now: datetime) -> StaffMember:
    """The staff member a live token belongs to; ``Unauthenticated`` for a token that is unknown, expired,
    logged out, or whose account was removed or given a new PIN."""
    row = conn.execute(
        select(staff.c.staff_id, staff.c.name, staff.c.role, staff_sessions.c.expires_at)
        .join(staff, staff.c.staff_id == staff_sessions.c.staff_id)
        .where(
            staff_sessions.c.token_hash == token_hash(token),
            staff_sessions.c.expires_at > now,
            staff.c.removed.is_(False),
        )
    ).first()
    if row is None:
        raise Unauthenticated("log in again: the staff token is unknown, expired or logged out")
    return StaffMember(row.staff_id, row.name, StaffRole(row.role), row.expires_at)


def logout(conn: Connection, token: str) -> None:
    conn.execute(delete(staff_sessions).where(staff_sessions.c.token_hash == token_hash(token)))


def unlock(conn: Connection, name: str) -> bool:
    """Forget a name's failed logins (a manager at the node's console); True when it had any."""
    result = conn.execute(
        delete(staff_login_failures).where(staff_login_failures.c.name_key == name_key(name))
    )
    return bool(result.rowcount)
