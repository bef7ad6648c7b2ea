"""Seller accounts and sessions: argon2 password hashes, opaque session tokens, login limits.

A session token is 32 random bytes shown to the client once; the database keeps only its SHA-256, so a
copy of the table logs nobody in. The same token works as a Bearer header (API clients) and as an
HttpOnly cookie (the dashboard).

Login limits keep a guesser slow without letting a stranger lock the owner out (OWASP's "device cookies"
pattern). Every failure is a ``login_failures`` row (account, source, time), so every cloud process sees
it; three limits read those rows:

- per account and source: the source is the client address, or the browser's known-device id when it
  carries a valid device cookie for this account. After ``login_max_failures`` failures, each further try
  from that source waits ``login_delay_s``, doubling per failure up to ``login_window_s``. This is the
  limit that slows a guesser down, and it only ever holds back that source.
- per address, over all accounts: ``login_address_max_failures`` in ``login_window_s``, so one address
  cannot spray many accounts.
- per account, over all addresses: ``login_account_max_failures`` in the window, against a distributed
  guesser.

Strangers can reach the last two for someone else's account, so a browser that has logged in to the account
before is exempt from them: it carries ``edgestore_device``, a long-lived HttpOnly cookie holding the
seller id and a random device id, signed with the installation secret. The owner on their usual browser
can always log in with the right password; on a new browser, during an attack, they wait like everyone.
"""

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, Connection, delete, func, insert, or_, select, text
from starlette.responses import Response

from cloud.db import CloudDatabase
from cloud.settings import CloudSettings
from cloud.tables import login_failures, sellers, sessions, team_members
from models.errors import Forbidden, TooManyAttempts, Unauthenticated
from models.team import Capability, Role, allows
from models.text import has_control_characters
from plumbing.credentials import new_token, token_hash

_hasher = PasswordHasher()
# Verifying against this when the account does not exist takes as long as a real check, so response
# times do not tell which accounts exist.
_DUMMY_HASH = _hasher.hash("not a real password")

SESSION_COOKIE = "edgestore_session"
DEVICE_COOKIE = "edgestore_device"
# Browsers cap a cookie's lifetime at 400 days (RFC 6265bis); every login renews it.
DEVICE_COOKIE_MAX_AGE_S = 400 * 24 * 3600
_DEVICE_CONTEXT = b"edgestore.device.v1:"
# The source of failures made with a known-device cookie. No client address starts with it.
_DEVICE_SOURCE = "device:"
# How long a source's failures keep counting towards its growing wait (a success clears them sooner).
_SOURCE_MEMORY = timedelta(days=1)
# The first key of our advisory locks: the two-key form is a key space of its own, apart from the
# one-key locks (the migration lock in cloud/db.py), so the hashes below can never meet those.
_LOCK_SPACE = 0x4C4F47  # "LOG"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def open_session(
    conn: Connection, seller_id: str, now: datetime, ttl: timedelta, team_member_id: str | None = None
) -> tuple[str, datetime]:
    """A new session of the seller's owner, or of one of its team members."""
    token = new_token()
    expires_at = now + ttl
    conn.execute(
        insert(sessions).values(
            token_hash=token_hash(token),
            seller_id=seller_id,
            team_member_id=team_member_id,
            created_at=now,
            expires_at=expires_at,
        )
    )
    return token, expires_at


def close_session(conn: Connection, token: str) -> None:
    conn.execute(delete(sessions).where(sessions.c.token_hash == token_hash(token)))


@dataclass(frozen=True)
class Caller:
    """Who a live session belongs to: the seller whose data it reaches, and as whom (``models.team``)."""

    seller_id: str
    role: Role = Role.OWNER
    team_member_id: str | None = None  # None: the owner

    def may(self, capability: Capability) -> bool:
        return allows(self.role, capability)

    def seller_for(self, capability: Capability) -> str:
        """The seller id, when this caller's role holds ``capability``; ``Forbidden`` (403
        ``forbiddenForRole``) otherwise."""
        if not self.may(capability):
            raise Forbidden(f"a {self.role} session may not do this", code="forbiddenForRole", role=self.role)
        return self.seller_id


def caller_for_token(conn: Connection, token: str, now: datetime) -> Caller:
    """Who a live session token belongs to; raises Unauthenticated otherwise (also for a removed member)."""
    row = conn.execute(
        select(sessions.c.seller_id, sessions.c.team_member_id, team_members.c.role)
        .join(sellers, sellers.c.seller_id == sessions.c.seller_id)
        .outerjoin(team_members, team_members.c.team_member_id == sessions.c.team_member_id)
        .where(
            sessions.c.token_hash == token_hash(token),
            sessions.c.expires_at > now,
            sellers.c.status == "active",
            or_(sessions.c.team_member_id.is_(None), team_members.c.removed_at.is_(None)),
        )
    ).first()
    if row is None:
        raise Unauthenticated("log in first: the session is missing, expired or logged out")
    if row.team_member_id is None:
        return Caller(str(row.seller_id))
    return Caller(str(row.seller_id), Role(row.role), str(row.team_member_id))


