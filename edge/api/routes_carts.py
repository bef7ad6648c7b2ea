"""Cart and checkout routes: thin wrappers over edge.carts and edge.checkout, with a cart's hand-off to a
kiosk (edge.handoffs) and, once sold, its receipt token (edge.receipts)."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Body, Query, Response, status

from edge import carts, checkout, handoffs, receipts
from edge.api.deps import CartIdPath, ItemIdPath, NodeDep
from models.node_api import (
    CartCreate,
    CartHandoff,
    CartItemCreate,
    CartItemUpdate,
    CartPublic,
    CartQuote,
    CheckoutRequest,
    CouponCodeInput,
    ReceiptAccess,
)
from models.sales import Order

router = APIRouter(prefix="/carts", tags=["carts"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_cart(node: NodeDep, body: Annotated[CartCreate | None, Body()] = None) -> CartPublic:
    at = node.now()
    with node.db.write() as conn:
        items = [(item.variant_id, item.quantity) for item in body.items] if body else []
        cart_id = carts.create_cart(conn, at, items)
        return carts.get_cart(conn, cart_id, at)


@router.get("/{cartId}")
def get_cart(cart_id: CartIdPath, node: NodeDep) -> CartPublic:
    with node.db.read() as conn:
        return carts.get_cart(conn, cart_id, node.now())


@router.post("/{cartId}/items", status_code=status.HTTP_201_CREATED)
def add_item(cart_id: CartIdPath, body: CartItemCreate, node: NodeDep) -> CartPublic:
    at = node.now()
    with node.db.write() as conn:
        carts.add_item(conn, cart_id, body.variant_id, body.quantity, at)
        return carts.get_cart(conn, cart_id, at)


@router.patch("/{cartId}/items/{itemId}")
def update_item(cart_id: CartIdPath, item_id: ItemIdPath, body: CartItemUpdate, node: NodeDep) -> CartPublic:
    at = node.now()
    with node.db.write() as conn:
        carts.set_item_quantity(conn, cart_id, item_id, body.quantity, at)
        return carts.get_cart(conn, cart_id, at)


@router.delete("/{cartId}/items/{itemId}")
def remove_item(cart_id: CartIdPath, item_id: ItemIdPath, node: NodeDep) -> CartPublic:
    at = node.now()
    with node.db.write() as conn:
        carts.remove_item(conn, cart_id, item_id, at)
        return carts.get_cart(conn, cart_id, at)


@router.get("/{cartId}/quote")
def quote_cart(
    cart_id: CartIdPath,
    node: NodeDep,
    coupon_code: Annotated[CouponCodeInput | None, Query(alias="couponCode")] = None,
) -> CartQuote:
    """The cart priced with a coupon as checkout will price it (409 couponNotApplicable when it does not
    apply); pass its ``total`` as the checkout's ``expectedTotal``."""
    with node.db.read() as conn:
        return checkout.quote(conn, cart_id, coupon_code, node.now())


@router.post(
    "/{cartId}/checkout",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "A retry with the same idempotencyKey: the order made the first time"}},
)
def checkout_cart(cart_id: CartIdPath, body: CheckoutRequest, node: NodeDep, response: Response) -> Order:
    with node.db.write() as conn:
        result = checkout.checkout(conn, cart_id, body, device_id=node.device_id, at=node.now())
    if result.created:
        node.cloud.nudge()  # committed: the sale goes up now, not at the sync agent's next tick
    else:
        response.status_code = status.HTTP_200_OK
    return result.order


@router.post("/{cartId}/handoff", status_code=status.HTTP_201_CREATED)
def hand_off_cart(cart_id: CartIdPath, node: NodeDep) -> CartHandoff:
    """A six-digit code (and its QR text) for a kiosk to take over this open, non-empty cart, good for
    ``handoff_ttl_seconds``; the cart's earlier unclaimed codes stop working. 409 ``cartClosed``,
    ``cartHandedOff``, ``cartEmpty``."""
    at = node.now()
    with node.db.write() as conn:
        return handoffs.issue(conn, cart_id, at, timedelta(seconds=node.settings.handoff_ttl_seconds))


@router.get("/{cartId}/receipt")
def receipt_access(cart_id: CartIdPath, node: NodeDep) -> ReceiptAccess:
    """The order a checked-out cart became and its receipt token, for ``GET /receipts/{orderId}?token=``
    (409 ``cartNotCheckedOut`` while it is open or handed off)."""
    with node.db.read() as conn:
        return receipts.access(conn, cart_id)
