"""Seller A's data is invisible to seller B on every route of the API: each operation that names a
resource answers B with 404 (not 403: B learns nothing), each list shows B nothing of A's, and A's data is
unchanged afterwards. The route list comes from the OpenAPI schema, so a new route without a case fails."""

import re

import httpx

from tests.cloud.conftest import CloudServer, ingest, sale
from tests.cloud.test_cloud_catalog import make_product
from tests.cloud.test_product_images import png, upload
from tests.cloud.test_recognition_photos_cloud import enrol
from tests.cloud.test_recognition_photos_cloud import photo as jpeg

# A body B may send to each operation that takes one (valid in shape, so only ownership can refuse it).
BODIES: dict[str, dict] = {
    "PATCH /api/v1/stores/{storeId}": {"name": "taken over"},
    "PATCH /api/v1/products/{productId}": {"name": "taken over"},
    "PATCH /api/v1/discounts/{discountId}": {"percent": 99},
    "PATCH /api/v1/coupons/{couponId}": {"active": False},
    "POST /api/v1/stores/{storeId}/stock/adjustments": {
        "variantId": "VARIANT",
        "kind": "restock",
        "quantity": 5,
    },
    "POST /api/v1/orders/{orderId}/transitions": {"toStatus": "refunded"},
    "POST /api/v1/products/{productId}/images/uploads": {"contentType": "image/png", "size": 100},
    "POST /api/v1/products/{productId}/images": {"uploadId": "01HZZZZZZZZZZZZZZZZZZZZZZZ"},
    "POST /api/v1/products/{productId}/variants/{variantId}/recognition-photos": {
        "uploadId": "01HZZZZZZZZZZZZZZZZZZZZZZZ"
    },
    "POST /api/v1/stores/{storeId}/devices": {"name": "taken over"},
    "PATCH /api/v1/stores/{storeId}/devices/{deviceId}": {"name": "taken over"},
    "POST /api/v1/stores/{storeId}/claim-codes": {"name": "taken over"},
    "POST /api/v1/stores/{storeId}/staff": {"name": "內鬼 Mole", "role": "manager", "pin": "1234"},
    "PATCH /api/v1/stores/{storeId}/staff/{staffId}": {"role": "manager", "pin": "1234"},
}


