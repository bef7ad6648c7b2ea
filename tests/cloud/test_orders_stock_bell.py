"""Orders arriving from stores, stock as deltas, the state machine, the bell and the dashboard figures."""

import json
import threading
from datetime import UTC, datetime, timedelta

import httpx

from tests.cloud.conftest import CloudServer, ingest, register_and_login, sale
from tests.cloud.test_cloud_catalog import make_product


def setup_store(seller: httpx.Client) -> tuple[dict, dict]:
    store = seller.post("/stores", json={"name": "信義店"}).json()
    product = make_product(seller)
    return store, product


def level(seller: httpx.Client, store_id: str, variant_id: str) -> int:
    return next(
        s["level"] for s in seller.get(f"/stores/{store_id}/stock").json() if s["variantId"] == variant_id
    )


def test_stock_adjustments_are_deltas_and_levels_are_sums(seller: httpx.Client):
    store, product = setup_store(seller)
    sid, vid = store["storeId"], product["variants"][0]["variantId"]
    url = f"/stores/{sid}/stock/adjustments"
    assert level(seller, sid, vid) == 0
    r = seller.post(url, json={"variantId": vid, "kind": "restock", "quantity": 20, "reason": "到貨"})
    assert r.status_code == 201
    assert r.json()["level"] == 20
    assert r.json()["reason"] == "restock"
    assert (
        seller.post(url, json={"variantId": vid, "kind": "writeOff", "quantity": 3, "reason": "破損"}).json()[
            "level"
        ]
        == 17
    )
    assert (
        seller.post(url, json={"variantId": vid, "kind": "correction", "quantity": -2}).json()["level"] == 15
    )
    r = seller.post(url, json={"variantId": vid, "kind": "count", "quantity": 12, "reason": "月盤"})
    assert r.json()["quantity"] == -3
    assert r.json()["reason"] == "count"
    same = seller.post(url, json={"variantId": vid, "kind": "count", "quantity": 12})
    assert same.json()["deltaId"] is None  # nothing written when the count matches
    assert level(seller, sid, vid) == 12
    for bad in (
        {"variantId": vid, "kind": "restock", "quantity": 0},
        {"variantId": vid, "kind": "writeOff", "quantity": -1},
        {"variantId": vid, "kind": "count", "quantity": -1},
        {"variantId": vid, "kind": "steal", "quantity": 1},
    ):
        r = seller.post(url, json=bad)
        assert r.status_code == 422, bad
    r = seller.post(url, json={"variantId": "01HZZZZZZZZZZZZZZZZZZZZZZZ", "kind": "restock", "quantity": 1})
    assert r.status_code == 404


def test_an_order_arrives_once_with_rollups_stock_and_a_bell(cloud_server: CloudServer, seller: httpx.Client):
    store, product = setup_store(seller)
    sid, vid = store["storeId"], product["variants"][0]["variantId"]
    seller.post(
        f"/stores/{sid}/stock/adjustments", json={"variantId": vid, "kind": "restock", "quantity": 10}
    )
    big = product["variants"][1]["variantId"]
    seller.post(
        f"/stores/{sid}/stock/adjustments", json={"variantId": big, "kind": "restock", "quantity": 10}
    )
    order = sale(sid, product, [(0, 2), (1, 1)], cloud_server.clock())
    assert ingest(cloud_server, order) is True
    assert ingest(cloud_server, order) is False  # redelivery is a no-op
    listed = seller.get("/orders").json()
    assert [o["orderId"] for o in listed["items"]] == [order.order_id]
    assert listed["totals"] == {"orders": 1, "revenue": order.total}
    got = seller.get(f"/orders/{order.order_id}").json()
    assert got["total"] == 450 * 2 + 850
    assert [i["name"] for i in got["items"]] == ["凍頂烏龍茶", "凍頂烏龍茶"]
    assert got["allowedTransitions"] == ["refunded", "returned"]
    assert got["events"][0]["toStatus"] == "completed"
    assert level(seller, sid, vid) == 8
    bell = seller.get("/notifications").json()
    assert bell["unreadCount"] == 1
    assert bell["items"][0]["kind"] == "newOrder"
    assert bell["items"][0]["refId"] == order.order_id
    summary = seller.get("/dashboard/summary").json()
    assert summary["orders"] == 1
    assert summary["revenue"] == order.total
    assert summary["topProducts"][0]["quantity"] == 3


