"""Wire schemas: camelCase in and out, unknown fields refused, and one error shape for every API."""

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from models.base import CamelModel
from models.errors import (
    Conflict,
    CouponNotApplicable,
    DomainError,
    IllegalTransition,
    InsufficientStock,
    InvalidInput,
    NotFound,
    error_body,
)
from models.footfall import Direction, FootfallEvent, FootfallSource
from models.node_api import (
    CartCreate,
    CartItemCreate,
    CartItemUpdate,
    CheckoutRequest,
    Health,
    Page,
    VariantPublic,
)
from models.order_states import OrderStatus
from models.parties import Device, DeviceKind, ShopType, Store
from models.sales import Channel, Order, OrderItem, Payment, PaymentMethod, PaymentStatus
from models.stock import StockDelta, StockReason, level_of

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


class Sample(CamelModel):
    variant_id: str
    unit_price: int
    is_default: bool = False
    note: str | None = None


# --- CamelModel ----------------------------------------------------------------------------------------------


def test_camel_model_accepts_camel_case():
    s = Sample.model_validate({"variantId": "v1", "unitPrice": 100, "isDefault": True})
    assert (s.variant_id, s.unit_price, s.is_default) == ("v1", 100, True)


def test_camel_model_accepts_snake_case_too():
    s = Sample.model_validate({"variant_id": "v1", "unit_price": 100})
    assert s.variant_id == "v1"
    assert Sample(variant_id="v2", unit_price=5).variant_id == "v2"


def test_camel_model_accepts_camel_case_json():
    s = Sample.model_validate_json('{"variantId": "v1", "unitPrice": 7}')
    assert s.unit_price == 7


@pytest.mark.parametrize(
    "data",
    [
        {"variantId": "v1", "unitPrice": 1, "colour": "red"},
        {"variantId": "v1", "unitPrice": 1, "VariantId": "v2"},
        {"variantId": "v1", "unitPrice": 1, "unitprice": 2},
    ],
)
def test_camel_model_rejects_unknown_fields(data):
    with pytest.raises(ValidationError) as excinfo:
        Sample.model_validate(data)
    assert excinfo.value.errors()[0]["type"] == "extra_forbidden"


def test_to_json_dict_is_camel_case():
    s = Sample(variant_id="v1", unit_price=100)
    assert s.to_json_dict() == {"variantId": "v1", "unitPrice": 100, "isDefault": False, "note": None}


def test_model_dump_and_json_use_aliases_by_default():
    s = Sample(variant_id="v1", unit_price=100)
    assert "variantId" in s.model_dump()
    assert json.loads(s.model_dump_json()) == s.to_json_dict()


def test_to_row_is_snake_case():
    s = Sample(variant_id="v1", unit_price=100)
    assert s.to_row() == {"variant_id": "v1", "unit_price": 100, "is_default": False, "note": None}
    assert s.to_row(exclude={"note"}) == {"variant_id": "v1", "unit_price": 100, "is_default": False}


def test_round_trip_through_json():
    s = Sample(variant_id="v1", unit_price=100, note="贈品")
    assert Sample.model_validate_json(json.dumps(s.to_json_dict())) == s


def test_camel_model_is_mutable():
    s = Sample(variant_id="v1", unit_price=100)
    s.unit_price = 90
    assert s.to_json_dict()["unitPrice"] == 90


# --- errors --------------------------------------------------------------------------------------------------


def test_domain_error_body_shape():
    err = DomainError("something broke")
    assert err.body() == {"error": {"code": "domainError", "message": "something broke"}}
    assert err.status == 400
    assert str(err) == "something broke"


def test_details_are_camel_cased_in_the_body():
    err = Conflict("busy", variant_id="v1", store_id="s1", retry_after_seconds=3, reason="x")
    assert err.body() == {
        "error": {
            "code": "conflict",
            "message": "busy",
            "variantId": "v1",
            "storeId": "s1",
            "retryAfterSeconds": 3,
            "reason": "x",
        }
    }
    # The Python side keeps the snake_case names.
    assert err.details == {"variant_id": "v1", "store_id": "s1", "retry_after_seconds": 3, "reason": "x"}


