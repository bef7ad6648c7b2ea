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
