"""Health, catalog search and product detail over real HTTP against a real SQLite file."""

import pytest

from edge.demo_catalog import DEMO_STORE_ID


def test_health_reports_node_database_and_offline_cloud(edge):
    body = edge.client.get("/health").json()
    assert body["status"] == "ok"
    assert body["databaseOk"] is True
    assert body["storeId"] == DEMO_STORE_ID
    assert body["catalogVersion"] == 1
    assert body["online"] is False
    assert body["cloud"] == {"connected": False, "lastContactAt": None}
    assert len(body["deviceId"]) == 26
    # Loading the catalog counted stock, but those levels are the cloud's: nothing waits to go up.
    assert body["pendingOutbox"] == 0
    assert body["version"]


def test_search_matches_chinese_substrings(edge):
    items = edge.client.get("/catalog/products", params={"q": "奶茶"}).json()["items"]
    assert [p["productId"] for p in items] == ["bubble-tea"]
    assert items[0]["name"] == "珍珠奶茶"
    assert items[0]["nameEn"] == "Bubble milk tea"


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("PINEAPPLE", {"pineapple-cake"}),  # English, any case
        ("cake", {"pineapple-cake", "sun-cake"}),
        ("餅", {"sun-cake"}),  # a single Chinese character
        ("4710000400002", {"pineapple-cake"}),  # barcode
        ("12入", {"pineapple-cake"}),  # variant name
        ("100%", set()),  # LIKE wildcards are literal
        ("不存在的商品", set()),
    ],
)
def test_search_by_name_barcode_and_variant(edge, q, expected):
    items = edge.client.get("/catalog/products", params={"q": q}).json()["items"]
    found = {p["productId"] for p in items}
    assert found == expected


def test_search_by_category_and_sub_category(edge):
    drinks = {
        p["productId"]
        for p in edge.client.get("/catalog/products", params={"categoryId": "drinks"}).json()["items"]
    }
    assert drinks == {"bubble-tea", "oolong-tea", "black-coffee", "latte"}
    coffee = {
        p["productId"]
        for p in edge.client.get("/catalog/products", params={"categoryId": "coffee"}).json()["items"]
    }
    assert coffee == {"black-coffee", "latte"}
    both = edge.client.get("/catalog/products", params={"categoryId": "drinks", "q": "latte"}).json()["items"]
    assert [p["productId"] for p in both] == ["latte"]


def test_cursor_paging_visits_every_product_once(edge):
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        page = edge.client.get("/catalog/products", params=params).json()
        seen += [p["productId"] for p in page["items"]]
        pages += 1
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == 14 == len(set(seen))
    assert seen == sorted(seen)
    assert pages == 4


@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"cursor": "!!!not-base64"}, "cursor")],
)
def test_bad_list_parameters_are_422_with_the_field(edge, params, field):
    response = edge.client.get("/catalog/products", params=params)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == field
    assert error["code"] in {"validationError", "invalidCursor"}


def test_product_detail_has_variants_stock_and_active_discount(edge):
    body = edge.client.get("/catalog/products/pineapple-cake").json()
    assert body["activeDiscount"]["discountId"] == "souvenir-week"
    assert body["activeDiscount"]["percent"] == 10
    assert [v["variantId"] for v in body["variants"]] == ["pineapple-cake-1", "pineapple-cake-2"]
    first = body["variants"][0]
    assert (first["price"], first["discountPercent"], first["finalPrice"], first["stock"]) == (
        300,
        10,
        270,
        20,
    )
    assert first["isDefault"] is True
    assert body["price"] == 300
    assert body["finalPrice"] == 270
    assert body["stock"] == 32


def test_discount_ends_with_its_window(edge):
    edge.clock.advance(days=31)
    body = edge.client.get("/catalog/products/pineapple-cake").json()
    assert body["activeDiscount"] is None
    assert body["variants"][0]["finalPrice"] == 300


def test_unknown_product_is_404_and_bad_id_is_422(edge):
    response = edge.client.get("/catalog/products/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "productNotFound", "message": "product no-such-thing not found"}
    }
    response = edge.client.get("/catalog/products/bad id!")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "productId"


def test_categories_list_parents_first(edge):
    body = edge.client.get("/catalog/categories").json()
    assert body[0]["parentId"] is None
    assert {"categoryId": "tea", "name": "茶飲", "nameEn": "Tea", "parentId": "drinks"} in body


def test_unknown_route_and_method_use_the_error_shape(edge):
    response = edge.client.get("/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "notFound"
    response = edge.client.put("/health")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "methodNotAllowed"