def test_code_can_be_overridden_per_instance():
    err = Conflict("no store yet", code="noStoreId")
    assert err.code == "noStoreId"
    assert err.status == 409
    assert err.body()["error"]["code"] == "noStoreId"
    assert Conflict("other").code == "conflict"  # the class default is untouched


@pytest.mark.parametrize(
    ("cls", "status", "code"),
    [
        (DomainError, 400, "domainError"),
        (NotFound, 404, "notFound"),
        (Conflict, 409, "conflict"),
        (IllegalTransition, 409, "illegalTransition"),
        (CouponNotApplicable, 409, "couponNotApplicable"),
        (InvalidInput, 422, "invalidInput"),
    ],
)
def test_error_statuses_and_codes(cls, status, code):
    err = cls("message")
    assert isinstance(err, DomainError)
    assert isinstance(err, Exception)
    assert (err.status, err.code) == (status, code)
    assert err.body()["error"]["code"] == code


def test_insufficient_stock_carries_variant_requested_and_available():
    err = InsufficientStock("v1", requested=5, available=2)
    assert isinstance(err, Conflict)
    assert err.status == 409
    assert err.code == "insufficientStock"
    assert err.details == {"variant_id": "v1", "requested": 5, "available": 2}
    assert err.body() == {
        "error": {
            "code": "insufficientStock",
            "message": "variant v1 has 2 in stock, 5 requested",
            "variantId": "v1",
            "requested": 5,
            "available": 2,
        }
    }


def test_insufficient_stock_arguments_are_keyword_only():
    with pytest.raises(TypeError):
        InsufficientStock("v1", 5, 2)


def test_error_body_helper():
    assert error_body("x", "y") == {"error": {"code": "x", "message": "y"}}
    assert error_body("x", "y", field="quantity") == {
        "error": {"code": "x", "message": "y", "field": "quantity"}
    }


def test_error_bodies_are_json_serializable():
    err = IllegalTransition("no", source=OrderStatus.COMPLETED, target=OrderStatus.UNPAID, actor="buyer")
    assert json.loads(json.dumps(err.body()))["error"]["source"] == "completed"


def test_domain_errors_can_be_caught_as_domain_error():
    with pytest.raises(DomainError) as excinfo:
        raise InsufficientStock("v1", requested=1, available=0)
    assert excinfo.value.body()["error"]["variantId"] == "v1"


# --- node API schemas ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["cash", "card"])
def test_checkout_payment_method(method):
    req = CheckoutRequest.model_validate({"paymentMethod": method})
    assert req.payment_method is PaymentMethod(method)
    assert req.coupon_code is None
    assert req.idempotency_key is None


@pytest.mark.parametrize("method", ["bitcoin", "CASH", "", None, 1])
def test_checkout_rejects_other_payment_methods(method):
    with pytest.raises(ValidationError):
        CheckoutRequest.model_validate({"paymentMethod": method})


def test_checkout_needs_a_payment_method():
    with pytest.raises(ValidationError):
        CheckoutRequest.model_validate({})


@pytest.mark.parametrize("key", ["abcdefgh", "A" * 128, "order-1:retry_2.x", "01J00000000000000000000000"])
def test_checkout_idempotency_key_accepted(key):
    req = CheckoutRequest.model_validate({"paymentMethod": "cash", "idempotencyKey": key})
    assert req.idempotency_key == key


@pytest.mark.parametrize(
    "key",
    ["abcdefg", "A" * 129, "has space12", "slash/123456", "emoji😀12345", "中文中文中文中文", ""],
)
def test_checkout_idempotency_key_rejected(key):
    with pytest.raises(ValidationError):
        CheckoutRequest.model_validate({"paymentMethod": "card", "idempotencyKey": key})


@pytest.mark.parametrize(("code", "ok"), [("AB", False), ("ABC", True), ("X" * 32, True), ("X" * 33, False)])
def test_checkout_coupon_code_length(code, ok):
    data = {"paymentMethod": "cash", "couponCode": code}
    if ok:
        assert CheckoutRequest.model_validate(data).coupon_code == code
    else:
        with pytest.raises(ValidationError):
            CheckoutRequest.model_validate(data)


