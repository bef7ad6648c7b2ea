"""The bridge answering a phone, over an in-memory link, against a real node: each operation, the node's
refusals in the protocol's terms, another phone's cart refused, the limits, and exactly-once effects
through a link that loses, repeats and reorders chunks."""

import asyncio
import random
import sqlite3
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.ble.bridge import Limits, PhoneBridge, Request
from edge.ble.cart_tokens import CartTokens
from edge.ble.client import CallFailed, PhoneClient
from edge.ble.operations import CATALOG_COLUMNS
from edge.ble.protocol import (
    MAX_MTU,
    MIN_MTU,
    Message,
    Op,
    Status,
    decode_message,
    encode_message,
    split,
)
from models.sales import PaymentMethod
from node_client import NodeClient
from tests.edge.ble.memory_link import MemoryLink, Weather


def phone(bridge: PhoneBridge, **link: Any) -> PhoneClient:
    return PhoneClient(MemoryLink(bridge.connect(), **link), timeout=link.pop("timeout", 2.0))


def run(work: Any) -> Any:
    return asyncio.run(work)


async def _call(bridge: PhoneBridge, op: Op, body: dict[str, Any] | None = None, **link: Any) -> Any:
    return await phone(bridge, **link).call(op, body)


def call(bridge: PhoneBridge, op: Op, body: dict[str, Any] | None = None, **link: Any) -> Any:
    return run(_call(bridge, op, body, **link))


def refused(bridge: PhoneBridge, op: Op, body: dict[str, Any] | None = None) -> CallFailed:
    with pytest.raises(CallFailed) as caught:
        call(bridge, op, body)
    return caught.value


def carts_in(edge) -> int:
    with sqlite3.connect(edge.database_path) as db:
        return int(db.execute("SELECT count(*) FROM carts").fetchone()[0])


def test_store_info_names_the_store_and_nothing_of_its_staff(bridge, node) -> None:
    info = call(bridge, Op.INFO)
    health = node.health()
    assert info["storeName"] == health.store_name == "信義門市 Xinyi store"
    assert (info["nodeId"], info["catalogVersion"], info["protocol"]) == (
        health.device_id,
        health.catalog_version,
        1,
    )
    assert set(info["operations"]) == {
        "info",
        "catalogPage",
        "catalogChanges",
        "product",
        "cartCreate",
        "cartGet",
        "cartSet",
        "handoff",
        "receipt",
    }


def test_the_catalog_page_by_page_is_the_nodes(bridge, node) -> None:
    async def walk() -> tuple[list[list[Any]], int]:
        client = phone(bridge, mtu=23)
        items, cursor, version = [], None, None
        while True:
            page = await client.call(Op.CATALOG_PAGE, {"limit": 4} | ({"cursor": cursor} if cursor else {}))
            version = page.get("catalogVersion", version)
            items += page["items"]
            if (cursor := page["next"]) is None:
                return items, version

    items, version = run(walk())
    expected = list(node.iter_products())
    assert [dict(zip(CATALOG_COLUMNS, line, strict=True))["productId"] for line in items] == [
        p.product_id for p in expected
    ]
    first = dict(zip(CATALOG_COLUMNS, items[0], strict=True))
    assert first == {
        "productId": expected[0].product_id,
        "name": expected[0].name,
        "nameEn": expected[0].name_en,
        "price": expected[0].price,
        "finalPrice": expected[0].final_price,
        "stock": expected[0].stock,
        "categoryId": expected[0].category_id,
    }
    assert version == node.health().catalog_version


def test_search_and_changes_since_the_phones_version(bridge, node) -> None:
    found = call(bridge, Op.CATALOG_PAGE, {"q": "奶茶"})
    assert [line[0] for line in found["items"]] == [p.product_id for p in node.search_products("奶茶").items]
    version = node.health().catalog_version
    unchanged = call(bridge, Op.CATALOG_CHANGES, {"since": version})
    assert (unchanged["reset"], unchanged["items"], unchanged["removed"]) == (False, [], [])
    assert unchanged["catalogVersion"] == version  # on the first page only: the one the phone keeps
    assert call(bridge, Op.CATALOG_CHANGES, {"since": version + 5})["reset"] is True


