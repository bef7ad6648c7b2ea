"""Sign-up, log-in and log-out through forms, over the API's own functions (``cloud.auth``): the same
rate limit, argon2 check and session cookie as ``POST /api/v1/auth/login``."""

from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from cloud import auth, sellers
from cloud.api.deps import CloudDep, NowDep
from cloud.web import security
from cloud.web.forms import FieldError, domain_error, text, validation_errors
from cloud.web.rendering import chrome, render
from cloud.web.routing import (
    CsrfForm,
    WebCaller,
    client_address,
    home,
    page_router,
    redirect,
    session_caller,
)
from models.cloud_api import SellerCreate
from models.errors import Conflict, TooManyAttempts, Unauthenticated
from plumbing.i18n import N_

router = page_router()


@router.get("/")
def root(request: Request, cloud: CloudDep, now: NowDep) -> RedirectResponse:
    caller = session_caller(request, cloud, now)
    return redirect(home(caller) if caller else "/login")


@router.get("/login")
def login_page(request: Request, cloud: CloudDep, now: NowDep) -> Response:
    next_url = security.safe_next(request.query_params.get("next"))
    caller = session_caller(request, cloud, now)
    if caller:
        return redirect(_landing(next_url, caller))
    account = request.query_params.get("account", "")[:64]
    return render(request, "login.html", account=account, next=next_url)


@router.post("/login")
def login(request: Request, form: CsrfForm, cloud: CloudDep, now: NowDep) -> Response:
    """The API's login, through a form: same rate limit, same argon2 check, same session cookie."""
    account = text(form, "account")
    raw_password = form.get("password")
    password = raw_password if isinstance(raw_password, str) else ""
    next_url = security.safe_next(text(form, "next"))
    settings = cloud.settings

    def again(status_code: int, key: str, retry_after_s: int | None = None, **headers: str) -> HTMLResponse:
        return render(
            request,
            "login.html",
            status_code=status_code,
            errors=[FieldError("", key)],
            account=account[:64],
            next=next_url,
            retry_after_s=retry_after_s,
            headers=headers,
        )

    if not account or not password:
        return again(422, N_("err.login.missing"))
    if len(account) > 64 or len(password) > 256:
        return again(401, N_("err.login.invalid"))
    client = client_address(request)  # uvicorn's: a forwarded address only from a configured proxy
    try:
        done = auth.login(
            cloud.db,
            settings,
            account,
            password,
            client,
            now,
            secret=cloud.secret,
            device=request.cookies.get(auth.DEVICE_COOKIE),
        )
    except TooManyAttempts as exc:
        wait_s = exc.retry_after_s
        return again(429, N_("err.code.tooManyAttempts"), wait_s, **{"Retry-After": str(wait_s)})
    except Unauthenticated:
        return again(401, N_("err.login.invalid"))
    response = redirect(_landing(next_url, auth.Caller(done.seller_id, done.role, done.team_member_id)))
    auth.set_session_cookie(response, done.token, settings)
    if done.device:  # this browser now counts as the seller's known device (see cloud.auth)
        auth.set_device_cookie(response, done.device, settings)
    response.delete_cookie(security.CSRF_COOKIE, path="/")
    return response


def _landing(next_url: str, caller: auth.Caller) -> str:
    """Where a login goes: where it was asked to, but a team member is not sent to the dashboard they may not
    see."""
    return home(caller) if next_url == security.safe_next(None) else next_url


@router.get("/signup")
def signup_page(request: Request) -> HTMLResponse:
    return render(request, "signup.html", values={})


@router.post("/signup")
def signup(request: Request, form: CsrfForm, cloud: CloudDep, now: NowDep) -> Response:
    values = {k: text(form, k) for k in ("account", "name", "phone", "address")}
    password = form.get("password")
    password2 = form.get("password2")
    errors: list[FieldError] = []
    if password != password2:
        errors.append(FieldError("password2", N_("err.passwordsDiffer")))
    else:
        try:
            body = SellerCreate.model_validate(
                {
                    "account": values["account"],
                    "password": password if isinstance(password, str) else "",
                    "name": values["name"],
                    "phone": values["phone"] or None,
                    "address": values["address"] or None,
                }
            )
            with cloud.db.transaction() as conn:
                sellers.register(conn, body, now)
        except ValidationError as exc:
            errors = validation_errors(exc)
        except Conflict as exc:
            errors = [domain_error(exc)]
    if errors:
        return render(request, "signup.html", status_code=422, errors=errors, values=values)
    return redirect("/login?" + urlencode({"msg": "registered", "account": values["account"]}))


@router.get("/logout")
def logout_page(request: Request, cloud: CloudDep, caller: WebCaller) -> HTMLResponse:
    with cloud.db.read() as conn:
        page = chrome(conn, caller)
    return render(request, "logout.html", page=page)


@router.post("/logout")
def logout(request: Request, form: CsrfForm, cloud: CloudDep) -> RedirectResponse:
    token = request.cookies.get(auth.SESSION_COOKIE)
    if token:
        with cloud.db.transaction() as conn:
            auth.close_session(conn, token)
    response = redirect("/login?msg=loggedOut")
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response