def test_checkout_rejects_unknown_fields():
    with pytest.raises(ValidationError):
        CheckoutRequest.model_validate({"paymentMethod": "cash", "tip": 10})


@pytest.mark.parametrize("quantity", [1, 2, 998, 999])
def test_cart_item_quantity_in_range(quantity):
    assert CartItemCreate.model_validate({"variantId": "v1", "quantity": quantity}).quantity == quantity
    assert CartItemUpdate.model_validate({"quantity": quantity}).quantity == quantity


@pytest.mark.parametrize("quantity", [0, -1, 1000, 10**6, 1.5, "many"])
def test_cart_item_quantity_out_of_range(quantity):
    with pytest.raises(ValidationError):
        CartItemCreate.model_validate({"variantId": "v1", "quantity": quantity})
    with pytest.raises(ValidationError):
        CartItemUpdate.model_validate({"quantity": quantity})


def test_cart_item_quantity_defaults_to_one():
    assert CartItemCreate.model_validate({"variantId": "v1"}).quantity == 1
    with pytest.raises(ValidationError):
        CartItemUpdate.model_validate({})


@pytest.mark.parametrize("variant_id", ["", "has space", "x" * 65, "a/b"])
def test_cart_item_variant_id_rules(variant_id):
    with pytest.raises(ValidationError):
        CartItemCreate.model_validate({"variantId": variant_id})


def test_cart_create_may_be_empty_or_carry_items():
    assert CartCreate.model_validate({}).items == []
    cart = CartCreate.model_validate({"items": [{"variantId": "v1", "quantity": 2}, {"variantId": "v2"}]})
    assert [(i.variant_id, i.quantity) for i in cart.items] == [("v1", 2), ("v2", 1)]
    with pytest.raises(ValidationError):
        CartCreate.model_validate({"items": [{"variantId": "v1", "quantity": 0}]})


def test_generic_page_serializes_camel_case():
    variant = VariantPublic(
        variant_id="v1",
        name="大包",
        name_en="Large",
        barcode=None,
        sku=None,
        is_default=True,
        price=100,
        discount_percent=10,
        final_price=90,
        stock=-1,
    )
    page = Page[VariantPublic](items=[variant], next_cursor="abc")
    wire = page.to_json_dict()
    assert wire["nextCursor"] == "abc"
    assert wire["items"][0]["variantId"] == "v1"
    assert wire["items"][0]["finalPrice"] == 90
    assert Page[VariantPublic].model_validate_json(json.dumps(wire)) == page
    assert Page[VariantPublic](items=[]).next_cursor is None


def test_health_round_trip():
    health = Health.model_validate(
        {
            "status": "ok",
            "version": "0.1.0",
            "storeId": None,
            "deviceId": "dev1",
            "databaseOk": True,
            "catalogVersion": None,
            "online": False,
            "cloud": {"connected": False, "lastContactAt": None},
            "pendingOutbox": 0,
        }
    )
    assert health.cloud.connected is False
    assert Health.model_validate_json(json.dumps(health.to_json_dict())) == health


# --- sales, stock, parties, footfall -------------------------------------------------------------------------


def _order_json():
    return {
        "orderId": "o1",
        "storeId": "s1",
        "status": "completed",
        "subtotal": 285,
        "discountTotal": 30,
        "total": 255,
        "items": [
            {
                "itemId": "i1",
                "orderId": "o1",
                "productId": "p1",
                "variantId": "v1",
                "name": "洋芋片",
                "variantName": "原味",
                "quantity": 3,
                "unitPrice": 95,
                "unitDiscount": 10,
                "unitFinalPrice": 85,
                "lineTotal": 255,
                "discountId": "d1",
            }
        ],
        "payments": [
            {
                "paymentId": "pay1",
                "orderId": "o1",
                "method": "cash",
                "amount": 255,
                "createdAt": "2025-06-01T20:00:00+08:00",
            }
        ],
        "createdAt": "2025-06-01T12:00:00Z",
        "updatedAt": "2025-06-01T12:00:00Z",
    }


