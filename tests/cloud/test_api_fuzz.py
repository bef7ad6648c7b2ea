"""The cloud's API against hostile input (issue 15), logged in as a seller with real data: no request may
cause a 5xx.

Two ways: a deterministic walk of hostile values (control characters, forged cursors, numbers as text,
extreme numbers and dates) over every parameter and body field of every operation, and schemathesis
generating requests from the OpenAPI schema (a few thousand; slow), with hostile values mixed in by
tests/schemathesis_hooks.py."""

from pathlib import Path

import httpx
import pytest

from models.ids import new_id
from tests.api_fuzz import operations_tested, run_schemathesis, walk_api
from tests.cloud.conftest import CloudServer, ingest, sale
from tests.cloud.test_cloud_catalog import make_product

PREFIX = "/api/v1"
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl pi@store"
NEVER = {
    f"POST {PREFIX}/auth/logout",  # would end the session the rest of the run uses
    f"GET {PREFIX}/notifications/stream",  # a stream that never ends by design
}


def _seller_data(cloud_server: CloudServer, seller: httpx.Client) -> dict[str, str]:
    """A store, a product with two variants, a sale of it (an order and a bell), a discount, a coupon, a
    registered device, a staff member and an invited team member: the ids the walk puts in paths."""
    store = seller.post("/stores", json={"name": "fuzz 店"}).json()
    product = make_product(seller)
    ingest(cloud_server, sale(store["storeId"], product, [(0, 1)], cloud_server.clock()))
    discount = seller.post("/discounts", json={"name": "九折", "percent": 10}).json()
    coupon = seller.post("/coupons", json={"code": "FUZZ10", "kind": "percent", "value": 10}).json()
    device = seller.post(f"/stores/{store['storeId']}/devices", json={"name": "kiosk"}).json()
    member = seller.post(f"/stores/{store['storeId']}/staff", json={"name": "店員"}).json()
    code = seller.post(f"/stores/{store['storeId']}/claim-codes", json={"name": "fuzz Pi"}).json()
    team_member = seller.post(
        "/team-members", json={"email": "fuzz-field@example.tw", "name": "外勤", "role": "fieldStaff"}
    ).json()["teamMember"]
    return {
        "storeId": store["storeId"],
        "productId": product["productId"],
        "variantId": product["variants"][0]["variantId"],
        "defaultVariantId": product["variants"][1]["variantId"],
        "orderId": seller.get("/orders").json()["items"][0]["orderId"],
        "notificationId": seller.get("/notifications").json()["items"][0]["notificationId"],
        "discountId": discount["discountId"],
        "couponId": coupon["couponId"],
        "deviceId": device["deviceId"],
        "staffId": member["staffId"],
        "claimCodeId": code["claimCodeId"],
        "teamMemberId": team_member["teamMemberId"],
        "imageId": new_id(),
        "photoId": new_id(),
        "name": "product-recognizer",
    }


