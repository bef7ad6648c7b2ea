"""``NodeClient``: the store node's HTTP API (docs/edge-api.md) as typed Python calls.

Synchronous on purpose: the kiosk (Kivy) calls it from a worker thread, never from the UI thread, since a
call may block for its timeouts and retries; the CLI and the BLE bridge's request handlers are plain
threads too. One client may be shared by threads (httpx's connection pool is thread-safe).
"""

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter, ValidationError

from models.base import CamelModel
from models.catalog import Category
from models.cloud_api import OrderTransitionRequest
from models.einvoice import EInvoice
from models.end_of_day import XReport, ZReport
from models.footfall import FootfallEvent
from models.node_api import (
    CartCreate,
    CartHandoff,
    CartItemCreate,
    CartItemUpdate,
    CartPublic,
    CartQuote,
    CatalogChanges,
    CheckoutRequest,
    EndOfDayClose,
    EnrollmentResult,
    FootfallSummary,
    Health,
    Page,
    ProductPublic,
    ProductSummary,
    ReceiptAccess,
    ReceiptPublic,
    RecognitionResult,
    RecognitionStatus,
    ReferencesDeleted,
    ReturnItemRequest,
    ReturnRequest,
    StaffLogin,
    StaffPublic,
    StaffSession,
    SyncStatus,
)
from models.order_states import OrderStatus
from models.returns import OrderReturn, OrderWithReturns
from models.sales import Order, PaymentMethod
from node_client.errors import NodeUnreachable, UnexpectedResponse, error_for
from node_client.retrying import RetryPolicy, retries_failure

T = TypeVar("T")

API_PREFIX = "/api/v1"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
"""Reads outlast the node's 5 s SQLite busy timeout, so a busy node is seen as ``Busy`` (which is retried)
rather than as a timeout; a node on the shop's LAN that accepts no connection within 3 s is down."""

_HEALTH = TypeAdapter(Health)
_SYNC_STATUS = TypeAdapter(SyncStatus)
_PRODUCTS = TypeAdapter(Page[ProductSummary])
_PRODUCT = TypeAdapter(ProductPublic)
_CATEGORIES = TypeAdapter(list[Category])
_CART = TypeAdapter(CartPublic)
_QUOTE = TypeAdapter(CartQuote)
_STAFF_SESSION = TypeAdapter(StaffSession)
_STAFF = TypeAdapter(StaffPublic)
_ORDER = TypeAdapter(Order)
_STANDING_ORDER = TypeAdapter(OrderWithReturns)
_RECEIPT = TypeAdapter(ReceiptPublic)
_ORDERS = TypeAdapter(Page[OrderWithReturns])
_RETURN = TypeAdapter(OrderReturn)
_X_REPORT = TypeAdapter(XReport)
_Z_REPORT = TypeAdapter(ZReport)
_Z_REPORTS = TypeAdapter(Page[ZReport])
_RECOGNITION = TypeAdapter(RecognitionResult)
_RECOGNITION_STATUS = TypeAdapter(RecognitionStatus)
_ENROLLMENT = TypeAdapter(EnrollmentResult)
_REFERENCES_DELETED = TypeAdapter(ReferencesDeleted)
_HANDOFF = TypeAdapter(CartHandoff)
_RECEIPT_ACCESS = TypeAdapter(ReceiptAccess)
_CATALOG_CHANGES = TypeAdapter(CatalogChanges)
_FOOTFALL = TypeAdapter(FootfallSummary)
_FOOTFALL_EVENTS = TypeAdapter(Page[FootfallEvent])


def api_root(base_url: str) -> str:
    """The API's root from a node's address: ``http://pi:8080`` and ``http://pi:8080/api/v1`` alike."""
    root = base_url.rstrip("/")
    return root if root.endswith(API_PREFIX) else root + API_PREFIX


def new_idempotency_key() -> str:
    """A key for one checkout, return or close of the till (the node takes 8-128 of ``A-Za-z0-9_.:-``)."""
    return f"nc-{uuid.uuid4().hex}"


