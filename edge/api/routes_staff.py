"""Staff login at the node: name and PIN for a bearer token, checked offline (no call to the cloud)."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from fastapi.security import HTTPAuthorizationCredentials

from edge import staff_sessions
from edge.api.deps import NodeDep, StaffDep, staff_token
from models.errors import error_body
from models.node_api import StaffLogin, StaffPublic, StaffSession

router = APIRouter(prefix="/staff", tags=["staff"])


@router.post(
    "/login",
    responses={
        401: {"description": "invalidCredentials: wrong name or PIN (counts as a failure)"},
        429: {
            "description": "tooManyAttempts: the name is locked after repeated failures; Retry-After says "
            "for how many seconds (the lock grows with each further failure)",
            "content": {
                "application/json": {"example": error_body("tooManyAttempts", "...", retryAfterS=30)}
            },
        },
    },
)
def login(body: StaffLogin, node: NodeDep) -> StaffSession:
    """Log a staff member in: a token for ``Authorization: Bearer``, valid until ``expiresAt`` (at most 8
    hours), shown once. Works with no cloud link."""
    ttl = timedelta(minutes=node.settings.staff_session_minutes)
    token, member = staff_sessions.login(node.db, body.name, body.pin, node.now(), ttl)
    return StaffSession(
        staff_id=member.staff_id,
        name=member.name,
        role=member.role,
        expires_at=member.expires_at,
        token=token,
    )


@router.get("/me")
def who_am_i(member: StaffDep) -> StaffPublic:
    """Whose token this is, with the role the account has now and when the token expires."""
    return StaffPublic(
        staff_id=member.staff_id, name=member.name, role=member.role, expires_at=member.expires_at
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(
    _member: StaffDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(staff_token)],
    node: NodeDep,
) -> Response:
    """End this token's session (other devices' logins of the same person stay)."""
    assert credentials is not None  # StaffDep refused the request otherwise
    with node.db.write() as conn:
        staff_sessions.logout(conn, credentials.credentials)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
