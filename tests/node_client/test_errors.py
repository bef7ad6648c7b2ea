"""The node's refusals as the client's exceptions, each provoked for real.

404, 409, 422 and 503 come from a real node. The node refuses nothing with 401, 403 or 429 yet (staff logins
are coming), so those come from a real server answering through the same shared error handlers
(``plumbing.errors``) every service installs; when the node has its logins, they move to it.
"""

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from models.errors import DomainError
from models.node_api import CloudLink, Health
from models.order_states import OrderStatus
from models.sales import PaymentMethod
from node_client import (
    Busy,
    Conflict,
    Forbidden,
    Invalid,
    NodeClient,
    NodeError,
    NotFound,
    TooMany,
    Unauthenticated,
    UnexpectedResponse,
)
from plumbing import free_port, install_error_handlers, serve_in_thread
from tests.node_client.conftest import QUICK, HeldLock

MISSING = "01J0000000000000000000000Z"


def test_unknown_things_are_not_found_with_their_code(node):
    cart = node.create_cart()
    cases = [
        (lambda: node.get_product("no-such-thing"), "productNotFound"),
        (lambda: node.add_item(cart.cart_id, "no-such-variant"), "variantNotFound"),
        (lambda: node.get_cart(MISSING), "cartNotFound"),
        (lambda: node.set_item_quantity(cart.cart_id, MISSING, 2), "cartItemNotFound"),
        (lambda: node.remove_item(cart.cart_id, MISSING), "cartItemNotFound"),
        (lambda: node.get_order(MISSING), "orderNotFound"),
    ]
    for call, code in cases:
        with pytest.raises(NotFound) as caught:
            call()
        assert (caught.value.status, caught.value.code) == (404, code)
    assert caught.value.message == f"order {MISSING} not found"
    assert str(caught.value) == f"404 orderNotFound: order {MISSING} not found"


def test_an_id_is_sent_as_one_segment_whatever_it_holds(node):
    # Escaped, "?" and "#" cannot end the path and ".." is not dropped: they reach the node in the id.
    for odd in ("tea?limit=1", "latte#top", "%2E%2E", "a b"):
        with pytest.raises(Invalid) as caught:
            node.get_product(odd)
        assert caught.value.field == "productId"
    with pytest.raises(NotFound, match=re.escape("product .. not found")):
        node.get_product("..")
    with pytest.raises(NotFound) as caught:
        node.get_product("tea/x")  # the node decodes the path before routing it: no route takes this
    assert caught.value.code == "notFound"
    with pytest.raises(ValueError, match="never empty"):
        node.get_cart("")


@pytest.mark.parametrize(
    ("quantity", "problem"),
    [(0, "greater than or equal to 1"), (1000, "less than or equal to 999"), (-3, "greater than")],
)
def test_a_bad_quantity_is_the_nodes_invalid_naming_the_field(node, quantity, problem):
    cart = node.create_cart([("latte-1", 1)])
    with pytest.raises(Invalid) as caught:
        node.add_item(cart.cart_id, "latte-1", quantity)
    error = caught.value
    assert (error.status, error.code, error.field) == (422, "validationError", "quantity")
    assert problem in error.details["problems"][0]["message"]
    with pytest.raises(Invalid) as caught:
        node.set_item_quantity(cart.cart_id, cart.items[0].item_id, quantity)
    assert caught.value.field == "quantity"
    with pytest.raises(Invalid) as caught:
        node.create_cart([("latte-1", quantity)])
    assert caught.value.field == "items.0.quantity"
    assert node.get_cart(cart.cart_id).items[0].quantity == 1  # nothing changed


def test_bad_ids_parameters_and_cursors_are_invalid(node):
    with pytest.raises(Invalid) as caught:
        node.get_cart("not-a-cart-id")
    assert caught.value.field == "cartId"
    with pytest.raises(Invalid) as caught:
        node.search_products(limit=0)
    assert caught.value.field == "limit"
    for garbled in ("!!!not-base64", "AAAA"):
        with pytest.raises(Invalid) as caught:
            node.list_orders(cursor=garbled)
        assert (caught.value.code, caught.value.field) == ("invalidCursor", "cursor")
    with pytest.raises(Invalid) as caught:
        node.checkout(node.create_cart([("latte-1", 1)]).cart_id, PaymentMethod.CASH, idempotency_key="short")
    assert caught.value.field == "idempotencyKey"


def test_out_of_stock_is_a_conflict_with_the_variant_and_the_counts(node):
    cart = node.create_cart([("bubble-tea-1", 1), ("zenfone-11-1", 2)])
    with pytest.raises(Conflict) as caught:
        node.checkout(cart.cart_id, PaymentMethod.CASH)
    error = caught.value
    assert (error.status, error.code) == (409, "insufficientStock")
    assert error.details == {"variantId": "zenfone-11-1", "requested": 2, "available": 1}
    assert node.get_cart(cart.cart_id).status == "open"