def test_transitions_follow_the_state_machine_and_returns_restock(
    cloud_server: CloudServer, seller: httpx.Client
):
    store, product = setup_store(seller)
    sid, vid = store["storeId"], product["variants"][0]["variantId"]
    seller.post(
        f"/stores/{sid}/stock/adjustments", json={"variantId": vid, "kind": "restock", "quantity": 10}
    )
    order = sale(sid, product, [(0, 4)], cloud_server.clock())
    ingest(cloud_server, order)
    assert level(seller, sid, vid) == 6
    url = f"/orders/{order.order_id}/transitions"
    r = seller.post(url, json={"toStatus": "shipping"})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "illegalTransition"
    r = seller.post(url, json={"toStatus": "returned", "note": "客人退貨"})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "returned"
    assert body["payments"][0]["status"] == "refunded"
    assert [e["toStatus"] for e in body["events"]] == ["completed", "returned"]
    assert body["allowedTransitions"] == []
    assert level(seller, sid, vid) == 10  # the goods came back
    assert seller.post(url, json={"toStatus": "refunded"}).status_code == 409
    assert seller.post(url, json={"toStatus": "lost"}).status_code == 422
    returned = seller.get("/orders", params={"status": "returned"}).json()["totals"]
    assert returned == {"orders": 1, "revenue": order.total}  # the rollup moved with the order
    completed = seller.get("/orders", params={"status": "completed"}).json()
    assert completed["items"] == []
    assert completed["totals"] == {"orders": 0, "revenue": 0}
    assert seller.get("/orders").json()["totals"]["orders"] == 1
    assert seller.get("/dashboard/summary").json()["orders"] == 1  # gross: counted on the day it was sold


def test_negative_and_low_stock_ring_once_when_crossed(cloud_server: CloudServer, seller: httpx.Client):
    store, product = setup_store(seller)
    sid, vid = store["storeId"], product["variants"][0]["variantId"]
    seller.post(f"/stores/{sid}/stock/adjustments", json={"variantId": vid, "kind": "restock", "quantity": 6})
    ingest(cloud_server, sale(sid, product, [(0, 2)], cloud_server.clock()))  # 6 -> 4: under 5
    ingest(cloud_server, sale(sid, product, [(0, 1)], cloud_server.clock()))  # 4 -> 3: still low, no new bell
    ingest(cloud_server, sale(sid, product, [(0, 5)], cloud_server.clock()))  # 3 -> -2: negative
    kinds = [n["kind"] for n in seller.get("/notifications", params={"limit": 50}).json()["items"]]
    assert kinds.count("lowStock") == 1
    assert kinds.count("negativeStock") == 1
    assert kinds.count("newOrder") == 3
    assert level(seller, sid, vid) == -2  # accepted: the goods left the store