def test_order_defaults_and_round_trip():
    order = Order.model_validate(_order_json())
    assert order.channel is Channel.IN_STORE
    assert order.currency == "TWD"
    assert order.status is OrderStatus.COMPLETED
    assert order.coupon_discount == 0
    assert order.payments[0].status is PaymentStatus.CAPTURED
    assert order.payments[0].created_at == NOW  # 20:00 in Taipei is 12:00 UTC
    wire = order.to_json_dict()
    assert wire["items"][0]["unitFinalPrice"] == 85
    assert wire["channel"] == "inStore"
    assert Order.model_validate_json(json.dumps(wire)) == order


@pytest.mark.parametrize(
    "change",
    [
        {"status": "lost"},
        {"total": -1},
        {"createdAt": "2025-06-01T12:00:00"},  # naive
        {"channel": "phone"},
    ],
)
def test_order_field_rules(change):
    with pytest.raises(ValidationError):
        Order.model_validate({**_order_json(), **change})


def test_order_item_quantity_range():
    item = _order_json()["items"][0]
    with pytest.raises(ValidationError):
        OrderItem.model_validate({**item, "quantity": 0})
    with pytest.raises(ValidationError):
        OrderItem.model_validate({**item, "quantity": 1000})


def test_payment_amount_is_not_negative():
    with pytest.raises(ValidationError):
        Payment(payment_id="p", order_id="o", method=PaymentMethod.CARD, amount=-1, created_at=NOW)


def test_stock_delta_and_level():
    delta = StockDelta.model_validate(
        {"deltaId": "x", "storeId": "s", "variantId": "v", "quantity": -3, "reason": "sale", "createdAt": NOW}
    )
    assert delta.reason is StockReason.SALE
    assert delta.to_json_dict()["refId"] is None
    assert level_of([10, -3, 5, -1]) == 11
    assert level_of([]) == 0
    assert level_of([-2]) == -2


def test_parties_and_footfall_defaults():
    assert Store(store_id="s", seller_id="x", name="台北店").shop_type is ShopType.PHYSICAL
    assert ShopType("popUp") is ShopType.POP_UP
    assert Device(device_id="d", store_id="s").kind is DeviceKind.STORE_NODE
    event = FootfallEvent.model_validate(
        {
            "eventId": "e",
            "storeId": "s",
            "deviceId": "d",
            "occurredAt": "2025-06-01T12:00:00Z",
            "direction": "in",
            "source": "fused",
        }
    )
    assert (event.direction, event.source) == (Direction.IN, FootfallSource.FUSED)
    assert event.to_json_dict()["occurredAt"] == "2025-06-01T12:00:00Z"


def test_time_cursors_round_trip_and_refuse_strangers():
    from datetime import UTC, datetime

    from models.errors import InvalidInput
    from models.paging import decode_time_cursor, encode_cursor, encode_time_cursor

    at = datetime(2026, 11, 29, 3, 0, 0, 123456, tzinfo=UTC)
    assert decode_time_cursor(encode_time_cursor(at, "01ABC")) == (at, "01ABC")
    assert decode_time_cursor(None) is None
    for bad in (
        "!!",
        encode_cursor("no-separator"),
        encode_cursor("2026-11-29T03:00:00|"),
        encode_cursor("yesterday|x"),
        encode_cursor("2026-11-29T03:00:00|x"),
    ):
        with pytest.raises(InvalidInput):
            decode_time_cursor(bad)


# --- text: no control characters anywhere (issue 15) ---------------------------------------------------------


class Nested(CamelModel):
    names: list[str] = []
    attributes: dict[str, str] = {}
    pairs: tuple[str, ...] = ()


class WithNested(Sample):
    inner: Nested | None = None
    meta: dict[str, object] = {}


CONTROL_TEXTS = [
    "\x00",
    "a\x00b",
    "\x01",
    "x\x08",
    "\x0b",
    "\x0c",
    "\x0e",
    "\x1b[31m",
    "\x1f",
    "\x7f",
    "\ud800",
]
KEPT_TEXTS = [
    "line one\nline two",
    "tab\tseparated",
    "crlf\r\n",
    "珍珠奶茶　大杯",
    "emoji 🧋",
    "\x80\u00a0",
    "",
]


