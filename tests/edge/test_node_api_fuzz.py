"""The store node's API against hostile input (issue 15): no request may cause a 5xx.

Two ways: a deterministic walk of hostile values (control characters, forged cursors, numbers as text,
extreme numbers) over every parameter and body field of every operation, and schemathesis generating
requests from the OpenAPI schema, with hostile values mixed in by tests/schemathesis_hooks.py."""

import socket
from pathlib import Path

import httpx
import pytest

from tests.api_fuzz import operations_tested, run_schemathesis, walk_api
from tests.edge.conftest import EdgeServer
from tests.edge.helpers import as_staff, checkout, new_cart

PREFIX = "/api/v1"
NEVER = {f"POST {PREFIX}/staff/logout"}  # would end the staff login the rest of the run uses


def test_hostile_values_in_every_parameter_and_field_of_every_operation(edge: EdgeServer):
    staff = as_staff(edge.client, edge.settings)  # the 店長 Manager account, PIN 2468
    cart = new_cart(edge.client, ("bubble-tea-1", 1))
    order = checkout(edge.client, new_cart(edge.client, ("latte-1", 1))["cartId"]).json()
    spec = edge.client.get("/openapi.json").json()
    path_values = {
        "cartId": cart["cartId"],
        "itemId": cart["items"][0]["itemId"],
        "productId": "bubble-tea",
        "orderId": order["orderId"],
        "number": "1",
        "variantId": "latte-1",
        "code": "000000",  # no such hand-off code: claims are refused (404), then throttled (429)
    }
    bodies = {
        f"POST {PREFIX}/carts": {"items": [{"variantId": "bubble-tea-1", "quantity": 1}]},
        f"POST {PREFIX}/carts/{{cartId}}/items": {"variantId": "latte-1", "quantity": 1},
        f"PATCH {PREFIX}/carts/{{cartId}}/items/{{itemId}}": {"quantity": 2},
        f"POST {PREFIX}/carts/{{cartId}}/checkout": {
            "paymentMethod": "cash",
            "couponCode": "WELCOME100",
            "idempotencyKey": "walk-0001",
        },
        f"POST {PREFIX}/orders/{{orderId}}/transitions": {"toStatus": "refunded", "note": "客人不要了"},
        f"POST {PREFIX}/orders/{{orderId}}/returns": {
            "items": [{"itemId": order["items"][0]["itemId"], "quantity": 1}],
            "note": "杯子破了",
            "idempotencyKey": "walk-return-1",
        },
        # Hostile names and PINs fail the schema (422) or count as failures of other names: the manager's
        # own name is never locked.
        f"POST {PREFIX}/staff/login": {"name": "店長 Manager", "pin": "2468"},
        f"POST {PREFIX}/end-of-day": {
            "openingFloat": 2000,
            "countedCash": 2055,
            "note": "日結",
            "idempotencyKey": "walk-close-0001",
        },
    }
    origin = edge.base_url.removesuffix(PREFIX)
    with httpx.Client(base_url=origin, timeout=30, headers=staff) as client:
        result = walk_api(client, spec, path_values=path_values, bodies=bodies, skip=NEVER)
    assert len(result.operations) == sum(len(ops) for ops in spec["paths"].values()) - len(NEVER)
    assert not result.problems, result.report()
    assert result.requests > 500


def test_forged_cursors_loose_numbers_and_control_characters_get_named_refusals(edge: EdgeServer):
    staff = as_staff(edge.client, edge.settings)
    checkout(edge.client, new_cart(edge.client, ("latte-1", 1))["cartId"])
    for path in (
        "/catalog/products",
        "/catalog/changes",
        "/orders",
        "/end-of-day",
        "/footfall/events",
    ):  # every paged route alike
        for cursor in ("AAAA", "YnViYmxlLXRlYQ", "x" * 300):  # the second: "bubble-tea" without checksum
            response = edge.client.get(path, params={"cursor": cursor}, headers=staff)
            assert response.status_code == 422, (path, cursor, response.text)
            assert response.json()["error"]["code"] == "invalidCursor", (path, cursor)
        for limit in ("2.0", " 5", "5_0", "+5"):
            response = edge.client.get(path, params={"limit": limit}, headers=staff)
            assert (response.status_code, response.json()["error"]["field"]) == (422, "limit"), limit
    cart = new_cart(edge.client)
    for response, field in [
        (edge.client.get("/catalog/products", params={"q": "茶\x00"}), "q"),
        (edge.client.get("/catalog/products", params={"categoryId": "\x1b[2J"}), "categoryId"),
        (edge.client.get("/catalog/products/%00"), "path"),
        (checkout(edge.client, cart["cartId"], couponCode="SAVE\x0010"), "couponCode"),
    ]:
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert (error["code"], error["field"]) == ("validationError", field)
        assert "control characters" in error["message"]


@pytest.mark.slow
def test_no_generated_request_causes_a_server_error(edge: EdgeServer, tmp_path: Path):
    staff = as_staff(edge.client, edge.settings)
    new_cart(edge.client, ("bubble-tea-1", 1))
    checkout(edge.client, new_cart(edge.client, ("latte-1", 1))["cartId"])
    excluded = [arg for name in NEVER for arg in ("--exclude-path", name.split(" ", 1)[1])]
    output = run_schemathesis(
        edge.base_url, tmp_path, "--header", f"Authorization:{staff['Authorization']}", *excluded
    )
    assert operations_tested(output) >= 20, output[-3000:]


def test_a_request_head_without_end_is_refused_and_the_node_serves_on(edge: EdgeServer):
    # The node's API is open to the whole shop network: a client sending header after header must not make
    # it buffer them without limit (plumbing.serving.HTTP_PARSER: h11, not httptools, which takes them all).
    # The head never ends: a parser without a limit would wait for more, and the recv below time out.
    with socket.create_connection(("127.0.0.1", edge.settings.port), timeout=10) as sock:
        try:
            sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: node\r\n")
            for i in range(64):  # 64 KB, past h11's 16 KiB
                sock.sendall(b"X-Pad-%d: %s\r\n" % (i, b"a" * 1000))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the node stopped reading: what is asked
        try:
            status_line = sock.recv(200).split(b"\r\n")[0]
        except ConnectionResetError:
            status_line = b""  # closed on us, the answer lost with the reset
    assert status_line in (b"HTTP/1.1 400 Bad Request", b"")
    assert edge.client.get("/health").status_code == 200