def test_the_other_conflicts_carry_their_code_and_details(node):
    cart = node.create_cart([("latte-1", 1)])
    order = node.checkout(cart.cart_id, PaymentMethod.CASH)
    with pytest.raises(Conflict) as caught:
        node.checkout(cart.cart_id, PaymentMethod.CASH)  # a new key: a second sale, which the node refuses
    assert (caught.value.code, caught.value.details["orderId"]) == ("cartClosed", order.order_id)
    with pytest.raises(Conflict, match="cartClosed"):
        node.add_item(cart.cart_id, "latte-1")
    with pytest.raises(Conflict) as caught:
        node.checkout(node.create_cart().cart_id, PaymentMethod.CASH)
    assert caught.value.code == "cartEmpty"
    with pytest.raises(Conflict) as caught:
        node.checkout(node.create_cart([("nougat-1", 1)]).cart_id, PaymentMethod.CASH, coupon_code="NOPE123")
    assert (caught.value.code, caught.value.details) == ("couponNotApplicable", {"reason": "unknown"})
    node.checkout(node.create_cart([("latte-1", 1)]).cart_id, PaymentMethod.CASH, idempotency_key="sale-0001")
    other = node.create_cart([("latte-1", 1)])
    with pytest.raises(Conflict) as caught:
        node.checkout(other.cart_id, PaymentMethod.CASH, idempotency_key="sale-0001")
    assert caught.value.code == "idempotencyKeyReused"
    node.transition_order(order.order_id, OrderStatus.RETURNED)
    with pytest.raises(Conflict) as caught:
        node.transition_order(order.order_id, OrderStatus.RETURNED)
    assert caught.value.code == "illegalTransition"


def test_a_busy_database_is_busy_with_retry_after_and_nothing_written(busy_node):
    base_url, database = busy_node
    with NodeClient(base_url, **QUICK) as client:
        cart = client.create_cart([("latte-1", 1)])
        lock = HeldLock(database)
        try:
            with pytest.raises(Busy) as caught:
                client.add_item(cart.cart_id, "latte-1")
            assert client.get_cart(cart.cart_id).items[0].quantity == 1  # reads go on (WAL)
        finally:
            lock.close()
        error = caught.value
        assert (error.status, error.code, error.retry_after) == (503, "databaseBusy", 1.0)
        assert client.add_item(cart.cart_id, "latte-1").items[0].quantity == 2  # free again: the same works


@pytest.fixture
def gatekeeper() -> Iterator[tuple[str, list[str]]]:
    """A real server answering through the shared error handlers: ``/health`` needs the bearer token
    ``sesame`` (401 without it), ``/catalog/categories`` is 403, ``/sync/status`` is 429 with a retry time,
    ``/orders`` is not a page and ``/orders/{id}`` a proxy's 502 page. Yields its address and the paths it
    was asked for."""
    asked: list[str] = []
    app = FastAPI()
    install_error_handlers(app)

    def refuse(status: int, code: str, **details: object) -> DomainError:
        error = DomainError(f"refused: {code}", code=code, **details)
        error.status = status
        return error

    @app.get("/api/v1/health")
    def health(request: Request) -> Health:
        asked.append(request.url.path)
        if request.headers.get("Authorization") != "Bearer sesame":
            raise refuse(401, "unauthenticated")
        cloud = CloudLink(connected=False, last_contact_at=None)
        return Health(
            status="ok",
            version="0",
            store_id=None,
            device_id="d",
            database_ok=True,
            catalog_version=None,
            online=False,
            cloud=cloud,
            pending_outbox=0,
        )

    @app.get("/api/v1/catalog/categories")
    def categories(request: Request) -> list[str]:
        asked.append(request.url.path)
        raise refuse(403, "forbidden", role="cashier")

    @app.get("/api/v1/sync/status")
    def sync_status(request: Request) -> dict[str, str]:
        asked.append(request.url.path)
        raise refuse(429, "tooManyAttempts", retry_after_s=7)

    @app.get("/api/v1/orders")
    def orders(request: Request) -> dict[str, str]:
        asked.append(request.url.path)
        return {"not": "a page"}

    @app.get("/api/v1/orders/{order_id}")
    def order(request: Request) -> HTMLResponse:
        asked.append(request.url.path)  # a proxy's page in front of a node that is down
        return HTMLResponse("<html>Bad Gateway</html>", status_code=502, headers={"Retry-After": "soon"})

    port = free_port()
    served = serve_in_thread(app, port)
    yield f"http://127.0.0.1:{port}", asked
    served.stop(timeout_s=20)


def test_401_403_429_are_their_families_and_never_retried(gatekeeper):
    base_url, asked = gatekeeper
    with NodeClient(base_url, retries=3, **QUICK) as client:
        with pytest.raises(Unauthenticated) as caught:
            client.health()
        assert (caught.value.status, caught.value.code) == (401, "unauthenticated")
        client.token = "sesame"
        assert client.health().status == "ok"
        with pytest.raises(Forbidden) as forbidden:
            client.list_categories()
        assert forbidden.value.details == {"role": "cashier"}
        with pytest.raises(TooMany) as too_many:
            client.sync_status()
        assert (too_many.value.code, too_many.value.retry_after) == ("tooManyAttempts", 7.0)
        assert too_many.value.details == {"retryAfterS": 7}
        with pytest.raises(UnexpectedResponse, match="200"):
            client.list_orders()
    assert asked == [
        "/api/v1/health",
        "/api/v1/health",
        "/api/v1/catalog/categories",
        "/api/v1/sync/status",
        "/api/v1/orders",
    ]


def test_an_answer_not_in_the_error_shape_is_still_a_node_error_and_a_5xx_is_retried(gatekeeper):
    base_url, asked = gatekeeper
    with NodeClient(base_url, retries=3, **QUICK) as client, pytest.raises(NodeError) as caught:
        client.get_order(MISSING)
    error = caught.value
    assert type(error) is NodeError
    assert (error.status, error.code, error.message, error.retry_after) == (
        502,
        "httpError",
        "<html>Bad Gateway</html>",
        None,
    )
    assert asked == [f"/api/v1/orders/{MISSING}"] * 4
