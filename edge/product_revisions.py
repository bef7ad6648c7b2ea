"""Per product, the catalog version at which what a phone lists of it last changed, so a phone holding a
cached catalog at version V asks only for what changed since (``GET /catalog/changes``).

What a phone lists of a product is its names (zh-TW and English), whether it is listed, its category, its
image, and its variants' names, prices, listed and default flags: ``digest`` hashes exactly that. After any
change to the catalog cache (a snapshot loaded, a delta applied: ``after_change``), each product whose
digest differs from the one kept gets the new version; one unlisted records ``listed`` false at it.

A discount or a category changes what phones show of many products without a product row changing (a
discount moves final prices). Those tables are few rows, so the node compares a digest of them before and
after each change, and when it moved the version is the catalog's *reset version*
(``node_state.CATALOG_RESET_VERSION``): a phone whose copy is older is told to fetch the catalog again.
"""

import hashlib
import json
from collections import defaultdict
from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects.sqlite import insert

from edge import node_state
from edge.tables import categories, discounts, product_revisions, products, variants


def _hash(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def digests(conn: Connection, product_ids: Collection[str] | None = None) -> dict[str, tuple[str, bool]]:
    """Per product (all of them, or ``product_ids``): the digest of what a phone lists of it, and whether
    it is listed."""
    # Only the columns digested: a whole row would decode every JSON column too (a 100,000-product snapshot
    # reads back every product and variant here).
    p, v = products.c, variants.c
    product_stmt = select(p.product_id, p.name, p.name_en, p.listed, p.category_id, p.image_url)
    variant_stmt = select(v.product_id, v.variant_id, v.name, v.name_en, v.price, v.listed, v.is_default)
    variant_stmt = variant_stmt.order_by(v.variant_id)
    if product_ids is not None:
        product_stmt = product_stmt.where(products.c.product_id.in_(product_ids))
        variant_stmt = variant_stmt.where(variants.c.product_id.in_(product_ids))
    by_product: dict[str, list[list[Any]]] = defaultdict(list)
    for pid, *shown_variant in conn.execute(variant_stmt):
        by_product[pid].append(shown_variant)
    result = {}
    for pid, name, name_en, listed, category_id, image_url in conn.execute(product_stmt):
        shown = [name, name_en, listed, category_id, image_url, by_product[pid]]
        result[pid] = (_hash(shown), bool(listed))
    return result


def listing_rules_digest(conn: Connection) -> str:
    """A digest of the discounts and categories: when it moves, many products' listing may have."""
    rows = [
        [dict(r._mapping) for r in conn.execute(select(table).order_by(*table.primary_key.columns))]
        for table in (discounts, categories)
    ]
    return _hash(rows)


_PAGE = 2000
"""Products digested at once when all are: a whole catalog's digests at once (its products and variants
read back) would grow with the catalog, and a snapshot's apply is otherwise bounded (``edge.snapshot_stream``)."""


def refresh(conn: Connection, version: int, product_ids: Collection[str] | None = None) -> int:
    """Give ``version`` to each product (all, or ``product_ids``) whose digest changed; how many did. All of
    them are gone through ``_PAGE`` at a time, in id order."""
    if product_ids is not None:
        return _refresh(conn, version, product_ids)
    changed = 0
    after = ""  # below every id (an id is never empty)
    page_stmt = select(products.c.product_id).order_by(products.c.product_id).limit(_PAGE)
    while page := list(conn.execute(page_stmt.where(products.c.product_id > after)).scalars()):
        changed += _refresh(conn, version, page)
        after = page[-1]
    return changed


def _refresh(conn: Connection, version: int, product_ids: Collection[str]) -> int:
    now = digests(conn, product_ids)
    held_stmt = select(product_revisions.c.product_id, product_revisions.c.digest).where(
        product_revisions.c.product_id.in_(product_ids)
    )
    held = {row.product_id: row.digest for row in conn.execute(held_stmt)}
    changed = [
        {"product_id": pid, "version": version, "digest": digest, "listed": listed}
        for pid, (digest, listed) in now.items()
        if held.get(pid) != digest
    ]
    if changed:  # one statement for the page: a whole catalog's snapshot changes every product
        stmt = insert(product_revisions)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[product_revisions.c.product_id],
                set_={name: stmt.excluded[name] for name in ("version", "digest", "listed")},
            ),
            changed,
        )
    return len(changed)


def after_change(
    conn: Connection, version: int, rules_before: str, product_ids: Collection[str] | None = None
) -> None:
    """Record a change of the catalog cache made at ``version``: the products' revisions (all of them, or
    the ``product_ids`` it touched), and the reset version when discounts or categories moved
    (``rules_before``: ``listing_rules_digest`` before the change)."""
    refresh(conn, version, product_ids)
    if listing_rules_digest(conn) != rules_before:
        node_state.put(conn, node_state.CATALOG_RESET_VERSION, str(version))


def ensure_current(conn: Connection) -> None:
    """On a node that held a catalog before revisions were kept (migration 0010), stamp its products with
    the catalog version it holds, and make that the reset version: a phone's copy from before cannot be
    brought up to date by changes, one at this version can. Nothing once done."""
    version = node_state.catalog_version(conn)
    if version is None:
        return
    kept = conn.execute(select(func.count()).select_from(product_revisions)).scalar_one()
    if kept == 0 and refresh(conn, version):
        node_state.put(conn, node_state.CATALOG_RESET_VERSION, str(version))