# --- login names: sellers' accounts and team members' emails are one name space ------------------------


def lock_login_name(conn: Connection, name: str) -> None:
    """Serialise everything that takes ``name`` as a login (a seller registering, a member invited) until the
    transaction ends, so a seller's account and a member's email can never be the same, whatever the case:
    the login form has one field."""
    conn.execute(
        text("SELECT pg_advisory_xact_lock(CAST(:space AS integer), CAST(:key AS integer))"),
        {"space": _LOCK_SPACE, "key": _lock_key("login-name", name.lower())},
    )


def login_name_taken(conn: Connection, name: str) -> bool:
    """Whether a seller's account or a live team member (invited or active) logs in with ``name``."""
    key = name.lower()
    seller = conn.execute(select(sellers.c.seller_id).where(func.lower(sellers.c.account) == key)).first()
    member = conn.execute(
        select(team_members.c.team_member_id).where(
            func.lower(team_members.c.email) == key, team_members.c.removed_at.is_(None)
        )
    ).first()
    return seller is not None or member is not None


# --- known devices ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KnownDevice:
    """What a valid device cookie says: this browser logged in as ``seller_id`` before (for a team member's
    login, the member's id stands there)."""

    seller_id: str
    device_id: str


def _device_mac(secret: bytes, seller_id: str, device_id: str) -> str:
    return hmac.new(secret, _DEVICE_CONTEXT + f"{seller_id}.{device_id}".encode(), hashlib.sha256).hexdigest()


def device_cookie(secret: bytes, seller_id: str, device_id: str | None = None) -> str:
    """The cookie value ``seller_id.device_id.mac``; a new random device id unless one is given."""
    device_id = device_id or secrets.token_urlsafe(16)
    return f"{seller_id}.{device_id}.{_device_mac(secret, seller_id, device_id)}"


def known_device(secret: bytes, cookie: str | None) -> KnownDevice | None:
    """The device a cookie names, if our secret signed it; None for anything else."""
    if not cookie or len(cookie) > 200:
        return None
    parts = cookie.split(".")
    if len(parts) != 3 or not all(parts):
        return None
    seller_id, device_id, mac = parts
    if not hmac.compare_digest(_device_mac(secret, seller_id, device_id), mac):
        return None
    return KnownDevice(seller_id, device_id)


# --- the limits -------------------------------------------------------------------------------------------


