"""HTML form <-> schema: what a form shows, how a submitted form becomes a ``...Create``/``...Update`` body,
and how validation and domain errors become messages on the page (as i18n keys, translated by the page).

A form that fails keeps what the seller typed: the page is rendered again from the submitted values.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from cloud.orders import TAIWAN
from models.cloud_api import ProductDetail, ShippingMethod, StorePublic, VariantOut
from models.errors import DomainError

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
        errors.append(FieldError(field_name, "err.notANumber", row))
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


# --- products -------------------------------------------------------------------------------------------


@dataclass
class VariantRow:
    key: str
    variant_id: str = ""
    name: str = ""
    name_en: str = ""
    price: str = ""
    barcode: str = ""
    is_default: bool = False


@dataclass
class ShippingRow:
    method: str
    enabled: bool = False
    fee: str = "0"


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
                    v.variant_id, v.variant_id, v.name, v.name_en, str(v.price), v.barcode or "", v.is_default
                )
                for v in p.variants
            ],
        )

    @classmethod
    def from_form(cls, form: FormData) -> "ProductForm":
        keys = texts(form, "variant_key")
        columns = {
            name: texts(form, f"variant_{name}") for name in ("id", "name", "name_en", "price", "barcode")
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
        )

    def payload(self, existing: Sequence[VariantOut] = ()) -> dict[str, Any]:
        """The body of a ``ProductCreate``/``ProductUpdate`` (Python names), or ``FormInvalid``.

        ``existing`` are the product's current variants: what the form does not show (SKU, per-variant
        listing, metadata) is carried over, so saving the form never erases what the API set."""
        errors: list[FieldError] = []
        known = {v.variant_id: v for v in existing}
        variants = []
        for i, row in enumerate(self.variants):
            price = _int(row.price, "variant_price", errors, i) if row.price else None
            if price is None and not row.price:
                errors.append(FieldError("variant_price", "err.missing", i))
            before = known.get(row.variant_id)
            variants.append(
                {
                    "variant_id": row.variant_id or None,
                    "name": row.name,
                    "name_en": row.name_en,
                    "price": price if price is not None else 0,
                    "barcode": row.barcode or None,
                    "is_default": row.is_default,
                    "sku": before.sku if before else None,
                    "listed": before.listed if before else True,
                    "metadata": before.metadata if before else {},
                }
            )
        if not variants:
            errors.append(FieldError("variants", "err.needAVariant"))
        shipping = []
        for s in self.shipping:
            if s.enabled:
                fee = _int(s.fee, "shipping", errors)
                shipping.append({"method": s.method, "fee": fee if fee is not None else 0})
        return_days = _int(self.return_days, "return_days", errors)
        group_buy = None
        if self.group_buy_min or self.group_buy_ends:
            minimum = _int(self.group_buy_min, "group_buy_min", errors) if self.group_buy_min else None
            maximum = _int(self.group_buy_max, "group_buy_max", errors) if self.group_buy_max else None
            ends = None
            try:
                ends = datetime.combine(
                    date.fromisoformat(self.group_buy_ends), time(23, 59, 59), tzinfo=TAIWAN
                )
            except ValueError:
                errors.append(FieldError("group_buy_ends", "err.badDate"))
            if minimum is None:
                errors.append(FieldError("group_buy_min", "err.missing"))
            group_buy = {"min_quantity": minimum or 1, "max_quantity": maximum, "ends_at": ends}
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
        }
