"""A seller's team members (``models.team``): invitations, accepting one, the list, removal.

The owner invites someone by email with a role; the answer carries a one-time link (``/invite/{token}``),
shown this once: only the token's SHA-256 is kept, so a copy of the table accepts nothing. The invitee opens
it (or ``POST /team-members/accept``) and sets a password; from then on they log in at the ordinary login
with their email (``cloud.auth.login``), and their session says who they are and their role.

An email is a login: it is unique among live members and sellers' accounts together, whatever its case
(``cloud.auth.lock_login_name``). An invitation works once and for ``INVITE_DAYS``; an expired one that was
never accepted no longer holds its email (a new invitation for it, by anyone, replaces it). Removing a
member ends their sessions at once and frees the email; the row stays.

These are not a store's staff (``cloud.staff``: cashiers and managers at the counter, with a PIN).
"""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from cloud.auth import hash_password, lock_login_name, login_name_taken
from cloud.tables import sessions, team_members
from models.cloud_api import InviteAccept, TeamMemberCreate, TeamMemberInvited, TeamMemberPublic
from models.errors import Conflict, Gone, NotFound
from models.ids import new_id
from models.team import INVITE_DAYS, Role
from plumbing.credentials import new_token, token_hash

INVITE_PATH = "/invite/"


def _public(row: Any, now: datetime) -> TeamMemberPublic:
    if row.accepted_at is not None:
        status = "active"
    elif row.invite_expires_at is not None and row.invite_expires_at <= now:
        status = "inviteExpired"
    else:
        status = "invited"
    return TeamMemberPublic(
        team_member_id=row.team_member_id,
        email=row.email,
        name=row.name,
        role=Role(row.role),
        status=status,
        invited_at=row.invited_at,
        invite_expires_at=row.invite_expires_at if row.accepted_at is None else None,
        accepted_at=row.accepted_at,
    )


def invite(
    conn: Connection, seller_id: str, body: TeamMemberCreate, now: datetime, base_url: str
) -> TeamMemberInvited:
    """Invite ``body.email`` to the seller's team; the link is in this answer only. 409 ``accountTaken``
    when a seller's account or a live member (of any seller) already logs in with that email."""
    lock_login_name(conn, body.email)
    # An invitation that expired unaccepted holds nothing: it gives way to this one.
    conn.execute(
        update(team_members)
        .where(
            func.lower(team_members.c.email) == body.email.lower(),
            team_members.c.removed_at.is_(None),
            team_members.c.accepted_at.is_(None),
            team_members.c.invite_expires_at <= now,
        )
        .values(removed_at=now, invite_hash=None)
    )
    if login_name_taken(conn, body.email):
        raise Conflict(f"{body.email} already logs in here", code="accountTaken", field="email")
    token = new_token()
    member_id = new_id()
    expires_at = now + timedelta(days=INVITE_DAYS)
    conn.execute(
        insert(team_members).values(
            team_member_id=member_id,
            seller_id=seller_id,
            email=body.email,
            name=body.name,
            role=body.role,
            invite_hash=token_hash(token),
            invite_expires_at=expires_at,
            invited_at=now,
        )
    )
    return TeamMemberInvited(
        team_member=get_member(conn, seller_id, member_id, now),
        invite_token=token,
        invite_url=invite_url(base_url, token),
        expires_at=expires_at,
    )


def invite_url(base_url: str, token: str) -> str:
    return base_url.rstrip("/") + INVITE_PATH + token


def get_member(conn: Connection, seller_id: str, team_member_id: str, now: datetime) -> TeamMemberPublic:
    """The seller's live member; another seller's, or a removed one, is 404 ``teamMemberNotFound``."""
    row = conn.execute(
        select(team_members).where(
            team_members.c.team_member_id == team_member_id,
            team_members.c.seller_id == seller_id,
            team_members.c.removed_at.is_(None),
        )
    ).first()
    if row is None:
        raise NotFound(f"team member {team_member_id} not found", code="teamMemberNotFound")
    return _public(row, now)


def session_member(conn: Connection, seller_id: str, team_member_id: str) -> TeamMemberPublic:
    """The member a live session belongs to: accepted, so ``active`` whatever the time (no clock needed)."""
    row = conn.execute(
        select(team_members).where(
            team_members.c.team_member_id == team_member_id, team_members.c.seller_id == seller_id
        )
    ).first()
    if row is None or row.accepted_at is None:
        raise NotFound(f"team member {team_member_id} not found", code="teamMemberNotFound")
    return _public(row, row.accepted_at)


def list_members(conn: Connection, seller_id: str, now: datetime) -> list[TeamMemberPublic]:
    rows = conn.execute(
        select(team_members)
        .where(team_members.c.seller_id == seller_id, team_members.c.removed_at.is_(None))
        .order_by(team_members.c.invited_at, team_members.c.team_member_id)
    ).all()
    return [_public(r, now) for r in rows]


def remove(conn: Connection, seller_id: str, team_member_id: str, now: datetime) -> None:
    """Take the member off the team: their sessions end at once, their email is free again, a pending
    invitation stops working."""
    row = conn.execute(
        update(team_members)
        .where(
            team_members.c.team_member_id == team_member_id,
            team_members.c.seller_id == seller_id,
            team_members.c.removed_at.is_(None),
        )
        .values(removed_at=now, invite_hash=None)
        .returning(team_members.c.team_member_id)
    ).first()
    if row is None:
        raise NotFound(f"team member {team_member_id} not found", code="teamMemberNotFound")
    conn.execute(delete(sessions).where(sessions.c.team_member_id == team_member_id))


def pending_invite(conn: Connection, token: str, now: datetime) -> TeamMemberPublic:
    """The invitation a token opens, if it can still be accepted: 404 ``inviteNotFound`` (unknown, or its
    member was removed), 409 ``inviteUsed``, 410 ``inviteExpired``."""
    row = _by_token(conn, token, lock=False)
    _check_open(row, now)
    return _public(row, now)


def accept(conn: Connection, body: InviteAccept, now: datetime) -> TeamMemberPublic:
    """Set the member's password with the invitation's token; the token is then spent."""
    row = _by_token(conn, body.token, lock=True)
    _check_open(row, now)
    conn.execute(
        update(team_members)
        .where(team_members.c.team_member_id == row.team_member_id)
        .values(password_hash=hash_password(body.password), accepted_at=now, invite_expires_at=None)
    )
    return get_member(conn, row.seller_id, row.team_member_id, now)


def _by_token(conn: Connection, token: str, *, lock: bool) -> Any:
    query = select(team_members).where(
        team_members.c.invite_hash == token_hash(token), team_members.c.removed_at.is_(None)
    )
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound("no such invitation (or it was withdrawn)", code="inviteNotFound")
    return row


def _check_open(row: Any, now: datetime) -> None:
    if row.accepted_at is not None:
        raise Conflict("this invitation was accepted already: log in with your email", code="inviteUsed")
    if row.invite_expires_at is None or row.invite_expires_at <= now:
        raise Gone("this invitation expired: ask for a new one", code="inviteExpired")