def test_a_product_with_its_variants_and_live_stock(bridge, node) -> None:
    detail = call(bridge, Op.PRODUCT, {"productId": "bubble-tea"})
    expected = node.get_product("bubble-tea")
    assert (detail["name"], detail["nameEn"], detail["stock"]) == (
        expected.name,
        expected.name_en,
        expected.stock,
    )
    assert [(v["variantId"], v["finalPrice"], v["stock"]) for v in detail["variants"]] == [
        (v.variant_id, v.final_price, v.stock) for v in expected.variants
    ]
    missing = refused(bridge, Op.PRODUCT, {"productId": "no-such-thing"})
    assert (missing.status, missing.code) == (Status.NOT_FOUND, "productNotFound")


def test_a_cart_made_changed_and_read_on_the_phone(bridge, node) -> None:
    made = call(bridge, Op.CART_CREATE, {"items": [{"variantId": "bubble-tea-1", "quantity": 2}]})
    ref = {"cartId": made["cartId"], "cartToken": made["cartToken"]}
    assert len(made["cartToken"]) == 16
    more = call(bridge, Op.CART_SET, ref | {"variantId": "latte-1", "quantity": 1})
    assert {i["variantId"]: i["quantity"] for i in more["items"]} == {"bubble-tea-1": 2, "latte-1": 1}
    fewer = call(bridge, Op.CART_SET, ref | {"variantId": "bubble-tea-1", "quantity": 0})
    assert [i["variantId"] for i in fewer["items"]] == ["latte-1"]
    again = call(bridge, Op.CART_SET, ref | {"variantId": "latte-1", "quantity": 3})
    assert again["itemCount"] == 3
    read = call(bridge, Op.CART_GET, ref)
    assert read["total"] == node.get_cart(made["cartId"]).total == again["total"]
    nothing = call(bridge, Op.CART_SET, ref | {"variantId": "bubble-tea-1", "quantity": 0})
    assert nothing["itemCount"] == 3  # taking out what is not there changes nothing


def test_another_phone_cannot_read_or_change_a_cart(bridge, tmp_path) -> None:
    made = call(bridge, Op.CART_CREATE, {"items": [{"variantId": "latte-1"}]})
    stranger = PhoneBridge(bridge.node, CartTokens.from_file(tmp_path / "other-key"), time.monotonic)
    forged = {
        "cartId": made["cartId"],
        "cartToken": CartTokens.from_file(tmp_path / "other-key").token(made["cartId"]),
    }
    for op, extra in (
        (Op.CART_GET, {}),
        (Op.CART_SET, {"variantId": "latte-1", "quantity": 5}),
        (Op.HANDOFF, {}),
    ):
        denied = refused(bridge, op, forged | extra)
        assert (denied.status, denied.code) == (Status.FORBIDDEN, "cartNotYours")
        # the token of another phone's cart does not open this one either
        other = call(stranger, Op.CART_CREATE, {"items": [{"variantId": "latte-1"}]})
        denied = refused(bridge, op, {"cartId": made["cartId"], "cartToken": other["cartToken"]} | extra)
        assert denied.code == "cartNotYours"
    assert (
        call(bridge, Op.CART_GET, {"cartId": made["cartId"], "cartToken": made["cartToken"]})["itemCount"]
        == 1
    )


def test_the_kiosk_takes_the_cart_and_the_phone_reads_its_receipt(bridge, node) -> None:
    made = call(bridge, Op.CART_CREATE, {"items": [{"variantId": "bubble-tea-1", "quantity": 2}]})
    ref = {"cartId": made["cartId"], "cartToken": made["cartToken"]}
    given = call(bridge, Op.HANDOFF, ref)
    assert given["code"].isdigit()
    assert len(given["code"]) == 6
    assert given["qr"] == f"edgestore-handoff:{given['code']}"
    kiosk_cart = node.claim_handoff(given["code"])
    assert kiosk_cart.cart_id != made["cartId"]
    late = refused(bridge, Op.CART_SET, ref | {"variantId": "latte-1", "quantity": 1})
    assert (late.status, late.code) == (Status.CONFLICT, "cartHandedOff")
    assert call(bridge, Op.CART_GET, ref)["status"] == "handedOff"
    order = node.checkout(kiosk_cart.cart_id, PaymentMethod.CASH)
    access = node.receipt_access(kiosk_cart.cart_id)
    receipt = call(bridge, Op.RECEIPT, {"orderId": order.order_id, "receiptToken": access.receipt_token})
    assert (receipt["orderId"], receipt["total"], receipt["refundedAmount"]) == (
        order.order_id,
        order.total,
        0,
    )
    assert [(i["name"], i["quantity"]) for i in receipt["items"]] == [
        (i.name, i.quantity) for i in order.items
    ]
    wrong = refused(bridge, Op.RECEIPT, {"orderId": order.order_id, "receiptToken": "0000-0000"})
    assert (wrong.status, wrong.code) == (Status.NOT_FOUND, "receiptNotFound")