def _bodies(ids: dict[str, str], account: str) -> dict[str, object]:
    """A valid body for every operation that takes one, with every optional field given, so the walk
    reaches each field with the rest of the request good."""
    moment = "2026-12-01T10:00:00+08:00"
    group_buy = {"minQuantity": 2, "maxQuantity": 20, "endsAt": moment}
    refund = {"returnable": True, "returnDays": 7, "refundable": True, "note": "未拆封"}
    return {
        f"POST {PREFIX}/sellers": {
            "account": "fuzz-walker",
            "password": "correct horse 1",
            "name": "走訪小舖",
            "phone": "+886 2 2345 6789",
            "address": "台北市信義區",
        },
        f"POST {PREFIX}/auth/login": {"account": account, "password": "correct horse 1"},
        f"PATCH {PREFIX}/me": {"name": "新名字", "phone": "+886 912 345 678", "address": "台北市"},
        f"POST {PREFIX}/stores": {
            "name": "走訪店",
            "address": "台北市",
            "shopType": "physical",
            "openingHours": "10:00-22:00",
        },
        f"PATCH {PREFIX}/stores/{{storeId}}": {
            "name": "走訪店",
            "address": "台北市",
            "shopType": "popUp",
            "openingHours": "10:00-22:00",
        },
        f"POST {PREFIX}/stores/{{storeId}}/devices": {"kind": "storeNode", "name": "kiosk 2"},
        f"PATCH {PREFIX}/stores/{{storeId}}/devices/{{deviceId}}": {"name": "櫃台 Pi 2"},
        f"POST {PREFIX}/models/{{name}}/rollback": {"toVersion": 1},
        f"POST {PREFIX}/stores/{{storeId}}/claim-codes": {"expiresInMinutes": 30, "name": "走訪 Pi"},
        f"POST {PREFIX}/devices/claim": {
            "code": "7KQ4-M2XP-9RTD",
            "hardwareId": "10000000abcdef01",
            "publicKey": PUBLIC_KEY,
        },
        f"POST {PREFIX}/stores/{{storeId}}/staff": {"name": "走訪店員", "role": "cashier", "pin": "1234"},
        f"POST {PREFIX}/team-members": {
            "email": "walker@example.tw",
            "name": "走訪外勤",
            "role": "fieldStaff",
        },
        f"POST {PREFIX}/team-members/accept": {
            "token": "not-a-real-invitation",
            "password": "correct horse 1",
        },
        f"PATCH {PREFIX}/stores/{{storeId}}/staff/{{staffId}}": {
            "name": "店員 2",
            "role": "manager",
            "pin": "5678",
        },
        f"POST {PREFIX}/brands": {"name": "走訪牌", "nameEn": "Walker"},
        f"POST {PREFIX}/products": {
            "name": "凍頂烏龍茶",
            "nameEn": "Dongding oolong",
            "description": "南投鹿谷 150g\n冷泡熱泡皆宜",
            "categoryId": "drinks",
            "subCategoryId": "tea",
            "listed": True,
            "variants": [
                {
                    "name": "150g",
                    "nameEn": "150 g",
                    "price": 450,
                    "barcode": "4710000000011",
                    "sku": "TEA-150",
                    "isDefault": True,
                    "listed": True,
                    "metadata": {"weight": "150g"},
                }
            ],
            "attributes": {"origin": "南投"},
            "shipping": [{"method": "homeDelivery", "fee": 80}],
            "refundRules": refund,
            "groupBuy": group_buy,
            "stockedOften": True,
            "storageCondition": "ambient",
        },
        f"PATCH {PREFIX}/products/{{productId}}": {
            "name": "凍頂烏龍茶",
            "description": "南投鹿谷",
            "listed": True,
            "variants": [
                {"variantId": ids["variantId"], "name": "150g", "price": 450},
                {"variantId": ids["defaultVariantId"], "name": "300g", "price": 850, "isDefault": True},
            ],
            "attributes": {"origin": "南投"},
            "refundRules": refund,
            "groupBuy": group_buy,
        },
        f"POST {PREFIX}/discounts": {
            "name": "週年慶",
            "description": "全館九折",
            "percent": 10,
            "productId": ids["productId"],
            "startsAt": "2026-01-01T00:00:00+08:00",
            "endsAt": moment,
            "active": True,
        },
        f"PATCH {PREFIX}/discounts/{{discountId}}": {
            "name": "週年慶",
            "description": "全館",
            "percent": 15,
            "startsAt": "2026-01-01T00:00:00+08:00",
            "endsAt": moment,
            "active": True,
        },
        f"POST {PREFIX}/coupons": {
            "code": "WALK10",
            "kind": "percent",
            "value": 10,
            "minSpend": 100,
            "maxUses": 5,
            "startsAt": "2026-01-01T00:00:00+08:00",
            "endsAt": moment,
            "active": True,
        },
        f"PATCH {PREFIX}/coupons/{{couponId}}": {"active": True, "maxUses": 3, "endsAt": moment},
        f"POST {PREFIX}/products/{{productId}}/images/uploads": {
            "contentType": "image/png",
            "size": 1000,
            "filename": "photo.png",
        },
        f"POST {PREFIX}/products/{{productId}}/images": {"uploadId": new_id()},
        f"POST {PREFIX}/products/{{productId}}/variants/{{variantId}}/recognition-photos": {
            "uploadId": new_id()
        },
        f"POST {PREFIX}/stores/{{storeId}}/stock/adjustments": {
            "variantId": ids["variantId"],
            "kind": "restock",
            "quantity": 5,
            "reason": "到貨",
        },
        f"POST {PREFIX}/orders/{{orderId}}/transitions": {"toStatus": "refunded", "note": "客訴"},
    }


