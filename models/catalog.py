"""The catalog: categories, brands, products with variants, discounts and coupons.

The catalog is written in the cloud and cached read-only at each store, versioned as a whole
(``CatalogSnapshot.version``). A product always has at least one variant; the one created with the product is
its default variant, so a product without options is simply a product with one (default) variant.
"""

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AwareDatetime, Field, model_validator

from models.base import CamelModel
from models.errors import InvalidInput
from models.ids import Ident as Ident  # the id rule, where other models have long taken it from
from models.money import TWD, Percent
from models.staff import StaffRecord

Name = Annotated[str, Field(min_length=1, max_length=200)]
Barcode = Annotated[str, Field(min_length=4, max_length=32, pattern=r"^[0-9A-Za-z-]+$")]

PHONE_CATEGORY_ID = "phones"
"""Products in this category (or its sub-categories) must name a brand and a condition."""


class Condition(StrEnum):
    NEW = "new"
    USED = "used"
    REFURBISHED = "refurbished"


class Category(CamelModel):
    """A category; a sub-category is a category with a ``parentId``."""

    category_id: Ident
    name: Name
    name_en: str = ""
    parent_id: Ident | None = None


class Brand(CamelModel):
    brand_id: Ident
    name: Name
    name_en: str = ""


class Variant(CamelModel):
    variant_id: Ident
    name: Name
    name_en: str = ""
    price: TWD
    barcode: Barcode | None = None
    sku: str | None = Field(default=None, max_length=64)
    is_default: bool = False
    listed: bool = True


class Product(CamelModel):
    product_id: Ident
    name: Name
    name_en: str = ""
    description: str = Field(default="", max_length=20_000)
    category_id: Ident | None = None
    sub_category_id: Ident | None = None
    brand_id: Ident | None = None
    condition: Condition | None = None
    listed: bool = True
    image_url: str | None = None
    variants: list[Variant] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_default_variant(self) -> Self:
        defaults = [v for v in self.variants if v.is_default]
        if not defaults:
            # The first variant is the one created with the product: it is the default. Copy it rather than
            # set the flag in place: a Variant instance passed in belongs to the caller (pydantic keeps it).
            self.variants[0] = self.variants[0].model_copy(update={"is_default": True})
        elif len(defaults) > 1:
            raise ValueError("a product has exactly one default variant")
        ids = [v.variant_id for v in self.variants]
        if len(ids) != len(set(ids)):
            raise ValueError("variant ids must be unique within a product")
        return self

    @property
    def default_variant(self) -> Variant:
        return next(v for v in self.variants if v.is_default)


class Discount(CamelModel):
    """A percent-off sale on a variant, a product, or (with neither set) the whole store."""

    discount_id: Ident
    name: Name
    percent: Percent
    product_id: Ident | None = None
    variant_id: Ident | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    active: bool = True

    @model_validator(mode="after")
    def _window_in_order(self) -> Self:
        _check_window(self.starts_at, self.ends_at)
        return self

    def applies(self, product_id: str, variant_id: str, at: datetime) -> bool:
        if not self.active or not _in_window(at, self.starts_at, self.ends_at):
            return False
        if self.variant_id is not None:
            return self.variant_id == variant_id
        if self.product_id is not None:
            return self.product_id == product_id
        return True


class CouponKind(StrEnum):
    PERCENT = "percent"
    AMOUNT = "amount"