def test_orders_filter_page_and_totals(cloud_server: CloudServer, seller: httpx.Client):
    store, product = setup_store(seller)
    other = seller.post("/stores", json={"name": "板橋店"}).json()
    base = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)  # 10:00 in Taipei
    made = []
    for i in range(25):
        sid = store["storeId"] if i % 5 else other["storeId"]
        order = sale(sid, product, [(0, 1)], base + timedelta(days=i % 10, minutes=i))
        ingest(cloud_server, order, with_deltas=False)
        made.append(order)
    everything = seller.get("/orders", params={"limit": 200}).json()
    assert everything["totals"]["orders"] == 25
    assert [o["orderId"] for o in everything["items"]] == [
        o.order_id for o in sorted(made, key=lambda o: (o.created_at, o.order_id), reverse=True)
    ]
    seen, cursor = [], None
    while True:
        page = seller.get("/orders", params={"limit": 7, **({"cursor": cursor} if cursor else {})}).json()
        assert page["totals"]["orders"] == 25
        seen += [o["orderId"] for o in page["items"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert seen == [o["orderId"] for o in everything["items"]]
    by_store = seller.get("/orders", params={"storeId": other["storeId"]}).json()
    assert by_store["totals"]["orders"] == 5
    assert all(o["storeId"] == other["storeId"] for o in by_store["items"])
    day = seller.get("/orders", params={"dateFrom": "2026-11-03", "dateTo": "2026-11-04"}).json()
    assert day["totals"]["orders"] == 6  # days 3 and 4 of the cycle of 10: i = 2, 3, 12, 13, 22, 23
    assert {o["createdAt"][:10] for o in day["items"]} == {"2026-11-03", "2026-11-04"}
    assert day["totals"]["revenue"] == sum(o["total"] for o in day["items"])
    assert seller.get("/orders", params={"dateFrom": "2026-11-05", "dateTo": "2026-11-01"}).status_code == 422
    assert seller.get("/orders", params={"status": "paid"}).status_code == 422
    summary = seller.get(
        "/dashboard/summary", params={"dateFrom": "2026-11-01", "dateTo": "2026-11-30"}
    ).json()
    assert summary["orders"] == 25
    assert sum(d["orders"] for d in summary["salesByDay"]) == 25


def test_notifications_mark_read_and_page(cloud_server: CloudServer, seller: httpx.Client):
    store, product = setup_store(seller)
    for _ in range(5):
        ingest(
            cloud_server, sale(store["storeId"], product, [(0, 1)], cloud_server.clock()), with_deltas=False
        )
    first = seller.get("/notifications", params={"limit": 2}).json()
    assert first["unreadCount"] == 5
    assert len(first["items"]) == 2
    second = seller.get("/notifications", params={"limit": 2, "cursor": first["nextCursor"]}).json()
    assert {n["notificationId"] for n in first["items"]}.isdisjoint(
        n["notificationId"] for n in second["items"]
    )
    nid = first["items"][0]["notificationId"]
    assert seller.post(f"/notifications/{nid}/read").json()["readAt"] is not None
    assert seller.get("/notifications/unread-count").json() == {"unreadCount": 4}
    assert len(seller.get("/notifications", params={"unread": True}).json()["items"]) == 4
    assert seller.post("/notifications/read-all").status_code == 204
    assert seller.get("/notifications/unread-count").json() == {"unreadCount": 0}
    assert seller.post("/notifications/01HZZZZZZZZZZZZZZZZZZZZZZZ/read").status_code == 404


def test_the_bell_streams_live_over_sse(cloud_server: CloudServer, seller: httpx.Client):
    store, product = setup_store(seller)
    events: list[dict] = []
    got_two = threading.Event()

    def listen() -> None:
        with httpx.Client(base_url=cloud_server.base_url, headers=dict(seller.headers), timeout=30) as c:  # noqa: SIM117
            with c.stream("GET", "/notifications/stream") as r:
                assert r.headers["content-type"].startswith("text/event-stream")
                for line in r.iter_lines():
                    if line.startswith("data:"):
                        events.append(json.loads(line[5:]))
                        if len(events) == 2:
                            got_two.set()
                            return

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    deadline = datetime.now(UTC) + timedelta(seconds=10)
    while not events and datetime.now(UTC) < deadline:
        threading.Event().wait(0.05)
    assert events[0]["unreadCount"] == 0
    order = sale(store["storeId"], product, [(0, 1)], cloud_server.clock())
    ingest(cloud_server, order, with_deltas=False)
    assert got_two.wait(10), "no live bell event after the order"
    assert events[1]["unreadCount"] == 1
    assert events[1]["latest"]["refId"] == order.order_id
    t.join(5)


def test_a_seller_never_sees_another_sellers_orders_or_bell(cloud_server: CloudServer, seller: httpx.Client):
    store, product = setup_store(seller)
    order = sale(store["storeId"], product, [(0, 1)], cloud_server.clock())
    ingest(cloud_server, order)
    with cloud_server.client() as other:
        register_and_login(other)
        assert other.get("/orders").json()["items"] == []
        assert other.get("/orders").json()["totals"]["orders"] == 0
        assert other.get(f"/orders/{order.order_id}").status_code == 404
        assert (
            other.post(f"/orders/{order.order_id}/transitions", json={"toStatus": "refunded"}).status_code
            == 404
        )
        assert other.get(f"/stores/{store['storeId']}/stock").status_code == 404
        r = other.post(
            f"/stores/{store['storeId']}/stock/adjustments",
            json={"variantId": product["variants"][0]["variantId"], "kind": "restock", "quantity": 1},
        )
        assert r.status_code == 404
        assert other.get("/notifications").json()["unreadCount"] == 0
        nid = seller.get("/notifications").json()["items"][0]["notificationId"]
        assert other.post(f"/notifications/{nid}/read").status_code == 404
        assert other.get("/dashboard/summary").json()["orders"] == 0
    assert seller.get(f"/orders/{order.order_id}").json()["status"] == "completed"


def test_group_buy_minimum_rings_once(cloud_server: CloudServer, seller: httpx.Client):
    store = seller.post("/stores", json={"name": "團購店"}).json()
    ends = (cloud_server.clock() + timedelta(days=3)).isoformat()
    product = make_product(seller, groupBuy={"minQuantity": 3, "maxQuantity": 10, "endsAt": ends})
    for _ in range(4):
        ingest(
            cloud_server, sale(store["storeId"], product, [(0, 1)], cloud_server.clock()), with_deltas=False
        )
    kinds = [n["kind"] for n in seller.get("/notifications", params={"limit": 50}).json()["items"]]
    assert kinds.count("groupBuyMinimum") == 1


def test_group_buy_deadline_rings_once_when_passed(cloud_server: CloudServer, seller: httpx.Client):
    from cloud import orders

    ends = cloud_server.clock() + timedelta(hours=2)
    product = make_product(seller, groupBuy={"minQuantity": 10, "endsAt": ends.isoformat()})
    cloud = cloud_server.cloud
    with cloud.db.transaction() as conn:
        assert orders.check_group_buy_deadlines(conn, cloud_server.clock()) == 0
    cloud_server.clock.advance(hours=3)
    for expected in (1, 0):  # once, not at every tick after
        with cloud.db.transaction() as conn:
            assert orders.check_group_buy_deadlines(conn, cloud_server.clock()) == expected
    items = seller.get("/notifications").json()["items"]
    assert [(n["kind"], n["refId"]) for n in items] == [("groupBuyDeadline", product["productId"])]


def test_footfall_is_idempotent_and_conversion_is_recomputed(cloud_server: CloudServer, seller: httpx.Client):
    from cloud.footfall import ingest_footfall
    from models.footfall import Direction, FootfallEvent, FootfallSource
    from models.ids import new_id

    store, product = setup_store(seller)
    at = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # noon in Taipei
    events = [
        FootfallEvent(
            event_id=new_id(),
            store_id=store["storeId"],
            device_id="door-1",
            occurred_at=at + timedelta(minutes=i),
            direction=Direction.IN if i % 4 else Direction.OUT,
            source=FootfallSource.FUSED,
        )
        for i in range(40)
    ]
    with cloud_server.cloud.db.transaction() as conn:
        assert ingest_footfall(conn, events) == 40
        assert ingest_footfall(conn, events[:10]) == 0  # a redelivered batch changes nothing
    for _ in range(6):
        ingest(
            cloud_server,
            sale(store["storeId"], product, [(0, 1)], at + timedelta(minutes=5)),
            with_deltas=False,
        )
    summary = seller.get(
        "/dashboard/summary", params={"dateFrom": "2026-11-20", "dateTo": "2026-11-20"}
    ).json()
    assert summary["conversion"] == [
        {"storeId": store["storeId"], "day": "2026-11-20", "visitors": 30, "orders": 6, "rate": 0.2}
    ]


def test_products_without_group_buy_are_not_group_buys(cloud_server: CloudServer, seller: httpx.Client):
    from cloud import orders
    from cloud.tables import products

    make_product(seller)
    cloud = cloud_server.cloud
    with cloud.db.transaction() as conn:
        assert conn.execute(products.select().where(products.c.group_buy.is_not(None))).all() == []
        assert orders.check_group_buy_deadlines(conn, cloud_server.clock() + timedelta(days=999)) == 0


def test_top_products_follow_the_store_filter(cloud_server: CloudServer, seller: httpx.Client):
    tea_store = seller.post("/stores", json={"name": "茶店"}).json()["storeId"]
    cake_store = seller.post("/stores", json={"name": "餅店"}).json()["storeId"]
    tea = make_product(seller)
    cake = seller.post("/products", json={"name": "鳳梨酥", "price": 300}).json()
    ingest(cloud_server, sale(tea_store, tea, [(0, 2)], cloud_server.clock()), with_deltas=False)
    ingest(cloud_server, sale(cake_store, cake, [(0, 5)], cloud_server.clock()), with_deltas=False)
    everywhere = seller.get("/dashboard/summary").json()["topProducts"]
    assert [p["name"] for p in everywhere] == ["鳳梨酥", "凍頂烏龍茶"]
    only_tea = seller.get("/dashboard/summary", params={"storeId": tea_store}).json()["topProducts"]
    assert [(p["name"], p["quantity"]) for p in only_tea] == [("凍頂烏龍茶", 2)]


def test_a_single_use_coupon_used_at_two_stores_offline_keeps_both_sales_and_rings_once(
    cloud_server: CloudServer, seller: httpx.Client
):
    """Two stores, both offline, each took the same single-use coupon. Both sales stand; the bell names
    both orders, and the later by its stamp is the one beyond the limit, whichever arrived first."""
    assert (
        seller.post(
            "/coupons", json={"code": "ONCE50", "kind": "amount", "value": 50, "maxUses": 1}
        ).status_code
        == 201
    )
    assert seller.post("/coupons", json={"code": "ALWAYS", "kind": "amount", "value": 5}).status_code == 201
    product = make_product(seller)
    taipei, tainan = (
        seller.post("/stores", json={"name": n}).json()["storeId"] for n in ("台北店", "台南店")
    )
    at = cloud_server.clock()
    later = sale(taipei, product, [(0, 1)], at + timedelta(minutes=5)).model_copy(
        update={"coupon_code": "once50"}
    )
    earlier = sale(tainan, product, [(0, 1)], at).model_copy(update={"coupon_code": "ONCE50"})
    assert ingest(cloud_server, later, with_deltas=False)  # the later sale reaches the cloud first
    assert not reused(seller)
    assert ingest(cloud_server, earlier, with_deltas=False)
    assert not ingest(cloud_server, earlier, with_deltas=False)  # redelivered: nothing new
    [bell] = reused(seller)
    assert bell["params"]["firstOrderId"] == earlier.order_id
    assert bell["params"]["laterOrderId"] == later.order_id
    assert bell["refId"] == later.order_id
    assert seller.get("/orders").json()["totals"]["orders"] == 2  # both sales stand

    for minutes in (10, 11):  # an unlimited coupon never rings
        again = sale(taipei, product, [(0, 1)], at + timedelta(minutes=minutes))
        assert ingest(cloud_server, again.model_copy(update={"coupon_code": "ALWAYS"}), with_deltas=False)
    assert len(reused(seller)) == 1


def reused(seller: httpx.Client) -> list[dict]:
    return [n for n in seller.get("/notifications").json()["items"] if n["kind"] == "couponReused"]
