"""Typed dependencies, so a route's signature says what it needs (the cloud, the caller, a transaction).

Authorisation is decided here and nowhere else: a route takes the seller id through the dependency that
names what it needs (``models.team``), and the caller's role either holds that or the request is 403
``forbiddenForRole``:

- ``SellerId``: the owner only. The default: a route that names nothing else is refused to every team
  member, so a new route is never opened to field staff by accident.
- ``DeviceAdminSellerId``: the owner or field staff: the stores (read), claim codes and devices.
- ``CallerDep``: any live session, whoever's (logging out).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

from fastapi import Depends, Path, Query, Request, Response

from cloud import i18n
from cloud.auth import SESSION_COOKIE, Caller, caller_for_token
from cloud.runtime import Cloud
from models.cloud_api import FIRST_YEAR, LAST_YEAR, require_day_within_years
from models.errors import Unauthenticated
from models.ids import ULID_PATTERN
from models.paging import PlainInt
from models.team import Capability
from plumbing.i18n import Translator


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


def current_caller(request: Request, cloud: "CloudDep", now: "NowDep") -> Caller:
    """Who calls, from a Bearer token or the session cookie; 401 without a live session."""
    token = session_token(request)
    if not token:
        raise Unauthenticated("log in first: send 'Authorization: Bearer <token>' or the session cookie")
    with cloud.db.read() as conn:
        return caller_for_token(conn, token, now)


def current_seller(caller: "CallerDep") -> str:
    """The caller's seller id, for the owner only: a team member's session is 403 ``forbiddenForRole``."""
    return caller.seller_for(Capability.OWNER_ONLY)


def device_admin_seller(caller: "CallerDep") -> str:
    """The caller's seller id, for the owner or a member whose role looks after stores' devices."""
    return caller.seller_for(Capability.DEVICE_ADMIN)


CloudDep = Annotated[Cloud, Depends(get_cloud)]
NowDep = Annotated[datetime, Depends(get_now)]


def reader_words(request: Request, response: Response) -> Translator:
    """The words of the language the caller reads (``cloud.i18n.reader_locale``), said in the answer's
    ``Content-Language``."""
    locale = i18n.reader_locale(request)
    response.headers["Content-Language"] = locale
    return i18n.translator(locale)


ReaderDep = Annotated[Translator, Depends(reader_words)]
CallerDep = Annotated[Caller, Depends(current_caller)]
SellerId = Annotated[str, Depends(current_seller)]
DeviceAdminSellerId = Annotated[str, Depends(device_admin_seller)]

StoreIdPath = Annotated[str, Path(alias="storeId", pattern=ULID_PATTERN, description="A store id (ULID)")]
ProductIdPath = Annotated[str, Path(alias="productId", pattern=ULID_PATTERN)]
OrderIdPath = Annotated[str, Path(alias="orderId", pattern=ULID_PATTERN)]
# No max_length: decode_cursor refuses an over-long cursor as invalidCursor, like any other it did not make.
CursorQuery = Annotated[str | None, Query(description="nextCursor of the previous page")]
LimitQuery = Annotated[int, Query(ge=1, le=200, description="Page size, 1-200"), PlainInt]


@dataclass(frozen=True)
class DayRange:
    """``dateFrom``..``dateTo`` as given (either may be missing), each a Taiwan day in the years the API
    takes."""

    date_from: date | None
    date_to: date | None


def day_range(
    date_from: Annotated[
        date | None,
        Query(alias="dateFrom", description=f"First Taiwan day (UTC+8), inclusive; {FIRST_YEAR}-{LAST_YEAR}"),
    ] = None,
    date_to: Annotated[
        date | None,
        Query(alias="dateTo", description=f"Last Taiwan day (UTC+8), inclusive; {FIRST_YEAR}-{LAST_YEAR}"),
    ] = None,
) -> DayRange:
    require_day_within_years("dateFrom", date_from)
    require_day_within_years("dateTo", date_to)
    return DayRange(date_from, date_to)


DaysDep = Annotated[DayRange, Depends(day_range)]