class NodeClient:
    """A store node's API. ``base_url`` is the node's address (``http://192.168.1.20:8080``).

    Reads, and checkouts and returns (they carry an idempotency key), are tried ``retries`` more times on a
    connection failure or a 5xx, waiting ``backoff`` seconds doubled each time with jitter
    (``node_client.retrying``); cart changes and status changes are sent once. ``token``, when set, goes as ``Authorization: Bearer`` on every
    request (staff logins); assign it at any time. ``transport`` replaces httpx's (tests, a Unix socket).
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retries: int = 2,
        backoff: float = 0.25,
        max_backoff: float = 2.0,
        transport: httpx.BaseTransport | None = None,
        token: str | None = None,
    ) -> None:
        self.base_url = api_root(base_url)
        self.retry = RetryPolicy(retries=retries, backoff=backoff, max_backoff=max_backoff)
        self.token = token
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json"},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    # system

    def health(self) -> Health:
        return self._get(_HEALTH, "/health")

    def sync_status(self) -> SyncStatus:
        return self._get(_SYNC_STATUS, "/sync/status")

    # catalog

    def search_products(
        self,
        q: str | None = None,
        *,
        category_id: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Page[ProductSummary]:
        """One page of the listed products, optionally matching ``q`` (a name in either language, SKU or
        barcode) or in a category; pass ``next_cursor`` back as ``cursor`` for the next page."""
        params = {"q": q, "categoryId": category_id, "cursor": cursor, "limit": limit}
        return self._get(_PRODUCTS, "/catalog/products", params)

    def iter_products(
        self, q: str | None = None, *, category_id: str | None = None, page_size: int = 100
    ) -> Iterator[ProductSummary]:
        """Every matching product, fetching page after page as the caller goes."""
        return _every_item(
            lambda cursor: self.search_products(q, category_id=category_id, cursor=cursor, limit=page_size)
        )

    def get_product(self, product_id: str) -> ProductPublic:
        return self._get(_PRODUCT, f"/catalog/products/{_segment(product_id)}")

    def list_categories(self) -> list[Category]:
        return self._get(_CATEGORIES, "/catalog/categories")

    def catalog_changes(
        self, since: int, *, cursor: str | None = None, limit: int | None = None
    ) -> CatalogChanges:
        """What changed since catalog version ``since`` (a cached copy's): one page of listed products
        changed since (``items``) and ids unlisted since (``removed``); pass ``next_cursor`` back as
        ``cursor``. ``reset``: the copy cannot be brought up to date, fetch the catalog whole again."""
        params = {"since": since, "cursor": cursor, "limit": limit}
        return self._get(_CATALOG_CHANGES, "/catalog/changes", params)

    # carts: each change is sent once (see node_client.retrying)

    def create_cart(self, items: Iterable[tuple[str, int]] = ()) -> CartPublic:
        """A new cart, with ``(variant_id, quantity)`` lines if given."""
        lines = [CartItemCreate.model_construct(variant_id=v, quantity=q) for v, q in items]
        return self._send(_CART, "POST", "/carts", CartCreate.model_construct(items=lines))

    def get_cart(self, cart_id: str) -> CartPublic:
        return self._get(_CART, f"/carts/{_segment(cart_id)}")

    def add_item(self, cart_id: str, variant_id: str, quantity: int = 1) -> CartPublic:
        """Add units of a variant; the same variant again adds to its line."""
        body = CartItemCreate.model_construct(variant_id=variant_id, quantity=quantity)
        return self._send(_CART, "POST", f"/carts/{_segment(cart_id)}/items", body)

    def set_item_quantity(self, cart_id: str, item_id: str, quantity: int) -> CartPublic:
        body = CartItemUpdate.model_construct(quantity=quantity)
        path = f"/carts/{_segment(cart_id)}/items/{_segment(item_id)}"
        return self._send(_CART, "PATCH", path, body)

    def remove_item(self, cart_id: str, item_id: str) -> CartPublic:
        path = f"/carts/{_segment(cart_id)}/items/{_segment(item_id)}"
        return self._send(_CART, "DELETE", path)

    def checkout(
        self,
        cart_id: str,
        payment_method: PaymentMethod,
        *,
        coupon_code: str | None = None,
        idempotency_key: str | None = None,
        expected_total: int | None = None,
        einvoice: EInvoice | None = None,
    ) -> Order:
        """Sell the cart: the order, status ``completed``.

        Retried like a read, because it carries an idempotency key (a new one per call unless given): a
        repeat after a lost answer gets the order the first attempt made, never a second sale. A caller that
        may itself repeat the call (after a crash, or when the shopper presses again after
        ``NodeUnreachable``) passes its own key, the same each time for the same sale."""
        body = CheckoutRequest.model_construct(
            payment_method=payment_method,
            coupon_code=coupon_code,
            idempotency_key=idempotency_key or new_idempotency_key(),
            expected_total=expected_total,
            einvoice=einvoice,
        )
        path = f"/carts/{_segment(cart_id)}/checkout"
        return self._send(_ORDER, "POST", path, body, idempotent=True)

    def quote_cart(self, cart_id: str, coupon_code: str | None = None) -> CartQuote:
        """The cart priced as checkout will price it, with ``coupon_code`` (``Conflict`` with code
        ``couponNotApplicable`` when it does not apply): show its ``total``, charge it, and pass it to
        ``checkout`` as ``expected_total`` so a sale whose prices moved in between is refused."""
        return self._get(_QUOTE, f"/carts/{_segment(cart_id)}/quote", {"couponCode": coupon_code})

    # hand-off and receipts: a phone's cart taken over by a kiosk, a sale's receipt read later

    def hand_off_cart(self, cart_id: str) -> CartHandoff:
        """A six-digit code (and its QR text) for a kiosk to take over this open, non-empty cart; the cart's
        earlier codes stop working. Sent once: a repeat would void the code the first one made.
        ``Conflict``: ``cartEmpty``, ``cartClosed``, ``cartHandedOff``."""
        return self._send(_HANDOFF, "POST", f"/carts/{_segment(cart_id)}/handoff")

    def claim_handoff(self, code: str) -> CartPublic:
        """Take over a phone's cart by its code (six digits: ``models.node_api.parse_handoff_qr`` reads a
        scanned QR text or a typed code): a new cart at this kiosk with the same lines. Sent once: the code
        is single use, so a repeat would be ``handoffUsed``; after ``NodeUnreachable`` ask for a new code.
        ``NotFound`` (``handoffNotFound``), ``Conflict`` (``handoffExpired``, ``handoffUsed``), ``TooMany``
        (``tooManyAttempts``, with ``retry_after``)."""
        return self._send(_CART, "POST", f"/handoffs/{_segment(code)}/claim")

    def receipt_access(self, cart_id: str) -> ReceiptAccess:
        """The order a checked-out cart became and its receipt token (``Conflict`` ``cartNotCheckedOut``
        while it is open or handed off)."""
        return self._get(_RECEIPT_ACCESS, f"/carts/{_segment(cart_id)}/receipt")

    def get_receipt(self, order_id: str, token: str) -> ReceiptPublic:
        """A sale as it stands, for the holder of its receipt token (``XXXX-XXXX``, any case); no staff
        login. ``NotFound`` (``receiptNotFound``) for a wrong token and an unknown order alike."""
        return self._get(_RECEIPT, f"/receipts/{_segment(order_id)}", {"token": token})

    # staff: the token a login gives is what the staff-only calls (orders, returns, sync status) carry

    def staff_login(self, name: str, pin: str) -> StaffSession:
        """Log a staff member in at the node (checked there, offline) and carry the token from now on.
        A wrong name or PIN is ``Unauthenticated``; a locked name ``TooMany`` with ``retry_after``."""
        session = self._send(
            _STAFF_SESSION, "POST", "/staff/login", StaffLogin.model_construct(name=name, pin=pin)
        )
        self.token = session.token
        return session

    def staff_me(self) -> StaffPublic:
        return self._get(_STAFF, "/staff/me")

    def staff_logout(self) -> None:
        """End this token at the node and stop carrying it."""
        if self.token is not None:
            try:
                self._request("POST", "/staff/logout", idempotent=False)
            finally:
                self.token = None

    # orders

    def list_orders(
        self, *, status: OrderStatus | None = None, cursor: str | None = None, limit: int | None = None
    ) -> Page[OrderWithReturns]:
        """One page of this node's orders, most recent first, each as it stands (with its returns)."""
        params = {"status": status, "cursor": cursor, "limit": limit}
        return self._get(_ORDERS, "/orders", params)

    def iter_orders(
        self, *, status: OrderStatus | None = None, page_size: int = 100
    ) -> Iterator[OrderWithReturns]:
        return _every_item(lambda cursor: self.list_orders(status=status, cursor=cursor, limit=page_size))

    def get_order(self, order_id: str) -> OrderWithReturns:
        """The order as it stands: its lines, payments, units back per line, refunded amount, returns."""
        return self._get(_STANDING_ORDER, f"/orders/{_segment(order_id)}")

    def transition_order(
        self, order_id: str, to_status: OrderStatus, note: str | None = None
    ) -> OrderWithReturns:
        """Move a sale on at the store (``returned``, ``refunded``); sent once, as a second ``returned``
        would be refused as ``illegalTransition``."""
        body = OrderTransitionRequest.model_construct(to_status=to_status, note=note)
        return self._send(_STANDING_ORDER, "POST", f"/orders/{_segment(order_id)}/transitions", body)

    def return_items(
        self,
        order_id: str,
        items: Iterable[tuple[str, int]],
        note: str | None = None,
        idempotency_key: str | None = None,
    ) -> OrderReturn:
        """Take back some units of a completed sale (a manager's token): ``(item_id, quantity)`` per line.
        The answer's ``refund`` is what to hand back, the way the sale was paid (``refund_method``); the
        return that brings back the last units moves the order to ``returned``. ``NotFound`` with code
        ``orderItemNotFound``, ``Conflict`` with ``returnTooLarge`` or ``illegalTransition``.

        Retried like a checkout, because it carries an idempotency key (a new one per call unless given): a
        repeat after a lost answer gets the return the first attempt made, never a second refund. A caller
        that may itself repeat the call passes its own key, the same each time for the same return."""
        body = ReturnRequest.model_construct(
            items=[ReturnItemRequest.model_construct(item_id=i, quantity=q) for i, q in items],
            note=note,
            idempotency_key=idempotency_key or new_idempotency_key(),
        )
        return self._send(_RETURN, "POST", f"/orders/{_segment(order_id)}/returns", body, idempotent=True)

    # end of day: staff only; closing the till's period is a manager's

    def end_of_day_preview(self, opening_float: int = 0, counted_cash: int | None = None) -> XReport:
        """The X-report: the till's period since its last Z-report as it would close now, with the cash
        expected for ``opening_float`` and, given ``counted_cash``, the drawer's over/short. Changes nothing."""
        params = {"openingFloat": opening_float, "countedCash": counted_cash}
        return self._get(_X_REPORT, "/end-of-day/preview", params)

    def close_day(
        self,
        opening_float: int,
        *,
        counted_cash: int | None = None,
        note: str | None = None,
        idempotency_key: str | None = None,
    ) -> ZReport:
        """Close the till's period (a manager's token): the Z-report, numbered at the node.

        Retried like a checkout, with an idempotency key (a new one per call unless given): a repeat after
        a lost answer gets the report the first attempt made, never a second close. A caller that may itself
        repeat the call (the manager pressing again after ``NodeUnreachable``) passes its own key, the same
        each time; the key with other figures is ``Conflict`` (``idempotencyKeyReused``)."""
        body = EndOfDayClose.model_construct(
            opening_float=opening_float,
            counted_cash=counted_cash,
            note=note,
            idempotency_key=idempotency_key or new_idempotency_key(),
        )
        return self._send(_Z_REPORT, "POST", "/end-of-day", body, idempotent=True)

    def z_report(self, number: int) -> ZReport:
        """A Z-report of this node by its number (``NotFound``, code ``zReportNotFound``, when there is none)."""
        return self._get(_Z_REPORT, f"/end-of-day/{int(number)}")

    def z_reports(self, *, cursor: str | None = None, limit: int | None = None) -> Page[ZReport]:
        """One page of this node's Z-reports, the latest first."""
        return self._get(_Z_REPORTS, "/end-of-day", {"cursor": cursor, "limit": limit})

    def iter_z_reports(self, *, page_size: int = 100) -> Iterator[ZReport]:
        return _every_item(lambda cursor: self.z_reports(cursor=cursor, limit=page_size))

    # footfall: the door counter's counts and events, staff only (read, retried)

    def footfall(self, day: date | None = None) -> FootfallSummary:
        """A Taiwan day's door counts (today at the node when ``day`` is None): ins, outs, occupancy now,
        the 15-minute buckets that had events, events per source."""
        return self._get(_FOOTFALL, "/footfall", {"day": day.isoformat() if day else None})

    def footfall_events(
        self, *, day: date | None = None, cursor: str | None = None, limit: int | None = None
    ) -> Page[FootfallEvent]:
        """One page of a Taiwan day's door crossings (today when ``day`` is None), the newest first."""
        params = {"day": day.isoformat() if day else None, "cursor": cursor, "limit": limit}
        return self._get(_FOOTFALL_EVENTS, "/footfall/events", params)

    # recognition: recognize is a shopper's call; enrolling and deleting references need a staff token

    def recognize(
        self, image: bytes, *, k: int | None = None, content_type: str = "image/jpeg"
    ) -> RecognitionResult:
        """What product a photo (JPEG, PNG or WebP bytes) shows: up to ``k`` (node default 3) candidates, most
        likely first, or ``unknown`` with none. Retried like a read (it changes nothing). ``NotReady`` (503
        ``modelNotLoaded``) while no model serves, ``Invalid`` (``notAnImage``), ``TooLarge``
        (``imageTooLarge``)."""
        params = {"k": k} if k is not None else {}
        files = {"image": ("image", image, content_type)}
        response = self._request("POST", "/recognize", idempotent=True, params=params, files=files)
        return _parse(_RECOGNITION, response)

    def enroll(self, variant_id: str, images: Iterable[bytes]) -> EnrollmentResult:
        """Keep photos of a variant as its references (a staff token; about six photos from a few sides): it
        is recognised at once. ``NotFound`` (``variantNotFound``); sent once (a repeat would add the photos
        twice)."""
        files = [("images", (f"{n}.jpg", data, "image/jpeg")) for n, data in enumerate(images)]
        response = self._request(
            "POST", "/recognition/enroll", idempotent=False, data={"variantId": variant_id}, files=files
        )
        return _parse(_ENROLLMENT, response)

    def delete_references(self, variant_id: str) -> ReferencesDeleted:
        """Forget a variant's reference photos (a staff token): it is no longer recognised."""
        path = f"/recognition/references/{_segment(variant_id)}"
        return _parse(_REFERENCES_DELETED, self._request("DELETE", path, idempotent=True))

    def recognition_status(self) -> RecognitionStatus:
        """The serving model (version, threshold), what is enrolled, and the latest model file refused."""
        return self._get(_RECOGNITION_STATUS, "/recognition/status")

    # the wire

    def _get(self, adapter: TypeAdapter[T], path: str, params: dict[str, Any] | None = None) -> T:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        return _parse(adapter, self._request("GET", path, params=query, idempotent=True))

    def _send(
        self,
        adapter: TypeAdapter[T],
        method: str,
        path: str,
        body: CamelModel | None = None,
        *,
        idempotent: bool = False,
    ) -> T:
        json = _wire(body) if body is not None else None
        return _parse(adapter, self._request(method, path, json=json, idempotent=idempotent))

    def _request(self, method: str, path: str, *, idempotent: bool, **kwargs: Any) -> httpx.Response:
        attempts = self.retry.retries + 1 if idempotent else 1
        attempt = 0
        while True:
            headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
            try:
                response = self._http.request(method, path, headers=headers, **kwargs)
            except httpx.TransportError as exc:
                if attempt + 1 >= attempts:
                    raise NodeUnreachable(self.base_url, attempt + 1, exc) from exc
                time.sleep(self.retry.delay(attempt))
            else:
                if response.is_success:
                    return response
                error = error_for(response)
                if attempt + 1 >= attempts or not retries_failure(response):
                    raise error
                time.sleep(self.retry.delay(attempt, error.retry_after))
            attempt += 1