def _lock_key(kind: str, value: str) -> int:
    digest = hashlib.blake2b(f"{kind}:{value}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


def _serialise(conn: Connection, account: str, client: str) -> None:
    """Take the account's and the address's transaction-scoped advisory locks.

    Why locks: reading the count and recording the attempt are two statements, and concurrent logins (30
    in parallel from outside) all read the same count before any wrote, so all were tried. Holding the
    account's lock from the count to the recorded attempt makes that step one at a time per account (the
    account-wide and per-source limits); the address's lock does the same for the per-address limit over
    many accounts. Under READ COMMITTED each statement after the lock sees what the previous holder
    committed. Both are taken in one fixed order, so two logins can never wait for each other in a cycle;
    a hash collision only serialises two unrelated logins a little. Transaction-scoped, so a crash or an
    error can never leave one held."""
    for key in sorted({_lock_key("account", account), _lock_key("client", client)}):
        conn.execute(
            text("SELECT pg_advisory_xact_lock(CAST(:space AS integer), CAST(:key AS integer))"),
            {"space": _LOCK_SPACE, "key": key},
        )


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


def _source_wait(conn: Connection, account: str, source: str, now: datetime, settings: CloudSettings) -> int:
    """Seconds the source must still wait: its failures past the free ones double the wait each time."""
    memory = max(_SOURCE_MEMORY, timedelta(seconds=settings.login_window_s))
    count, last = conn.execute(
        select(func.count(), func.max(login_failures.c.at)).where(
            login_failures.c.account == account,
            login_failures.c.client == source,
            login_failures.c.at > now - memory,
        )
    ).one()
    if count < settings.login_max_failures:
        return 0
    doublings = min(count - settings.login_max_failures, 32)  # 2**32 x the first wait is past any cap
    wait = min(settings.login_delay_s * 2**doublings, settings.login_window_s)
    until = last + timedelta(seconds=wait)
    return _seconds_until(until, now) if until > now else 0


def _window_wait(
    conn: Connection, which: ColumnElement[bool], limit: int, now: datetime, window_s: int
) -> int:
    """Seconds until fewer than ``limit`` failures of ``which`` remain in the sliding window."""
    window = timedelta(seconds=window_s)
    recent = (which, login_failures.c.at > now - window)
    count = conn.execute(select(func.count()).select_from(login_failures).where(*recent)).scalar_one()
    if count < limit:
        return 0
    # The (count - limit + 1)th oldest failure leaving the window brings the count under the limit.
    leaving = conn.execute(
        select(login_failures.c.at)
        .where(*recent)
        .order_by(login_failures.c.at)
        .offset(count - limit)
        .limit(1)
    ).scalar_one()
    return _seconds_until(leaving + window, now)


def _forget_old(conn: Connection, account: str, client: str, now: datetime, settings: CloudSettings) -> None:
    """Failures too old for any limit; only this account's and address's, which the indexes find."""
    cutoff = now - max(_SOURCE_MEMORY, timedelta(seconds=settings.login_window_s))
    conn.execute(
        delete(login_failures).where(
            login_failures.c.at <= cutoff,
            or_(login_failures.c.account == account, login_failures.c.client == client),
        )
    )


def _verify(password_hash: str | None, password: str) -> bool:
    """Whether the password fits; without a hash (no such account) a dummy one costs the same time."""
    try:
        return bool(_hasher.verify(password_hash or _DUMMY_HASH, password)) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Login:
    seller_id: str
    token: str
    expires_at: datetime
    device: str | None = None  # the known-device cookie to set (None when no secret was given)
    team_member_id: str | None = None  # a team member's login (None: the owner's)
    role: Role = Role.OWNER


@dataclass(frozen=True)
class _Account:
    """Whoever logs in with a name: the owner of a seller account or an accepted team member."""

    seller_id: str
    principal: str  # what a known-device cookie names: the seller id, or the member's id
    password_hash: str | None
    active: bool
    team_member_id: str | None = None
    role: Role = Role.OWNER


def _account(conn: Connection, key: str) -> _Account | None:
    row = conn.execute(
        select(sellers.c.seller_id, sellers.c.password_hash, sellers.c.status).where(
            func.lower(sellers.c.account) == key
        )
    ).first()
    if row is not None:
        return _Account(str(row.seller_id), str(row.seller_id), row.password_hash, row.status == "active")
    member = conn.execute(
        select(
            team_members.c.team_member_id,
            team_members.c.seller_id,
            team_members.c.password_hash,
            team_members.c.role,
            sellers.c.status,
        )
        .join(sellers, sellers.c.seller_id == team_members.c.seller_id)
        .where(
            func.lower(team_members.c.email) == key,
            team_members.c.removed_at.is_(None),
            team_members.c.accepted_at.is_not(None),
        )
    ).first()
    if member is None:
        return None
    return _Account(
        str(member.seller_id),
        str(member.team_member_id),
        member.password_hash,
        member.status == "active",
        str(member.team_member_id),
        Role(member.role),
    )


def login(
    db: CloudDatabase,
    settings: CloudSettings,
    account: str,
    password: str,
    client: str,
    now: datetime,
    *,
    secret: bytes | None = None,
    device: str | None = None,
) -> Login:
    """The one login flow (API and dashboard): limits, argon2 check, failure bookkeeping, new session.

    ``client`` is ``request.client.host``: uvicorn puts a proxy's ``X-Forwarded-For`` there only when that
    proxy is configured (``cloud_forwarded_allow_ips``), so a client cannot choose the address it is
    counted under. ``device`` is the request's known-device cookie, checked with ``secret``; with a
    secret the result carries the cookie to set.

    Raises ``TooManyAttempts`` (with the seconds to wait) when a limit holds, ``Unauthenticated``
    (``invalidCredentials``) for a wrong account or password, which also counts as a failure."""
    if has_control_characters(account) or has_control_characters(client):
        # No account holds one (models.text), and Postgres text cannot hold a NUL: answered like any wrong
        # account, before anything is written (the dashboard's form does not pass through a schema).
        raise Unauthenticated("wrong account or password", code="invalidCredentials")
    key = account.lower()
    client = client[:64]
    presented = known_device(secret, device) if secret is not None else None
    with db.transaction() as conn:
        _serialise(conn, key, client)
        _forget_old(conn, key, client, now, settings)
        row = _account(conn, key)
        # A device cookie counts only for the account it was given for (a member's names the member).
        known = presented if presented and row and presented.seller_id == row.principal else None
        source = _DEVICE_SOURCE + known.device_id if known else client
        waits = [_source_wait(conn, key, source, now, settings)]
        if known is None:
            # A known device skips the address limit too, not only the account's: behind a shared address
            # (carrier-grade NAT on phones, an office) a stranger could otherwise fill it for the owner.
            waits.append(
                _window_wait(
                    conn,
                    login_failures.c.client == client,
                    settings.login_address_max_failures,
                    now,
                    settings.login_window_s,
                )
            )
            waits.append(
                _window_wait(
                    conn,
                    login_failures.c.account == key,
                    settings.login_account_max_failures,
                    now,
                    settings.login_window_s,
                )
            )
        if max(waits) > 0:
            raise TooManyAttempts(max(waits))
        # The attempt is recorded as a failure before the password is checked, and the lock is released
        # with this commit: argon2 (tens of milliseconds) then runs outside the lock and without holding
        # a connection, while every later attempt already counts this one. A success deletes it below; a
        # crash, a timeout or a dropped connection in between leaves it counted, which errs on the safe side.
        conn.execute(insert(login_failures).values(account=key, client=source, at=now))
    right = _verify(row.password_hash if row else None, password)  # always: unknown accounts cost the same
    if row is None or not right or not row.active:
        raise Unauthenticated("wrong account or password", code="invalidCredentials")
    with db.transaction() as conn:
        # Only this source's failures: a success must not wipe strangers' failures off the account's count.
        conn.execute(
            delete(login_failures).where(login_failures.c.account == key, login_failures.c.client == source)
        )
        if row.team_member_id is not None and not _member_live(conn, row.team_member_id):
            raise Unauthenticated("wrong account or password", code="invalidCredentials")  # removed meanwhile
        token, expires_at = open_session(
            conn, row.seller_id, now, timedelta(hours=settings.session_ttl_hours), row.team_member_id
        )
    cookie = None
    if secret is not None:
        cookie = device_cookie(secret, row.principal, known.device_id if known else None)
    return Login(row.seller_id, token, expires_at, cookie, row.team_member_id, row.role)


def _member_live(conn: Connection, team_member_id: str) -> bool:
    """Whether the member is still on the team, with a lock on their row: a removal that ends their sessions
    waits for this login to commit (and ends its session too), or this login sees the removal."""
    removed = conn.execute(
        select(team_members.c.removed_at)
        .where(team_members.c.team_member_id == team_member_id)
        .with_for_update()
    ).first()
    return removed is not None and removed.removed_at is None


def set_session_cookie(response: Response, token: str, settings: CloudSettings) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_ttl_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )


