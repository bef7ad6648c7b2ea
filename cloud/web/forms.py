"""HTML form <-> schema: what a form shows, how a submitted form becomes a ``...Create``/``...Update`` body,
and how validation and domain errors become messages on the page (as i18n keys, translated by the page).

A form that fails keeps what the seller typed: the page is rendered again from the submitted values.
"""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from models.business_days import TAIWAN
from models.catalog import CouponKind
from models.cloud_api import (
    CouponPublic,
    DiscountPublic,
    ProductDetail,
    SellerPublic,
    ShippingMethod,
    StorePublic,
    VariantOut,
)
from models.errors import DomainError
from plumbing.i18n import N_

SHIPPING_METHODS = [m.value for m in ShippingMethod]


@dataclass(frozen=True)
class FieldError:
    """One message: ``field`` names the input (``""`` for the whole form), ``key`` the i18n message."""

    field: str
    key: str
    row: int | None = None  # the variant row (0-based) for variant fields
    text: str | None = None  # an untranslated message, when no key fits


class FormInvalid(Exception):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(", ".join(f"{e.field}: {e.key}" for e in errors))
        self.errors = errors


def _camel_to_snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


_NESTED = {
    ("refund_rules", "return_days"): "return_days",
    ("refund_rules", "note"): "refund_note",
    ("group_buy", "min_quantity"): "group_buy_min",
    ("group_buy", "max_quantity"): "group_buy_max",
    ("group_buy", "ends_at"): "group_buy_ends",
}


def validation_errors(exc: ValidationError) -> list[FieldError]:
    """Pydantic errors as field errors, named after the form's inputs (``variant_price`` of row 1...)."""
    out = []
    for err in exc.errors():
        loc = [p if isinstance(p, int) else _camel_to_snake(str(p)) for p in err["loc"]]
        row = None
        if not loc:
            name = ""
        elif loc[0] == "variants" and len(loc) > 2 and isinstance(loc[1], int):
            row, name = loc[1], f"variant_{loc[2]}"
        elif loc[0] == "group_buy":
            name = _NESTED.get(("group_buy", str(loc[1]) if len(loc) > 1 else ""), "group_buy_min")
        else:
            name = _NESTED.get((str(loc[0]), str(loc[1]) if len(loc) > 1 else ""), str(loc[0]))
        out.append(FieldError(name, "err." + err["type"], row))
    return out


@contextmanager
def form_errors() -> Iterator[list[FieldError]]:
    """What goes wrong saving a form, as the errors to show on it: the block (validate the payload, write it,
    return the redirect) stops at the first problem, whose errors fill the list, and the page is shown
    again with them."""
    errors: list[FieldError] = []
    try:
        yield errors
    except FormInvalid as exc:
        errors.extend(exc.errors)
    except ValidationError as exc:
        errors.extend(validation_errors(exc))
    except DomainError as exc:
        errors.append(domain_error(exc))


def domain_error(exc: DomainError) -> FieldError:
    field_name = exc.details.get("field")
    name = _camel_to_snake(field_name) if isinstance(field_name, str) else ""
    return FieldError(name, "err.code." + exc.code, text=exc.message)


