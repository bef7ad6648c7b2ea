"""Who may call what at the node, walked over every operation of its OpenAPI document (so a new route is
checked the day it is added): an operation that declares the staff token answers a request without one
401 (the error shape, ``WWW-Authenticate: Bearer``), a cashier 403 where it names the manager role (in its
security scopes, or for a body value in ``x-staff-role-by-field``), and a manager never either; an operation
that declares none is open: anyone gets an answer that is not 401."""

from typing import Any

import httpx

from models.staff import StaffRole
from tests.edge.conftest import EdgeServer
from tests.edge.helpers import add_staff, checkout, new_cart, staff_login

PREFIX = "/api/v1"
SCHEME = "staffToken"
PINS = {StaffRole.MANAGER: "2468", StaffRole.CASHIER: "1357"}


def _token(edge: EdgeServer, role: StaffRole) -> dict[str, str]:
    """A fresh login (each request gets its own, so a logout walked on the way ends only its own)."""
    return staff_login(edge.client, role.value, PINS[role])


def _request(
    edge: EdgeServer, method: str, url: str, body: Any, headers: dict[str, str] | None = None
) -> httpx.Response:
    response = edge.client.request(method, url, json=body, headers=headers or {})
    assert response.status_code < 500, (method, url, response.status_code, response.text)
    return response


def _roles(operation: dict[str, Any]) -> list[str] | None:
    """The roles an operation declares (its staff token's scopes); None when it declares no token."""
    for requirement in operation.get("security", []):
        if SCHEME in requirement:
            return list(requirement[SCHEME])
    return None


def test_every_route_is_open_or_asks_for_the_right_staff(edge: EdgeServer):
    for role, pin in PINS.items():
        add_staff(edge.settings, role.value, role, pin)
    cart = new_cart(edge.client, ("bubble-tea-1", 1))
    orders = [checkout(edge.client, new_cart(edge.client, ("latte-1", 1))["cartId"]).json() for _ in range(3)]
    ids = {
        "cartId": cart["cartId"],
        "itemId": cart["items"][0]["itemId"],
        "productId": "bubble-tea",
        "orderId": orders[0]["orderId"],
        "number": 1,
        "variantId": "latte-1",
        "code": "000000",
    }
    bodies = {
        "POST /carts": {"items": [{"variantId": "bubble-tea-1", "quantity": 1}]},
        "POST /carts/{cartId}/items": {"variantId": "latte-1", "quantity": 1},
        "PATCH /carts/{cartId}/items/{itemId}": {"quantity": 2},
        "POST /carts/{cartId}/checkout": {"paymentMethod": "cash"},
        "POST /orders/{orderId}/transitions": {"toStatus": "shipping"},  # illegal here, but any role's
        "POST /orders/{orderId}/returns": {
            "items": [{"itemId": orders[1]["items"][0]["itemId"], "quantity": 1}]
        },
        "POST /staff/login": {"name": "cashier", "pin": PINS[StaffRole.CASHIER]},
        "POST /end-of-day": {"openingFloat": 2000},
    }
    spec = edge.client.get("/openapi.json").json()
    assert SCHEME in spec["components"]["securitySchemes"]
    assert spec["components"]["securitySchemes"][SCHEME] | {"description": ""} == {
        "type": "http",
        "scheme": "bearer",
        "description": "",
    }
    protected, open_ = [], []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            key = f"{method.upper()} {path.removeprefix(PREFIX)}"
            url = path.removeprefix(PREFIX).format(**ids)
            body = bodies.get(key)
            roles = _roles(operation)
            anonymous = _request(edge, method, url, body)
            if roles is None:
                assert anonymous.status_code != 401, (key, anonymous.text)
                open_.append(key)
                continue
            protected.append(key)
            assert anonymous.status_code == 401, (key, anonymous.text)
            assert anonymous.json()["error"]["code"] == "unauthenticated"
            assert anonymous.headers["WWW-Authenticate"] == "Bearer"
            cashier = _request(edge, method, url, body, _token(edge, StaffRole.CASHIER))
            if StaffRole.MANAGER.value in roles:
                assert cashier.status_code == 403, (key, cashier.text)
            else:
                assert cashier.status_code not in (401, 403), (key, cashier.text)
            manager = _request(edge, method, url, body, _token(edge, StaffRole.MANAGER))
            assert manager.status_code not in (401, 403), (key, manager.text)
            # A role that depends on a body field's value: a cashier is refused each manager's value.
            by_field = operation.get("x-staff-role-by-field", {})
            for field, needed in by_field.items():
                for n, (value, role) in enumerate(sorted(needed.items())):
                    assert role == StaffRole.MANAGER.value
                    changed = {**(body or {}), field: value}
                    url_n = path.removeprefix(PREFIX).format(**{**ids, "orderId": orders[n % 3]["orderId"]})
                    refused = _request(edge, method, url_n, changed, _token(edge, StaffRole.CASHIER))
                    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
                    allowed = _request(edge, method, url_n, changed, _token(edge, StaffRole.MANAGER))
                    assert allowed.status_code not in (401, 403), (key, value, allowed.text)
    # What the node's API documents (docs/edge-api.md): shoppers' routes open, the shop's business staff's.
    assert sorted(protected) == [
        "DELETE /recognition/references/{variantId}",
        "GET /end-of-day",
        "GET /end-of-day/preview",
        "GET /end-of-day/{number}",
        "GET /footfall",
        "GET /footfall/events",
        "GET /orders",
        "GET /orders/{orderId}",
        "GET /staff/me",
        "GET /sync/status",
        "POST /end-of-day",
        "POST /orders/{orderId}/returns",
        "POST /orders/{orderId}/transitions",
        "POST /recognition/enroll",
        "POST /staff/logout",
    ]
    assert "GET /health" in open_
    assert "POST /staff/login" in open_
    assert "POST /carts/{cartId}/checkout" in open_
    assert "GET /catalog/products" in open_
    assert "POST /recognize" in open_  # a shopper's, like the catalog
    assert "GET /recognition/status" in open_
    # A phone's: its cart handed off to a kiosk, its receipt by the token printed on it, catalog changes
    for shoppers in (
        "POST /carts/{cartId}/handoff",
        "POST /handoffs/{code}/claim",
        "GET /carts/{cartId}/receipt",
        "GET /receipts/{orderId}",
        "GET /catalog/changes",
    ):
        assert shoppers in open_
