"""The cloud's words: its gettext catalog (``cloud/locales``, see ``plumbing.i18n``), and the locale a
request reads in.

The sellers' centre and the API read the same way: the ``lang`` cookie (the header's language switcher)
when it names a language we have, else ``Accept-Language``, else zh-TW. An API client sends
``Accept-Language``; the dashboard's own calls carry the cookie, so a seller who chose English gets English
notifications on the bell's live stream too.
"""

from pathlib import Path

from fastapi import Request

from plumbing.i18n import Catalog, Translator, negotiate

CATALOG = Catalog(Path(__file__).parent / "locales", "cloud")
LANG_COOKIE = "lang"


def translator(locale: str) -> Translator:
    return CATALOG.translator(locale)


def reader_locale(request: Request) -> str:
    return negotiate(request.headers.get("accept-language"), chosen=request.cookies.get(LANG_COOKIE))
