"""Turning a page's data into HTML: the template environment, the page's language and theme, the header's
data (who, the bell), form errors as sentences, and the one error page.

Every response of the dashboard that is a page goes through ``render`` (or ``render_error``), so every page
gets the same headers (CSP, no caching), the same CSRF token and the same pre-session cookie.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from sqlalchemy import Connection

from cloud import auth, i18n, notifications, sellers, team
from cloud.api.deps import get_cloud
from cloud.web import security
from cloud.web.forms import FieldError, day
from models.business_days import TAIWAN
from models.cloud_api import SellerPublic, TeamMemberPublic
from plumbing.i18n import N_, Translator

WEB_DIR = Path(__file__).parent
TEMPLATES_DIR = WEB_DIR / "templates"
THEME_COOKIE = "theme"
THEMES = ("dark", "light")
# The ``msg`` values a redirect may carry: anything else in the query shows no flash (no text injection).
FLASHES = frozenset(
    {
        "registered",
        "loggedOut",
        "storeCreated",
        "storeSaved",
        "claimCodeWithdrawn",
        "deviceRenamed",
        "deviceRevoked",
        "productCreated",
        "productSaved",
        "productDeleted",
        "imageAdded",
        "imageRemoved",
        "stockAdjusted",
        "orderUpdated",
        "allRead",
        "discountCreated",
        "discountSaved",
        "discountDeleted",
        "couponCreated",
        "couponSaved",
        "couponDeleted",
        "profileSaved",
        "staffAdded",
        "staffSaved",
        "staffRemoved",
        "modelPublished",
        "modelRolledBack",
        "recognitionPhotosAdded",
        "recognitionPhotoRemoved",
        "teamMemberRemoved",
        "inviteAccepted",
    }
)
# The main menu: where each item goes, its label, and the paths that belong to it (the item is lit on them
# and on anything under them).
NAV = (
    ("/dashboard", N_("nav.dashboard"), ("/dashboard",)),
    ("/orders", N_("nav.orders"), ("/orders",)),
    ("/products", N_("nav.products"), ("/products",)),
    ("/stock", N_("nav.stock"), ("/stock",)),
    ("/discounts", N_("nav.marketing"), ("/discounts", "/coupons", "/group-buys")),
    (
        "/stores",
        N_("nav.stores"),
        ("/stores", "/devices", "/staff", "/z-reports", "/recognition", "/team", "/profile"),
    ),
    ("/notifications", N_("nav.notifications"), ("/notifications",)),
)
# What a team member's menu shows (field staff: the stores, with their claim codes and devices).
MEMBER_NAV = frozenset({"/stores"})
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


# --- the request's language, theme and address ----------------------------------------------------------


def language(request: Request) -> str:
    return i18n.reader_locale(request)


def theme(request: Request) -> str:
    value = request.cookies.get(THEME_COOKIE, "dark")
    return value if value in THEMES else "dark"


def here(request: Request) -> str:
    """The page's own path and query: where a form on it comes back to."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def nav(path: str, owner: bool = True) -> list[tuple[str, str, bool]]:
    """The main menu for a page at ``path``: (where, label key, lit); a team member's holds only what their
    role may see (``MEMBER_NAV``)."""
    return [
        (href, key, any(path == p or path.startswith(p + "/") for p in paths))
        for href, key, paths in NAV
        if owner or href in MEMBER_NAV
    ]


# --- templates ------------------------------------------------------------------------------------------


@pass_context
def _money(context: Context, amount: int) -> str:
    """``{{ total | twd }}``: money the way the page's language writes it."""
    translator: Translator = context["t"]
    return translator.money(amount)


def _dt(value: datetime | None) -> str:
    return value.astimezone(TAIWAN).strftime("%Y-%m-%d %H:%M") if value else ""


_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["twd"] = _money
_env.filters["dt"] = _dt
_env.filters["day"] = day
# Keys chosen in a template and shown elsewhere in it (the tabs' labels) are marked for extraction.
_env.globals["N_"] = N_


@dataclass(frozen=True)
class Chrome:
    """What the header needs on every signed-in page: who (the owner, or a team member), and the bell's
    unread count (the owner's)."""

    seller: SellerPublic | None
    unread: int
    member: TeamMemberPublic | None = None


def chrome(conn: Connection, who: str | auth.Caller) -> Chrome:
    """The header of a page for the owner (a seller id) or for whoever ``who`` is."""
    if isinstance(who, str):
        who = auth.Caller(who)
    if who.team_member_id is None:
        return Chrome(
            sellers.get_seller(conn, who.seller_id), notifications.unread_count(conn, who.seller_id)
        )
    # A team member sees neither the seller's profile nor the bell (it speaks of sales and stock).
    return Chrome(None, 0, team.session_member(conn, who.seller_id, who.team_member_id))


def _message(tr: Translator, key: str, detail: str | None) -> str:
    """The translated message; for a code with no translation, the service's own (English) words on
    English pages, a generic message on zh-TW ones."""
    if tr.has(key):
        return tr(key)
    return detail if detail and tr.locale == "en" else tr("err.invalid")


def error_lines(tr: Translator, errors: Sequence[FieldError]) -> list[str]:
    """Field errors as sentences: "變體 2 價格：必填" / "Variant 2 price: required"."""
    lines = []
    for e in errors:
        message = _message(tr, e.key, e.text)
        label = tr("label." + e.field) if e.field and tr.has("label." + e.field) else ""
        if e.row is not None:
            label = tr("label.variantRow", n=e.row + 1) + " " + label
        colon = tr("punct.colon")
        lines.append(f"{label.strip()}{colon}{message}" if label.strip() else message)
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
        "theme": theme(request),
        "csrf": security.token_for(cloud.secret, bound),
        "csrf_field": security.CSRF_FIELD,
        "path": request.url.path,
        "nav": nav(request.url.path, owner=page is None or page.member is None),
        "here": here(request),
        "seller": page.seller if page else None,
        "member": page.member if page else None,
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
