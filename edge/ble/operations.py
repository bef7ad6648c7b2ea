"""What each operation does: its request's fields (validated) and the node calls that answer it.

Bodies use the API's camelCase names. Catalog lines are compact arrays (``CATALOG_COLUMNS``), since a
catalog is the most a phone reads and 500 products must cross a link of a few kB/s in seconds; every other
answer is a map. Every amount is integer TWD.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Final, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBytes, StrictInt, StrictStr, ValidationError
from pydantic.alias_generators import to_camel

from edge.ble.cart_tokens import CartTokens
from edge.ble.node_api import BridgeNodeApi
from edge.ble.protocol import MTU_HINT, OP_NAMES, VERSION, Op, ProtocolError, Status
from models.ids import Ident as Id
from models.node_api import CartPublic, ProductPublic, ProductSummary, ReceiptPublic
from models.sales import Quantity

CATALOG_COLUMNS: Final = ("productId", "name", "nameEn", "price", "finalPrice", "stock", "categoryId")
PAGE_SIZE: Final = 100
"""The default page: at MTU 247, 100 products a page beat 50 by 17 % fewer bytes and half the round trips
(bench/ble_catalog.py); a phone wanting a quicker first screen asks for fewer."""
MAX_PAGE: Final = 100
MAX_CART_LINES: Final = 50
"""Lines a phone's cart may hold: a cart of 50 lines answers in about 8 KiB, well inside what a phone at the
smallest MTU can take (4,096 chunks of 13 bytes)."""
WRITES: Final = frozenset({Op.CART_CREATE, Op.CART_SET, Op.HANDOFF})
"""The operations that write at the node (SQLite's one write lock, which checkouts need too)."""


class _Body(BaseModel):
    # Unknown fields are ignored, so a newer phone app works with an older bridge.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)


class _Nothing(_Body):
    pass


class _CatalogPage(_Body):
    cursor: Annotated[StrictStr, Field(max_length=200)] | None = None
    limit: Annotated[StrictInt, Field(ge=1, le=MAX_PAGE)] = PAGE_SIZE
    q: Annotated[StrictStr, Field(max_length=100)] | None = None
    category_id: Id | None = None


class _CatalogChanges(_Body):
    since: Annotated[StrictInt, Field(ge=0, le=2_147_483_647)]
    cursor: Annotated[StrictStr, Field(max_length=200)] | None = None
    limit: Annotated[StrictInt, Field(ge=1, le=MAX_PAGE)] = PAGE_SIZE


class _Product(_Body):
    product_id: Id


class _Line(_Body):
    variant_id: Id
    quantity: Quantity = 1


class _CartCreate(_Body):
    # A cart is made with its first line: an empty one would be a write at the node for nothing.
    items: Annotated[list[_Line], Field(min_length=1, max_length=MAX_CART_LINES)]


class _CartRef(_Body):
    cart_id: Id
    cart_token: StrictBytes


class _CartSet(_CartRef):
    variant_id: Id
    quantity: Annotated[int, Field(ge=0, le=999, strict=True)]  # a line's Quantity, or 0 to take it out


class _Receipt(_Body):
    order_id: Id
    receipt_token: Annotated[StrictStr, Field(min_length=8, max_length=16)]


B = TypeVar("B", bound=_Body)


@dataclass(frozen=True)
class Context:
    node: BridgeNodeApi
    carts: CartTokens


def _parse(schema: type[B], body: dict[str, Any]) -> B:
    try:
        return schema.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise ProtocolError(
            Status.BAD_REQUEST, "validationError", f"{field}: {first['msg']}", field=field
        ) from exc


def _own_cart(ctx: Context, ref: _CartRef) -> str:
    """The cart id, if this phone holds the cart's token; ``cartNotYours`` otherwise (another phone's cart,
    or an id guessed): said the same way whether or not the cart exists."""
    if not ctx.carts.holds(ref.cart_id, ref.cart_token):
        raise ProtocolError(Status.FORBIDDEN, "cartNotYours", "this cart was not made on this phone")
    return ref.cart_id


def info(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    _parse(_Nothing, body)
    return store_info(ctx.node)


def store_info(node: BridgeNodeApi) -> dict[str, Any]:
    """What the info characteristic and the info operation say: no personal data, nothing of staff."""
    health = node.health()
    return {
        "protocol": VERSION,
        "storeName": health.store_name,
        "storeId": health.store_id,
        "nodeId": health.device_id,
        "catalogVersion": health.catalog_version,
        "online": health.online,
        "mtuHint": MTU_HINT,
        "operations": sorted(OP_NAMES.values()),
    }


def _line(product: ProductSummary) -> list[Any]:
    return [
        product.product_id,
        product.name,
        product.name_en,
        product.price,
        product.final_price,
        product.stock,
        product.category_id,
    ]


def catalog_page(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    ask = _parse(_CatalogPage, body)
    # The version is read before the page, so a phone that later asks what changed since it gets again
    # anything changed in between rather than missing it.
    version = ctx.node.health().catalog_version if ask.cursor is None else None
    page = ctx.node.search_products(ask.q, category_id=ask.category_id, cursor=ask.cursor, limit=ask.limit)
    answer: dict[str, Any] = {"items": [_line(p) for p in page.items], "next": page.next_cursor}
    if version is not None:
        answer["catalogVersion"] = version
    return answer


def catalog_changes(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    ask = _parse(_CatalogChanges, body)
    changes = ctx.node.catalog_changes(ask.since, cursor=ask.cursor, limit=ask.limit)
    answer: dict[str, Any] = {
        "reset": changes.reset,
        "items": [_line(p) for p in changes.items],
        "removed": changes.removed,
        "next": changes.next_cursor,
    }
    # The version the phone keeps is the first page's: a change landing between pages, on a product before
    # the cursor, is then asked for again next time rather than missed under a newer version.
    if ask.cursor is None:
        answer["catalogVersion"] = changes.catalog_version
    return answer


def product(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    ask = _parse(_Product, body)
    return product_view(ctx.node.get_product(ask.product_id))


def product_view(p: ProductPublic) -> dict[str, Any]:
    discount = p.active_discount
    return {
        "productId": p.product_id,
        "name": p.name,
        "nameEn": p.name_en,
        "description": p.description,
        "categoryId": p.category_id,
        "condition": p.condition,
        "price": p.price,
        "finalPrice": p.final_price,
        "stock": p.stock,
        "discount": None
        if discount is None
        else {
            "name": discount.name,
            "percent": discount.percent,
            "endsAt": discount.ends_at.isoformat() if discount.ends_at else None,
        },
        "variants": [
            {
                "variantId": v.variant_id,
                "name": v.name,
                "nameEn": v.name_en,
                "isDefault": v.is_default,
                "price": v.price,
                "finalPrice": v.final_price,
                "stock": v.stock,
            }
            for v in p.variants
        ],
    }


def cart_view(cart: CartPublic) -> dict[str, Any]:
    return {
        "cartId": cart.cart_id,
        "status": cart.status.value,
        "items": [
            {
                "itemId": i.item_id,
                "productId": i.product_id,
                "variantId": i.variant_id,
                "name": i.name,
                "nameEn": i.name_en,
                "variantName": i.variant_name,
                "variantNameEn": i.variant_name_en,
                "quantity": i.quantity,
                "unitPrice": i.unit_price,
                "unitFinalPrice": i.unit_final_price,
                "lineTotal": i.line_total,
                "stock": i.stock,
            }
            for i in cart.items
        ],
        "itemCount": cart.item_count,
        "subtotal": cart.subtotal,
        "discountTotal": cart.discount_total,
        "total": cart.total,
    }


def cart_create(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    ask = _parse(_CartCreate, body)
    cart = ctx.node.create_cart((line.variant_id, line.quantity) for line in ask.items)
    return cart_view(cart) | {"cartToken": ctx.carts.token(cart.cart_id)}


def cart_get(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    cart_id = _own_cart(ctx, _parse(_CartRef, body))
    return cart_view(ctx.node.get_cart(cart_id))


def cart_set(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    """A variant's quantity in the cart, as the phone shows it: 0 takes the line out."""
    ask = _parse(_CartSet, body)
    cart_id = _own_cart(ctx, ask)
    held = ctx.node.get_cart(cart_id).items
    line = next((i for i in held if i.variant_id == ask.variant_id), None)
    if line is None and ask.quantity and len(held) >= MAX_CART_LINES:
        raise ProtocolError(
            Status.CONFLICT,
            "cartFull",
            f"a phone's cart holds at most {MAX_CART_LINES} lines",
            limit=MAX_CART_LINES,
        )
    if line is None:
        cart = ctx.node.add_item(cart_id, ask.variant_id, ask.quantity) if ask.quantity else None
    elif ask.quantity == 0:
        cart = ctx.node.remove_item(cart_id, line.item_id)
    else:
        cart = ctx.node.set_item_quantity(cart_id, line.item_id, ask.quantity)
    return cart_view(cart or ctx.node.get_cart(cart_id))


def handoff(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    cart_id = _own_cart(ctx, _parse(_CartRef, body))
    given = ctx.node.hand_off_cart(cart_id)
    return {"code": given.code, "qr": given.qr, "expiresAt": given.expires_at.isoformat()}


def receipt(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    ask = _parse(_Receipt, body)
    return receipt_view(ctx.node.get_receipt(ask.order_id, ask.receipt_token))


def receipt_view(receipt: ReceiptPublic) -> dict[str, Any]:
    view: dict[str, Any] = receipt.model_dump(mode="json", by_alias=True)
    return view


HANDLERS: Final[dict[Op, Callable[[Context, dict[str, Any]], dict[str, Any]]]] = {
    Op.INFO: info,
    Op.CATALOG_PAGE: catalog_page,
    Op.CATALOG_CHANGES: catalog_changes,
    Op.PRODUCT: product,
    Op.CART_CREATE: cart_create,
    Op.CART_GET: cart_get,
    Op.CART_SET: cart_set,
    Op.HANDOFF: handoff,
    Op.RECEIPT: receipt,
}