def test_no_route_lets_one_seller_reach_anothers_data(
    cloud_server: CloudServer, seller: httpx.Client, other_seller: httpx.Client
):
    a = seller
    store = a.post("/stores", json={"name": "A 店"}).json()
    product = make_product(a)
    image = upload(a, product["productId"], png()).json()
    photo = enrol(a, product["productId"], product["variants"][0]["variantId"], jpeg(5)).json()
    discount = a.post("/discounts", json={"name": "A 折扣", "percent": 10}).json()
    coupon = a.post("/coupons", json={"code": "AONLY", "kind": "amount", "value": 10}).json()
    order = sale(store["storeId"], product, [(0, 1)], cloud_server.clock())
    ingest(cloud_server, order)
    device = a.post(f"/stores/{store['storeId']}/devices", json={"name": "A 的 Pi"}).json()
    cashier = a.post(f"/stores/{store['storeId']}/staff", json={"name": "A 的店員", "role": "cashier"}).json()
    claim_code = a.post(f"/stores/{store['storeId']}/claim-codes", json={"name": "A 的 Pi"}).json()
    member = a.post(
        "/team-members", json={"email": "a-field@example.tw", "name": "A 的外勤", "role": "fieldStaff"}
    ).json()["teamMember"]
    a_model = a.put("/models/product-recognizer", content=b"A's model").json()["sha256"]
    notification = a.get("/notifications").json()["items"][0]
    ids = {
        "storeId": store["storeId"],
        "productId": product["productId"],
        "imageId": image["imageId"],
        "variantId": product["variants"][0]["variantId"],
        "photoId": photo["photoId"],
        "discountId": discount["discountId"],
        "couponId": coupon["couponId"],
        "orderId": order.order_id,
        "notificationId": notification["notificationId"],
        "deviceId": device["deviceId"],
        "staffId": cashier["staffId"],
        "claimCodeId": claim_code["claimCodeId"],
        "teamMemberId": member["teamMemberId"],
    }
    before = {
        "product": a.get(f"/products/{product['productId']}").json(),
        "order": a.get(f"/orders/{order.order_id}").json(),
        "stock": a.get(f"/stores/{store['storeId']}/stock").json(),
        "discounts": a.get("/discounts").json(),
        "coupons": a.get("/coupons").json(),
        "store": a.get(f"/stores/{store['storeId']}").json(),
        "unread": a.get("/notifications/unread-count").json(),
        "devices": a.get(f"/stores/{store['storeId']}/devices").json(),
        "models": a.get("/models").json(),
        "staff": a.get(f"/stores/{store['storeId']}/staff").json(),
        "claimCodes": a.get(f"/stores/{store['storeId']}/claim-codes").json(),
        "zReports": a.get(f"/stores/{store['storeId']}/z-reports").json(),
        "recognitionPhotos": a.get(f"/products/{product['productId']}/recognition-photos").json(),
        "team": a.get("/team-members").json(),
    }

    schema = a.get("/openapi.json").json()
    checked = 0
    for path, methods in schema["paths"].items():
        params = re.findall(r"{(\w+)}", path)
        if not params:
            continue
        for method in methods:
            key = f"{method.upper()} {path}"
            if key == "PUT /api/v1/models/{name}":
                # Model names are per seller, not ids: B's upload under A's name is B's own model.
                r = other_seller.put("/models/product-recognizer", content=b"B's model")
                assert r.status_code == 200
                assert r.json()["version"] == 1
                checked += 1
                continue
            if key in ("GET /api/v1/models/{name}/versions", "POST /api/v1/models/{name}/rollback"):
                # B's versions and rollbacks of a name are B's own: never A's file (A's models are
                # compared with before at the end).
                r = other_seller.request(
                    method.upper(),
                    path.removeprefix("/api/v1").replace("{name}", "product-recognizer"),
                    json={"toVersion": 1} if method == "post" else None,
                )
                assert r.status_code in (200, 404, 409), f"{key}: {r.status_code} {r.text}"
                if r.status_code == 200:
                    assert b"A's model" not in r.content
                    assert all(v["sha256"] != a_model for v in (r.json() if method == "get" else [r.json()]))
                checked += 1
                continue
            url = path.removeprefix("/api/v1")
            for name in params:
                assert name in ids, f"{key}: no seller-A resource for {{{name}}}: add one to this test"
                url = url.replace(f"{{{name}}}", ids[name])
            body = BODIES.get(key)
            if body and body.get("variantId") == "VARIANT":
                body = {**body, "variantId": product["variants"][0]["variantId"]}
            needs_body = "requestBody" in methods[method]
            assert not needs_body or body is not None, f"{key}: give seller B a body for it in BODIES"
            r = other_seller.request(method.upper(), url, json=body if needs_body else None)
            assert r.status_code == 404, f"{key} as another seller: {r.status_code} {r.text}"
            assert r.json()["error"]["code"].endswith("NotFound") or r.json()["error"]["code"] == "notFound"
            checked += 1
    assert checked >= 15

    # Lists show B nothing of A's.
    assert other_seller.get("/stores").json() == []
    assert other_seller.get("/products").json()["items"] == []
    assert other_seller.get("/orders").json()["items"] == []
    assert other_seller.get("/discounts").json() == []
    assert other_seller.get("/coupons").json() == []
    assert other_seller.get("/team-members").json() == []
    assert other_seller.get("/notifications").json()["items"] == []
    assert other_seller.get("/dashboard/summary").json()["orders"] == 0
    assert other_seller.get("/orders", params={"storeId": store["storeId"]}).json()["totals"]["orders"] == 0

    # And nothing of A's changed.
    assert a.get(f"/products/{product['productId']}").json() == before["product"]
    assert a.get(f"/orders/{order.order_id}").json() == before["order"]
    assert a.get(f"/stores/{store['storeId']}/stock").json() == before["stock"]
    assert a.get("/discounts").json() == before["discounts"]
    assert a.get("/coupons").json() == before["coupons"]
    assert a.get(f"/stores/{store['storeId']}").json() == before["store"]
    assert a.get("/notifications/unread-count").json() == before["unread"]
    assert a.get(f"/stores/{store['storeId']}/devices").json() == before["devices"]
    assert a.get("/models").json() == before["models"]
    assert a.get(f"/stores/{store['storeId']}/staff").json() == before["staff"]
    assert a.get(f"/stores/{store['storeId']}/claim-codes").json() == before["claimCodes"]
    assert a.get(f"/stores/{store['storeId']}/z-reports").json() == before["zReports"]
    assert a.get(f"/products/{product['productId']}/recognition-photos").json() == before["recognitionPhotos"]
    assert other_seller.get("/recognition-photos/status").json()["photos"] == 0
    assert a.get("/team-members").json() == before["team"]
