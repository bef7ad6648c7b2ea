"""The catalog's search index: one row of text per listed product in ``product_search``, and the SQL
condition a search's ``q`` becomes.

A row's text is the product's names, variant names, SKUs and barcodes, case-folded, followed by the Zhuyin
initials of its names (``models.zhuyin``) as fixed-width slots, one per Chinese character. A slot is U+001F
followed by 10 characters holding a 37-bit mask, bit i set when some reading of the character begins with
``INITIALS[i]``, 4 bits per character written with 16 control characters (``_NIBBLES``). 行 (ㄏ, ㄒ: bits
10 and 13) is U+001F, then 0, 0, 0b0100, 0b0010, then six 0s.

Because each initial has its own bit at a fixed offset from the slot's start, a query of n initials is one
GLOB pattern of n slots: ``?`` at every character but the one holding the asked bit, and there the class
of the 8 characters with that bit set. That is exact for every combination of every polyphone's readings,
in space linear in the name (spelling every combination out grows as their product). A run ends with
U+001E where the next slot's U+001F would be, so no query crosses from one run (or name) into the next.

Only control characters other than tab and line breaks follow the names, and the API refuses those in a
query: an ordinary search (LIKE) never matches there, and a Zhuyin search (GLOB, each slot starting with
U+001F) matches nowhere else. Bits keep the rows short, which matters because a text search reads every
character of the rows it scans: slots of 37 characters (one per initial, the initial itself where set: the
first layout tried) made a text search that finds nothing in 10,000 products twice as slow, these add a
quarter to a third (docs/performance.md). The markers are ASCII so that GLOB finds slots with a byte scan.

The text is built when a catalog (or a product change) is loaded. ``SEARCH_INDEX_VERSION`` says how it is
built; a node whose rows were built another way rebuilds them once, at start (``ensure_current``), so a
change here needs no migration.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import cache, lru_cache

from sqlalchemy import ColumnElement, Connection, false, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from edge import node_state
from edge.tables import product_search, products, variants
from models.catalog import Product
from models.zhuyin import INITIALS, initials, zhuyin_query

SEARCH_INDEX_VERSION = 2
"""1: names, SKUs and barcodes; 2: and the Zhuyin initials of the names (issue 17)."""

SLOT = "\x1f"
"""Starts each character's slot."""
RUN_END = "\x1e"
"""Where a slot would start: the run ends."""
_NIBBLES = "\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13"
"""The 16 characters that write 4 bits of a slot: control characters other than NUL, tab and line breaks
(which a query may hold) and the two markers."""
_GROUPS = -(-len(INITIALS) // 4)
_MAX_QUERY = 200
"""Initials in the longest run a name can have (a name is at most 200 characters): a longer query matches
nothing (and SQLite refuses a GLOB pattern over 50,000 bytes)."""


def search_text(names: Iterable[str], codes: Iterable[str]) -> str:
    """A product's row: its ``names`` (zh-TW and English, of the product and its variants), searched by text
    and by Zhuyin initials, and its ``codes`` (SKUs, barcodes), by text."""
    names = [n for n in names if n]
    plain = " ".join([*names, *(c for c in codes if c)]).casefold()
    return plain + "".join(_name_slots(name) for name in names)


# A catalog repeats its names (variant names above all: 150g, 大, 原味) and, far more, its characters' sets
# of initials: caching both made a 100,000-product snapshot's search rows about 4x cheaper to build
# (docs/performance.md, "Initial catalog snapshot"). Pure functions of their argument, so nothing changes.
@lru_cache(maxsize=65_536)
def _name_slots(name: str) -> str:
    return "".join(_run_slots(run) for run in initials(name))


def _run_slots(run: tuple[str, ...]) -> str:
    return "".join(_slot(found) for found in run) + RUN_END


@cache  # bounded by the sets of initials one character's readings can have: a few thousand at most
def _slot(found: str) -> str:
    mask = sum(1 << INITIALS.index(symbol) for symbol in found)
    return SLOT + "".join(_NIBBLES[mask >> (4 * group) & 15] for group in range(_GROUPS))


def product_text(product: Product) -> str:
    names = [product.name, product.name_en]
    codes: list[str] = []
    for v in sorted(product.variants, key=lambda v: v.variant_id):  # the order ensure_current reads
        names += [v.name, v.name_en]
        codes += [v.sku or "", v.barcode or ""]
    return search_text(names, codes)


def put(conn: Connection, product: Product) -> None:
    """The product's row, written or replaced."""
    put_many(conn, [product])


def put_many(conn: Connection, batch: Sequence[Product]) -> None:
    """``put`` for many products, in one statement."""
    _put_texts(conn, {p.product_id: product_text(p) for p in batch})


def _put_texts(conn: Connection, texts: dict[str, str]) -> None:
    """Each product's search text (product id -> text), written or replaced, in one statement."""
    if texts:
        stmt = sqlite_insert(product_search)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[product_search.c.product_id], set_={"text": stmt.excluded.text}
            ),
            [{"product_id": product_id, "text": text} for product_id, text in texts.items()],
        )


def condition(q: str) -> ColumnElement[bool]:
    """What ``q`` asks of a row: its Zhuyin initials when ``q`` is made of them (「ㄓㄓㄋㄔ」), else any
    part of its text, case-insensitively."""
    symbols = zhuyin_query(q)
    if symbols is None:
        return product_search.c.text.like(_like_pattern(q.strip()), escape="\\")
    if len(symbols) > _MAX_QUERY:
        return false()
    return product_search.c.text.op("GLOB")(_initials_pattern(symbols))


def _like_pattern(q: str) -> str:
    escaped = q.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _initials_pattern(symbols: str) -> str:
    slots = []
    for symbol in symbols:
        group, bit = divmod(INITIALS.index(symbol), 4)
        with_bit = "".join(c for value, c in enumerate(_NIBBLES) if value >> bit & 1)
        slots.append(SLOT + "?" * group + f"[{with_bit}]" + "?" * (_GROUPS - 1 - group))
    return "*" + "".join(slots) + "*"


def ensure_current(conn: Connection) -> bool:
    """Rebuild every listed product's row when they were built by another version of ``search_text`` (a
    node that upgraded); True when it did. In the caller's write transaction, once per start."""
    if node_state.get(conn, node_state.SEARCH_INDEX_VERSION) == str(SEARCH_INDEX_VERSION):
        return False
    names: dict[str, list[str]] = defaultdict(list)
    codes: dict[str, list[str]] = defaultdict(list)
    listed = select(products.c.product_id, products.c.name, products.c.name_en).where(
        products.c.listed.is_(True)
    )
    for p in conn.execute(listed):
        names[p.product_id] += [p.name, p.name_en]
    listed_variants = (
        select(variants.c.product_id, variants.c.name, variants.c.name_en, variants.c.sku, variants.c.barcode)
        .where(variants.c.listed.is_(True))
        .order_by(variants.c.variant_id)
    )
    for v in conn.execute(listed_variants):
        if v.product_id in names:
            names[v.product_id] += [v.name, v.name_en]
            codes[v.product_id] += [v.sku or "", v.barcode or ""]
    conn.execute(product_search.delete())
    _put_texts(conn, {pid: search_text(product_names, codes[pid]) for pid, product_names in names.items()})
    node_state.put(conn, node_state.SEARCH_INDEX_VERSION, str(SEARCH_INDEX_VERSION))
    return True
