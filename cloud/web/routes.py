"""The sellers' dashboard pages: server-rendered HTML over the same service functions and session as the API.

Every page calls ``cloud/*.py`` directly (same process) inside ``cloud.db.read()``/``.transaction()``. The
session is the API's: the ``edgestore_session`` cookie checked with ``cloud.auth.seller_for_token``; a page
asked for without a live session redirects to ``/login``. Logging in through the page runs the same rate
limit and argon2 check as ``POST /api/v1/auth/login`` (the functions of ``cloud.auth``).

Forms are POST + redirect (PRG); the order buttons and "mark read" also work through htmx, which swaps the
one card instead of reloading. Every POST carries a CSRF token (see ``cloud.web.security`` for the choice).
The bell in the header follows ``GET /api/v1/notifications/stream`` (Server-Sent Events) from ``app.js``.
"""

import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import ValidationError
from sqlalchemy import Connection
from starlette.datastructures import FormData, UploadFile

from cloud import auth, catalog, dashboard, notifications, orders, sellers, stock, uploads
from cloud.api.deps import CloudDep, NowDep, get_cloud
from cloud.orders import TAIWAN, business_day
from cloud.runtime import Cloud
from cloud.web import charts, i18n, security
from cloud.web.forms import (
    FieldError,
    FormInvalid,
    ProductForm,
    StoreForm,
    domain_error,
    text,
    validation_errors,
)
from models.catalog import PHONE_CATEGORY_ID, Condition
from models.cloud_api import (
    FIRST_YEAR,
    LAST_YEAR,
    AdjustmentKind,
    BrandPublic,
    ProductCreate,
    ProductUpdate,
    SellerCreate,
    SellerPublic,
    ShippingMethod,
    StockAdjustmentCreate,
    StorageCondition,
    StoreCreate,
    StoreUpdate,
)
from models.errors import Conflict, DomainError, NotFound
from models.money import format_twd
from models.order_states import OrderStatus
from models.parties import ShopType

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
LANG_COOKIE = "lang"
THEME_COOKIE = "theme"
THEMES = ("dark", "light")
PAGE_SIZE = 25
DASHBOARD_RANGES = (7, 30, 90)
FLASHES = frozenset(
    {
        "registered",
        "loggedOut",
        "storeCreated",
        "storeSaved",
        "productCreated",
        "productSaved",
        "productDeleted",
        "imageAdded",
        "imageRemoved",
        "stockAdjusted",
        "orderUpdated",
        "allRead",
    }
)
CSP = (
    "default-src 'self'; img-src 'self' data: http: https:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
UPLOAD_SLACK_BYTES = 64 * 1024  # multipart framing and the other fields around an image


def static_files() -> StaticFiles:
    """The dashboard's CSS and scripts, for ``app.mount("/static", ...)``."""
    return StaticFiles(directory=STATIC_DIR)


# --- errors that pages turn into HTML -------------------------------------------------------------------


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
                return _to_login(request)
            except CsrfRejected:
                return render_error(request, 403, "err.csrf")
            except NotFound:
                return render_error(request, 404, "err.notFound")
            except RequestValidationError:
                return render_error(request, 400, "err.badRequest")
            except DomainError as exc:
                return render_error(request, exc.status, "err.code." + exc.code, exc.message)

        return guarded


router = APIRouter(route_class=WebRoute, include_in_schema=False)


# --- request helpers ------------------------------------------------------------------------------------


def language(request: Request) -> str:
    return i18n.negotiate(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))


def _theme(request: Request) -> str:
    value = request.cookies.get(THEME_COOKIE, "dark")
    return value if value in THEMES else "dark"


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _with_params(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params] + list(
        params.items()
    )
    return urlunsplit(("", "", parts.path, urlencode(query), ""))


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _to_login(request: Request) -> Response:
    url = "/login?" + urlencode({"next": _here(request)}) if request.method == "GET" else "/login"
    if _is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return _redirect(url)


def web_seller(request: Request, cloud: CloudDep, now: NowDep) -> str:
    """The seller of the session cookie; ``LoginRequired`` (a redirect to /login) without a live one."""
    seller_id = _session_seller(request, cloud, now)
    if seller_id is None:
        raise LoginRequired
    return seller_id


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


WebSeller = Annotated[str, Depends(web_seller)]
CsrfForm = Annotated[FormData, Depends(csrf_form)]