class Coupon(CamelModel):
    """A code the shopper enters: percent or fixed amount off the order, with limits."""

    code: Annotated[str, Field(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
    kind: CouponKind
    value: Annotated[int, Field(gt=0, le=100_000_000)]
    min_spend: TWD = 0
    max_uses: Annotated[int, Field(gt=0)] | None = None  # 1 = single-use; None = unlimited
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    active: bool = True

    @model_validator(mode="after")
    def _valid_value(self) -> Self:
        if self.kind is CouponKind.PERCENT and self.value > 100:
            raise ValueError("a percent coupon's value is at most 100")
        _check_window(self.starts_at, self.ends_at)
        return self


class StockLevel(CamelModel):
    variant_id: Ident
    quantity: int


Version = Annotated[int, Field(ge=1)]
DownlinkSeq = Annotated[
    int | None,
    Field(
        ge=0,
        description="From the cloud: the store's feed position the levels include (the node follows the feed "
        "from here)",
    ),
]
StockCounted = Annotated[
    dict[str, list[int]],
    Field(
        description="From the cloud: per device of the store, the stockDeltas seqs the levels include, as "
        "[highWater, seqs committed above it...]; the node adds its own deltas not yet counted",
    ),
]
StaffRecords = Annotated[
    list[StaffRecord],
    Field(
        max_length=10_000,
        description="From the cloud: the store's staff accounts (removed ones too) with their argon2 PIN "
        "hashes, at the feed position downlinkSeq; keep a file holding them as you would a password file",
    ),
]


class CatalogSnapshot(CamelModel):
    """The whole catalog one store sees, at one version. Loaded from a file until sync delivers it."""

    version: Version
    store_id: Ident | None = None
    store_name: str | None = None
    categories: list[Category] = []
    brands: list[Brand] = []
    products: list[Product] = []
    discounts: list[Discount] = []
    coupons: list[Coupon] = []
    stock: list[StockLevel] = Field(
        default=[], description="Counted levels at this store; applied as 'count' stock deltas"
    )
    downlink_seq: DownlinkSeq = None
    stock_counted: StockCounted = {}
    staff: StaffRecords = []

    @model_validator(mode="after")
    def _references_resolve(self) -> Self:
        try:
            check_catalog_references(self)
        except InvalidInput as exc:  # pydantic reports ValueErrors as validation errors
            raise ValueError(exc.message) from exc
        return self


STREAMED_FIELDS = ("products", "stock")
"""The snapshot's two lists that grow with the catalog: a node reads them a chunk at a time
(``edge.snapshot_stream``), everything else at once as a ``CatalogHead``."""


class CatalogHead(CamelModel):
    """A ``CatalogSnapshot`` without its products and stock levels (``STREAMED_FIELDS``): what a node reads
    of a snapshot before applying it a chunk at a time. Its references to products and variants (discounts'
    targets) are checked once the products are read (``CatalogReferences``)."""

    version: Version
    store_id: Ident | None = None
    store_name: str | None = None
    categories: list[Category] = []
    brands: list[Brand] = []
    discounts: list[Discount] = []
    coupons: list[Coupon] = []
    downlink_seq: DownlinkSeq = None
    stock_counted: StockCounted = {}
    staff: StaffRecords = []

    @classmethod
    def of(cls, snapshot: CatalogSnapshot) -> "CatalogHead":
        """The head of a snapshot held whole (validated already)."""
        return cls.model_construct(**{name: getattr(snapshot, name) for name in cls.model_fields})


def _check_window(starts_at: datetime | None, ends_at: datetime | None) -> None:
    if starts_at and ends_at and ends_at <= starts_at:
        raise ValueError("endsAt must be after startsAt")


def _unique(ids: Iterable[str], what: str) -> set[str]:
    seen: set[str] = set()
    for ident in ids:
        _add_new(seen, ident, what)
    return seen


def _add_new(seen: set[str], ident: str, what: str) -> None:
    """Add ``ident`` to the ids ``seen`` so far, refusing one seen before."""
    if ident in seen:
        raise InvalidInput(f"duplicate {what} {ident}")
    seen.add(ident)


def _in_window(at: datetime, starts_at: datetime | None, ends_at: datetime | None) -> bool:
    return (starts_at is None or starts_at <= at) and (ends_at is None or at < ends_at)


def check_catalog_references(snapshot: CatalogSnapshot) -> None:
    """Every id a snapshot refers to exists in it, and phones carry brand and condition."""
    references = CatalogReferences(snapshot.categories, snapshot.brands, snapshot.discounts, snapshot.coupons)
    references.add_products(snapshot.products)
    references.check_discounts(snapshot.discounts)
    references.check_stock(snapshot.stock)


class CatalogReferences:
    """``check_catalog_references`` a part at a time, for a snapshot read in chunks: the head's own ids when
    made, then each chunk of products as it comes (``add_products``), then what refers to products and
    variants (``check_discounts``, ``check_stock``). ``InvalidInput`` at the first fault. It holds every
    product and variant id seen: uniqueness across the whole catalog cannot be checked with less."""

    def __init__(
        self,
        categories: list[Category],
        brands: list[Brand],
        discounts: list[Discount],
        coupons: list[Coupon],
    ) -> None:
        self._categories = _checked_categories(categories)
        self._brands = _unique((b.brand_id for b in brands), "brandId")
        _unique((d.discount_id for d in discounts), "discountId")
        _unique((c.code.upper() for c in coupons), "coupon code")
        self._product_ids: set[str] = set()
        self._variant_ids: set[str] = set()

    def add_products(self, products: Iterable[Product]) -> None:
        """Each product's and variant's id is new (a variant id across all products) and every product's
        references hold. Product by product, so that of several faults the first product's is the one
        reported."""
        for product in products:
            _add_new(self._product_ids, product.product_id, "productId")
            _check_product_references(product, self._categories, self._brands)
            for variant in product.variants:
                _add_new(self._variant_ids, variant.variant_id, "variantId")

    def check_discounts(self, discounts: Iterable[Discount]) -> None:
        """A discount on a product or a variant names one added."""
        for discount in discounts:
            if discount.product_id is not None and discount.product_id not in self._product_ids:
                raise InvalidInput(f"discount {discount.discount_id} refers to unknown product")
            if discount.variant_id is not None and discount.variant_id not in self._variant_ids:
                raise InvalidInput(f"discount {discount.discount_id} refers to unknown variant")

    def check_stock(self, levels: Iterable[StockLevel]) -> None:
        """A stock level is of a variant added."""
        for level in levels:
            if level.variant_id not in self._variant_ids:
                raise InvalidInput(f"stock refers to unknown variant {level.variant_id}")


def _checked_categories(listed: list[Category]) -> dict[str, Category]:
    """The categories by id, once each id is unique and every parent is one of them."""
    _unique((c.category_id for c in listed), "categoryId")
    categories = {c.category_id: c for c in listed}
    for category in listed:
        if category.parent_id is not None and category.parent_id not in categories:
            raise InvalidInput(
                f"category {category.category_id} refers to unknown parentId {category.parent_id}"
            )
    return categories


def _check_product_references(product: Product, categories: dict[str, Category], brands: set[str]) -> None:
    """The product's category, sub-category and brand exist, and a phone names its brand and condition."""
    for ref, known, what in (
        (product.category_id, categories, "categoryId"),
        (product.sub_category_id, categories, "subCategoryId"),
        (product.brand_id, brands, "brandId"),
    ):
        if ref is not None and ref not in known:
            raise InvalidInput(f"product {product.product_id} refers to unknown {what} {ref}")
    if is_phone(product, categories) and (product.brand_id is None or product.condition is None):
        raise InvalidInput(f"product {product.product_id} is a phone: brandId and condition are required")


def is_phone(product: Product, categories: dict[str, Category]) -> bool:
    for ref in (product.category_id, product.sub_category_id):
        seen: set[str] = set()
        while ref is not None and ref not in seen:
            if ref == PHONE_CATEGORY_ID:
                return True
            seen.add(ref)
            parent = categories.get(ref)
            ref = parent.parent_id if parent else None
    return False