def test_hostile_values_in_every_parameter_and_field_of_every_operation(
    cloud_server: CloudServer, seller: httpx.Client
):
    ids = _seller_data(cloud_server, seller)
    account = seller.get("/me").json()["account"]
    spec = seller.get("/openapi.json").json()
    origin = cloud_server.base_url.removesuffix(PREFIX)
    with httpx.Client(base_url=origin, headers=dict(seller.headers), timeout=30) as client:
        result = walk_api(client, spec, path_values=ids, bodies=_bodies(ids, account), skip=NEVER)
    assert len(result.operations) == sum(len(ops) for ops in spec["paths"].values()) - len(NEVER)
    assert not result.problems, result.report()
    assert result.requests > 2000


def test_far_days_forged_cursors_and_control_characters_get_named_refusals(
    cloud_server: CloudServer, seller: httpx.Client
):
    _seller_data(cloud_server, seller)
    for path, params, field in [
        ("/orders", {"dateFrom": "0001-01-01"}, "dateFrom"),
        ("/orders", {"dateTo": "9999-12-31"}, "dateTo"),
        ("/dashboard/summary", {"dateFrom": "0001-01-01"}, "dateFrom"),
        ("/dashboard/summary", {"dateTo": "9999-12-31"}, "dateTo"),
    ]:
        response = seller.get(path, params=params)
        assert response.status_code == 422, response.text
        assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (
            "invalidDateRange",
            field,
        )
    assert seller.get(
        "/dashboard/summary", params={"dateFrom": "2000-01-01", "dateTo": "2999-12-31"}
    ).is_success
    for path in ("/products", "/orders", "/notifications"):  # every paged route, the same answer
        for cursor in ("AAAA", "01JABCDEFGHJKMNPQRSTVWXYZ0", "x" * 300):
            response = seller.get(path, params={"cursor": cursor})
            assert response.status_code == 422, (path, cursor, response.text)
            assert response.json()["error"]["code"] == "invalidCursor", (path, cursor)
    for response, field in [
        (seller.get("/products", params={"q": "茶\x00"}), "q"),
        (seller.get("/products/%00"), "path"),
        (seller.patch("/me", json={"name": "小\x00舖"}), "name"),
        (seller.post("/auth/login", json={"account": "a\x00", "password": "whatever1"}), "account"),
    ]:
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert (error["code"], error["field"]) == ("validationError", field)
        assert "control characters" in error["message"]


@pytest.mark.slow
def test_no_generated_request_causes_a_server_error(
    cloud_server: CloudServer, seller: httpx.Client, tmp_path: Path
):
    _seller_data(cloud_server, seller)
    excluded = [arg for name in NEVER for arg in ("--exclude-path", name.split(" ", 1)[1])]
    output = run_schemathesis(
        cloud_server.base_url,
        tmp_path,
        "--header",
        f"Authorization:{seller.headers['Authorization']}",
        *excluded,
    )
    assert operations_tested(output) >= 30, output[-3000:]