# --- rendering ------------------------------------------------------------------------------------------


def _dt(value: datetime | None) -> str:
    return value.astimezone(TAIWAN).strftime("%Y-%m-%d %H:%M") if value else ""


_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["twd"] = format_twd
_env.filters["dt"] = _dt


@dataclass(frozen=True)
class Chrome:
    """What the header needs on every signed-in page: who, and the bell's unread count."""

    seller: SellerPublic
    unread: int


def chrome(conn: Connection, seller_id: str) -> Chrome:
    return Chrome(sellers.get_seller(conn, seller_id), notifications.unread_count(conn, seller_id))


def _message(tr: i18n.Translator, key: str, detail: str | None) -> str:
    """The translated message; for a code with no translation, the service's own (English) words on
    English pages, a generic message on zh-TW ones."""
    if tr.has(key):
        return tr(key)
    return detail if detail and tr.lang == "en" else tr("err.invalid")


def error_lines(tr: i18n.Translator, errors: Sequence[FieldError]) -> list[str]:
    """Field errors as sentences: "變體 2 價格：必填" / "Variant 2 price: required"."""
    lines = []
    for e in errors:
        message = _message(tr, e.key, e.text)
        label = tr("label." + e.field) if e.field and tr.has("label." + e.field) else ""
        if e.row is not None:
            label = tr("label.variantRow", n=e.row + 1) + " " + label
        lines.append(f"{label.strip()}{tr('punct.colon')}{message}" if label.strip() else message)
    return lines


def render(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    page: Chrome | None = None,
    errors: Sequence[FieldError] = (),
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    cloud = get_cloud(request)
    lang = language(request)
    tr = i18n.translator(lang)
    bound = security.binding(request.cookies)
    new_cookie = None
    if bound is None:
        bound = new_cookie = security.new_binding()
    msg = request.query_params.get("msg", "")
    values: dict[str, Any] = {
        "t": tr,
        "lang": lang,
        "theme": _theme(request),
        "csrf": security.token_for(cloud.secret, bound),
        "csrf_field": security.CSRF_FIELD,
        "path": request.url.path,
        "here": _here(request),
        "seller": page.seller if page else None,
        "unread": page.unread if page else 0,
        # Signed-in pages say when the stores' sales are waiting on a failing database (sync retries).
        "ingest": cloud.ingest_health.snapshot() if page else None,
        "flash": tr("flash." + msg) if msg in FLASHES else "",
        "errors": error_lines(tr, errors),
        "error_fields": {e.field if e.row is None else f"{e.field}.{e.row}" for e in errors},
    }
    values.update(context)
    html = _env.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS | (headers or {}))
    if new_cookie:
        response.set_cookie(
            security.CSRF_COOKIE,
            new_cookie,
            httponly=True,
            samesite="strict",
            secure=cloud.settings.cookie_secure,
            path="/",
        )
    return response


def render_error(request: Request, status_code: int, key: str, detail: str | None = None) -> HTMLResponse:
    tr = i18n.translator(language(request))
    message = _message(tr, key, detail)
    return render(request, "error.html", status_code=status_code, status=status_code, message=message)


# --- reference data in the page's language --------------------------------------------------------------


def _name(lang: str, zh: str, en: str) -> str:
    return en or zh if lang == "en" else zh


def _categories(conn: Connection, lang: str) -> list[dict[str, Any]]:
    return [
        {"id": c.category_id, "name": _name(lang, c.name, c.name_en), "parent": c.parent_id}
        for c in catalog.list_categories(conn)
    ]


def _brands(conn: Connection, seller_id: str, lang: str) -> list[dict[str, str]]:
    """The product editor's brand choices: the curated brands and the seller's own, never another's."""
    items: list[BrandPublic] = catalog.list_brands(conn, seller_id)
    return [{"id": b.brand_id, "name": _name(lang, b.name, b.name_en)} for b in items]


def _phone_categories(categories: list[dict[str, Any]]) -> list[str]:
    """Ids whose products need brand and condition: phones and whatever sits under it."""
    ids = {PHONE_CATEGORY_ID}
    rows = [(c["id"], c["parent"]) for c in categories]
    changed = True
    while changed:
        changed = False
        for cid, parent in rows:
            if parent in ids and cid not in ids:
                ids.add(cid)
                changed = True
    return sorted(ids)


# --- sign-in ----------------------------------------------------------------------------------------------


