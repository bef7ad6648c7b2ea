"""Products with variants, categories, brands, discounts, coupons, and the catalog version, on real Postgres
and montydb."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import Connection, select

from cloud import store_catalog
from cloud.tables import catalog_changes, stores
from sync_protocol.envelope import CatalogEntity
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


def test_curated_brands_are_seeded_with_the_phone_makers(seller: httpx.Client):
    brands = {b["brandId"]: b for b in seller.get("/brands").json()}
    # phones need a brand: the makers of the phones sold in Taiwan are on the curated list
    for brand_id in ("apple", "samsung", "google", "asus", "sony", "xiaomi", "oppo", "vivo", "motorola"):
        assert brands[brand_id]["shared"] is True, brand_id
    assert brands["xiaomi"]["name"] == "小米"
    phone = {"name": "Redmi Note 13", "price": 6990, "categoryId": "electronics", "subCategoryId": "phones"}
    r = seller.post("/products", json={**phone, "brandId": "xiaomi", "condition": "new"})
    assert r.status_code == 201, r.text
    cats = {c["categoryId"]: c for c in seller.get("/categories").json()}
    assert cats["phones"]["parentId"] == "electronics"
    assert cats["tea"]["name"] == "茶飲"


def test_a_sellers_brand_is_its_own(seller: httpx.Client, other_seller: httpx.Client):
    curated = {b["brandId"] for b in seller.get("/brands").json()}
    r = seller.post("/brands", json={"name": "阿里山茶園", "nameEn": "Alishan Tea Garden"})
    assert r.status_code == 201, r.text
    own = r.json()
    assert own["shared"] is False
    assert {b["brandId"] for b in seller.get("/brands").json()} == curated | {own["brandId"]}
    # the other seller's list, and its products, do not see it
    assert {b["brandId"] for b in other_seller.get("/brands").json()} == curated
    r = other_seller.post("/products", json={"name": "烏龍", "price": 300, "brandId": own["brandId"]})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "unknownBrand"
    assert r.json()["error"]["field"] == "brandId"
    theirs = make_product(other_seller)
    r = other_seller.patch(f"/products/{theirs['productId']}", json={"brandId": own["brandId"]})
    assert (r.status_code, r.json()["error"]["code"]) == (422, "unknownBrand")
    # ...which answers like an id that does not exist at all: nothing is revealed
    r = other_seller.post(
        "/products", json={"name": "烏龍", "price": 300, "brandId": "01HZZZZZZZZZZZZZZZZZZZZZZZ"}
    )
    assert (r.status_code, r.json()["error"]["code"]) == (422, "unknownBrand")
    # the owner uses it
    mine = make_product(seller, brandId=own["brandId"])
    assert mine["brandId"] == own["brandId"]
    # names are unique per owner: the other seller may have its own brand of that name
    r = other_seller.post("/brands", json={"name": "阿里山茶園"})
    assert r.status_code == 201, r.text
    assert r.json()["brandId"] != own["brandId"]
    assert other_seller.get("/brands").json() != seller.get("/brands").json()


def test_the_product_editor_offers_curated_and_own_brands_only(
    cloud_server: CloudServer, seller: httpx.Client, other_seller: httpx.Client
):
    own = seller.post("/brands", json={"name": "阿里山茶園", "nameEn": "Alishan Tea Garden"}).json()
    root = cloud_server.base_url.removesuffix("/api/v1")

    def editor(client: httpx.Client) -> str:
        token = client.headers["Authorization"].removeprefix("Bearer ")
        with httpx.Client(base_url=root, timeout=30, cookies={"edgestore_session": token}) as browser:
            page = browser.get("/products/new")
        assert page.status_code == 200
        return page.text

    assert f'<option value="{own["brandId"]}"' in editor(seller)
    assert '<option value="xiaomi"' in editor(seller)
    assert own["brandId"] not in editor(other_seller)
    assert "阿里山茶園" not in editor(other_seller)
    assert '<option value="xiaomi"' in editor(other_seller)


def test_a_brand_name_the_seller_already_sees_is_that_brand(seller: httpx.Client):
    own = seller.post("/brands", json={"name": "日月潭紅茶", "nameEn": "Sun Moon Lake Black Tea"}).json()
    for body, brand_id in (
        ({"name": "日月潭紅茶"}, own["brandId"]),
        ({"name": "sun moon lake black tea"}, own["brandId"]),  # either language, any case
        ({"name": "別名", "nameEn": "SUN MOON LAKE BLACK TEA"}, own["brandId"]),
        ({"name": "APPLE"}, "apple"),  # a curated one: use it rather than a private copy
        ({"name": "Samsung"}, "samsung"),  # curated as 三星 / Samsung
    ):
        r = seller.post("/brands", json=body)
        assert r.status_code == 409, body
        assert r.json()["error"]["code"] == "brandExists"
        assert r.json()["error"]["brandId"] == brand_id


def test_concurrent_creates_of_one_name_make_one_brand(seller: httpx.Client):
    token = seller.headers["Authorization"]

    def create(_: int) -> int:
        with httpx.Client(base_url=str(seller.base_url), timeout=30, headers={"Authorization": token}) as c:
            return c.post("/brands", json={"name": "同時茶行"}).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(create, range(8)))
    assert codes == [201] + [409] * 7
    assert [b["name"] for b in seller.get("/brands").json()].count("同時茶行") == 1


def test_a_private_brand_reaches_only_its_sellers_stores(
    cloud_server: CloudServer, seller: httpx.Client, other_seller: httpx.Client
):
    sid = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    other_sid = other_seller.post("/stores", json={"name": "板橋店"}).json()["storeId"]
    make_product(other_seller, brandId="apple")
    make_product(seller)  # the store holds a catalog version to take a delta from
    other_version = other_seller.get("/catalog/version").json()["version"]
    held = seller.get("/catalog/version").json()["version"]
    own = seller.post("/brands", json={"name": "佳德糕餅", "nameEn": "Chia Te Bakery"}).json()
    # creating a brand changes no catalog: it travels with the products that name it
    assert seller.get("/catalog/version").json()["version"] == held
    assert other_seller.get("/catalog/version").json()["version"] == other_version
    make_product(seller, name="鳳梨酥", brandId=own["brandId"])

    r = other_seller.post("/products", json={"name": "鳳梨酥", "price": 300, "brandId": own["brandId"]})
    assert r.status_code == 422  # so no product can carry it into the other seller's stores

    snap = seller.get(f"/stores/{sid}/catalog-snapshot").json()
    assert own["brandId"] in {b["brandId"] for b in snap["brands"]}
    other_snap = other_seller.get(f"/stores/{other_sid}/catalog-snapshot").json()
    assert {b["brandId"] for b in other_snap["brands"]} == {"apple"}

    cloud = cloud_server.cloud
    with cloud.db.read() as conn:
        delta = store_catalog.catalog_delta(conn, cloud.metadata, store_seller(conn, sid), sid, held)
        other_changes = conn.execute(
            select(catalog_changes.c.entity, catalog_changes.c.entity_id).where(
                catalog_changes.c.seller_id == store_seller(conn, other_sid)
            )
        ).all()
    assert delta is not None
    brand_changes = [c for c in delta.changes if c.entity is CatalogEntity.BRAND]
    assert [c.entity_id for c in brand_changes] == [own["brandId"]]
    assert own["brandId"] not in {row.entity_id for row in other_changes}
    assert {row.entity for row in other_changes} == {"product"}


def store_seller(conn: Connection, store_id: str) -> str:
    return str(conn.execute(select(stores.c.seller_id).where(stores.c.store_id == store_id)).scalar_one())


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