def text(form: FormData | Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def texts(form: FormData, name: str) -> list[str]:
    return [v.strip() if isinstance(v, str) else "" for v in form.getlist(name)]


def checked(form: FormData, name: str) -> bool:
    return text(form, name) in {"on", "1", "true"}


def _int(value: str, field_name: str, errors: list[FieldError], row: int | None = None) -> int | None:
    try:
        return int(value.replace(",", ""))
    except ValueError:
        errors.append(FieldError(field_name, N_("err.notANumber"), row))
        return None


def day(moment: datetime | None) -> str:
    """A moment as the Taiwan day a date input shows (and the pages print)."""
    return moment.astimezone(TAIWAN).date().isoformat() if moment else ""


def _window(starts: str, ends: str, errors: list[FieldError]) -> tuple[datetime | None, datetime | None]:
    """A window of whole Taiwan days from two date inputs (either blank: open on that side): from the first
    day's start to the last day's end, so "ends on the 31st" sells all of the 31st."""
    bounds: list[datetime | None] = []
    for value, name, at in ((starts, "starts_at", time.min), (ends, "ends_at", time(23, 59, 59))):
        bounds.append(_day_at(value, at, name, errors) if value else None)
    start, end = bounds
    if start and end and end <= start:
        errors.append(FieldError("ends_at", N_("err.endsBeforeStarts")))
    return start, end


def _day_at(value: str, at: time, field_name: str, errors: list[FieldError]) -> datetime | None:
    """The moment ``at`` of the Taiwan day a date input holds; None, and a ``badDate`` error, when it holds
    no date."""
    try:
        return datetime.combine(date.fromisoformat(value), at, tzinfo=TAIWAN)
    except ValueError:
        errors.append(FieldError(field_name, N_("err.badDate")))
        return None


# --- stores ---------------------------------------------------------------------------------------------


@dataclass
class StoreForm:
    name: str = ""
    address: str = ""
    shop_type: str = "physical"
    opening_hours: str = ""

    @classmethod
    def from_store(cls, s: StorePublic) -> "StoreForm":
        return cls(s.name, s.address or "", s.shop_type.value, s.opening_hours or "")

    @classmethod
    def from_form(cls, form: FormData) -> "StoreForm":
        return cls(
            text(form, "name"),
            text(form, "address"),
            text(form, "shop_type") or "physical",
            text(form, "opening_hours"),
        )

    def payload(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "address": self.address or None,
            "shop_type": self.shop_type,
            "opening_hours": self.opening_hours or None,
        }


# --- the seller's profile -------------------------------------------------------------------------------


@dataclass
class ProfileForm:
    name: str = ""
    phone: str = ""
    address: str = ""

    @classmethod
    def from_seller(cls, s: SellerPublic) -> "ProfileForm":
        return cls(s.name, s.phone or "", s.address or "")

    @classmethod
    def from_form(cls, form: FormData) -> "ProfileForm":
        return cls(text(form, "name"), text(form, "phone"), text(form, "address"))

    def payload(self) -> dict[str, Any]:
        """A ``SellerUpdate`` body: a blank phone or address clears it."""
        return {"name": self.name, "phone": self.phone or None, "address": self.address or None}


# --- discounts and coupons ------------------------------------------------------------------------------


@dataclass
class DiscountForm:
    """``target`` is what the discount covers: ``""`` every product, ``p:<id>`` a product, ``v:<id>`` one
    variant (one select, so a variant can never be paired with another product)."""

    name: str = ""
    description: str = ""
    percent: str = ""
    target: str = ""
    starts: str = ""
    ends: str = ""
    active: bool = True

    @classmethod
    def from_discount(cls, d: DiscountPublic) -> "DiscountForm":
        target = f"v:{d.variant_id}" if d.variant_id else (f"p:{d.product_id}" if d.product_id else "")
        return cls(d.name, d.description, str(d.percent), target, day(d.starts_at), day(d.ends_at), d.active)

    @classmethod
    def from_form(cls, form: FormData) -> "DiscountForm":
        return cls(
            text(form, "name"),
            text(form, "description"),
            text(form, "percent"),
            text(form, "target"),
            text(form, "starts"),
            text(form, "ends"),
            checked(form, "active"),
        )

    def payload(self, variant_products: Mapping[str, str], *, new: bool) -> dict[str, Any]:
        """A ``DiscountCreate`` (``new``) or ``DiscountUpdate`` body, or ``FormInvalid``. ``variant_products``
        maps the seller's variant ids to their products. An update cannot move a discount to other goods
        (the API's neither), so it carries no target; blank dates clear the window."""
        errors: list[FieldError] = []
        percent = _int(self.percent, "percent", errors) if self.percent else None
        if not self.percent:
            errors.append(FieldError("percent", N_("err.missing")))
        starts_at, ends_at = _window(self.starts, self.ends, errors)
        body: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "percent": percent if percent is not None else 0,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "active": self.active,
        }
        if new:
            kind, _, ident = self.target.partition(":")
            if kind == "v" and ident in variant_products:
                body |= {"product_id": variant_products[ident], "variant_id": ident}
            elif kind == "p" and ident in variant_products.values():
                body["product_id"] = ident
            elif self.target:
                errors.append(FieldError("target", N_("err.enum")))
        if errors:
            raise FormInvalid(errors)
        return body