def test_string_fields_refuse_control_characters_and_keep_any_other_text():
    for text in CONTROL_TEXTS:
        with pytest.raises(ValidationError) as excinfo:
            Sample.model_validate({"variantId": "v1", "unitPrice": 1, "note": text})
        error = excinfo.value.errors()[0]
        assert (error["type"], error["loc"]) == ("controlCharacter", ("note",)), repr(text)
    for text in KEPT_TEXTS:  # tab and line breaks, full-width and non-breaking spaces, emoji, C1 controls
        sample = WithNested.model_validate(
            {
                "variantId": "v1",
                "unitPrice": 1,
                "note": text,
                "inner": {"names": [text], "attributes": {text: text}},
            }
        )
        assert sample.note == text
        assert sample.inner is not None
        assert sample.inner.attributes == {text: text}


@pytest.mark.parametrize(
    ("data", "loc"),
    [
        ({"inner": {"names": ["ok", "b\x00d"]}}, ("inner", "names")),
        ({"inner": {"attributes": {"colour": "re\x01d"}}}, ("inner", "attributes")),
        ({"inner": {"attributes": {"col\x00our": "red"}}}, ("inner", "attributes")),
        ({"inner": {"pairs": ["a", "\x7f"]}}, ("inner", "pairs")),
        ({"meta": {"deep": [{"deeper": ["\x00"]}]}}, ("meta",)),
        ({"variantId": "v\x00"}, ("variantId",)),  # a subclass's inherited field, by its alias
    ],
)
def test_control_characters_are_refused_inside_lists_dicts_and_keys(data, loc):
    with pytest.raises(ValidationError) as excinfo:
        WithNested.model_validate({"variantId": "v1", "unitPrice": 1} | data)
    error = excinfo.value.errors()[0]
    assert error["type"] == "controlCharacter"
    assert error["loc"] == loc


def test_control_characters_are_refused_in_request_bodies_of_both_apis():
    from models.cloud_api import LoginRequest, ProductCreate, SellerUpdate, StockAdjustmentCreate

    bodies = [
        (CheckoutRequest, {"paymentMethod": "cash", "couponCode": "SAVE\x0010"}),
        (LoginRequest, {"account": "a\x00b", "password": "whatever1"}),
        (SellerUpdate, {"name": "小\x00舖"}),
        (StockAdjustmentCreate, {"variantId": "v1", "kind": "restock", "quantity": 1, "reason": "\x00"}),
        (ProductCreate, {"name": "x", "variants": [{"name": "v", "price": 1, "metadata": {"k": "\x00"}}]}),
    ]
    for model, body in bodies:
        with pytest.raises(ValidationError) as excinfo:
            model.model_validate(body)
        assert excinfo.value.errors()[0]["type"] == "controlCharacter", model


def test_has_control_characters():
    from models.text import has_control_characters, holds_control_characters

    for text in CONTROL_TEXTS:
        assert has_control_characters(text), repr(text)
        assert has_control_characters("名稱" + text + "名稱"), repr(text)
    for text in [*KEPT_TEXTS, "plain", "\u3000\u2028", "中文", "\x9f"]:
        assert not has_control_characters(text), repr(text)
    assert holds_control_characters({"k": [("x", {"\x00": 1})]})
    assert not holds_control_characters({"k": [("x", {"y": 1})], "n": 3})
    assert not holds_control_characters(12)


# --- strict numbers and bounded times in request bodies (issue 15) -------------------------------------------


@pytest.mark.parametrize("number", ["2", True, 2.0, "2.0"])
@pytest.mark.parametrize(
    ("model", "body", "field"),
    [
        ("StockAdjustmentCreate", {"variantId": "v1", "kind": "restock"}, "quantity"),
        ("DiscountCreate", {"name": "sale"}, "percent"),
        ("DiscountUpdate", {}, "percent"),
        ("CouponCreate", {"code": "SAVE10", "kind": "percent"}, "value"),
        ("CouponCreate", {"code": "SAVE10", "kind": "percent", "value": 10}, "maxUses"),
        ("CouponUpdate", {}, "maxUses"),
        ("RefundRules", {}, "returnDays"),
        ("GroupBuy", {"endsAt": "2026-12-01T00:00:00+08:00"}, "minQuantity"),
        ("UploadRequest", {"contentType": "image/png"}, "size"),
    ],
)
def test_integers_in_cloud_request_bodies_are_strict(model, body, field, number):
    import models.cloud_api

    schema = getattr(models.cloud_api, model)
    with pytest.raises(ValidationError) as excinfo:
        schema.model_validate(body | {field: number})
    assert excinfo.value.errors()[0]["loc"] == (field,)
    # The same number as a JSON integer is fine.
    schema.model_validate(body | {field: 2})