def _session_seller(request: Request, cloud: Cloud, now: datetime) -> str | None:
    token = request.cookies.get(auth.SESSION_COOKIE)
    if not token:
        return None
    try:
        with cloud.db.read() as conn:
            return auth.seller_for_token(conn, token, now)
    except auth.Unauthenticated:
        return None


@router.get("/")
def root(request: Request, cloud: CloudDep, now: NowDep) -> RedirectResponse:
    return _redirect("/dashboard" if _session_seller(request, cloud, now) else "/login")


@router.get("/login")
def login_page(request: Request, cloud: CloudDep, now: NowDep) -> Response:
    next_url = security.safe_next(request.query_params.get("next"))
    if _session_seller(request, cloud, now):
        return _redirect(next_url)
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
        return again(422, "err.login.missing")
    if len(account) > 64 or len(password) > 256:
        return again(401, "err.login.invalid")
    client = _client(request)  # uvicorn's: a forwarded address only from a configured proxy
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
    except auth.TooManyAttempts as exc:
        wait_s = exc.retry_after_s
        return again(429, "err.code.tooManyAttempts", wait_s, **{"Retry-After": str(wait_s)})
    except auth.Unauthenticated:
        return again(401, "err.login.invalid")
    response = _redirect(next_url)
    auth.set_session_cookie(response, done.token, settings)
    if done.device:  # this browser now counts as the seller's known device (see cloud.auth)
        auth.set_device_cookie(response, done.device, settings)
    response.delete_cookie(security.CSRF_COOKIE, path="/")
    return response


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
        errors.append(FieldError("password2", "err.passwordsDiffer"))
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
    return _redirect("/login?" + urlencode({"msg": "registered", "account": values["account"]}))


@router.get("/logout")
def logout_page(request: Request, cloud: CloudDep, seller_id: WebSeller) -> HTMLResponse:
    with cloud.db.read() as conn:
        page = chrome(conn, seller_id)
    return render(request, "logout.html", page=page)


@router.post("/logout")
def logout(request: Request, form: CsrfForm, cloud: CloudDep) -> RedirectResponse:
    token = request.cookies.get(auth.SESSION_COOKIE)
    if token:
        with cloud.db.transaction() as conn:
            auth.close_session(conn, token)
    response = _redirect("/login?msg=loggedOut")
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{code}")
def switch_language(request: Request, code: str) -> RedirectResponse:
    """The header's language switcher: remembered in the ``lang`` cookie for a year."""
    response = _redirect(security.safe_next(request.query_params.get("next"), "/"))
    lang = code if code in i18n.LOCALES else i18n.DEFAULT_LOCALE
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/")
    return response


@router.get("/theme/{name}")
def switch_theme(request: Request, name: str) -> RedirectResponse:
    response = _redirect(security.safe_next(request.query_params.get("next"), "/"))
    response.set_cookie(THEME_COOKIE, name if name in THEMES else "dark", max_age=365 * 86400, samesite="lax")
    return response


# --- dashboard ------------------------------------------------------------------------------------------


def _compact_money(lang: str) -> Callable[[int], str]:
    def fmt(amount: int) -> str:
        if lang == "zh-TW" and amount >= 10_000:
            return f"{amount / 10_000:g}萬"
        if lang != "zh-TW" and amount >= 1_000:
            return f"{amount / 1_000:g}k"
        return f"{amount:,}"

    return fmt


