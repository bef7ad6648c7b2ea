"""Cart hand-off over real HTTP: a phone's cart taken over by a kiosk with a six-digit code."""

import re

import pytest

from models.node_api import handoff_qr, parse_handoff_qr
from tests.edge.helpers import checkout, new_cart


def hand_off(client, cart_id: str) -> dict:
    response = client.post(f"/carts/{cart_id}/handoff")
    assert response.status_code == 201, response.text
    return response.json()


def claim(client, code: str):
    return client.post(f"/handoffs/{code}/claim")


def refusal(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_a_claim_copies_the_lines_into_a_new_cart_that_checks_out(edge):
    phone = new_cart(edge.client, ("bubble-tea-1", 2), ("pineapple-cake-1", 1))
    handoff = hand_off(edge.client, phone["cartId"])
    assert re.fullmatch(r"[0-9]{6}", handoff["code"])
    assert handoff["cartId"] == phone["cartId"]
    assert handoff["qr"] == f"edgestore-handoff:{handoff['code']}"
    response = claim(edge.client, handoff["code"])
    assert response.status_code == 201, response.text
    kiosk = response.json()
    assert kiosk["cartId"] != phone["cartId"]
    assert kiosk["status"] == "open"
    lines = sorted((i["variantId"], i["quantity"]) for i in kiosk["items"])
    assert lines == [("bubble-tea-1", 2), ("pineapple-cake-1", 1)]
    assert kiosk["total"] == phone["total"]
    assert edge.client.get(f"/carts/{phone['cartId']}").json()["status"] == "handedOff"
    sold = checkout(edge.client, kiosk["cartId"])
    assert sold.status_code == 201, sold.text
    assert sold.json()["total"] == phone["total"]


def test_a_handed_off_cart_refuses_every_change_and_checkout(edge):
    phone = new_cart(edge.client, ("bubble-tea-1", 1))
    cid, item = phone["cartId"], phone["items"][0]["itemId"]
    assert claim(edge.client, hand_off(edge.client, cid)["code"]).status_code == 201
    for response in (
        edge.client.post(f"/carts/{cid}/items", json={"variantId": "latte-1"}),
        edge.client.patch(f"/carts/{cid}/items/{item}", json={"quantity": 3}),
        edge.client.delete(f"/carts/{cid}/items/{item}"),
        checkout(edge.client, cid),
        edge.client.post(f"/carts/{cid}/handoff"),
    ):
        assert refusal(response) == (409, "cartHandedOff")


def test_codes_are_single_use_and_expire(edge):
    first = hand_off(edge.client, new_cart(edge.client, ("latte-1", 1))["cartId"])
    assert claim(edge.client, first["code"]).status_code == 201
    assert refusal(claim(edge.client, first["code"])) == (409, "handoffUsed")
    second = hand_off(edge.client, new_cart(edge.client, ("latte-1", 1))["cartId"])
    edge.clock.advance(seconds=edge.settings.handoff_ttl_seconds)
    assert refusal(claim(edge.client, second["code"])) == (409, "handoffExpired")


def test_a_new_code_voids_the_carts_earlier_one(edge):
    cid = new_cart(edge.client, ("latte-1", 1))["cartId"]
    earlier = hand_off(edge.client, cid)
    later = hand_off(edge.client, cid)
    assert later["code"] != earlier["code"]
    assert refusal(claim(edge.client, earlier["code"])) == (409, "handoffExpired")
    assert claim(edge.client, later["code"]).status_code == 201


def test_only_an_open_non_empty_cart_is_handed_off(edge):
    response = edge.client.post(f"/carts/{new_cart(edge.client)['cartId']}/handoff")
    assert refusal(response) == (409, "cartEmpty")
    response = edge.client.post("/carts/01J0000000000000000000000Z/handoff")
    assert refusal(response) == (404, "cartNotFound")
    sold = new_cart(edge.client, ("latte-1", 1))["cartId"]
    assert checkout(edge.client, sold).status_code == 201
    assert refusal(edge.client.post(f"/carts/{sold}/handoff")) == (409, "cartClosed")


def test_a_cart_sold_on_the_phone_meanwhile_is_not_claimed(edge):
    cid = new_cart(edge.client, ("latte-1", 1))["cartId"]
    code = hand_off(edge.client, cid)["code"]
    assert checkout(edge.client, cid).status_code == 201
    assert refusal(claim(edge.client, code)) == (409, "cartClosed")


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", "12 456"])
def test_a_code_that_is_not_six_digits_is_422(edge, code):
    response = claim(edge.client, code)
    assert response.status_code == 422
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (
        "validationError",
        "code",
    )


def test_guessing_codes_is_throttled_across_the_node(edge):
    real = hand_off(edge.client, new_cart(edge.client, ("latte-1", 1))["cartId"])["code"]
    guesses = [f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" != real][:10]
    for guess in guesses:
        assert refusal(claim(edge.client, guess)) == (404, "handoffNotFound")
    refused = claim(edge.client, real)  # the right code too: refused before it is looked at
    assert refusal(refused) == (429, "tooManyAttempts")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["error"]["retryAfterS"] == int(refused.headers["Retry-After"])
    edge.clock.advance(seconds=61)
    assert claim(edge.client, real).status_code == 201


def test_the_qr_text_and_a_typed_code_read_alike():
    assert handoff_qr("042917") == "edgestore-handoff:042917"
    for given in ("edgestore-handoff:042917", "042917", " 042 917 ", "042-917"):
        assert parse_handoff_qr(given) == "042917", given
    for given in ("", "04291", "0429170", "edgestore-handoff:", "other:042917", "０４２９１７"):
        assert parse_handoff_qr(given) is None, given
