"""Notifications are stored as a kind and parameters; their words are written for each reader from the
cloud's catalog (issue 16)."""

import pytest

from cloud.i18n import translator
from cloud.notification_text import notification_text
from models.cloud_api import NotificationKind as K

TEA = {
    "productName": "凍頂烏龍",
    "productNameEn": "Dong Ding oolong",
    "variantName": "150g",
    "variantNameEn": "",
}
PARAMS = {
    K.NEW_ORDER: {
        "storeId": "s1",
        "storeName": "信義店",
        "total": 1280,
        "lines": [TEA | {"quantity": 2}, {"productName": "茶杯", "variantName": "白", "quantity": 1}],
        "moreLines": 3,
    },
    K.NEGATIVE_STOCK: {"storeId": "s1", "variantId": "v1", "level": -2} | TEA,
    K.LOW_STOCK: {"storeId": "s1", "variantId": "v1", "level": 3} | TEA,
    K.GROUP_BUY_MINIMUM: {
        "productName": "凍頂烏龍",
        "productNameEn": "Dong Ding oolong",
        "sold": 10,
        "minQuantity": 10,
    },
    K.GROUP_BUY_DEADLINE: {
        "productName": "凍頂烏龍",
        "productNameEn": "",
        "endsAt": "2026-12-31T00:00:00+00:00",
    },
    K.SYNC_CONFLICT: {
        "orderId": "01JEXAMPLE0000000000ABCDEF",
        "storeStatus": "returned",
        "otherStatus": "refunded",
        "winner": "refunded",
        "loser": "returned",
    },
    K.STORE_OFFLINE: {"deviceId": "dev-1", "deviceName": "", "storeName": "信義店"},
    K.DEVICE_PROVISIONED: {"deviceId": "dev-1", "deviceName": "櫃台", "storeId": "s1", "storeName": "信義店"},
    K.PRICE_MISMATCH: {
        "orderId": "01JEXAMPLE0000000000ABCDEF",
        "count": 2,
        "lines": [{"itemId": "i1", "variantId": "v1", "soldAt": 90, "catalogPrice": 120}],
    },
    K.COUPON_REUSED: {
        "code": "WELCOME",
        "maxUses": 1,
        "firstOrderId": "01JEXAMPLE0000000000AAAAAA",
        "laterOrderId": "01JEXAMPLE0000000000BBBBBB",
        "laterStoreId": "s2",
    },
    K.CASH_SHORT: {
        "zReportId": "01JEXAMPLE0000000000ZZZZZZ",
        "storeId": "s1",
        "storeName": "信義店",
        "number": 12,
        "businessDay": "2026-03-02",
        "cashExpected": 3900,
        "countedCash": 3400,
        "short": 500,
        "closedBy": "王店長",
    },
    K.RETURN_CONFLICT: {
        "orderId": "01JEXAMPLE0000000000ABCDEF",
        "returnId": "01JEXAMPLE0000000000RRRRRR",
        "units": 2,
        "refund": 231,
        "status": "refunded",
    },
}


@pytest.mark.parametrize("kind", [k for k in K if k in PARAMS])
@pytest.mark.parametrize("locale", ["zh-TW", "en"])
def test_every_kind_has_words_in_both_languages(kind: K, locale: str):
    title, body = notification_text(translator(locale), kind, PARAMS[kind])
    assert title
    assert "{" not in title + body
    assert "notice." not in title + body


def test_the_words_follow_the_reader():
    zh_title, zh_body = notification_text(translator("zh-TW"), K.NEW_ORDER, PARAMS[K.NEW_ORDER])
    en_title, en_body = notification_text(translator("en"), K.NEW_ORDER, PARAMS[K.NEW_ORDER])
    assert zh_title == "新訂單 NT$1,280：信義店"
    assert zh_body == "凍頂烏龍 150g x2、茶杯 白 x1、等 3 項"
    assert en_title == "New order NT$1,280: 信義店"
    # English names where the seller gave them, the zh-TW ones where not
    assert en_body == "Dong Ding oolong 150g x2, 茶杯 白 x1, and 3 more"


def test_statuses_are_said_by_their_labels():
    title, _ = notification_text(translator("zh-TW"), K.SYNC_CONFLICT, PARAMS[K.SYNC_CONFLICT])
    assert title == "同步衝突：訂單 ABCDEF 門市改為「退貨」、雲端為「退款」；以「退款」為準"
    title, _ = notification_text(translator("en"), K.SYNC_CONFLICT, PARAMS[K.SYNC_CONFLICT])
    assert "“Refunded” stands" in title


def test_money_in_a_body_is_written_the_readers_way():
    _, body = notification_text(translator("en"), K.PRICE_MISMATCH, PARAMS[K.PRICE_MISMATCH])
    assert body.startswith("The store charged NT$90 where its catalog said NT$120")


def test_a_notification_without_its_parameters_says_its_kind():
    assert notification_text(translator("en"), K.NEW_ORDER, {"total": 5}) == ("New order", "")
    assert notification_text(translator("zh-TW"), K.ORDER_STATUS, {}) == ("訂單狀態", "")


def test_words_written_before_the_catalogs_are_shown_as_written():
    legacy = {
        "legacy": {
            "zh-TW": {"title": "新訂單 NT$5", "body": ""},
            "en": {"title": "New order NT$5", "body": "x"},
        }
    }
    assert notification_text(translator("en"), K.NEW_ORDER, legacy) == ("New order NT$5", "x")
    assert notification_text(translator("zh-TW"), K.NEW_ORDER, legacy) == ("新訂單 NT$5", "")
