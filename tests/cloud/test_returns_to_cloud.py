"""Partial returns from the counter to the seller (issue 17).

A real node sells and a manager takes back some units; its outbox drains through the sync protocol into
the cloud's ingest (batches straight into ``handle_uplink``, every ack lost once, as in test_edge_to_cloud):
the cloud's order shows the units back and each return's refund, who took it and why, in the API and on the
order page in zh-TW and English; stock agrees on both sides; the dashboard's sales stay gross. A return that
does not add up is dead-lettered against the cloud's copy of the sale. Over a real Mosquitto: a partial
return at the node while the seller refunds, or returns, the whole order in the dashboard settles the same
on both sides, with every unit counted back once."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

from cloud.sync_uplink import handle_uplink
from cloud.tables import dead_letters
from edge import node_state
from edge.api.app import create_app as create_edge_app
from edge.catalog import load_snapshot
from edge.node import Node
from edge.settings import EdgeSettings
from edge.sync_uplink import apply_ack, pending_batches
from models.catalog import CatalogSnapshot
from models.ids import new_id
from models.returns import OrderReturn
from plumbing import free_port, serve_in_thread
from sync_protocol.encoding import encode
from sync_protocol.envelope import Batch, Envelope, make_envelope
from sync_protocol.hlc import HLC
from sync_protocol.streams import Stream
from sync_protocol.topics import Topics
from tests.cloud.conftest import CloudServer, register_and_login, restock
from tests.cloud.test_cloud_catalog import make_product
from tests.cloud.test_sync_downlink import StoreNode, cloud_level, sync_rig
from tests.cloud.test_sync_end_to_end import wait_for
from tests.edge.helpers import as_staff

PASSWORD = "correct horse 1"


@dataclass
class Shop:
    """A seller with a store, a device, a product of two variants (450 and 850) and a NT$100 coupon, and a
    node provisioned for the store, serving."""

    seller: httpx.Client
    store: str
    device: str
    product: dict
    settings: EdgeSettings
    kiosk: httpx.Client
    manager: dict[str, str]

    @property
    def small(self) -> str:
        return str(self.product["variants"][0]["variantId"])

    @property
    def large(self) -> str:
        return str(self.product["variants"][1]["variantId"])

    def level_at_node(self, variant: str) -> int:
        product = self.kiosk.get(f"/catalog/products/{self.product['productId']}").json()
        return int(next(v["stock"] for v in product["variants"] if v["variantId"] == variant))

    def take_back(self, order: dict, *units: tuple[str, int], note: str | None = None) -> dict:
        items = [
            {"itemId": next(i["itemId"] for i in order["items"] if i["variantId"] == v), "quantity": q}
            for v, q in units
        ]
        body: dict = {"items": items} | ({"note": note} if note else {})
        r = self.kiosk.post(f"/orders/{order['orderId']}/returns", json=body, headers=self.manager)
        assert r.status_code == 201, r.text
        return r.json()


@contextmanager
def shop(cloud_server: CloudServer, tmp_path) -> Iterator[Shop]:
    with cloud_server.client() as seller:
        register_and_login(seller, "returns", PASSWORD)
        store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
        device = seller.post(f"/stores/{store}/devices", json={"name": "Pi"}).json()["deviceId"]
        product = make_product(seller)
        for variant in product["variants"]:
            restock(seller, store, variant["variantId"], 20)
        r = seller.post("/coupons", json={"code": "SAVE100", "kind": "amount", "value": 100})
        assert r.status_code == 201, r.text
        snapshot = CatalogSnapshot.model_validate(seller.get(f"/stores/{store}/catalog-snapshot").json())
        settings = EdgeSettings(data_dir=tmp_path / "node", port=free_port(), store_id=store)
        node = Node.open(settings)
        with node.db.write() as conn:
            node_state.put(conn, node_state.DEVICE_ID, device)
            load_snapshot(conn, snapshot, node.now())
        node.close()
        served = serve_in_thread(create_edge_app(settings), settings.port)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{settings.port}/api/v1", timeout=30) as kiosk:
                yield Shop(seller, store, device, product, settings, kiosk, as_staff(kiosk, settings))
        finally:
            served.stop(timeout_s=20)


def drain(cloud_server: CloudServer, shop: Shop) -> None:
    """Everything the node has for the cloud, each batch delivered twice (its first ack lost)."""
    node = Node.open(shop.settings)
    try:
        for _round in range(3):  # a status change waits for its order's ack, so it may go a round later
            with node.db.read() as conn:
                batches = pending_batches(
                    conn, store_id=shop.store, device_id=shop.device, new_batch_id=new_id
                )
            for batch in batches:
                topic = str(Topics.uplink(shop.store, shop.device, batch.stream))
                ack = handle_uplink(cloud_server.cloud.db, topic, encode(batch), cloud_server.clock())
                assert ack is not None
                assert ack.dead_lettered == ()
                again = handle_uplink(cloud_server.cloud.db, topic, encode(batch), cloud_server.clock())
                assert again == ack
                with node.db.write() as conn:
                    apply_ack(conn, ack, node.now())
        with node.db.read() as conn:
            assert (
                pending_batches(conn, store_id=shop.store, device_id=shop.device, new_batch_id=new_id) == []
            )
    finally:
        node.close()


@contextmanager
def web_login(cloud_server: CloudServer, account: str) -> Iterator[httpx.Client]:
    """A browser without script, signed in to the dashboard."""
    with httpx.Client(base_url=f"http://127.0.0.1:{cloud_server.settings.cloud_port}", timeout=30) as web:
        page = web.get("/login").text
        csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
        assert csrf
        r = web.post("/login", data={"csrf": csrf.group(1), "account": account, "password": PASSWORD})
        assert r.status_code == 303, r.text
        yield web


def test_a_partial_return_reaches_the_cloud_with_its_units_refund_and_who_took_it(
    cloud_server: CloudServer, tmp_path
):
    with shop(cloud_server, tmp_path) as s:
        # 2 x 450 and 1 x 850 with the NT$100 coupon: 1,650 paid. By largest remainder the coupon lies 51
        # on the 450s (900 of goods) and 49 on the 850 (its remainder is the larger): they cost 849 and 801.
        cart = s.kiosk.post(
            "/carts",
            json={"items": [{"variantId": s.small, "quantity": 2}, {"variantId": s.large, "quantity": 1}]},
        ).json()
        r = s.kiosk.post(
            f"/carts/{cart['cartId']}/checkout", json={"paymentMethod": "card", "couponCode": "SAVE100"}
        )
        assert r.status_code == 201, r.text
        order = r.json()
        assert order["total"] == 1650
        first = s.take_back(order, (s.small, 1), note="包裝破損")
        assert first["refund"] == 849 // 2 == 424
        drain(cloud_server, s)

        seen = s.seller.get(f"/orders/{order['orderId']}").json()
        small_item = next(i["itemId"] for i in order["items"] if i["variantId"] == s.small)
        large_item = next(i["itemId"] for i in order["items"] if i["variantId"] == s.large)
        assert seen["status"] == "completed"
        assert seen["returnedQuantities"] == {small_item: 1, large_item: 0}
        assert seen["refundedAmount"] == 424
        [kept] = seen["returns"]
        assert OrderReturn.model_validate(kept) == OrderReturn.model_validate(first)  # as the store took it
        assert (kept["staff"]["name"], kept["note"], kept["refundMethod"]) == (
            "店長 Manager",
            "包裝破損",
            "card",
        )
        for variant in (s.small, s.large):
            assert cloud_level(s.seller, s.store, variant) == s.level_at_node(variant)
        assert cloud_level(s.seller, s.store, s.small) == 20 - 2 + 1
        # The dashboard's sales are gross: a partial refund takes nothing off the day's revenue.
        assert s.seller.get("/orders").json()["totals"] == {"orders": 1, "revenue": 1650}
        assert s.seller.get("/dashboard/summary").json()["revenue"] == 1650

        with web_login(cloud_server, "returns") as web:
            page = web.get(f"/orders/{order['orderId']}").text
            assert "部分退貨" in page
            assert "退款 NT$424（信用卡）" in page
            assert '<span class="staff-name">店長 Manager</span>' in page
            assert "包裝破損" in page
            assert f'data-item="{small_item}">1</td>' in page
            assert re.search(r'id="order-refunded"><td>已退款</td><td class="num">−NT\$424', page)
            # The list marks it: partly returned, with what went back.
            listed = web.get("/orders").text
            assert '<span class="tag warn partly-returned">部分退貨・已退 NT$424</span>' in listed
            web.get("/lang/en", params={"next": "/"})
            assert "Partly returned · NT$424 refunded" in web.get("/orders").text
            english = web.get(f"/orders/{order['orderId']}").text
            assert "Partial returns" in english
            assert "Refund NT$424 (Card)" in english
            # Refunding the rest in the dashboard says what is left to give back.
            confirm = web.get(f"/orders/{order['orderId']}", params={"confirm": "refunded"}).text
            assert "the NT$1,226 left goes back (NT$424 went back with partial returns)" in confirm

        # The rest at the counter: the order is returned, by the store's status change; 1,650 refunded in all.
        rest = s.take_back(order, (s.small, 1), (s.large, 1))
        assert rest["refund"] == (849 - 424) + 801
        drain(cloud_server, s)
        seen = s.seller.get(f"/orders/{order['orderId']}").json()
        assert seen["status"] == "returned"
        assert seen["refundedAmount"] == sum(r["refund"] for r in seen["returns"]) == 1650
        assert seen["returnedQuantities"] == {small_item: 2, large_item: 1}
        assert ("completed", "returned") in [(e["fromStatus"], e["toStatus"]) for e in seen["events"]]
        for variant in (s.small, s.large):
            assert cloud_level(s.seller, s.store, variant) == s.level_at_node(variant) == 20
        assert s.seller.get("/orders").json()["totals"] == {"orders": 1, "revenue": 1650}
        assert "returnConflict" not in {n["kind"] for n in s.seller.get("/notifications").json()["items"]}


def test_a_return_that_does_not_add_up_against_the_clouds_copy_is_dead_lettered(
    cloud_server: CloudServer, tmp_path
):
    with shop(cloud_server, tmp_path) as s:
        cart = s.kiosk.post("/carts", json={"items": [{"variantId": s.small, "quantity": 2}]}).json()
        order = s.kiosk.post(f"/carts/{cart['cartId']}/checkout", json={"paymentMethod": "cash"}).json()
        honest = s.take_back(order, (s.small, 1))
        drain(cloud_server, s)

        # A device with stolen credentials sends more: the same units again, more than was paid, units
        # never sold. Each is refused against the cloud's copy of the sale, and nothing changes.
        base = OrderReturn.model_validate(honest)
        line = base.items[0]
        forged = [
            base.model_copy(update={"return_id": new_id()}),  # units 1 again
            base.model_copy(
                update={
                    "return_id": new_id(),
                    "items": [line.model_copy(update={"returned_before": 1})],
                    "refund": 451,
                }
            ),
            base.model_copy(
                update={"return_id": new_id(), "items": [line.model_copy(update={"returned_before": 2})]}
            ),
        ]
        now = cloud_server.clock()

        def envelope(seq: int, record: OrderReturn) -> Envelope:
            return make_envelope(
                message_id=new_id(),
                store_id=s.store,
                device_id=s.device,
                seq=seq,
                hlc=HLC(int(now.timestamp() * 1000), seq, s.device),
                payload=record,
            )

        envelopes = [envelope(seq, record) for seq, record in enumerate(forged, start=2)]  # the honest one: 1
        batch = Batch(
            batch_id=new_id(),
            store_id=s.store,
            device_id=s.device,
            stream=Stream.ORDER_RETURNS,
            messages=tuple(envelopes),
        )
        topic = str(Topics.uplink(s.store, s.device, Stream.ORDER_RETURNS))
        ack = handle_uplink(cloud_server.cloud.db, topic, encode(batch), now)
        assert ack is not None
        assert [(r.first, r.last) for r in ack.dead_lettered] == [(2, 4)]
        with cloud_server.cloud.db.read() as conn:
            reasons = [
                r.reason for r in conn.execute(select(dead_letters).order_by(dead_letters.c.dead_letter_id))
            ]
        assert reasons == ["badAmounts", "badAmounts", "badAmounts"]
        seen = s.seller.get(f"/orders/{order['orderId']}").json()
        assert (seen["refundedAmount"], len(seen["returns"])) == (honest["refund"], 1)
        assert cloud_level(s.seller, s.store, s.small) == s.level_at_node(s.small) == 20 - 2 + 1

        # Two returns of the second unit in one batch: each adds up against what the cloud held when the
        # batch came, but the second is judged again after the first is written, and refused.
        second = [
            base.model_copy(
                update={"return_id": new_id(), "items": [line.model_copy(update={"returned_before": 1})]}
            )
            for _ in range(2)
        ]
        batch = Batch(
            batch_id=new_id(),
            store_id=s.store,
            device_id=s.device,
            stream=Stream.ORDER_RETURNS,
            messages=tuple(envelope(seq, record) for seq, record in enumerate(second, start=5)),
        )
        ack = handle_uplink(cloud_server.cloud.db, topic, encode(batch), now)
        assert ack is not None
        assert [(r.first, r.last) for r in ack.dead_lettered] == [(6, 6)]
        seen = s.seller.get(f"/orders/{order['orderId']}").json()
        assert (seen["refundedAmount"], len(seen["returns"])) == (900, 2)
        assert cloud_level(s.seller, s.store, s.small) == 20


def sell_three(node: StoreNode, variant: str) -> str:
    cart = node.kiosk.post("/carts", json={"items": [{"variantId": variant, "quantity": 3}]}).json()
    r = node.kiosk.post(f"/carts/{cart['cartId']}/checkout", json={"paymentMethod": "cash"})
    assert r.status_code == 201, r.text
    return str(r.json()["orderId"])


@pytest.mark.slow
def test_a_partial_return_meets_a_whole_refund_and_a_whole_return_made_in_the_dashboard(
    cloud_server: CloudServer, seller: httpx.Client, tmp_path
):
    """Offline, the store takes back one unit of each of two sales while the seller refunds the first and
    takes the second back whole in the dashboard. Back online: the first is refunded and the second returned
    on both sides; the partial returns stand (the money went back at the counter), the refunded amounts are
    the totals and never more; the first sale's unit is back once, the second sale's three units once."""
    store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    product = make_product(seller)
    variant = product["variants"][0]["variantId"]
    restock(seller, store, variant, 10)
    with sync_rig(cloud_server, seller, tmp_path, [store]) as (broker, [node]):
        wait_for(lambda: node.level(product["productId"], variant) == 10, what="the first snapshot")
        refunded, returned = (sell_three(node, variant) for _ in range(2))
        wait_for(lambda: seller.get("/orders").json()["totals"]["orders"] == 2, what="the sales up")
        wait_for(lambda: node.pending() == 0, what="the outbox to drain")
        level = node.level(product["productId"], variant)
        assert level == 10 - 3 - 3

        broker.stop()
        assert (
            seller.post(f"/orders/{refunded}/transitions", json={"toStatus": "refunded"}).status_code == 200
        )
        assert (
            seller.post(f"/orders/{returned}/transitions", json={"toStatus": "returned"}).status_code == 200
        )
        for order_id in (refunded, returned):
            order = node.kiosk.get(f"/orders/{order_id}", headers=node.manager).json()
            item = order["items"][0]["itemId"]
            r = node.kiosk.post(
                f"/orders/{order_id}/returns",
                json={"items": [{"itemId": item, "quantity": 1}]},
                headers=node.manager,
            )
            assert r.status_code == 201, r.text
        assert node.level(product["productId"], variant) == level + 2
        broker.start()

        def seen(order_id: str) -> tuple[dict, dict]:
            return (
                node.kiosk.get(f"/orders/{order_id}", headers=node.manager).json(),
                seller.get(f"/orders/{order_id}").json(),
            )

        wait_for(
            lambda: [o["status"] for o in seen(refunded)] == ["refunded"] * 2, timeout=60, what="the refund"
        )
        wait_for(
            lambda: [o["status"] for o in seen(returned)] == ["returned"] * 2, timeout=60, what="the return"
        )
        wait_for(
            lambda: all(len(o["returns"]) == 1 for o in seen(refunded) + seen(returned)), what="the returns"
        )
        for order_id in (refunded, returned):
            for side in seen(order_id):
                assert side["refundedAmount"] == side["total"]  # the whole refund gave back the rest, no more
                assert sum(side["returnedQuantities"].values()) == 1
        wait_for(lambda: node.pending() == 0, what="the outbox to drain")
        # The refunded sale: its returned unit back. The returned sale: its three units back, once.
        expected = level + 1 + 3
        wait_for(lambda: node.level(product["productId"], variant) == expected, what="the node's level")
        wait_for(lambda: cloud_level(seller, store, variant) == expected, what="the cloud's level")
        bells = [n for n in seller.get("/notifications").json()["items"] if n["kind"] == "returnConflict"]
        assert len(bells) == 2
