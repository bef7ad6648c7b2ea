"""What every page route shares: the route class that turns failures into pages, the session and CSRF
dependencies, redirects.

A missing thing is answered one way: the service function that looks it up (``sellers.get_store``,
``catalog.get_product``, ``orders.get_order``...) raises ``NotFound``, and ``WebRoute`` renders the 404
page. Pages never build a ``NotFound`` themselves, and a POST looks up what its URL names before it reads
the form, so whatever fails after that is the form's fault and is shown on the form.
"""

from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from starlette.datastructures import FormData

from cloud import auth
from cloud.api.deps import CloudDep, NowDep, get_cloud
from cloud.runtime import Cloud
from cloud.web import security
from cloud.web.rendering import here, render_error
from models.errors import DomainError, NotFound, Unauthenticated
from models.team import Capability
from plumbing.i18n import N_

PAGE_SIZE = 25
UPLOAD_SLACK_BYTES = 64 * 1024  # multipart framing and the other fields around an image


class LoginRequired(Exception):
    """No live session: the page redirects to /login."""


class CsrfRejected(Exception):
    """A POST without the right token."""


class RequestTooLarge(DomainError):
    status = 413
    code = "imageTooLarge"


class WebRoute(APIRoute):
    """Routes whose failures are pages, not the API's JSON errors: 404 page, redirect to /login, ..."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return to_login(request)
            except CsrfRejected:
                return render_error(request, 403, N_("err.csrf"))
            except NotFound:
                return render_error(request, 404, N_("err.notFound"))
            except RequestValidationError:
                return render_error(request, 400, N_("err.badRequest"))
            except DomainError as exc:
                return render_error(request, exc.status, "err.code." + exc.code, exc.message)

        return guarded


def page_router() -> APIRouter:
    """A router for one page area: its routes answer with pages (``WebRoute``) and stay out of the API's
    OpenAPI document."""
    return APIRouter(route_class=WebRoute, include_in_schema=False)


# --- redirects ------------------------------------------------------------------------------------------


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def with_params(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params] + list(
        params.items()
    )
    return urlunsplit(("", "", parts.path, urlencode(query), ""))


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def to_login(request: Request) -> Response:
    url = "/login?" + urlencode({"next": here(request)}) if request.method == "GET" else "/login"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return redirect(url)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# --- the session and the form ---------------------------------------------------------------------------


def session_caller(request: Request, cloud: Cloud, now: datetime) -> auth.Caller | None:
    token = request.cookies.get(auth.SESSION_COOKIE)
    if not token:
        return None
    try:
        with cloud.db.read() as conn:
            return auth.caller_for_token(conn, token, now)
    except Unauthenticated:
        return None


def home(caller: auth.Caller) -> str:
    """Where a session starts: the dashboard, or for a team member the first page their role may see."""
    return "/dashboard" if caller.may(Capability.OWNER_ONLY) else "/stores"


def web_caller(request: Request, cloud: CloudDep, now: NowDep) -> auth.Caller:
    """Who the session cookie belongs to; ``LoginRequired`` (a redirect to /login) without a live one."""
    caller = session_caller(request, cloud, now)
    if caller is None:
        raise LoginRequired
    return caller


def web_seller(caller: "WebCaller") -> str:
    """The seller of the session cookie, for the owner only: a team member gets the 403 page
    (``cloud.api.deps`` decides the same for the API)."""
    return caller.seller_for(Capability.OWNER_ONLY)


def web_device_admin(caller: "WebCaller") -> auth.Caller:
    """The caller, when their role looks after stores' devices (the owner, field staff); the 403 page
    otherwise."""
    caller.seller_for(Capability.DEVICE_ADMIN)
    return caller


async def csrf_form(request: Request) -> AsyncIterator[FormData]:
    """The submitted form, once its CSRF token is checked; its uploaded files are closed afterwards."""
    cloud = get_cloud(request)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > cloud.settings.max_image_bytes + UPLOAD_SLACK_BYTES:
        raise RequestTooLarge(f"the request is over {cloud.settings.max_image_bytes} bytes")
    form = await request.form()
    try:
        if not security.token_ok(cloud.secret, request.cookies, form.get(security.CSRF_FIELD)):
            raise CsrfRejected
        yield form
    finally:
        await form.close()


WebCaller = Annotated[auth.Caller, Depends(web_caller)]
"""Any live session (logging out)."""
WebSeller = Annotated[str, Depends(web_seller)]
"""The owner's pages: every page but the stores' (the default, as ``SellerId`` is the API's)."""
WebDeviceAdmin = Annotated[auth.Caller, Depends(web_device_admin)]
"""The stores' page with its claim codes and devices: the owner and field staff."""
CsrfForm = Annotated[FormData, Depends(csrf_form)]