def set_device_cookie(response: Response, cookie: str, settings: CloudSettings) -> None:
    """The known-device cookie: HttpOnly (no script reads it), SameSite=Strict (only our own login form
    sends it), kept across logouts: it proves a past login on this browser, it logs nobody in."""
    response.set_cookie(
        DEVICE_COOKIE,
        cookie,
        max_age=DEVICE_COOKIE_MAX_AGE_S,
        httponly=True,
        samesite="strict",
        secure=settings.cookie_secure,
        path="/",
    )


# --- device claims (cloud.claim_codes): the per-address limit, on the same rows -------------------------

CLAIM_ACCOUNT = "#claim"  # no seller's account can be this: '#' is not allowed in one
_CLAIM_SOURCE = "claim:"


def claim_attempt(db: CloudDatabase, settings: CloudSettings, client: str, now: datetime) -> int:
    """Count a device claim from ``client`` (``request.client.host``) as a failure before its code is
    checked, as a login is; returns the row to forget when the claim succeeds (``claim_succeeded``).

    Claim codes are far too many to guess (31**12), but the claim route takes anyone: after
    ``login_address_max_failures`` failed claims from one address in ``login_window_s`` it answers
    ``TooManyAttempts``. Counted apart from logins (their own account and source), so a Pi retrying a
    mistyped code holds no seller's login at that address."""
    source = (_CLAIM_SOURCE + client)[:64]
    with db.transaction() as conn:
        _serialise(conn, CLAIM_ACCOUNT, source)
        _forget_old(conn, CLAIM_ACCOUNT, source, now, settings)
        wait = _window_wait(
            conn,
            login_failures.c.client == source,
            settings.login_address_max_failures,
            now,
            settings.login_window_s,
        )
        if wait > 0:
            raise TooManyAttempts(wait)
        failure_id: int = conn.execute(
            insert(login_failures)
            .values(account=CLAIM_ACCOUNT, client=source, at=now)
            .returning(login_failures.c.failure_id)
        ).scalar_one()
    return failure_id


def claim_succeeded(conn: Connection, failure_id: int) -> None:
    """Forget the attempt ``claim_attempt`` counted: the claim went through."""
    conn.execute(delete(login_failures).where(login_failures.c.failure_id == failure_id))
