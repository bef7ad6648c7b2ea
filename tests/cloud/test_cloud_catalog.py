"""Products with variants, categories, brands, discounts, coupons, and the catalog version, on real Postgres
and montydb."""

import httpx
import pytest

from tests.cloud.conftest import CloudServer


def make_product(client: httpx.Client, **overrides) -> dict:
    body = {
        "name": "凍頂烏龍茶",
        "nameEn": "Dongding oolong",
        "description": "南投鹿谷 150g",
        "categoryId": "drinks",
        "subCategoryId": "tea",
        "variants": [
            {"name": "150g", "price": 450, "barcode": "4710000000011", "metadata": {"weight": "150g"}},
            {"name": "300g", "price": 850, "isDefault": True},
        ],
        "attributes": {"origin": "南投"},
        "shipping": [{"method": "homeDelivery", "fee": 80}, {"method": "convenienceStore", "fee": 60}],
        "refundRules": {"returnable": True, "returnDays": 7, "refundable": True, "note": "未拆封"},
        **overrides,
    }
    r = client.post("/products", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_create_product_with_variants_and_metadata(seller: httpx.Client):
    p = make_product(seller)
    assert p["variantCount"] == 2
    assert [v["isDefault"] for v in p["variants"]] == [False, True]
    assert p["price"] == 850  # the default variant's
    assert p["description"] == "南投鹿谷 150g"  # from the metadata document
    assert p["attributes"] == {"origin": "南投"}
    assert p["variants"][0]["metadata"] == {"weight": "150g"}
    assert p["refundRules"]["note"] == "未拆封"
    assert p["shipping"][1] == {"method": "convenienceStore", "fee": 60}
    assert p["metadataId"]
    again = seller.get(f"/products/{p['productId']}").json()
    assert again == p


def test_a_product_without_variants_gets_its_default_variant(seller: httpx.Client):
    r = seller.post("/products", json={"name": "鳳梨酥", "price": 300})
    assert r.status_code == 201
    variants = r.json()["variants"]
    assert len(variants) == 1
    assert variants[0]["isDefault"]
    assert variants[0]["price"] == 300
    r = seller.post("/products", json={"name": "no price"})
    assert r.status_code == 422


def test_phones_need_brand_and_condition(seller: httpx.Client):
    base = {"name": "iPhone 15", "price": 25000, "categoryId": "electronics", "subCategoryId": "phones"}
    r = seller.post("/products", json=base)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "phoneNeedsBrandAndCondition"
    r = seller.post("/products", json={**base, "brandId": "apple"})
    assert r.json()["error"]["field"] == "condition"
    r = seller.post("/products", json={**base, "brandId": "apple", "condition": "used"})
    assert r.status_code == 201
    # and an edit cannot take them away
    r = seller.patch(f"/products/{r.json()['productId']}", json={"brandId": None})
    assert r.status_code == 422


def test_references_must_exist_and_nest(seller: httpx.Client):
    r = seller.post("/products", json={"name": "x", "price": 1, "categoryId": "nope"})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "categoryId"
    r = seller.post(
        "/products", json={"name": "x", "price": 1, "categoryId": "snacks", "subCategoryId": "tea"}
    )
    assert r.json()["error"]["field"] == "subCategoryId"
    r = seller.post("/products", json={"name": "x", "price": 1, "brandId": "nope"})
    assert r.json()["error"]["field"] == "brandId"


def test_update_variants_replaces_the_list(seller: httpx.Client):
    p = make_product(seller)
    small, large = p["variants"]
    r = seller.patch(
        f"/products/{p['productId']}",
        json={
            "variants": [
                {"variantId": large["variantId"], "name": "300g", "price": 800, "isDefault": True},
                {"name": "禮盒", "price": 1200},
            ],
            "listed": False,
            "description": "新包裝",
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    names = [v["name"] for v in body["variants"]]
    assert names == ["300g", "禮盒"]
    assert body["variants"][0]["variantId"] == large["variantId"]
    assert body["variants"][0]["price"] == 800
    assert small["variantId"] not in {v["variantId"] for v in body["variants"]}
    assert body["listed"] is False
    assert body["description"] == "新包裝"
    r = seller.patch(
        f"/products/{p['productId']}",
        json={
            "variants": [
                {"name": "a", "price": 1, "isDefault": True},
                {"name": "b", "price": 2, "isDefault": True},
            ]
        },
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "twoDefaultVariants"


def test_list_search_filter_and_page(seller: httpx.Client):
    for i in range(7):
        seller.post(
            "/products",
            json={"name": f"茶葉 {i}", "nameEn": f"Tea leaves {i}", "price": 100 + i, "categoryId": "drinks"},
        )
    seller.post(
        "/products", json={"name": "洋芋片", "nameEn": "Potato chips", "price": 45, "categoryId": "snacks"}
    )
    assert len(seller.get("/products", params={"q": "茶葉"}).json()["items"]) == 7
    assert len(seller.get("/products", params={"q": "chips"}).json()["items"]) == 1
    assert len(seller.get("/products", params={"categoryId": "snacks"}).json()["items"]) == 1
    assert seller.get("/products", params={"q": "%"}).json()["items"] == []  # LIKE wildcards are literal
    seen, cursor = [], None
    while True:
        page = seller.get("/products", params={"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
        seen += [p["productId"] for p in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 8
    assert seller.get("/products", params={"cursor": "!!"}).status_code == 422


def test_delete_is_soft_and_hides_the_product(seller: httpx.Client):
    p = make_product(seller)
    assert seller.delete(f"/products/{p['productId']}").status_code == 204
    assert seller.get(f"/products/{p['productId']}").status_code == 404
    assert seller.get("/products").json()["items"] == []
    assert seller.delete(f"/products/{p['productId']}").status_code == 404


def test_every_catalog_change_bumps_the_version(seller: httpx.Client):
    v0 = seller.get("/catalog/version").json()["version"]
    p = make_product(seller)
    v1 = seller.get("/catalog/version").json()["version"]
    assert v1 == v0 + 1 == p["catalogVersion"]
    seller.patch(f"/products/{p['productId']}", json={"name": "新名字"})
    seller.post("/discounts", json={"name": "週年慶", "percent": 10})
    seller.post("/coupons", json={"code": "save50", "kind": "amount", "value": 50})
    assert seller.get("/catalog/version").json()["version"] == v1 + 3


def test_discounts_and_coupons(seller: httpx.Client):
    p = make_product(seller)
    r = seller.post(
        "/discounts",
        json={
            "name": "9折",
            "percent": 10,
            "productId": p["productId"],
            "startsAt": "2026-01-01T00:00:00+08:00",
            "endsAt": "2026-02-01T00:00:00+08:00",
        },
    )
    assert r.status_code == 201
    d = r.json()
    assert seller.get("/discounts").json() == [d]
    assert seller.patch(f"/discounts/{d['discountId']}", json={"active": False}).json()["active"] is False
    bad = seller.patch(f"/discounts/{d['discountId']}", json={"endsAt": "2025-01-01T00:00:00Z"})
    assert bad.status_code == 422
    assert seller.post("/discounts", json={"name": "x", "percent": 101}).status_code == 422
    assert (
        seller.post(
            "/discounts", json={"name": "x", "percent": 5, "variantId": "01HZZZZZZZZZZZZZZZZZZZZZZZ"}
        ).status_code
        == 404
    )
    assert seller.delete(f"/discounts/{d['discountId']}").status_code == 204
    assert seller.get("/discounts").json() == []

    c = seller.post(
        "/coupons", json={"code": "welcome", "kind": "percent", "value": 15, "minSpend": 500, "maxUses": 1}
    ).json()
    assert c["code"] == "WELCOME"
    r = seller.post("/coupons", json={"code": "WELCOME", "kind": "amount", "value": 1})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "couponCodeTaken"
    assert seller.post("/coupons", json={"code": "big", "kind": "percent", "value": 150}).status_code == 422
    assert seller.patch(f"/coupons/{c['couponId']}", json={"active": False}).json()["active"] is False


def test_brands_are_shared_and_unique(seller: httpx.Client, other_seller: httpx.Client):
    r = seller.post("/brands", json={"name": "小米", "nameEn": "Xiaomi"})
    assert r.status_code == 201
    assert any(b["nameEn"] == "Xiaomi" for b in other_seller.get("/brands").json())
    r = other_seller.post("/brands", json={"name": "XIAOMI 台灣", "nameEn": "xiaomi"})
    assert r.status_code == 409
    cats = {c["categoryId"]: c for c in seller.get("/categories").json()}
    assert cats["phones"]["parentId"] == "electronics"
    assert cats["tea"]["name"] == "茶飲"


def test_sellers_cannot_touch_each_others_catalog(seller: httpx.Client, other_seller: httpx.Client):
    p = make_product(seller)
    pid = p["productId"]
    assert other_seller.get("/products").json()["items"] == []
    assert other_seller.get(f"/products/{pid}").status_code == 404
    assert other_seller.patch(f"/products/{pid}", json={"name": "stolen"}).status_code == 404
    assert other_seller.delete(f"/products/{pid}").status_code == 404
    assert (
        other_seller.post("/discounts", json={"name": "x", "percent": 5, "productId": pid}).status_code == 404
    )
    # taking over another seller's variant id by naming it in an update is refused
    mine = make_product(other_seller)
    r = other_seller.patch(
        f"/products/{mine['productId']}",
        json={"variants": [{"variantId": p["variants"][0]["variantId"], "name": "x", "price": 1}]},
    )
    assert r.status_code == 422
    d = seller.post("/discounts", json={"name": "x", "percent": 5}).json()
    c = seller.post("/coupons", json={"code": "MINE", "kind": "amount", "value": 5}).json()
    assert other_seller.patch(f"/discounts/{d['discountId']}", json={"percent": 50}).status_code == 404
    assert other_seller.delete(f"/coupons/{c['couponId']}").status_code == 404
    assert other_seller.get("/discounts").json() == []
    assert other_seller.get("/coupons").json() == []
    assert seller.get(f"/products/{pid}").json()["name"] == p["name"]


@pytest.mark.parametrize(
    "body", [{"name": "x", "price": -1}, {"name": "x", "price": 1.5}, {"name": "x", "price": "1"}]
)
def test_money_is_non_negative_integer_twd(seller: httpx.Client, body: dict):
    assert seller.post("/products", json=body).status_code == 422


def test_metadata_lives_in_the_document_store(cloud_server: CloudServer, seller: httpx.Client):
    p = make_product(seller)
    doc = cloud_server.cloud.metadata.get(p["metadataId"])
    assert doc["productId"] == p["productId"]
    assert doc["description"] == "南投鹿谷 150g"
    assert doc["refundRules"]["returnDays"] == 7
