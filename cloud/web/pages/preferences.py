"""The header's switchers: language and theme, each remembered in a cookie for a year."""

from fastapi import Request
from fastapi.responses import RedirectResponse

from cloud import i18n
from cloud.web import security
from cloud.web.rendering import THEME_COOKIE, THEMES
from cloud.web.routing import page_router, redirect

router = page_router()


@router.get("/lang/{code}")
def switch_language(request: Request, code: str) -> RedirectResponse:
    """The header's language switcher: remembered in the ``lang`` cookie for a year."""
    response = redirect(security.safe_next(request.query_params.get("next"), "/"))
    lang = code if code in i18n.CATALOG.locales else i18n.CATALOG.locales[0]
    response.set_cookie(i18n.LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/")
    return response


@router.get("/theme/{name}")
def switch_theme(request: Request, name: str) -> RedirectResponse:
    response = redirect(security.safe_next(request.query_params.get("next"), "/"))
    response.set_cookie(THEME_COOKIE, name if name in THEMES else "dark", max_age=365 * 86400, samesite="lax")
    return response
