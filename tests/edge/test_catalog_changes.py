"""Catalog changes since a version, over real HTTP: what a phone holding a cached catalog asks for.

The node's catalog changes the ways it does in the field: a delta from the cloud's feed
(``sync_downlink.apply_catalog_delta``) and a whole snapshot, each applied through a second connection to the
node's file while it serves, as the sync agent and the CLI do."""

import sqlite3
from datetime import timedelta

from edge import node_state, sync_downlink
from edge.demo_catalog import demo_catalog
from edge.node import Node
from models.catalog import CatalogSnapshot, Discount, Product
from sync_protocol.envelope import CatalogChange, CatalogDelta, CatalogEntity, ChangeOp
from sync_protocol.rules import CatalogVerdict


def changes(edge, since: int, **params) -> dict:
    response = edge.client.get("/catalog/changes", params={"since": since} | params)
    assert response.status_code == 200, response.text
    return response.json()


def apply_delta(edge, version: int, *changed: CatalogChange) -> None:
    delta = CatalogDelta(
        store_id="store-taipei-xinyi", from_version=version - 1, to_version=version, changes=changed
    )
    node = Node.open(edge.settings)
    try:
        with node.db.write() as conn:
            assert sync_downlink.apply_catalog_delta(conn, delta) is CatalogVerdict.APPLY
    finally:
        node.close()


def demo_product(edge, product_id: str) -> Product:
    return next(p for p in demo_catalog(now=edge.clock()).products if p.product_id == product_id)


def upsert(product: Product) -> CatalogChange:
    return CatalogChange(
        entity=CatalogEntity.PRODUCT,
        op=ChangeOp.UPSERT,
        entity_id=product.product_id,
        data=product.to_json_dict(),
    )


def test_nothing_changed_at_the_nodes_own_version(edge):
    assert changes(edge, 1) == {
        "catalogVersion": 1,
        "reset": False,
        "items": [],
        "removed": [],
        "nextCursor": None,
    }


def test_a_copy_older_than_the_first_catalog_or_newer_than_the_nodes_is_reset(edge):
    for since in (0, 2, 99):
        assert changes(edge, since) == {
            "catalogVersion": 1,
            "reset": True,
            "items": [],
            "removed": [],
            "nextCursor": None,
        }


def test_a_delta_changing_one_product_lists_that_one_and_an_unlisted_one_is_removed(edge):
    latte = demo_product(edge, "latte")
    renamed = latte.model_copy(update={"name_en": "Latte"})
    apply_delta(edge, 2, upsert(renamed))
    answer = changes(edge, 1)
    assert (answer["catalogVersion"], answer["reset"], answer["removed"]) == (2, False, [])
    assert [p["productId"] for p in answer["items"]] == ["latte"]
    listed = edge.client.get("/catalog/products", params={"q": "拿鐵"}).json()["items"]
    assert answer["items"] == listed  # as the search lists it: stock and final price now
    apply_delta(
        edge, 3, CatalogChange(entity=CatalogEntity.PRODUCT, op=ChangeOp.REMOVE, entity_id="sun-cake")
    )
    assert changes(edge, 2) | {"items": None} == {
        "catalogVersion": 3,
        "reset": False,
        "items": None,
        "removed": ["sun-cake"],
        "nextCursor": None,
    }
    assert changes(edge, 2)["items"] == []
    since_one = changes(edge, 1)
    assert ([p["productId"] for p in since_one["items"]], since_one["removed"]) == (["latte"], ["sun-cake"])
    apply_delta(edge, 4, upsert(renamed))  # the same again: nothing a phone shows changed
    assert changes(edge, 3)["items"] == []


def test_a_snapshot_changing_one_product_lists_only_that_one(edge):
    snapshot = demo_catalog(version=2, now=edge.clock())
    products = [
        p.model_copy(update={"variants": [p.variants[0].model_copy(update={"price": 60})]})
        if p.product_id == "bubble-tea"
        else p
        for p in snapshot.products
    ]
    edge.load(snapshot.model_copy(update={"products": products}))
    answer = changes(edge, 1)
    assert (answer["catalogVersion"], answer["reset"], answer["removed"]) == (2, False, [])
    assert [(p["productId"], p["price"]) for p in answer["items"]] == [("bubble-tea", 60)]
    assert changes(edge, 2)["items"] == []


def test_a_discount_change_resets_older_copies(edge):
    discount = Discount(
        discount_id="tea-week",
        name="茶週 / Tea week",
        percent=20,
        product_id="oolong-tea",
        starts_at=edge.clock() - timedelta(hours=1),
    )
    apply_delta(
        edge,
        2,
        CatalogChange(
            entity=CatalogEntity.DISCOUNT,
            op=ChangeOp.UPSERT,
            entity_id="tea-week",
            data=discount.to_json_dict(),
        ),
    )
    assert changes(edge, 1)["reset"] is True
    assert changes(edge, 2)["reset"] is False
    apply_delta(
        edge, 3, CatalogChange(entity=CatalogEntity.DISCOUNT, op=ChangeOp.REMOVE, entity_id="tea-week")
    )
    assert (changes(edge, 2)["reset"], changes(edge, 3)["reset"]) == (True, False)


def test_changes_come_a_page_at_a_time_by_product_id(edge):
    snapshot = demo_catalog(version=2, now=edge.clock())
    renamed = [p.model_copy(update={"name_en": p.name_en + " (new)"}) for p in snapshot.products]
    edge.load(
        CatalogSnapshot.model_validate(snapshot.model_copy(update={"products": renamed}).to_json_dict())
    )
    seen, cursor = [], None
    while True:
        page = changes(edge, 1, limit=4, **({"cursor": cursor} if cursor else {}))
        seen += [p["productId"] for p in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == sorted(p.product_id for p in snapshot.products)
    response = edge.client.get("/catalog/changes", params={"since": 1, "cursor": "AAAA"})
    assert (response.status_code, response.json()["error"]["code"]) == (422, "invalidCursor")
    for since in ("-1", "1.0", "", "x"):
        response = edge.client.get("/catalog/changes", params={"since": since})
        assert (response.status_code, response.json()["error"]["field"]) == (422, "since"), since


def test_a_node_upgraded_with_a_catalog_stamps_it_and_resets_older_copies(edge):
    """A node that held a catalog before revisions were kept (migration 0010): on opening, its products get
    the version it holds, and a phone's older copy is reset."""
    edge.load(demo_catalog(version=5, now=edge.clock()))
    with sqlite3.connect(edge.database_path) as raw:
        raw.execute("DELETE FROM product_revisions")
        raw.execute("DELETE FROM node_state WHERE key = 'catalogResetVersion'")
    node = Node.open(edge.settings)
    try:
        with node.db.read() as conn:
            assert node_state.catalog_reset_version(conn) == 5
    finally:
        node.close()
    with sqlite3.connect(edge.database_path) as raw:
        assert {v for (v,) in raw.execute("SELECT version FROM product_revisions")} == {5}
    assert (changes(edge, 4)["reset"], changes(edge, 5)["reset"]) == (True, False)


def test_health_names_the_store_from_the_snapshot(edge):
    assert edge.client.get("/health").json()["storeName"] == "信義門市 Xinyi store"
