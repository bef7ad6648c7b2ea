"""Words for people, in their language: gettext catalogs, the locale a reader asked for, and money and
numbers written the way that locale writes them (Babel and CLDR).

Each part that shows text to a person keeps its own catalog (a gettext *domain*) beside its code, one
``.po`` file per language: the cloud's in ``cloud/locales/<ll_CC>/LC_MESSAGES/cloud.po``; the kiosk, the
storefront and the field guide's CLI keep theirs the same way. The ``.po`` files are the source; they are
compiled in memory by Babel the first time a process needs them, so no generated ``.mo`` file is kept in the
repository or can go stale. ``plumbing.message_catalogs`` extracts the messages the code uses and keeps the
``.po`` files in step (``make messages``); a test fails when a language misses one.

Message ids are stable keys (``status.completed``), not English sentences: zh-TW is the first language and
English a translation like any other, and a key survives rewording. Placeholders are ``str.format`` fields
(``{name}``) so that a translation can move them. ``docs/i18n.md`` says how to add a word or a language.
"""

import gettext
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_compact_decimal, format_decimal, format_percent

# BCP 47 tags, as the web, Accept-Language and the lang cookie write them; the first is the default.
LOCALES = ("zh-TW", "en")
DEFAULT_LOCALE = "zh-TW"
# Taiwanese receipts and e-invoices write the currency NT$ in both languages; CLDR writes it "$" in zh_TW,
# which a shopper used to US prices reads wrongly. The pattern keeps the locale's digits and grouping.
_MONEY_PATTERN = "'NT$'#,##0"


def N_(key: str) -> str:
    """Mark a message key for extraction where it is chosen, to be translated where it is shown."""
    return key


def gettext_name(locale: str) -> str:
    """The catalog directory's name for a BCP 47 tag: ``zh-TW`` -> ``zh_TW``."""
    return locale.replace("-", "_")


def negotiate(
    accept_language: str | None,
    *,
    chosen: str | None = None,
    available: Iterable[str] = LOCALES,
    default: str = DEFAULT_LOCALE,
) -> str:
    """The reader's locale: ``chosen`` (a language the reader picked, e.g. the dashboard's ``lang`` cookie)
    when it is one we have, else the best ``Accept-Language`` match by quality, else ``default``.

    A tag matches by its primary language, so ``zh-CN``, ``zh-HK`` and plain ``zh`` all read zh-TW, the one
    Chinese we write (Babel's ``negotiate_locale`` would send plain ``zh`` to zh_CN, which we do not have)."""
    offered = tuple(available)
    if chosen is not None and chosen in offered:
        return chosen
    by_language = {tag.split("-")[0].lower(): tag for tag in reversed(offered)}
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = _quality(params)
        match = by_language.get(tag.strip().split("-")[0].lower())
        if match is not None and quality > 0:
            ranked.append((-quality, position, match))
    return min(ranked)[2] if ranked else default


def _quality(params: str) -> float:
    """``q=0.8`` -> 0.8; no weight means 1; a malformed one counts as not wanted."""
    params = params.strip()
    if not params.startswith("q="):
        return 1.0
    try:
        return float(params[2:])
    except ValueError:
        return 0.0


@dataclass(frozen=True)
class Catalog:
    """Where one part's translations live: ``directory/<ll_CC>/LC_MESSAGES/<domain>.po``."""

    directory: Path
    domain: str
    locales: tuple[str, ...] = LOCALES

    def po_path(self, locale: str) -> Path:
        return self.directory / gettext_name(locale) / "LC_MESSAGES" / f"{self.domain}.po"

    @property
    def template_path(self) -> Path:
        return self.directory / f"{self.domain}.pot"

    def translator(self, locale: str) -> "Translator":
        """The words of ``locale`` (the default locale for one we do not have), falling back message by
        message to the default locale's."""
        locale = locale if locale in self.locales else self.locales[0]
        return Translator(locale, _compiled(self, locale))


@lru_cache(maxsize=32)
def _compiled(catalog: Catalog, locale: str) -> gettext.GNUTranslations:
    """The ``.po`` file compiled by Babel into gettext's form, in memory; fuzzy entries are left out."""
    with catalog.po_path(locale).open("rb") as po:
        messages = read_po(po, locale=gettext_name(locale), domain=catalog.domain)
    compiled = BytesIO()
    write_mo(compiled, messages, use_fuzzy=False)
    compiled.seek(0)
    translations = gettext.GNUTranslations(compiled)
    if locale != catalog.locales[0]:
        translations.add_fallback(_compiled(catalog, catalog.locales[0]))
    return translations


@dataclass(frozen=True)
class Translator:
    """One reader's words: ``t("key", name=...)`` is the message in their locale with its fields filled,
    plus money, numbers and names the way that locale writes them."""

    locale: str
    messages: gettext.GNUTranslations

    def __call__(self, key: str, **params: object) -> str:
        text = self.messages.gettext(key)
        return text.format(**params) if params else text

    def has(self, key: str) -> bool:
        return self.messages.gettext(key) != key

    @property
    def babel_locale(self) -> str:
        return gettext_name(self.locale)

    def money(self, amount: int) -> str:
        """Integer TWD: ``NT$1,280``, ``-NT$50``."""
        return format_decimal(amount, format=_MONEY_PATTERN, locale=self.babel_locale)

    def number(self, value: int) -> str:
        return format_decimal(value, locale=self.babel_locale)

    def percent(self, ratio: float) -> str:
        """``0.123`` -> ``12.3%``."""
        return format_percent(ratio, format="#,##0.0%", locale=self.babel_locale)

    def compact(self, value: int) -> str:
        """A short figure for chart axes: ``1.2萬`` in zh-TW, ``12K`` in English."""
        return format_compact_decimal(value, locale=self.babel_locale, fraction_digits=1)

    def name(self, zh: str, en: str | None) -> str:
        """A product's or variant's name in the reader's language when it has one (names are written in
        zh-TW first; the English one is optional)."""
        return en or zh if self.locale == "en" else zh
