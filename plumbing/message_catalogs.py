"""Keeping a part's ``.po`` files in step with its code: Babel extracts the message keys the code asks for,
the catalog's families add the keys the code builds at run time, and every language must translate each.

``extract`` reads Python with Babel's extractor and Jinja templates with Jinja's, taking the first argument
of ``t(...)``, ``tr(...)``, ``words(...)`` and ``N_(...)`` when it is a literal. A key assembled at run time
(``t('status.' ~ order.status.value)``) is declared once as a *family*: a prefix and the values it takes,
usually an enum, so a new enum member without words fails the check instead of showing its key.

``update`` (``make messages``, or ``python -m plumbing.message_catalogs cloud.message_sources:SOURCES``) writes the
new keys into every language's ``.po`` untranslated and drops the ones the code no longer asks for;
``problems`` is what the test asserts empty.
"""

import string
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

from babel.messages.catalog import Catalog as BabelCatalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from plumbing.i18n import Catalog, gettext_name

KEYWORDS = {"t": None, "tr": None, "words": None, "N_": None}
METHODS = [("**/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
# The template environment's own settings, so the extractor parses the templates as the pages do.
TEMPLATE_OPTIONS = {"**/templates/**.html": {"trim_blocks": "true", "lstrip_blocks": "true"}}


@dataclass(frozen=True)
class CatalogSources:
    """A catalog and where its keys come from: the code under ``roots``, and the families."""

    catalog: Catalog
    roots: tuple[Path, ...]
    families: Mapping[str, Iterable[str]] = field(default_factory=dict)
    # Keys whose languages fill different fields on purpose (zh-TW says a discount as "85折", English as
    # "15% off": the code passes both).
    free_fields: frozenset[str] = frozenset()


def extract(sources: CatalogSources) -> dict[str, list[tuple[str, int]]]:
    """Every key the code asks for, with where (relative path and line; ``<family:prefix>`` for a family)."""
    found: dict[str, list[tuple[str, int]]] = {}
    for root in sources.roots:
        results = extract_from_dir(
            root, METHODS, options_map=TEMPLATE_OPTIONS, keywords=KEYWORDS, directory_filter=_code_only
        )
        for filename, lineno, message, _comments, _context in results:
            if isinstance(message, str) and message and not message.endswith("."):
                found.setdefault(message, []).append((f"{root.name}/{filename}", lineno))
    for prefix, values in sources.families.items():
        for value in values:
            found.setdefault(f"{prefix}.{value}", []).append((f"<family:{prefix}>", 0))
    return found


def _code_only(dirpath: str) -> bool:
    name = Path(dirpath).name
    return not name.startswith((".", "_")) and name not in {"static", "locales", "node_modules"}


def _read(sources: CatalogSources, locale: str) -> BabelCatalog:
    path = sources.catalog.po_path(locale)
    if not path.exists():
        # A new language: its header says who keeps it (the project), not Babel's placeholders.
        return BabelCatalog(
            locale=gettext_name(locale),
            domain=sources.catalog.domain,
            project="edgestore",
            msgid_bugs_address="",
            last_translator="edgestore",
            language_team=locale,
            fuzzy=False,
        )
    with path.open("rb") as po:
        return read_po(po, locale=gettext_name(locale), domain=sources.catalog.domain)


def update(sources: CatalogSources) -> dict[str, tuple[int, int]]:
    """Bring every language's ``.po`` in step with the code: per locale, (keys added, keys dropped)."""
    keys = extract(sources)
    template = BabelCatalog(domain=sources.catalog.domain, project="edgestore")
    for key in sorted(keys):
        template.add(key, locations=keys[key])
    changes = {}
    for locale in sources.catalog.locales:
        po = _read(sources, locale)
        before = {m.id for m in po if m.id}
        po.update(template, no_fuzzy_matching=True, update_creation_date=False)
        after = {m.id for m in po if m.id}
        changes[locale] = (len(after - before), len(before - after))
        path = sources.catalog.po_path(locale)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            # No line numbers and no obsolete entries: a moved line or a removed key is not a change to review.
            write_po(out, po, sort_output=True, ignore_obsolete=True, include_lineno=False, width=110)
    return changes


def problems(sources: CatalogSources) -> list[str]:
    """What keeps the catalogs from being complete: a key without words in a language, words for a key
    the code no longer asks for, a fuzzy entry, or a translation whose ``{fields}`` differ from the
    first language's."""
    wanted = set(extract(sources))
    found: list[str] = []
    first: dict[str, set[str]] = {}
    for locale in sources.catalog.locales:
        po = {m.id: m for m in _read(sources, locale) if m.id and isinstance(m.id, str)}
        for key in sorted(wanted - po.keys()):
            found.append(f"{locale}: {key} is missing (run make messages, then translate it)")
        for key in sorted(po.keys() - wanted):
            found.append(f"{locale}: {key} is in the catalog but no code asks for it")
        for key in sorted(wanted & po.keys()):
            message = po[key]
            text = message.string if isinstance(message.string, str) else ""
            if not text or message.fuzzy:
                found.append(f"{locale}: {key} has no translation" + (" (fuzzy)" if message.fuzzy else ""))
                continue
            fields = _fields(text)
            if locale == sources.catalog.locales[0]:
                first[key] = fields
            elif key in first and fields != first[key] and key not in sources.free_fields:
                found.append(
                    f"{locale}: {key} fills {sorted(fields)}, {sources.catalog.locales[0]} {sorted(first[key])}"
                )
    return found


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def main(argv: list[str]) -> int:
    """``python -m plumbing.message_catalogs module:SOURCES ...``: update those catalogs, say what changed."""
    if not argv:
        print("usage: python -m plumbing.message_catalogs package.module:SOURCES ...", file=sys.stderr)  # noqa: T201
        return 2
    for spec in argv:
        module, _, name = spec.partition(":")
        sources = getattr(import_module(module), name or "SOURCES")
        for locale, (added, dropped) in update(sources).items():
            path = sources.catalog.po_path(locale)
            print(f"{path}: {added} new, {dropped} dropped")  # noqa: T201
        for problem in problems(sources):
            print(f"  {problem}")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