def test_the_nodes_refusals_keep_their_codes_and_details(bridge) -> None:
    made = call(bridge, Op.CART_CREATE, {"items": [{"variantId": "latte-1"}]})
    ref = {"cartId": made["cartId"], "cartToken": made["cartToken"]}
    call(bridge, Op.CART_SET, ref | {"variantId": "latte-1", "quantity": 0})
    empty = refused(bridge, Op.HANDOFF, ref)
    assert (empty.status, empty.code) == (Status.CONFLICT, "cartEmpty")
    unknown = refused(bridge, Op.CART_SET, ref | {"variantId": "nope-1", "quantity": 1})
    assert (unknown.status, unknown.code, unknown.details.get("variantId")) == (
        Status.NOT_FOUND,
        "variantNotFound",
        "nope-1",
    )


@pytest.mark.parametrize(
    ("op", "body", "field"),
    [
        (Op.PRODUCT, {}, "productId"),
        (Op.PRODUCT, {"productId": 7}, "productId"),
        (Op.CATALOG_PAGE, {"limit": 1000}, "limit"),
        (Op.CATALOG_CHANGES, {"since": -1}, "since"),
        (Op.CART_CREATE, {"items": [{"variantId": "latte-1", "quantity": 0}]}, "items.0.quantity"),
        (Op.CART_CREATE, {"items": [{"variantId": "latte-1"}] * 51}, "items"),
        (Op.CART_CREATE, {}, "items"),  # a cart is made with its first line
        (Op.CART_CREATE, {"items": []}, "items"),
        (Op.CART_CREATE, {"items": [{"variantId": "latte 1"}]}, "items.0.variantId"),
        (Op.CATALOG_CHANGES, {"since": 2**31}, "since"),
        (Op.CART_GET, {"cartId": "x", "cartToken": "not bytes"}, "cartToken"),
        (Op.RECEIPT, {"orderId": "x", "receiptToken": "1"}, "receiptToken"),
    ],
)
def test_bad_fields_are_named(bridge, op, body, field) -> None:
    bad = refused(bridge, op, body)
    assert (bad.status, bad.code, bad.details["field"]) == (Status.BAD_REQUEST, "validationError", field)


def test_unknown_operations_are_refused_and_the_connection_goes_on(bridge) -> None:
    async def both() -> tuple[Message, dict[str, Any]]:
        client = phone(bridge)
        return await client.exchange(0x42, {}), await client.call(Op.INFO)

    unknown, info = run(both())
    assert (unknown.status, unknown.body["code"]) == (Status.UNKNOWN_OPERATION, "unknownOperation")
    assert info["protocol"] == 1


def test_a_repeated_request_is_answered_from_memory_not_done_twice(bridge, edge) -> None:
    session = bridge.connect()
    chunks = split(9, encode_message(Op.CART_CREATE, 0, {"items": [{"variantId": "latte-1"}]}), 23)
    before = carts_in(edge)
    answers = []
    for _ in range(3):  # the phone missed the answer twice and sent the whole request again
        got = [session.receive(c) for c in chunks]
        request = got[-1]
        if isinstance(request, Request):
            answers.append(session.answer(request))
        else:
            assert isinstance(request, Message)
            answers.append(request)
    assert carts_in(edge) == before + 1
    assert len({a.body["cartId"] for a in answers}) == 1


def test_a_request_being_answered_is_not_started_again(bridge, edge) -> None:
    session = bridge.connect()
    (chunk,) = split(3, encode_message(Op.CART_CREATE, 0, {"items": [{"variantId": "latte-1"}]}), 247)
    first = session.receive(chunk)
    assert isinstance(first, Request)
    assert session.receive(chunk) is None  # the repeat arrived while the node was still at it
    assert session.answer(first).ok


