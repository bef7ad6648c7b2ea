"""Typed dependencies, so a route's signature says what it needs (the cloud, the caller, a transaction)."""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Query, Request

from cloud.auth import SESSION_COOKIE, Unauthenticated, seller_for_token
from cloud.runtime import Cloud
from models.ids import ULID_PATTERN


def get_cloud(request: Request) -> Cloud:
    cloud: Cloud = request.app.state.cloud
    return cloud


def get_now(request: Request) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


def session_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token:
        return token.strip()
    return request.cookies.get(SESSION_COOKIE)


def current_seller(request: Request, cloud: "CloudDep", now: "NowDep") -> str:
    """The caller's seller id, from a Bearer token or the session cookie; 401 without a live session."""
    token = session_token(request)
    if not token:
        raise Unauthenticated("log in first: send 'Authorization: Bearer <token>' or the session cookie")
    with cloud.db.read() as conn:
        return seller_for_token(conn, token, now)


CloudDep = Annotated[Cloud, Depends(get_cloud)]
NowDep = Annotated[datetime, Depends(get_now)]
SellerId = Annotated[str, Depends(current_seller)]

StoreIdPath = Annotated[str, Path(alias="storeId", pattern=ULID_PATTERN, description="A store id (ULID)")]
ProductIdPath = Annotated[str, Path(alias="productId", pattern=ULID_PATTERN)]
OrderIdPath = Annotated[str, Path(alias="orderId", pattern=ULID_PATTERN)]
CursorQuery = Annotated[str | None, Query(max_length=200, description="nextCursor of the previous page")]
LimitQuery = Annotated[int, Query(ge=1, le=200, description="Page size, 1-200")]