@router.get("/dashboard")
def dashboard_page(request: Request, cloud: CloudDep, now: NowDep, seller_id: WebSeller) -> HTMLResponse:
    lang = language(request)
    tr = i18n.translator(lang)
    days_param = request.query_params.get("days", "30")
    days = int(days_param) if days_param.isdigit() and int(days_param) in DASHBOARD_RANGES else 30
    to = business_day(now)
    start = to - timedelta(days=days - 1)
    with cloud.db.read() as conn:
        page = chrome(conn, seller_id)
        stores = sellers.list_stores(conn, seller_id)
        chosen = request.query_params.get("store", "")
        store_id = chosen if chosen in {s.store_id for s in stores} else None
        summary = dashboard.summary(conn, seller_id, start, to, store_id=store_id)
    shown = [(s.store_id, s.name) for s in stores if store_id in (None, s.store_id)]
    names = dict(shown)
    revenue = {(d.store_id, d.day): d.revenue for d in summary.sales_by_day}
    day_list = [start + timedelta(days=i) for i in range(days)]
    selling = [(sid, name) for sid, name in shown if any(k[0] == sid for k in revenue)]
    money = _compact_money(lang)
    daily = charts.daily_columns(
        day_list, selling or shown, revenue, money, lambda d: f"{d.month}/{d.day}", exact=format_twd
    )
    per_store = {sid: 0 for sid, _ in shown}
    for d in summary.sales_by_day:
        per_store[d.store_id] = per_store.get(d.store_id, 0) + d.revenue
    store_chart = charts.horizontal_bars(
        [
            (names.get(sid, sid), [amount], format_twd(amount))
            for sid, amount in sorted(per_store.items(), key=lambda kv: -kv[1])
        ],
        [tr("dash.revenue")],
        format_twd,
    )
    visits: dict[str, list[int]] = {}
    for c in summary.conversion:
        row = visits.setdefault(c.store_id, [0, 0])
        row[0] += c.visitors
        row[1] += c.orders
    conversion_rows = [
        (names.get(sid, sid), [v, o], f"{o / v:.1%}" if v else "–") for sid, (v, o) in sorted(visits.items())
    ]
    conversion_chart = charts.horizontal_bars(
        conversion_rows, [tr("dash.visitors"), tr("dash.orders")], lambda n: f"{n:,}"
    )
    top_revenue = max((p.revenue for p in summary.top_products), default=0)
    return render(
        request,
        "dashboard.html",
        page=page,
        summary=summary,
        stores=stores,
        store_id=store_id or "",
        days=days,
        ranges=DASHBOARD_RANGES,
        daily=daily,
        store_chart=store_chart,
        conversion_chart=conversion_chart,
        conversion_rows=conversion_rows,
        top_share={
            p.product_id: (100 * p.revenue / top_revenue if top_revenue else 0) for p in summary.top_products
        },
        average=summary.revenue // summary.orders if summary.orders else 0,
    )


# --- stores ---------------------------------------------------------------------------------------------


def _stores_page(
    request: Request,
    cloud: Cloud,
    seller_id: str,
    *,
    new: StoreForm | None = None,
    editing: str = "",
    edit_form: StoreForm | None = None,
    errors: Sequence[FieldError] = (),
    status_code: int = 200,
) -> HTMLResponse:
    with cloud.db.read() as conn:
        page = chrome(conn, seller_id)
        stores = sellers.list_stores(conn, seller_id)
    forms = {s.store_id: StoreForm.from_store(s) for s in stores}
    if editing and edit_form is not None:
        forms[editing] = edit_form
    return render(
        request,
        "stores.html",
        status_code=status_code,
        page=page,
        errors=errors,
        stores=stores,
        forms=forms,
        new=new or StoreForm(),
        editing=editing or request.query_params.get("edit", ""),
        shop_types=[s.value for s in ShopType],
    )


@router.get("/stores")
def stores_page(request: Request, cloud: CloudDep, seller_id: WebSeller) -> HTMLResponse:
    return _stores_page(request, cloud, seller_id)


