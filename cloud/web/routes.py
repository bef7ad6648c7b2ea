"""The sellers' dashboard: one router assembled from the page areas of ``cloud.web.pages``.

Every page calls ``cloud/*.py`` directly (same process) inside ``cloud.db.read()``/``.transaction()``. The
session is the API's: the ``edgestore_session`` cookie checked with ``cloud.auth.caller_for_token``; a page
asked for without a live session redirects to ``/login``, one the session's role may not see (a team
member's) is the 403 page (``routing.WebSeller``, ``routing.WebDeviceAdmin``). Logging in through the page runs the same rate
limit and argon2 check as ``POST /api/v1/auth/login`` (the functions of ``cloud.auth``).

Forms are POST + redirect (PRG); the order buttons and "mark read" also work through htmx, which swaps the
one card instead of reloading. Every POST carries a CSRF token (see ``cloud.web.security`` for the choice).
The bell in the header follows ``GET /api/v1/notifications/stream`` (Server-Sent Events) from ``app.js``.

Where things live: ``rendering`` (templates, language, the error page), ``routing`` (the route class that
turns failures into pages, the session and CSRF dependencies), ``forms`` (form <-> schema), ``pages/*``.
"""

from fastapi import APIRouter
from fastapi.staticfiles import StaticFiles

from cloud.web.pages import (
    auth,
    dashboard,
    devices,
    marketing,
    notifications,
    orders,
    preferences,
    products,
    profile,
    recognition,
    staff,
    stock,
    stores,
    team,
    z_reports,
)
from cloud.web.rendering import WEB_DIR

STATIC_DIR = WEB_DIR / "static"

router = APIRouter()
for _area in (
    auth,
    preferences,
    dashboard,
    stores,
    devices,
    staff,
    z_reports,
    recognition,
    team,
    profile,
    products,
    stock,
    orders,
    marketing,
    notifications,
):
    router.include_router(_area.router)


def static_files() -> StaticFiles:
    """The dashboard's CSS and scripts, for ``app.mount("/static", ...)``."""
    return StaticFiles(directory=STATIC_DIR)


__all__ = ["router", "static_files"]
