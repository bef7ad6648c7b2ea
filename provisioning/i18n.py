"""The field guide's words (``provisioning`` and ``edgestore doctor``): its gettext catalog
(``provisioning/locales``, see ``plumbing.i18n`` and docs/i18n.md), zh-TW first, English with ``--lang en``."""

from pathlib import Path

from plumbing.i18n import Catalog, Translator

CATALOG = Catalog(Path(__file__).parent / "locales", "provisioning")


def translator(locale: str) -> Translator:
    return CATALOG.translator(locale)
