"""Catalog rules: default variants, reference checks, phones, camelCase JSON and discount windows."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from models.catalog import (
    Brand,
    CatalogSnapshot,
    Category,
    Condition,
    Coupon,
    CouponKind,
    Discount,
    Product,
    StockLevel,
    Variant,
    check_catalog_references,
    is_phone,
)
from models.errors import InvalidInput

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def variant(variant_id="v1", price=100, **kwargs):
    return {"variantId": variant_id, "name": f"variant {variant_id}", "price": price, **kwargs}


def product(product_id="p1", variants=None, **kwargs):
    return {
        "productId": product_id,
        "name": f"product {product_id}",
        "variants": variants if variants is not None else [variant(f"{product_id}-v1")],
        **kwargs,
    }


CATEGORIES = [
    {"categoryId": "phones", "name": "手機"},
    {"categoryId": "android", "name": "Android", "parentId": "phones"},
    {"categoryId": "snacks", "name": "零食"},
    {"categoryId": "chips", "name": "洋芋片", "parentId": "snacks"},
]
BRANDS = [{"brandId": "acme", "name": "Acme"}]


def snapshot(**kwargs):
    data = {"version": 1, "categories": CATEGORIES, "brands": BRANDS, **kwargs}
    return CatalogSnapshot.model_validate(data)


# --- Product and its variants --------------------------------------------------------------------------------


def test_product_without_variants_is_rejected():
    with pytest.raises(ValidationError) as excinfo:
        Product.model_validate(product(variants=[]))
    assert excinfo.value.errors()[0]["loc"] == ("variants",)


def test_product_must_have_a_variants_field():
    data = product()
    del data["variants"]
    with pytest.raises(ValidationError):
        Product.model_validate(data)


def test_first_variant_becomes_default_when_none_is_marked():
    p = Product.model_validate(product(variants=[variant("a"), variant("b"), variant("c")]))
    assert [v.is_default for v in p.variants] == [True, False, False]
    assert p.default_variant.variant_id == "a"


def test_a_single_variant_is_the_default():
    p = Product.model_validate(product(variants=[variant("only")]))
    assert p.default_variant.variant_id == "only"
    assert p.variants[0].is_default


def test_marked_default_is_kept():
    p = Product.model_validate(product(variants=[variant("a"), variant("b", isDefault=True)]))
    assert [v.is_default for v in p.variants] == [False, True]
    assert p.default_variant.variant_id == "b"


def test_two_defaults_are_rejected():
    with pytest.raises(ValidationError, match="exactly one default variant"):
        Product.model_validate(product(variants=[variant("a", isDefault=True), variant("b", isDefault=True)]))


def test_duplicate_variant_ids_are_rejected():
    with pytest.raises(ValidationError, match="variant ids must be unique"):
        Product.model_validate(product(variants=[variant("a"), variant("a")]))


def test_defaulting_does_not_change_a_variant_the_caller_passed_in():
    """Regression: the validator used to set ``is_default`` on the caller's Variant object in place, so the
    same Variant reused in a second product made that product have two defaults."""
    shared = Variant(variant_id="shared", name="shared", price=10)
    first = Product(product_id="p1", name="one", variants=[shared])
    assert first.default_variant.variant_id == "shared"
    assert shared.is_default is False
    second = Product(
        product_id="p2",
        name="two",
        variants=[Variant(variant_id="main", name="main", price=20, is_default=True), shared],
    )
    assert second.default_variant.variant_id == "main"


@pytest.mark.parametrize(
    "bad",
    [
        {"price": -1},
        {"price": 100_000_001},
        {"variantId": ""},
        {"variantId": "has space"},
        {"variantId": "x" * 65},
        {"name": ""},
        {"barcode": "123"},  # too short
        {"barcode": "12345!"},
        {"sku": "s" * 65},
    ],
)
def test_variant_field_rules(bad):
    with pytest.raises(ValidationError):
        Variant.model_validate({**variant("v1"), **bad})


def test_variant_ids_allow_the_documented_characters():
    v = Variant.model_validate(variant("Ab9_.:-"))
    assert v.variant_id == "Ab9_.:-"


def test_condition_values():
    assert {c.value for c in Condition} == {"new", "used", "refurbished"}
    with pytest.raises(ValidationError):
        Product.model_validate(product(condition="broken"))


# --- CatalogSnapshot reference checks ------------------------------------------------------------------------


def test_a_valid_snapshot():
    snap = snapshot(
        products=[
            product("p1", categoryId="snacks", subCategoryId="chips", brandId="acme"),
            product("phone1", categoryId="phones", brandId="acme", condition="used"),
        ],
        discounts=[
            {"discountId": "d1", "name": "sale", "percent": 10, "productId": "p1"},
            {"discountId": "d2", "name": "sale", "percent": 20, "variantId": "phone1-v1"},
            {"discountId": "d3", "name": "store", "percent": 5},
        ],
        coupons=[{"code": "WELCOME100", "kind": "amount", "value": 100, "minSpend": 500}],
        stock=[{"variantId": "p1-v1", "quantity": 5}, {"variantId": "phone1-v1", "quantity": -2}],
    )
    assert snap.version == 1
    assert [p.product_id for p in snap.products] == ["p1", "phone1"]
    assert snap.stock[1] == StockLevel(variant_id="phone1-v1", quantity=-2)


def test_empty_snapshot_is_valid_and_version_starts_at_one():
    assert CatalogSnapshot(version=1).products == []
    with pytest.raises(ValidationError):
        CatalogSnapshot(version=0)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("categoryId", "nope", "unknown categoryId nope"),
        ("subCategoryId", "nope", "unknown subCategoryId nope"),
        ("brandId", "nope", "unknown brandId nope"),
    ],
)
def test_unknown_category_or_brand_is_rejected(field, value, message):
    with pytest.raises(ValidationError, match=message):
        snapshot(products=[product("p1", **{field: value})])


def test_references_need_the_referenced_lists():
    with pytest.raises(ValidationError, match="unknown categoryId snacks"):
        CatalogSnapshot.model_validate({"version": 1, "products": [product("p1", categoryId="snacks")]})


def test_duplicate_product_ids_are_rejected():
    with pytest.raises(ValidationError, match="duplicate productId p1"):
        snapshot(products=[product("p1", variants=[variant("a")]), product("p1", variants=[variant("b")])])


def test_duplicate_variant_ids_across_products_are_rejected():
    with pytest.raises(ValidationError, match="duplicate variantId shared"):
        snapshot(
            products=[
                product("p1", variants=[variant("shared")]),
                product("p2", variants=[variant("shared")]),
            ]
        )


def test_stock_for_an_unknown_variant_is_rejected():
    with pytest.raises(ValidationError, match="stock refers to unknown variant ghost"):
        snapshot(products=[product("p1")], stock=[{"variantId": "ghost", "quantity": 1}])


@pytest.mark.parametrize(
    ("scope", "message"),
    [({"productId": "ghost"}, "unknown product"), ({"variantId": "ghost"}, "unknown variant")],
)
def test_discount_for_an_unknown_product_or_variant_is_rejected(scope, message):
    with pytest.raises(ValidationError, match=message):
        snapshot(
            products=[product("p1")], discounts=[{"discountId": "d1", "name": "x", "percent": 5, **scope}]
        )


def test_reference_errors_are_validation_errors_not_invalid_input():
    """The model validator turns InvalidInput into a ValueError so pydantic reports it as a ValidationError."""
    with pytest.raises(ValidationError) as excinfo:
        snapshot(products=[product("p1", brandId="nope")])
    assert excinfo.value.errors()[0]["type"] == "value_error"


def test_check_catalog_references_raises_invalid_input_directly():
    snap = snapshot(products=[product("p1")])
    check_catalog_references(snap)  # valid: no error
    broken = snap.model_copy(update={"stock": [StockLevel(variant_id="ghost", quantity=1)]})
    with pytest.raises(InvalidInput) as excinfo:
        check_catalog_references(broken)
    assert excinfo.value.status == 422
    assert excinfo.value.code == "invalidInput"


# --- phones --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "placement",
    [
        {"categoryId": "phones"},
        {"subCategoryId": "android"},  # a sub-category whose parent is phones
        {"categoryId": "phones", "subCategoryId": "android"},
        {"categoryId": "snacks", "subCategoryId": "android"},
    ],
)
@pytest.mark.parametrize(
    "missing",
    [{}, {"brandId": "acme"}, {"condition": "new"}],
    ids=["neither", "no-condition", "no-brand"],
)
def test_a_phone_needs_brand_and_condition(placement, missing):
    with pytest.raises(ValidationError, match="is a phone: brandId and condition are required"):
        snapshot(products=[product("ph", **placement, **missing)])


@pytest.mark.parametrize("placement", [{"categoryId": "phones"}, {"subCategoryId": "android"}])
@pytest.mark.parametrize("condition", list(Condition))
def test_a_phone_with_brand_and_condition_is_accepted(placement, condition):
    snap = snapshot(products=[product("ph", brandId="acme", condition=condition.value, **placement)])
    assert snap.products[0].condition is condition


@pytest.mark.parametrize(
    "placement", [{}, {"categoryId": "snacks"}, {"categoryId": "snacks", "subCategoryId": "chips"}]
)
def test_other_products_need_neither_brand_nor_condition(placement):
    snap = snapshot(products=[product("p1", **placement)])
    assert snap.products[0].brand_id is None


def test_deeper_nesting_under_phones_still_counts_as_a_phone():
    categories = [*CATEGORIES, {"categoryId": "pixel", "name": "Pixel", "parentId": "android"}]
    with pytest.raises(ValidationError, match="is a phone"):
        CatalogSnapshot.model_validate(
            {
                "version": 1,
                "categories": categories,
                "brands": BRANDS,
                "products": [product("p", categoryId="pixel")],
            }
        )


def test_is_phone_survives_a_category_cycle():
    categories = {
        "a": Category(category_id="a", name="a", parent_id="b"),
        "b": Category(category_id="b", name="b", parent_id="a"),
    }
    p = Product.model_validate(product("p1", categoryId="a"))
    assert is_phone(p, categories) is False


def test_is_phone_with_no_category():
    assert is_phone(Product.model_validate(product("p1")), {}) is False


# --- camelCase JSON ------------------------------------------------------------------------------------------


def _full_snapshot():
    return snapshot(
        store_id="store-a",
        storeName="台北店",
        products=[
            product(
                "p1",
                nameEn="Chips",
                categoryId="snacks",
                subCategoryId="chips",
                imageUrl="https://example.com/p1.png",
                variants=[
                    variant("p1-a", barcode="4710000000001", sku="SKU-1"),
                    variant("p1-b", listed=False),
                ],
            ),
            product("ph", categoryId="phones", brandId="acme", condition="refurbished"),
        ],
        discounts=[
            {
                "discountId": "d1",
                "name": "夏季特賣",
                "percent": 15,
                "variantId": "p1-a",
                "startsAt": "2025-06-01T00:00:00+08:00",
                "endsAt": "2025-07-01T00:00:00Z",
            }
        ],
        coupons=[{"code": "ONCE50", "kind": "amount", "value": 50, "maxUses": 1}],
        stock=[{"variantId": "p1-a", "quantity": 12}],
    )


def test_snapshot_json_round_trip():
    snap = _full_snapshot()
    wire = snap.to_json_dict()
    again = CatalogSnapshot.model_validate_json(json.dumps(wire))
    assert again == snap
    assert again.to_json_dict() == wire


def test_snapshot_json_keys_are_camel_case():
    wire = _full_snapshot().to_json_dict()
    assert {"version", "storeId", "storeName", "categories", "brands", "products", "stock"} <= set(wire)
    product_json = wire["products"][0]
    assert {"productId", "nameEn", "categoryId", "subCategoryId", "brandId", "imageUrl"} <= set(product_json)
    variant_json = product_json["variants"][0]
    assert {"variantId", "isDefault", "nameEn", "barcode", "sku", "price", "listed"} <= set(variant_json)
    assert variant_json["isDefault"] is True
    assert {"discountId", "startsAt", "endsAt", "productId", "variantId"} <= set(wire["discounts"][0])
    assert {"minSpend", "maxUses"} <= set(wire["coupons"][0])
    assert wire["stock"][0] == {"variantId": "p1-a", "quantity": 12}
    assert wire["categories"][1]["parentId"] == "phones"

    def snake_keys(node):
        if isinstance(node, dict):
            return [k for k in node if "_" in k] + [k for v in node.values() for k in snake_keys(v)]
        if isinstance(node, list):
            return [k for v in node for k in snake_keys(v)]
        return []

    assert snake_keys(wire) == []


def test_json_datetimes_keep_the_instant():
    snap = _full_snapshot()
    d = snap.discounts[0]
    assert d.starts_at == datetime(2025, 5, 31, 16, 0, tzinfo=UTC)
    again = CatalogSnapshot.model_validate_json(json.dumps(snap.to_json_dict()))
    assert again.discounts[0].starts_at == d.starts_at
    assert again.discounts[0].ends_at == datetime(2025, 7, 1, tzinfo=UTC)


def test_product_round_trip_keeps_the_default_variant():
    p = Product.model_validate(product(variants=[variant("a"), variant("b")]))
    again = Product.model_validate_json(json.dumps(p.to_json_dict()))
    assert again == p
    assert again.default_variant.variant_id == "a"


# --- Discount and Coupon -------------------------------------------------------------------------------------


def test_discount_window_must_be_in_order():
    with pytest.raises(ValidationError, match="endsAt must be after startsAt"):
        Discount(discount_id="d", name="x", percent=10, starts_at=NOW, ends_at=NOW)
    with pytest.raises(ValidationError, match="endsAt must be after startsAt"):
        Discount(discount_id="d", name="x", percent=10, starts_at=NOW, ends_at=NOW - timedelta(seconds=1))
    ok = Discount(
        discount_id="d", name="x", percent=10, starts_at=NOW, ends_at=NOW + timedelta(microseconds=1)
    )
    assert ok.ends_at > ok.starts_at


def test_discount_open_ended_windows_are_fine():
    assert Discount(discount_id="d", name="x", percent=10, starts_at=NOW).ends_at is None
    assert Discount(discount_id="d", name="x", percent=10, ends_at=NOW).starts_at is None


def test_discount_times_must_be_aware():
    with pytest.raises(ValidationError):
        Discount(discount_id="d", name="x", percent=10, starts_at=datetime(2025, 1, 1))


@pytest.mark.parametrize("percent", [-1, 101])
def test_discount_percent_range(percent):
    with pytest.raises(ValidationError):
        Discount(discount_id="d", name="x", percent=percent)


def test_discount_defaults_to_active_and_store_wide():
    d = Discount(discount_id="d", name="x", percent=10)
    assert d.active
    assert d.product_id is None
    assert d.variant_id is None
    assert d.applies("any", "thing", NOW)


def test_percent_coupon_is_at_most_100():
    assert Coupon(code="P100", kind=CouponKind.PERCENT, value=100).value == 100
    with pytest.raises(ValidationError, match="at most 100"):
        Coupon(code="P101", kind=CouponKind.PERCENT, value=101)
    assert Coupon(code="A101", kind=CouponKind.AMOUNT, value=101).value == 101


@pytest.mark.parametrize(
    "bad",
    [
        {"code": "AB"},
        {"code": "has space"},
        {"code": "X" * 33},
        {"value": 0},
        {"value": -5},
        {"minSpend": -1},
        {"maxUses": 0},
        {"kind": "gift"},
        {"startsAt": "2025-01-01T00:00:00"},  # naive
    ],
)
def test_coupon_field_rules(bad):
    with pytest.raises(ValidationError):
        Coupon.model_validate({"code": "GOOD", "kind": "amount", "value": 10, **bad})


def test_coupon_defaults():
    c = Coupon.model_validate({"code": "GOOD", "kind": "percent", "value": 10})
    assert c.kind is CouponKind.PERCENT
    assert c.min_spend == 0
    assert c.max_uses is None
    assert c.active


def test_category_and_brand_defaults():
    assert Category(category_id="c", name="c").parent_id is None
    assert Brand(brand_id="b", name="b").name_en == ""


def test_coupon_window_must_be_in_order():
    with pytest.raises(ValidationError, match="endsAt must be after startsAt"):
        Coupon(code="LATE", kind=CouponKind.AMOUNT, value=10, starts_at=NOW, ends_at=NOW)
    ok = Coupon(code="OK1", kind=CouponKind.AMOUNT, value=10, starts_at=NOW, ends_at=NOW + timedelta(days=1))
    assert ok.ends_at > ok.starts_at


@pytest.mark.parametrize(
    ("field", "items", "message"),
    [
        (
            "categories",
            [{"categoryId": "c1", "name": "a"}, {"categoryId": "c1", "name": "b"}],
            "categoryId c1",
        ),
        ("brands", [{"brandId": "b1", "name": "a"}, {"brandId": "b1", "name": "b"}], "brandId b1"),
        (
            "discounts",
            [
                {"discountId": "d1", "name": "a", "percent": 5},
                {"discountId": "d1", "name": "b", "percent": 9},
            ],
            "discountId d1",
        ),
        (
            "coupons",
            [{"code": "SAVE", "kind": "amount", "value": 5}, {"code": "save", "kind": "amount", "value": 9}],
            "coupon code SAVE",
        ),
    ],
)
def test_duplicate_ids_in_a_snapshot_are_rejected(field, items, message):
    with pytest.raises(ValidationError, match=f"duplicate {message}"):
        CatalogSnapshot.model_validate({"version": 1, field: items})


def test_category_parent_must_exist():
    with pytest.raises(ValidationError, match="unknown parentId nope"):
        CatalogSnapshot.model_validate(
            {"version": 1, "categories": [{"categoryId": "c1", "name": "a", "parentId": "nope"}]}
        )
    ok = CatalogSnapshot.model_validate(
        {
            "version": 1,
            "categories": [
                {"categoryId": "c2", "name": "child", "parentId": "c1"},
                {"categoryId": "c1", "name": "parent"},
            ],
        }
    )
    assert [c.category_id for c in ok.categories] == ["c2", "c1"]
