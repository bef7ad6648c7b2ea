"""The translation mechanism every part uses: gettext catalogs compiled from .po files by Babel, locale
negotiation, money and numbers in the reader's locale."""

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog as BabelCatalog
from babel.messages.pofile import write_po

from plumbing.i18n import N_, Catalog, negotiate
from plumbing.message_catalogs import CatalogSources, extract, problems, update


def _write(directory: Path, locale: str, words: dict[str, str], fuzzy: frozenset[str] = frozenset()) -> None:
    catalog = BabelCatalog(locale=locale.replace("-", "_"), domain="shop")
    for key, text in words.items():
        catalog.add(key, string=text, flags=("fuzzy",) if key in fuzzy else ())
    path = directory / locale.replace("-", "_") / "LC_MESSAGES" / "shop.po"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        write_po(out, catalog)


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    _write(tmp_path, "zh-TW", {"hello": "你好，{name}", "only.zh": "只有中文", "draft": "草稿"})
    _write(tmp_path, "en", {"hello": "Hello, {name}", "draft": "Draft"}, fuzzy=frozenset({"draft"}))
    return Catalog(tmp_path, "shop")


def test_words_come_from_the_po_file_of_the_locale(catalog: Catalog):
    assert catalog.translator("zh-TW")("hello", name="小明") == "你好，小明"
    assert catalog.translator("en")("hello", name="Ming") == "Hello, Ming"


def test_a_missing_word_falls_back_to_the_first_language_then_to_its_key(catalog: Catalog):
    en = catalog.translator("en")
    assert en("only.zh") == "只有中文"
    assert en("draft") == "草稿"  # a fuzzy translation is not used
    assert en("nowhere") == "nowhere"
    assert en.has("hello")
    assert not en.has("nowhere")


def test_an_unknown_locale_reads_the_first_language(catalog: Catalog):
    assert catalog.translator("fr").locale == "zh-TW"


@pytest.mark.parametrize(
    ("header", "chosen", "locale"),
    [
        (None, None, "zh-TW"),
        ("en-US,en;q=0.9", None, "en"),
        ("zh-HK", None, "zh-TW"),
        ("zh", None, "zh-TW"),
        ("fr, en;q=0.2, zh;q=0.1", None, "en"),
        ("en;q=0.3, zh-TW;q=0.8", None, "zh-TW"),
        ("en;q=bogus", None, "zh-TW"),
        ("en;q=0", None, "zh-TW"),
        (",,;;", None, "zh-TW"),
        ("zh-TW", "en", "en"),
        ("en", "xx", "en"),
    ],
)
def test_negotiate(header: str | None, chosen: str | None, locale: str):
    assert negotiate(header, chosen=chosen) == locale


@pytest.mark.parametrize(
    ("locale", "amount", "money", "compact"),
    [
        ("zh-TW", 1280, "NT$1,280", "1280"),
        ("zh-TW", -50, "-NT$50", "-50"),
        ("zh-TW", 12_345, "NT$12,345", "1.2萬"),
        ("zh-TW", 120_000_000, "NT$120,000,000", "1.2億"),
        ("en", 1280, "NT$1,280", "1.3K"),
        ("en", 0, "NT$0", "0"),
        ("en", 1_234_567, "NT$1,234,567", "1.2M"),
    ],
)
def test_money_and_figures_the_locale_way(
    catalog: Catalog, locale: str, amount: int, money: str, compact: str
):
    words = catalog.translator(locale)
    assert words.money(amount) == money
    assert words.compact(amount) == compact


def test_numbers_percentages_and_names(catalog: Catalog):
    zh, en = catalog.translator("zh-TW"), catalog.translator("en")
    assert en.number(1234567) == "1,234,567"
    assert en.percent(0.1234) == "12.3%"
    assert zh.name("烏龍茶", "Oolong tea") == "烏龍茶"
    assert en.name("烏龍茶", "Oolong tea") == "Oolong tea"
    assert en.name("烏龍茶", "") == "烏龍茶"


def test_extraction_update_and_problems(tmp_path: Path):
    code = tmp_path / "shop"
    (code / "templates").mkdir(parents=True)
    (code / "page.py").write_text('def page(tr):\n    return tr("page.title"), N_("page.chosen")\n')
    (code / "templates" / "a.html").write_text("<h1>{{ t('tpl.heading', name=n) }}</h1>{{ t('kind.' ~ k) }}")
    sources = CatalogSources(
        Catalog(tmp_path / "locales", "shop"), roots=(code,), families={"kind": ("a", "b")}
    )
    assert set(extract(sources)) == {"page.title", "page.chosen", "tpl.heading", "kind.a", "kind.b"}
    assert update(sources) == {"zh-TW": (5, 0), "en": (5, 0)}
    assert "en: kind.a has no translation" in problems(sources)
    # translate everything, with one English placeholder wrong
    words = {"page.title": "T", "page.chosen": "C", "tpl.heading": "H {name}", "kind.a": "A", "kind.b": "B"}
    for locale in ("zh-TW", "en"):
        _write(
            sources.catalog.directory, locale, words | ({"tpl.heading": "H {nmae}"} if locale == "en" else {})
        )
    assert problems(sources) == ["en: tpl.heading fills ['nmae'], zh-TW ['name']"]
    # a key the code stops asking for is reported, and the next update drops it
    (code / "page.py").write_text('def page(tr):\n    return tr("page.title")\n')
    assert "zh-TW: page.chosen is in the catalog but no code asks for it" in problems(sources)
    assert update(sources)["zh-TW"] == (0, 1)


def test_the_marker_is_the_identity():
    assert N_("a.key") == "a.key"