@dataclass
class CouponForm:
    code: str = ""
    kind: str = CouponKind.PERCENT.value
    value: str = ""
    min_spend: str = "0"
    max_uses: str = ""
    starts: str = ""
    ends: str = ""
    active: bool = True

    @classmethod
    def from_coupon(cls, c: CouponPublic) -> "CouponForm":
        return cls(
            c.code,
            c.kind.value,
            str(c.value),
            str(c.min_spend),
            str(c.max_uses) if c.max_uses else "",
            day(c.starts_at),
            day(c.ends_at),
            c.active,
        )

    @classmethod
    def from_form(cls, form: FormData) -> "CouponForm":
        return cls(
            text(form, "code").upper(),
            text(form, "coupon_kind") or CouponKind.PERCENT.value,
            text(form, "value"),
            text(form, "min_spend") or "0",
            text(form, "max_uses"),
            text(form, "starts"),
            text(form, "ends"),
            checked(form, "active"),
        )

    def create_payload(self) -> dict[str, Any]:
        """A ``CouponCreate`` body, or ``FormInvalid``."""
        errors: list[FieldError] = []
        value = _int(self.value, "value", errors) if self.value else None
        if not self.value:
            errors.append(FieldError("value", N_("err.missing")))
        if self.kind == CouponKind.PERCENT.value and value is not None and value > 100:
            errors.append(FieldError("value", N_("err.percentOver100")))
        min_spend = _int(self.min_spend, "min_spend", errors)
        max_uses = _int(self.max_uses, "max_uses", errors) if self.max_uses else None
        starts_at, ends_at = _window(self.starts, self.ends, errors)
        if errors:
            raise FormInvalid(errors)
        return {
            "code": self.code,
            "kind": self.kind,
            "value": value,
            "min_spend": min_spend,
            "max_uses": max_uses,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "active": self.active,
        }

    def update_payload(self, starts_at: datetime | None) -> dict[str, Any]:
        """A ``CouponUpdate`` body (what a coupon may change once shoppers hold its code: whether it works,
        its use limit, its end; blank clears the last two), or ``FormInvalid``."""
        errors: list[FieldError] = []
        max_uses = _int(self.max_uses, "max_uses", errors) if self.max_uses else None
        _, ends_at = _window(day(starts_at), self.ends, errors)
        if errors:
            raise FormInvalid(errors)
        return {"active": self.active, "max_uses": max_uses, "ends_at": ends_at}


def coupon_errors(errors: Sequence[FieldError]) -> list[FieldError]:
    """A coupon's ``kind`` is the form's ``coupon_kind`` (``kind`` labels the stock form's adjustment)."""
    return [FieldError("coupon_kind", e.key, e.row, e.text) if e.field == "kind" else e for e in errors]


# --- products -------------------------------------------------------------------------------------------


@dataclass
class VariantRow:
    key: str
    variant_id: str = ""
    name: str = ""
    name_en: str = ""
    price: str = ""
    barcode: str = ""
    sku: str = ""
    is_default: bool = False


@dataclass
class ShippingRow:
    method: str
    enabled: bool = False
    fee: str = "0"


MAX_ATTRIBUTES = 50  # as ``models.cloud_api.Attributes`` allows


@dataclass
class AttributeRow:
    """One of the product's attributes (產地: 南投鹿谷): free-form name and value, shown to shoppers."""

    name: str = ""
    value: str = ""