@pytest.mark.parametrize(
    "moment",
    [
        "0001-01-01T00:00:00+08:00",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59-08:00",
        "1999-12-31T23:59:59Z",
    ],
)
def test_times_in_cloud_request_bodies_are_bounded(moment):
    from models.cloud_api import CouponCreate, DiscountCreate, GroupBuy

    for model, body in [
        (DiscountCreate, {"name": "sale", "percent": 10, "endsAt": moment}),
        (DiscountCreate, {"name": "sale", "percent": 10, "startsAt": moment}),
        (CouponCreate, {"code": "SAVE10", "kind": "percent", "value": 10, "endsAt": moment}),
        (GroupBuy, {"minQuantity": 2, "endsAt": moment}),
    ]:
        with pytest.raises(ValidationError) as excinfo:
            model.model_validate(body)
        assert excinfo.value.errors()[0]["type"] == "dateOutOfRange"
    assert DiscountCreate.model_validate(
        {"name": "sale", "percent": 10, "endsAt": "2999-12-31T23:59:59+08:00"}
    )


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("5", True),
        ("0", True),
        ("-3", True),
        (" 5", False),
        ("5_0", False),
        ("1.0", False),
        ("+5", False),
        ("true", False),
        ("007", False),
        ("", False),
    ],
)
def test_integer_query_parameters_take_plain_digits_only(text, ok):
    from typing import Annotated

    from pydantic import TypeAdapter

    from models.paging import PlainInt

    adapter = TypeAdapter(Annotated[int, PlainInt])
    if ok:
        assert adapter.validate_python(text) == int(text)
    else:
        with pytest.raises(ValidationError):
            adapter.validate_python(text)


# --- cursors: one decode path refusing every forged cursor (issue 15) -----------------------------------------


FORGED_CURSORS = [
    "AAAA",  # three NUL bytes: used to page from the start on the node
    "AAAAAA",
    "YWJj",  # base64 of "abc": a key without the checksum
    "MjAyNi0xMS0yOVQwMzowMDowMHx4",  # base64 of a time cursor's key, without the checksum
    "",
    "!!",
    "a",
    "x" * 201,
]


def test_cursors_round_trip_and_every_forged_one_is_invalid_cursor():
    from models.paging import decode_cursor, decode_time_cursor, encode_cursor

    for key in ["01JABCDEFGHJKMNPQRSTVWXYZ0", "bubble-tea", "2026-11-29T03:00:00+00:00|01ABC", "珍珠"]:
        cursor = encode_cursor(key)
        assert decode_cursor(cursor) == key
        assert "=" not in cursor
    assert decode_cursor(None) is None
    for cursor in FORGED_CURSORS:
        for decode in (decode_cursor, decode_time_cursor):
            with pytest.raises(InvalidInput) as excinfo:
                decode(cursor)
            assert (excinfo.value.code, excinfo.value.status) == ("invalidCursor", 422), cursor
            assert excinfo.value.details == {"field": "cursor"}


def test_garbled_cursors_are_invalid_cursor():
    from models.paging import decode_cursor, encode_cursor

    good = encode_cursor("01JABCDEFGHJKMNPQRSTVWXYZ0")
    garbled = [
        good[:-1],
        good + "A",
        good[1:],
        good.upper(),
        good + "==",
        good.replace(good[5], "_" if good[5] != "_" else "-"),
    ]
    for cursor in garbled:
        with pytest.raises(InvalidInput):
            decode_cursor(cursor)
    with pytest.raises(InvalidInput):  # even one made with the checksum may not smuggle in a NUL
        decode_cursor(encode_cursor("a\x00b"))