def _segment(ident: str) -> str:
    """An id as one path segment of the URL: escaped, so a ``?``, ``#`` or ``%`` in it stays in the id
    rather than ending the path or being read as an escape, and ``..`` is not taken for a step up. (The node
    decodes a path before routing it, so an id holding ``/`` meets no route there: 404 ``notFound``.)"""
    if not ident:
        raise ValueError("an id is never empty")
    escaped = quote(ident, safe="")
    # "." and ".." survive quote() and URLs drop them as dot-segments; escaped, they reach the node as ids.
    return escaped.replace(".", "%2E") if escaped in (".", "..") else escaped


def _wire(body: CamelModel) -> dict[str, Any]:
    """A request body in its schema's wire names. Bodies are built with ``model_construct``, not validated
    here: the node is the one judge of its input, so a bad quantity is its ``Invalid`` (422 naming the
    field) and not a local pydantic error, and a caller handles one kind of refusal."""
    wire: dict[str, Any] = body.model_dump(mode="json", by_alias=True, exclude_none=True, warnings=False)
    return wire


def _parse(adapter: TypeAdapter[T], response: httpx.Response) -> T:
    try:
        # Fields a newer node added are ignored, so a kiosk keeps working while the node is upgraded first.
        return adapter.validate_json(response.content, extra="ignore")
    except ValidationError as exc:
        raise UnexpectedResponse(response.status_code, str(exc.errors()[:3])) from exc


def _every_item(fetch: Callable[[str | None], Page[T]]) -> Iterator[T]:
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