def test_requests_over_the_rate_are_told_once_when_to_come_back(node, tmp_path) -> None:
    clock = [0.0]
    bridge = PhoneBridge(
        node, CartTokens.from_file(tmp_path / "k"), lambda: clock[0], Limits(rate=2, burst=3)
    )
    session = bridge.connect()

    def info(n: int) -> Message | Request | None:
        return session.receive(split(n, encode_message(Op.INFO, 0, {}), 247)[0])

    got = [info(n) for n in range(1, 5)]
    for request in got[:3]:
        assert isinstance(request, Request)
        session.answer(request)
    limited = got[3]
    assert isinstance(limited, Message)
    assert (limited.status, limited.body["code"], limited.body["retryAfterMs"]) == (
        Status.RATE_LIMITED,
        "tooManyRequests",
        500,
    )
    assert info(5) is None  # told once; after that, nothing until the bucket pays again
    clock[0] += 0.5
    assert isinstance(info(6), Request)


def test_repeats_and_bad_chunks_are_paid_for_like_requests(node, tmp_path) -> None:
    """A write of a few bytes can ask for a page of notifications: neither a repeat nor an error message
    may be had for free, or one phone could flood the link that every phone shares."""
    bridge = PhoneBridge(node, CartTokens.from_file(tmp_path / "k"), lambda: 0.0, Limits(rate=1, burst=2))
    session = bridge.connect()
    (chunk,) = split(1, encode_message(Op.INFO, 0, {}), 247)
    first = session.receive(chunk)
    assert isinstance(first, Request)
    session.answer(first)
    answers = [session.receive(chunk) for _ in range(1000)]  # the same request, over and over
    assert [a.status for a in answers if a is not None] == [Status.OK, Status.RATE_LIMITED]
    garbage = bridge.connect()  # another phone, sending rubbish
    errors = [garbage.receive(b"\x09") for _ in range(1000)]
    assert [e.body["code"] for e in errors if e is not None] == ["badFrame", "badFrame", "tooManyRequests"]


def test_writes_at_the_node_are_bounded_across_phones(node, tmp_path) -> None:
    limits = Limits(write_rate=0.001, write_burst=2)
    bridge = PhoneBridge(node, CartTokens.from_file(tmp_path / "k"), lambda: 0.0, limits)
    made = []
    for n in range(3):  # three phones, one cart each: the third waits
        session = bridge.connect()
        got = session.receive(
            split(n + 1, encode_message(Op.CART_CREATE, 0, {"items": [{"variantId": "latte-1"}]}), 247)[0]
        )
        made.append(session.answer(got) if isinstance(got, Request) else got)
    assert [m.status for m in made] == [Status.OK, Status.OK, Status.RATE_LIMITED]
    assert made[2].body["code"] == "tooManyWrites"
    reads = bridge.connect().receive(split(9, encode_message(Op.INFO, 0, {}), 247)[0])
    assert isinstance(reads, Request)  # reads are not writes


def test_an_answer_too_big_for_the_mtu_is_refused_not_dropped(bridge) -> None:
    session = bridge.connect()
    huge = Message(3, Op.CATALOG_PAGE, Status.OK, {"items": [random.Random(2).randbytes(60_000)]})
    chunks = session.frames(huge, 23)  # 60 kB would be 4,600 chunks of 13 bytes: over the 4,096 a message has
    refused = decode_message(3, b"".join(c[7:] for c in chunks), max_body=1 << 20)
    assert (refused.status, refused.body["code"]) == (Status.TOO_LARGE, "answerTooLarge")
    assert len(session.frames(huge, 247)) > 200  # at 237 bytes a chunk it fits


def test_too_many_requests_waiting_are_refused(node, tmp_path) -> None:
    bridge = PhoneBridge(node, CartTokens.from_file(tmp_path / "k"), time.monotonic, Limits(max_waiting=2))
    session = bridge.connect()
    got = [session.receive(split(n, encode_message(Op.INFO, 0, {}), 247)[0]) for n in range(1, 4)]
    assert [type(g) for g in got] == [Request, Request, Message]
    assert isinstance(got[2], Message)
    assert got[2].body["code"] == "tooManyWaiting"


