"""The seller's team members (``cloud.team``): the owner invites, lists and removes; the invitee accepts."""

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from cloud import team
from cloud.api.deps import CloudDep, NowDep, SellerId
from models.cloud_api import InviteAccept, TeamMemberCreate, TeamMemberInvited, TeamMemberPublic
from models.ids import ULID_PATTERN

router = APIRouter(tags=["team"])

TeamMemberIdPath = Annotated[str, Path(alias="teamMemberId", pattern=ULID_PATTERN)]


@router.post("/team-members", status_code=status.HTTP_201_CREATED)
def invite_member(
    body: TeamMemberCreate, cloud: CloudDep, now: NowDep, seller_id: SellerId
) -> TeamMemberInvited:
    """Invite someone to the seller's team with a role (``fieldStaff``: stores, claim codes and devices,
    nothing else). The invitation link works once, for 7 days, and is in this answer only. 409
    ``accountTaken`` when the email already logs in here (a seller's account or a live member)."""
    with cloud.db.transaction() as conn:
        return team.invite(conn, seller_id, body, now, cloud.settings.base_url)


@router.get("/team-members")
def list_members(cloud: CloudDep, now: NowDep, seller_id: SellerId) -> list[TeamMemberPublic]:
    """The team: invited (``invited``, ``inviteExpired``) and ``active`` members; removed ones are gone."""
    with cloud.db.read() as conn:
        return team.list_members(conn, seller_id, now)


@router.delete("/team-members/{teamMemberId}", status_code=status.HTTP_204_NO_CONTENT)
def remove_member(
    team_member_id: TeamMemberIdPath, cloud: CloudDep, now: NowDep, seller_id: SellerId
) -> Response:
    """Take a member off the team: their sessions end at once and their invitation stops working."""
    with cloud.db.transaction() as conn:
        team.remove(conn, seller_id, team_member_id, now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/team-members/accept")
def accept_invite(body: InviteAccept, cloud: CloudDep, now: NowDep) -> TeamMemberPublic:
    """Accept an invitation (no login: the token is the authorisation) by setting a password; then log in
    at ``POST /auth/login`` with the email. 404 ``inviteNotFound``, 409 ``inviteUsed``, 410
    ``inviteExpired``."""
    with cloud.db.transaction() as conn:
        return team.accept(conn, body, now)