@dataclass
class ProductForm:
    name: str = ""
    name_en: str = ""
    description: str = ""
    category_id: str = ""
    sub_category_id: str = ""
    brand_id: str = ""
    condition: str = ""
    listed: bool = True
    stocked_often: bool = False
    storage_condition: str = "ambient"
    shipping: list[ShippingRow] = field(default_factory=list)
    returnable: bool = True
    return_days: str = "7"
    refundable: bool = True
    refund_note: str = ""
    group_buy_min: str = ""
    group_buy_max: str = ""
    group_buy_ends: str = ""
    variants: list[VariantRow] = field(default_factory=list)
    attributes: list[AttributeRow] = field(default_factory=list)

    @classmethod
    def blank(cls) -> "ProductForm":
        return cls(
            shipping=[ShippingRow(m) for m in SHIPPING_METHODS],
            variants=[VariantRow("new-0", is_default=True)],
        )

    @classmethod
    def from_product(cls, p: ProductDetail) -> "ProductForm":
        fees = {s.method.value: s.fee for s in p.shipping}
        rules = p.refund_rules
        gb = p.group_buy
        return cls(
            name=p.name,
            name_en=p.name_en,
            description=p.description,
            category_id=p.category_id or "",
            sub_category_id=p.sub_category_id or "",
            brand_id=p.brand_id or "",
            condition=p.condition.value if p.condition else "",
            listed=p.listed,
            stocked_often=p.stocked_often,
            storage_condition=p.storage_condition.value,
            shipping=[ShippingRow(m, m in fees, str(fees.get(m, 0))) for m in SHIPPING_METHODS],
            returnable=rules.returnable if rules else True,
            return_days=str(rules.return_days) if rules else "7",
            refundable=rules.refundable if rules else True,
            refund_note=rules.note if rules else "",
            group_buy_min=str(gb.min_quantity) if gb else "",
            group_buy_max=str(gb.max_quantity) if gb and gb.max_quantity else "",
            group_buy_ends=gb.ends_at.astimezone(TAIWAN).date().isoformat() if gb else "",
            variants=[
                VariantRow(
                    v.variant_id,
                    v.variant_id,
                    v.name,
                    v.name_en,
                    str(v.price),
                    v.barcode or "",
                    v.sku or "",
                    v.is_default,
                )
                for v in p.variants
            ],
            attributes=[AttributeRow(k, v) for k, v in p.attributes.items()],
        )

    @classmethod
    def from_form(cls, form: FormData) -> "ProductForm":
        keys = texts(form, "variant_key")
        columns = {
            name: texts(form, f"variant_{name}")
            for name in ("id", "name", "name_en", "price", "barcode", "sku")
        }
        default_key = text(form, "default_variant")
        rows = []
        for i, key in enumerate(keys):
            cell = {name: (values[i] if i < len(values) else "") for name, values in columns.items()}
            rows.append(
                VariantRow(
                    key=key or f"row-{i}",
                    variant_id=cell["id"],
                    name=cell["name"],
                    name_en=cell["name_en"],
                    price=cell["price"],
                    barcode=cell["barcode"],
                    sku=cell["sku"],
                    is_default=bool(key) and key == default_key,
                )
            )
        return cls(
            name=text(form, "name"),
            name_en=text(form, "name_en"),
            description=text(form, "description"),
            category_id=text(form, "category_id"),
            sub_category_id=text(form, "sub_category_id"),
            brand_id=text(form, "brand_id"),
            condition=text(form, "condition"),
            listed=checked(form, "listed"),
            stocked_often=checked(form, "stocked_often"),
            storage_condition=text(form, "storage_condition") or "ambient",
            shipping=[
                ShippingRow(m, checked(form, f"ship_{m}"), text(form, f"fee_{m}") or "0")
                for m in SHIPPING_METHODS
            ],
            returnable=checked(form, "returnable"),
            return_days=text(form, "return_days") or "0",
            refundable=checked(form, "refundable"),
            refund_note=text(form, "refund_note"),
            group_buy_min=text(form, "group_buy_min"),
            group_buy_max=text(form, "group_buy_max"),
            group_buy_ends=text(form, "group_buy_ends"),
            variants=rows,
            attributes=[
                AttributeRow(name, value)
                for name, value in zip(texts(form, "attr_name"), texts(form, "attr_value"), strict=False)
                if name or value
            ],
        )

    def payload(self, existing: Sequence[VariantOut] = ()) -> dict[str, Any]:
        """The body of a ``ProductCreate``/``ProductUpdate`` (Python names), or ``FormInvalid``.

        ``existing`` are the product's current variants: what the form does not show (per-variant listing,
        metadata) is carried over, so saving the form never erases what the API set."""
        errors: list[FieldError] = []
        variants = self._variants_payload(existing, errors)
        attributes = self._attributes_payload(errors)
        shipping = self._shipping_payload(errors)
        return_days = _int(self.return_days, "return_days", errors)
        group_buy = self._group_buy_payload(errors)
        if errors:
            raise FormInvalid(errors)
        return {
            "name": self.name,
            "name_en": self.name_en,
            "description": self.description,
            "category_id": self.category_id or None,
            "sub_category_id": self.sub_category_id or None,
            "brand_id": self.brand_id or None,
            "condition": self.condition or None,
            "listed": self.listed,
            "stocked_often": self.stocked_often,
            "storage_condition": self.storage_condition,
            "shipping": shipping,
            "refund_rules": {
                "returnable": self.returnable,
                "return_days": return_days if return_days is not None else 0,
                "refundable": self.refundable,
                "note": self.refund_note,
            },
            "group_buy": group_buy,
            "variants": variants,
            "attributes": attributes,
        }

    def _variants_payload(
        self, existing: Sequence[VariantOut], errors: list[FieldError]
    ) -> list[dict[str, Any]]:
        """The variant rows as ``VariantInput`` bodies, each carrying over what the form does not show from
        the variant it edits (``existing``); a blank price is missing, and a product needs a variant."""
        known = {v.variant_id: v for v in existing}
        variants = []
        for i, row in enumerate(self.variants):
            price = _int(row.price, "variant_price", errors, i) if row.price else None
            if price is None and not row.price:
                errors.append(FieldError("variant_price", N_("err.missing"), i))
            before = known.get(row.variant_id)
            variants.append(
                {
                    "variant_id": row.variant_id or None,
                    "name": row.name,
                    "name_en": row.name_en,
                    "price": price if price is not None else 0,
                    "barcode": row.barcode or None,
                    "is_default": row.is_default,
                    "sku": row.sku or None,
                    "listed": before.listed if before else True,
                    "metadata": before.metadata if before else {},
                }
            )
        if not variants:
            errors.append(FieldError("variants", N_("err.needAVariant")))
        return variants

    def _attributes_payload(self, errors: list[FieldError]) -> dict[str, str]:
        """The attribute rows as a map of name to value: every row named, no name twice, not too many."""
        attributes: dict[str, str] = {}
        for a in self.attributes:
            if not a.name:
                errors.append(FieldError("attr_name", N_("err.attributeNeedsName")))
            elif a.name in attributes:
                errors.append(FieldError("attr_name", N_("err.attributeRepeated"), text=a.name))
            attributes[a.name] = a.value
        if len(self.attributes) > MAX_ATTRIBUTES:
            errors.append(FieldError("attributes", N_("err.too_long")))
        return attributes

    def _shipping_payload(self, errors: list[FieldError]) -> list[dict[str, Any]]:
        """The shipping methods ticked, each with its fee."""
        shipping = []
        for s in self.shipping:
            if s.enabled:
                fee = _int(s.fee, "shipping", errors)
                shipping.append({"method": s.method, "fee": fee if fee is not None else 0})
        return shipping

    def _group_buy_payload(self, errors: list[FieldError]) -> dict[str, Any] | None:
        """The group buy, when a minimum or an end day is given (it then needs both; the maximum is
        optional), ending at the close of its last Taiwan day; None otherwise."""
        if not (self.group_buy_min or self.group_buy_ends):
            return None
        minimum = _int(self.group_buy_min, "group_buy_min", errors) if self.group_buy_min else None
        maximum = _int(self.group_buy_max, "group_buy_max", errors) if self.group_buy_max else None
        ends = _day_at(self.group_buy_ends, time(23, 59, 59), "group_buy_ends", errors)
        if minimum is None:
            errors.append(FieldError("group_buy_min", N_("err.missing")))
        return {"min_quantity": minimum or 1, "max_quantity": maximum, "ends_at": ends}
