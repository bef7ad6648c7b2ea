"""Registration, login/logout and the caller's own profile."""

from datetime import timedelta

from fastapi import APIRouter, Request, Response, status

from cloud import auth, sellers
from cloud.api.deps import CloudDep, NowDep, SellerId, session_token
from models.cloud_api import LoginRequest, SellerCreate, SellerPublic, SellerUpdate, SessionPublic

router = APIRouter(tags=["sellers"])


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/sellers", status_code=status.HTTP_201_CREATED, response_model=SellerPublic)
def register(body: SellerCreate, cloud: CloudDep, now: NowDep) -> SellerPublic:
    """Register a seller account. Log in afterwards to get a session."""
    with cloud.db.transaction() as conn:
        return sellers.register(conn, body, now)


@router.post("/auth/login", response_model=SessionPublic)
def login(
    body: LoginRequest, request: Request, response: Response, cloud: CloudDep, now: NowDep
) -> SessionPublic:
    """Exchange account and password for a session token (also set as an HttpOnly cookie).

    After ``loginMaxFailures`` failures for one account or one client address inside ``loginWindowS``
    seconds, further attempts get ``429 tooManyAttempts`` until the window passes."""
    settings = cloud.settings
    client = _client(request)
    with cloud.db.read() as conn:
        auth.check_rate_limit(
            conn,
            body.account,
            client,
            now,
            max_failures=settings.login_max_failures,
            window_s=settings.login_window_s,
        )
        seller_id = auth.authenticate(conn, body.account, body.password)
    with cloud.db.transaction() as conn:
        if seller_id is None:
            auth.record_failure(conn, body.account, client, now)
        else:
            auth.clear_failures(conn, body.account)
            token, expires_at = auth.open_session(
                conn, seller_id, now, timedelta(hours=settings.session_ttl_hours)
            )
            seller = sellers.get_seller(conn, seller_id)
    if seller_id is None:
        raise auth.Unauthenticated("wrong account or password", code="invalidCredentials")
    response.set_cookie(
        auth.SESSION_COOKIE,
        token,
        max_age=settings.session_ttl_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    return SessionPublic(token=token, expires_at=expires_at, seller=seller)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, response: Response, cloud: CloudDep, _seller: SellerId) -> Response:
    """End this session (the token stops working at once)."""
    token = session_token(request)
    if token:
        with cloud.db.transaction() as conn:
            auth.close_session(conn, token)
    response.status_code = status.HTTP_204_NO_CONTENT
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=SellerPublic)
def me(cloud: CloudDep, seller_id: SellerId) -> SellerPublic:
    with cloud.db.read() as conn:
        return sellers.get_seller(conn, seller_id)


@router.patch("/me", response_model=SellerPublic)
def update_me(body: SellerUpdate, cloud: CloudDep, seller_id: SellerId) -> SellerPublic:
    with cloud.db.transaction() as conn:
        return sellers.update_seller(conn, seller_id, body)
