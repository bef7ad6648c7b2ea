"""The kiosk's words: its gettext catalog (``kiosk_ui/locales``, see ``plumbing.i18n`` and docs/i18n.md).

zh-TW first; the shopper switches to English with the language button, and the kiosk goes back to zh-TW
when the session ends (the next shopper starts where most shoppers do).
"""

from pathlib import Path

from plumbing.i18n import Catalog, Translator

CATALOG = Catalog(Path(__file__).parent / "locales", "kiosk")


def translator(locale: str) -> Translator:
    return CATALOG.translator(locale)
