"""Registration, login/logout and the caller's own profile."""

from fastapi import APIRouter, Request, Response, status

from cloud import auth, sellers, team
from cloud.api.deps import CallerDep, CloudDep, NowDep, SellerId, session_token
from models.cloud_api import LoginRequest, SellerCreate, SellerPublic, SellerUpdate, SessionPublic

router = APIRouter(tags=["sellers"])


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/sellers", status_code=status.HTTP_201_CREATED)
def register(body: SellerCreate, cloud: CloudDep, now: NowDep) -> SellerPublic:
    """Register a seller account. Log in afterwards to get a session."""
    with cloud.db.transaction() as conn:
        return sellers.register(conn, body, now)


@router.post("/auth/login")
def login(
    body: LoginRequest, request: Request, response: Response, cloud: CloudDep, now: NowDep
) -> SessionPublic:
    """Exchange account and password for a session token (also set as an HttpOnly cookie).

    Failures slow the next attempt down (``429 tooManyAttempts`` with ``Retry-After``): from the same
    address (or known device) for that account with growing waits, from one address across accounts, and
    for the account from everywhere. A client that logged in before carries a known-device cookie that keeps
    it clear of the last two, so strangers cannot lock the owner out (docs/cloud.md, "Login limits").

    A seller's team member logs in here too, with their email: ``role`` says which (``fieldStaff``), and
    ``seller`` is null for them."""
    done = auth.login(
        cloud.db,
        cloud.settings,
        body.account,
        body.password,
        _client(request),
        now,
        secret=cloud.secret,
        device=request.cookies.get(auth.DEVICE_COOKIE),
    )
    with cloud.db.read() as conn:
        if done.team_member_id is None:
            seller, member = sellers.get_seller(conn, done.seller_id), None
        else:  # a team member sees who they are, not the seller's profile
            seller, member = None, team.get_member(conn, done.seller_id, done.team_member_id, now)
    auth.set_session_cookie(response, done.token, cloud.settings)
    if done.device:
        auth.set_device_cookie(response, done.device, cloud.settings)
    return SessionPublic(
        token=done.token, expires_at=done.expires_at, role=done.role, seller=seller, team_member=member
    )


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, response: Response, cloud: CloudDep, _caller: CallerDep) -> Response:
    """End this session (the token stops working at once)."""
    token = session_token(request)
    if token:
        with cloud.db.transaction() as conn:
            auth.close_session(conn, token)
    response.status_code = status.HTTP_204_NO_CONTENT
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response


@router.get("/me")
def me(cloud: CloudDep, seller_id: SellerId) -> SellerPublic:
    with cloud.db.read() as conn:
        return sellers.get_seller(conn, seller_id)


@router.patch("/me")
def update_me(body: SellerUpdate, cloud: CloudDep, seller_id: SellerId) -> SellerPublic:
    with cloud.db.transaction() as conn:
        return sellers.update_seller(conn, seller_id, body)