def test_an_oversized_request_is_refused(bridge) -> None:
    session = bridge.connect()
    big = encode_message(Op.CART_CREATE, 0, {"items": [], "pad": random.Random(1).randbytes(5000)})
    answers = [a for c in split(4, big, 247) if (a := session.receive(c)) is not None]
    assert isinstance(answers[0], Message)
    assert (answers[0].status, answers[0].body["code"], answers[0].message_id) == (
        Status.TOO_LARGE,
        "tooLarge",
        4,
    )


def test_a_node_that_does_not_answer_is_unavailable_and_asked_again(tmp_path) -> None:
    with NodeClient("http://127.0.0.1:9", retries=0, timeout=0.5) as gone:
        bridge = PhoneBridge(gone, CartTokens.from_file(tmp_path / "k"), time.monotonic)
        session = bridge.connect()
        request = session.receive(split(1, encode_message(Op.CATALOG_PAGE, 0, {}), 247)[0])
        assert isinstance(request, Request)
        answer = session.answer(request)
        assert (answer.status, answer.body["code"]) == (Status.UNAVAILABLE, "nodeUnreachable")
        # not remembered: the phone's repeat is tried again (and the node may be back)
        assert isinstance(session.receive(split(1, encode_message(Op.CATALOG_PAGE, 0, {}), 247)[0]), Request)


@given(chunks=st.lists(st.binary(max_size=40), max_size=30))
@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
def test_any_chunks_are_answered_or_ignored_and_the_session_goes_on(bridge, chunks) -> None:
    session = bridge.connect()
    for chunk in chunks:
        got = session.receive(chunk)
        if isinstance(got, Request):
            got = session.answer(got)
        if got is not None:
            assert decode_message(got.message_id, session.frames(got, MAX_MTU)[0][7:], max_body=1 << 20)
    info = session.receive(split(0xFFFF, encode_message(Op.INFO, 0, {}), 23)[0])
    assert isinstance(info, Request)
    assert session.answer(info).ok


@given(
    mtu=st.integers(MIN_MTU, MAX_MTU),
    loss=st.floats(0, 0.02),
    duplication=st.floats(0, 0.2),
    seed=st.integers(0, 2**32),
)
@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
def test_through_a_bad_link_every_call_is_answered_once(bridge, edge, mtu, loss, duplication, seed) -> None:
    weather = Weather(loss=loss, duplication=duplication, jitter_s=0.003, seed=seed)

    async def shop() -> dict[str, Any]:
        client = PhoneClient(MemoryLink(bridge.connect(), mtu=mtu, weather=weather), timeout=0.4, attempts=12)
        made = await client.call(Op.CART_CREATE, {"items": [{"variantId": "latte-1"}]})
        ref = {"cartId": made["cartId"], "cartToken": made["cartToken"]}
        await client.call(Op.CART_SET, ref | {"variantId": "bubble-tea-1", "quantity": 2})
        page = await client.call(Op.CATALOG_PAGE, {"limit": 5})
        assert len(page["items"]) == 5
        return await client.call(Op.CART_GET, ref)

    before = carts_in(edge)
    cart = run(shop())
    assert carts_in(edge) == before + 1  # however often the create was sent, one cart
    assert {i["variantId"]: i["quantity"] for i in cart["items"]} == {"latte-1": 1, "bubble-tea-1": 2}


def test_a_phones_cart_holds_at_most_fifty_lines(bridge, edge) -> None:
    from edge.demo_catalog import synthetic_catalog

    edge.load(synthetic_catalog(60, version=100))
    variants = [p.variants[0].variant_id for p in synthetic_catalog(60, version=100).products]
    made = call(bridge, Op.CART_CREATE, {"items": [{"variantId": v} for v in variants[:50]]})
    ref = {"cartId": made["cartId"], "cartToken": made["cartToken"]}
    full = refused(bridge, Op.CART_SET, ref | {"variantId": variants[50], "quantity": 1})
    assert (full.status, full.code, full.details["limit"]) == (Status.CONFLICT, "cartFull", 50)
    assert call(bridge, Op.CART_SET, ref | {"variantId": variants[0], "quantity": 3})["itemCount"] == 52
