"""The cloud's catalog snapshot for a store is a file the store node loads as it is: the seller's products,
discounts, coupons and this store's stock reach the node without any code shared between the two."""

import json
import subprocess

import httpx

from models.catalog import CatalogSnapshot
from tests.cloud.conftest import CloudServer
from tests.cloud.test_cloud_catalog import make_product
from tests.conftest import EDGESTORE


def test_snapshot_loads_into_a_store_node(cloud_server: CloudServer, seller: httpx.Client, tmp_path):
    store = seller.post("/stores", json={"name": "信義店"}).json()
    sid = store["storeId"]
    tea = make_product(seller)
    phone = seller.post(
        "/products",
        json={
            "name": "iPhone 15",
            "price": 25900,
            "categoryId": "electronics",
            "subCategoryId": "phones",
            "brandId": "apple",
            "condition": "new",
        },
    ).json()
    gone = seller.post("/products", json={"name": "停售", "price": 10}).json()
    seller.delete(f"/products/{gone['productId']}")
    seller.post(
        f"/stores/{sid}/stock/adjustments",
        json={"variantId": tea["variants"][0]["variantId"], "kind": "restock", "quantity": 7},
    )
    seller.post("/discounts", json={"name": "9折", "percent": 10, "productId": tea["productId"]})
    seller.post("/coupons", json={"code": "HELLO", "kind": "amount", "value": 50, "minSpend": 100})

    r = seller.get(f"/stores/{sid}/catalog-snapshot")
    assert r.status_code == 200
    snap = CatalogSnapshot.model_validate(r.json())  # the edge's own schema accepts it
    assert snap.version == seller.get("/catalog/version").json()["version"]
    assert snap.store_id == sid
    assert {p.product_id for p in snap.products} == {tea["productId"], phone["productId"]}
    assert {(s.variant_id, s.quantity) for s in snap.stock} == {(tea["variants"][0]["variantId"], 7)}

    path = tmp_path / "catalog.json"
    path.write_text(r.text, encoding="utf-8")
    node = tmp_path / "node"
    done = subprocess.run(
        [*EDGESTORE, "edge", "load-catalog", str(path), "--data-dir", str(node)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # The node now sells the cloud's catalog: check through its own database via its CLI-loaded file.
    from edge.catalog import get_product
    from edge.node import Node
    from edge.settings import EdgeSettings

    opened = Node.open(EdgeSettings(data_dir=node))
    try:
        with opened.db.read() as conn:
            detail = get_product(conn, tea["productId"], opened.now())
    finally:
        opened.close()
    assert detail.name == "凍頂烏龍茶"
    assert detail.description == "南投鹿谷 150g"
    stocked = {v.variant_id: v.stock for v in detail.variants}
    assert stocked == {tea["variants"][0]["variantId"]: 7, tea["variants"][1]["variantId"]: 0}
    assert detail.active_discount is not None
    assert detail.active_discount.percent == 10
    assert json.loads(r.text)["coupons"][0]["code"] == "HELLO"


def test_a_delta_takes_a_node_to_the_same_catalog_as_the_newer_snapshot(
    cloud_server: CloudServer, seller: httpx.Client, tmp_path
):
    """Every kind of change (product added, renamed, deleted; discount added and removed; coupon added and
    deleted; a phone with its brand): a node at the old version plus the delta equals a node that loaded the
    current snapshot."""
    from cloud import store_catalog
    from edge import sync_downlink
    from edge.catalog import load_snapshot
    from edge.node import Node
    from edge.settings import EdgeSettings
    from edge.tables import brands, coupons, discounts, products, variants
    from sync_protocol.rules import CatalogVerdict

    sid = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    _kept, renamed, dropped = (make_product(seller, name=n) for n in ("烏龍茶", "綠茶", "紅茶"))
    old_discount = seller.post("/discounts", json={"name": "舊折扣", "percent": 5}).json()
    old = CatalogSnapshot.model_validate(seller.get(f"/stores/{sid}/catalog-snapshot").json())

    seller.patch(f"/products/{renamed['productId']}", json={"name": "冬片綠茶"})
    assert seller.delete(f"/products/{dropped['productId']}").status_code == 204
    seller.post(
        "/products",
        json={"name": "iPhone 15", "price": 25900, "categoryId": "electronics", "subCategoryId": "phones",
              "brandId": "apple", "condition": "new"},
    )  # fmt: skip
    seller.post("/discounts", json={"name": "綠茶九折", "percent": 10, "productId": renamed["productId"]})
    assert seller.delete(f"/discounts/{old_discount['discountId']}").status_code == 204
    seller.post("/coupons", json={"code": "HELLO50", "kind": "amount", "value": 50})
    gone = seller.post("/coupons", json={"code": "BYE", "kind": "amount", "value": 10}).json()
    assert seller.delete(f"/coupons/{gone['couponId']}").status_code == 204
    current = CatalogSnapshot.model_validate(seller.get(f"/stores/{sid}/catalog-snapshot").json())
    seller_id = seller.get("/me").json()["sellerId"]
    cloud = cloud_server.cloud
    with cloud.db.read() as conn:
        delta = store_catalog.catalog_delta(conn, cloud.metadata, seller_id, sid, old.version)
    assert delta is not None
    assert (delta.from_version, delta.to_version) == (old.version, current.version)

    def catalog_of(node: Node) -> dict:
        """What a shopper can see: listed products and variants (a removed one stays, unlisted, for past
        orders), discounts, coupons, brands."""
        with node.db.read() as conn:
            return {
                t.name: sorted(
                    (
                        tuple(sorted(r._mapping.items()))
                        for r in conn.execute(t.select())
                        if r._mapping.get("listed", True)
                    ),
                    key=repr,
                )
                for t in (products, variants, discounts, coupons, brands)
            }

    followed = Node.open(EdgeSettings(data_dir=tmp_path / "followed"))
    fresh = Node.open(EdgeSettings(data_dir=tmp_path / "fresh"))
    try:
        with followed.db.write() as conn:
            load_snapshot(conn, old, followed.now())
            assert sync_downlink.apply_catalog_delta(conn, delta) is CatalogVerdict.APPLY
            assert sync_downlink.apply_catalog_delta(conn, delta) is CatalogVerdict.STALE  # never twice
        with fresh.db.write() as conn:
            load_snapshot(conn, current, fresh.now())
        assert catalog_of(followed) == catalog_of(fresh)
        listed = [r for r in catalog_of(followed)["products"] if dict(r)["listed"]]
        assert {dict(r)["name"] for r in listed} == {"烏龍茶", "冬片綠茶", "iPhone 15"}
    finally:
        followed.close()
        fresh.close()