@router.post("/stores")
def create_store(
    request: Request, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    values = StoreForm.from_form(form)
    try:
        body = StoreCreate.model_validate(values.payload())
    except ValidationError as exc:
        return _stores_page(
            request, cloud, seller_id, new=values, errors=validation_errors(exc), status_code=422
        )
    with cloud.db.transaction() as conn:
        sellers.create_store(conn, seller_id, body, now)
    return _redirect("/stores?msg=storeCreated")


@router.post("/stores/{store_id}")
def update_store(
    request: Request, store_id: str, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    values = StoreForm.from_form(form)
    try:
        body = StoreUpdate.model_validate(values.payload())
    except ValidationError as exc:
        with cloud.db.read() as conn:
            sellers.get_store(conn, seller_id, store_id)
        return _stores_page(
            request,
            cloud,
            seller_id,
            editing=store_id,
            edit_form=values,
            errors=validation_errors(exc),
            status_code=422,
        )
    with cloud.db.transaction() as conn:
        sellers.update_store(conn, seller_id, store_id, body, now)
    return _redirect("/stores?msg=storeSaved")


# --- products -------------------------------------------------------------------------------------------


@router.get("/products")
def products_page(request: Request, cloud: CloudDep, seller_id: WebSeller) -> HTMLResponse:
    lang = language(request)
    q = request.query_params.get("q", "").strip()[:100]
    listed_param = request.query_params.get("listed", "")
    listed = {"1": True, "0": False}.get(listed_param)
    category = request.query_params.get("category", "")[:64]
    cursor = request.query_params.get("cursor") or None
    with cloud.db.read() as conn:
        page = chrome(conn, seller_id)
        categories = _categories(conn, lang)
        items, next_cursor = catalog.list_products(
            conn,
            seller_id,
            q=q or None,
            category_id=category or None,
            listed=listed,
            cursor=cursor,
            limit=PAGE_SIZE,
        )
    return render(
        request,
        "products.html",
        page=page,
        products=items,
        q=q,
        listed=listed_param if listed is not None else "",
        category=category,
        categories=categories,
        category_names={c["id"]: c["name"] for c in categories},
        next_url=_with_params(_here(request), cursor=next_cursor) if next_cursor else "",
    )


def _product_page(
    request: Request,
    cloud: Cloud,
    seller_id: str,
    product_id: str | None,
    *,
    form: ProductForm | None = None,
    errors: Sequence[FieldError] = (),
    status_code: int = 200,
) -> HTMLResponse:
    lang = language(request)
    with cloud.db.read() as conn:
        page = chrome(conn, seller_id)
        product = catalog.get_product(conn, cloud.metadata, seller_id, product_id) if product_id else None
        categories = _categories(conn, lang)
        brands = _brands(conn, seller_id, lang)
    if form is None:
        form = ProductForm.from_product(product) if product else ProductForm.blank()
    return render(
        request,
        "product_form.html",
        status_code=status_code,
        page=page,
        errors=errors,
        product=product,
        form=form,
        top_categories=[c for c in categories if c["parent"] is None],
        sub_categories=[c for c in categories if c["parent"] is not None],
        phone_categories=_phone_categories(categories),
        brands=brands,
        conditions=[c.value for c in Condition],
        storage_conditions=[s.value for s in StorageCondition],
        shipping_methods=[m.value for m in ShippingMethod],
        max_image_mb=cloud.settings.max_image_bytes / 1024 / 1024,
    )


@router.get("/products/new")
def new_product_page(request: Request, cloud: CloudDep, seller_id: WebSeller) -> HTMLResponse:
    return _product_page(request, cloud, seller_id, None)


@router.post("/products/new")
def create_product(
    request: Request, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    values = ProductForm.from_form(form)
    try:
        body = ProductCreate.model_validate(values.payload())
        with cloud.db.transaction() as conn:
            product = catalog.create_product(conn, cloud.metadata, seller_id, body, now)
    except FormInvalid as exc:
        return _product_page(request, cloud, seller_id, None, form=values, errors=exc.errors, status_code=422)
    except ValidationError as exc:
        errors = validation_errors(exc)
        return _product_page(request, cloud, seller_id, None, form=values, errors=errors, status_code=422)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        errors = [domain_error(exc)]
        return _product_page(request, cloud, seller_id, None, form=values, errors=errors, status_code=422)
    return _redirect(f"/products/{product.product_id}?msg=productCreated")


@router.get("/products/{product_id}")
def product_page(request: Request, product_id: str, cloud: CloudDep, seller_id: WebSeller) -> HTMLResponse:
    return _product_page(request, cloud, seller_id, product_id)


@router.post("/products/{product_id}")
def update_product(
    request: Request, product_id: str, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    values = ProductForm.from_form(form)
    with cloud.db.read() as conn:
        current = catalog.get_product(conn, cloud.metadata, seller_id, product_id)
    try:
        body = ProductUpdate.model_validate(values.payload(current.variants))
        with cloud.db.transaction() as conn:
            catalog.update_product(conn, cloud.metadata, seller_id, product_id, body, now)
    except FormInvalid as exc:
        errors: list[FieldError] = exc.errors
    except ValidationError as exc:
        errors = validation_errors(exc)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        errors = [domain_error(exc)]
    else:
        return _redirect(f"/products/{product_id}?msg=productSaved")
    return _product_page(request, cloud, seller_id, product_id, form=values, errors=errors, status_code=422)


@router.post("/products/{product_id}/delete")
def delete_product(
    request: Request, product_id: str, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> RedirectResponse:
    with cloud.db.transaction() as conn:
        catalog.delete_product(conn, seller_id, product_id, now)
    return _redirect("/products?msg=productDeleted")


@router.post("/products/{product_id}/images")
def upload_image(
    request: Request, product_id: str, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    """A photo from the product page, through the same check, thumbnail and storage as the API's uploads
    (``cloud.uploads.add_image``: ``inspect_image``, ``make_thumbnail``, the file store, the metadata
    document, ``catalog.set_images``). The bytes come in the form, read up to ``max_image_bytes`` + 1."""
    upload = form.get("image")
    limit = cloud.settings.max_image_bytes
    data = upload.file.read(limit + 1) if isinstance(upload, UploadFile) else b""
    try:
        with cloud.db.transaction() as conn:
            uploads.add_image(conn, cloud.blobs, cloud.metadata, seller_id, product_id, data, now, limit)
    except NotFound:
        raise
    except DomainError as exc:
        error = FieldError("image", "err.code." + exc.code, text=exc.message)
        return _product_page(request, cloud, seller_id, product_id, errors=[error], status_code=422)
    return _redirect(f"/products/{product_id}?msg=imageAdded#images")


@router.post("/products/{product_id}/images/{image_id}/delete")
def delete_image(
    request: Request,
    product_id: str,
    image_id: str,
    form: CsrfForm,
    cloud: CloudDep,
    now: NowDep,
    seller_id: WebSeller,
) -> RedirectResponse:
    with cloud.db.transaction() as conn:
        uploads.remove_image(conn, cloud.blobs, cloud.metadata, seller_id, product_id, image_id, now)
    return _redirect(f"/products/{product_id}?msg=imageRemoved#images")


# --- stock ----------------------------------------------------------------------------------------------


def _stock_page(
    request: Request,
    cloud: Cloud,
    seller_id: str,
    store_id: str | None,
    *,
    values: dict[str, str] | None = None,
    errors: Sequence[FieldError] = (),
    status_code: int = 200,
) -> HTMLResponse:
    with cloud.db.read() as conn:
        page = chrome(conn, seller_id)
        stores = sellers.list_stores(conn, seller_id)
        store = next((s for s in stores if s.store_id == store_id), stores[0] if stores else None)
        if store_id and (store is None or store.store_id != store_id):
            raise NotFound("store not found", code="storeNotFound")
        levels = (
            stock.list_levels(conn, seller_id, store.store_id, cloud.settings.low_stock_threshold)
            if store
            else []
        )
    return render(
        request,
        "stock.html",
        status_code=status_code,
        page=page,
        errors=errors,
        stores=stores,
        store=store,
        levels=levels,
        kinds=[k.value for k in AdjustmentKind],
        values=values or {"variant_id": request.query_params.get("variant", ""), "kind": "restock"},
        threshold=cloud.settings.low_stock_threshold,
    )


@router.get("/stock")
def stock_page(request: Request, cloud: CloudDep, seller_id: WebSeller) -> HTMLResponse:
    return _stock_page(request, cloud, seller_id, request.query_params.get("store") or None)


@router.post("/stock/{store_id}/adjustments")
def adjust_stock(
    request: Request, store_id: str, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    values = {k: text(form, k) for k in ("variant_id", "kind", "quantity", "reason")}
    try:
        quantity = int(values["quantity"])
    except ValueError:
        error = FieldError("quantity", "err.notANumber")
        return _stock_page(
            request, cloud, seller_id, store_id, values=values, errors=[error], status_code=422
        )
    try:
        body = StockAdjustmentCreate.model_validate(
            {
                "variant_id": values["variant_id"],
                "kind": values["kind"],
                "quantity": quantity,
                "reason": values["reason"],
            }
        )
        with cloud.db.transaction() as conn:
            sellers.get_store(conn, seller_id, store_id)
            stock.adjust(conn, seller_id, store_id, body, now, cloud.settings.low_stock_threshold)
    except ValidationError as exc:
        errors = validation_errors(exc)
    except DomainError as exc:
        if isinstance(exc, NotFound) and exc.code == "storeNotFound":
            raise
        errors = [domain_error(exc)]
    else:
        return _redirect("/stock?" + urlencode({"store": store_id, "msg": "stockAdjusted"}))
    return _stock_page(request, cloud, seller_id, store_id, values=values, errors=errors, status_code=422)


# --- orders ---------------------------------------------------------------------------------------------


def _date(value: str | None) -> date | None:
    """A day filter from the page's query; one the API would refuse (unreadable, or outside the years the
    API takes: 0001-01-01 overflows when moved to UTC) is no filter, like a blank one."""
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return day if day is None or FIRST_YEAR <= day.year <= LAST_YEAR else None


@router.get("/orders")
def orders_page(request: Request, cloud: CloudDep, seller_id: WebSeller) -> HTMLResponse:
    params = request.query_params
    status_param = params.get("status", "")
    status = OrderStatus(status_param) if status_param in {s.value for s in OrderStatus} else None
    date_from, date_to = _date(params.get("from")), _date(params.get("to"))
    if date_from and date_to and date_to < date_from:
        date_from, date_to = date_to, date_from
    with cloud.db.read() as conn:
        page = chrome(conn, seller_id)
        stores = sellers.list_stores(conn, seller_id)
        store_id = params.get("store", "")
        store_id = store_id if store_id in {s.store_id for s in stores} else ""
        result = orders.list_orders(
            conn,
            seller_id,
            store_id=store_id or None,
            status=status,
            date_from=date_from,
            date_to=date_to,
            cursor=params.get("cursor") or None,
            limit=PAGE_SIZE,
        )
    return render(
        request,
        "orders.html",
        page=page,
        result=result,
        stores=stores,
        store_names={s.store_id: s.name for s in stores},
        store_id=store_id,
        status=status.value if status else "",
        statuses=[s.value for s in OrderStatus],
        date_from=date_from.isoformat() if date_from else "",
        date_to=date_to.isoformat() if date_to else "",
        next_url=_with_params(_here(request), cursor=result.next_cursor) if result.next_cursor else "",
        order_error="",
        error_order="",
    )


@router.post("/orders/{order_id}/transition")
def transition_order(
    request: Request, order_id: str, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    """A status button. With htmx the answer is the order's card, redrawn; without, back to the list."""
    back = security.safe_next(text(form, "next"), "/orders")
    target = text(form, "to_status")
    tr = i18n.translator(language(request))
    error = ""
    try:
        with cloud.db.transaction() as conn:
            orders.transition(
                conn,
                seller_id,
                order_id,
                OrderStatus(target),
                now,
                note=text(form, "note")[:500] or None,
                low_threshold=cloud.settings.low_stock_threshold,
            )
    except ValueError:
        error = tr("err.badRequest")
    except Conflict as exc:
        error = tr("err.code." + exc.code) if tr.has("err.code." + exc.code) else exc.message
    if not _is_htmx(request):
        if error:
            return render_error(request, 409, "err.code.illegalTransition", error)
        return _redirect(_with_params(back, msg="orderUpdated"))
    with cloud.db.read() as conn:
        stores = sellers.list_stores(conn, seller_id)
        order = orders.get_order(conn, seller_id, order_id)
    return render(
        request,
        "_order.html",
        order=order,
        store_names={s.store_id: s.name for s in stores},
        here=back,
        order_error=error,
        error_order=order_id,
    )


# --- notifications --------------------------------------------------------------------------------------


@router.get("/notifications")
def notifications_page(request: Request, cloud: CloudDep, seller_id: WebSeller) -> HTMLResponse:
    unread_only = request.query_params.get("unread") == "1"
    cursor = request.query_params.get("cursor") or None
    with cloud.db.read() as conn:
        page = chrome(conn, seller_id)
        result = notifications.list_notifications(
            conn, seller_id, cursor=cursor, limit=PAGE_SIZE, unread_only=unread_only
        )
    return render(
        request,
        "notifications.html",
        page=page,
        result=result,
        unread_only=unread_only,
        next_url=_with_params(_here(request), cursor=result.next_cursor) if result.next_cursor else "",
    )


@router.post("/notifications/read-all")
def mark_all_read(
    request: Request, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    with cloud.db.transaction() as conn:
        notifications.mark_all_read(conn, seller_id, now)
    return _redirect("/notifications?msg=allRead")


@router.post("/notifications/{notification_id}/read")
def mark_read(
    request: Request, notification_id: str, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    with cloud.db.transaction() as conn:
        item = notifications.mark_read(conn, seller_id, notification_id, now)
    if _is_htmx(request):
        return render(request, "_notification.html", n=item)
    return _redirect(security.safe_next(text(form, "next"), "/notifications"))


__all__ = ["router", "static_files"]
