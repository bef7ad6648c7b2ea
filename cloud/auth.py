"""Seller accounts and sessions: argon2 password hashes, opaque session tokens, a login rate limit.

A session token is 32 random bytes shown to the client once; the database keeps only its SHA-256, so a
copy of the table logs nobody in. The same token works as a Bearer header (API clients) and as an
HttpOnly cookie (the dashboard).
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, func, insert, or_, select
from starlette.responses import Response

from cloud.db import CloudDatabase
from cloud.settings import CloudSettings
from cloud.tables import login_failures, sellers, sessions
from models.errors import DomainError

_hasher = PasswordHasher()
# Verifying against this when the account does not exist takes as long as a real check, so response
# times do not tell which accounts exist.
_DUMMY_HASH = _hasher.hash("not a real password")

SESSION_COOKIE = "edgestore_session"


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"


class TooManyAttempts(DomainError):
    status = 429
    code = "tooManyAttempts"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_rate_limit(
    conn: Connection, account: str, client: str, now: datetime, *, max_failures: int, window_s: int
) -> None:
    """Refuse a login when the account, or the client address, failed too often in the window."""
    since = now - timedelta(seconds=window_s)
    failures = conn.execute(
        select(func.count())
        .select_from(login_failures)
        .where(
            login_failures.c.at >= since,
            or_(login_failures.c.account == account.lower(), login_failures.c.client == client),
        )
    ).scalar_one()
    if failures >= max_failures:
        raise TooManyAttempts(
            f"too many failed logins; try again in {window_s // 60} minutes", retry_after_s=window_s
        )


def authenticate(conn: Connection, account: str, password: str) -> str | None:
    """The seller id when the password is right, else None (the caller records the failure)."""
    row = conn.execute(
        select(sellers.c.seller_id, sellers.c.password_hash, sellers.c.status).where(
            func.lower(sellers.c.account) == account.lower()
        )
    ).first()
    try:
        _hasher.verify(row.password_hash if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or row.status != "active":
        return None
    return str(row.seller_id)


def record_failure(conn: Connection, account: str, client: str, now: datetime) -> None:
    conn.execute(insert(login_failures).values(account=account.lower(), client=client, at=now))


def clear_failures(conn: Connection, account: str) -> None:
    conn.execute(delete(login_failures).where(login_failures.c.account == account.lower()))


def open_session(conn: Connection, seller_id: str, now: datetime, ttl: timedelta) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    expires_at = now + ttl
    conn.execute(
        insert(sessions).values(
            token_hash=_token_hash(token), seller_id=seller_id, created_at=now, expires_at=expires_at
        )
    )
    return token, expires_at


def close_session(conn: Connection, token: str) -> None:
    conn.execute(delete(sessions).where(sessions.c.token_hash == _token_hash(token)))


def seller_for_token(conn: Connection, token: str, now: datetime) -> str:
    """The seller a live session token belongs to; raises Unauthenticated otherwise."""
    seller_id = conn.execute(
        select(sessions.c.seller_id)
        .join(sellers, sellers.c.seller_id == sessions.c.seller_id)
        .where(
            sessions.c.token_hash == _token_hash(token),
            sessions.c.expires_at > now,
            sellers.c.status == "active",
        )
    ).scalar_one_or_none()
    if seller_id is None:
        raise Unauthenticated("log in first: the session is missing, expired or logged out")
    return str(seller_id)


@dataclass(frozen=True)
class Login:
    seller_id: str
    token: str
    expires_at: datetime


def login(
    db: CloudDatabase, settings: CloudSettings, account: str, password: str, client: str, now: datetime
) -> Login:
    """The one login flow (API and dashboard): rate limit, argon2 check, failure bookkeeping, new session.

    Raises ``TooManyAttempts`` inside the window after too many failures, ``Unauthenticated``
    (``invalidCredentials``) for a wrong account or password, which also counts as a failure."""
    with db.read() as conn:
        check_rate_limit(
            conn,
            account,
            client,
            now,
            max_failures=settings.login_max_failures,
            window_s=settings.login_window_s,
        )
        seller_id = authenticate(conn, account, password)
    with db.transaction() as conn:
        if seller_id is None:
            record_failure(conn, account, client, now)
        else:
            clear_failures(conn, account)
            token, expires_at = open_session(
                conn, seller_id, now, timedelta(hours=settings.session_ttl_hours)
            )
    if seller_id is None:
        raise Unauthenticated("wrong account or password", code="invalidCredentials")
    return Login(seller_id, token, expires_at)


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
