"""End of day at a real node: a cashier may look (the X-report), only a manager closes (the Z-report);
Z-reports are numbered at the node, each covers what came after the last (sales, and refunds made at the
counter, whichever period their sale was in), a repeated close is the same report, and every sale is in
exactly one Z-report however closes and sales interleave."""

import threading
from datetime import timedelta

import httpx

from models.end_of_day import XReport, ZReport, inconsistencies
from models.sales import PaymentMethod
from models.staff import StaffRole
from tests.edge.conftest import EdgeServer
from tests.edge.helpers import as_staff, checkout, new_cart


def sell(edge: EdgeServer, *lines: tuple[str, int], method: str = "cash", coupon: str | None = None) -> dict:
    body = {"paymentMethod": method} | ({"couponCode": coupon} if coupon else {})
    r = checkout(edge.client, new_cart(edge.client, *lines)["cartId"], **body)
    assert r.status_code == 201, r.text
    return r.json()


def close(edge: EdgeServer, headers: dict[str, str], **body: object) -> httpx.Response:
    return edge.client.post("/end-of-day", json={"openingFloat": 2000} | body, headers=headers)


def preview(edge: EdgeServer, headers: dict[str, str], **params: object) -> XReport:
    r = edge.client.get("/end-of-day/preview", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return XReport.model_validate(r.json())


def test_a_cashier_looks_a_manager_closes_and_the_next_period_starts_where_it_ended(edge: EdgeServer):
    cashier = as_staff(edge.client, edge.settings, StaffRole.CASHIER)
    manager = as_staff(edge.client, edge.settings, StaffRole.MANAGER)
    sell(edge, ("bubble-tea-1", 2))  # cash 110
    sell(edge, ("pineapple-cake-1", 1), method="card", coupon="SAVE10")  # 300 - 30 off - 27 coupon: card 243
    latte = sell(edge, ("latte-1", 1))  # cash 65, given back below
    back = edge.client.post(
        f"/orders/{latte['orderId']}/transitions", json={"toStatus": "returned"}, headers=manager
    )
    assert back.status_code == 200, back.text

    # The X-report: anyone on the staff may look, and looking changes nothing.
    assert edge.client.get("/end-of-day/preview").status_code == 401
    x = preview(edge, cashier, openingFloat=2000, countedCash=2100)
    f = x.figures
    assert (f.sales_count, f.gross_sales, f.discounts, f.coupons, f.net_sales) == (3, 475, 30, 27, 418)
    assert (f.refund_count, f.refunds, f.takings) == (1, 65, 353)
    cash, card = f.method(PaymentMethod.CASH), f.method(PaymentMethod.CARD)
    assert (cash.sales_count, cash.sales, cash.refunds, card.sales_count, card.sales) == (2, 175, 65, 1, 243)
    assert (f.cash_expected, f.counted_cash, f.over_short) == (2000 + 175 - 65, 2100, -10)
    assert x.period_start is None
    assert x.store_id == edge.client.get("/health").json()["storeId"]
    assert preview(edge, cashier, openingFloat=2000, countedCash=2100) == x

    # Only a manager closes.
    refused = close(edge, cashier, countedCash=2100)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == {
        "code": "forbidden",
        "message": "a manager may do this, not a cashier",
        "role": "manager",
    }
    assert close(edge, {}).status_code == 401
    first = close(edge, manager, countedCash=2100, note="零錢找錯一次")
    assert first.status_code == 201, first.text
    z1 = ZReport.model_validate(first.json())
    assert (z1.number, z1.note, z1.closed_by.name) == (1, "零錢找錯一次", "店長 Manager")
    assert z1.figures == f
    assert (z1.period_start, z1.period_end, z1.business_day) == (None, edge.clock(), x.business_day)
    assert inconsistencies(z1.figures) == []

    # The next period: what came after only. A refund of a sale the first period holds counts now.
    edge.clock.advance(hours=20)
    cashier = as_staff(edge.client, edge.settings, StaffRole.CASHIER)  # the next day's logins
    manager = as_staff(edge.client, edge.settings, StaffRole.MANAGER)
    assert preview(edge, cashier).figures.sales_count == 0
    sell(edge, ("bubble-tea-1", 1))  # cash 55
    tea = edge.client.get("/orders", headers=manager).json()["items"][-1]
    assert tea["total"] == 110
    r = edge.client.post(
        f"/orders/{tea['orderId']}/transitions", json={"toStatus": "refunded"}, headers=manager
    )
    assert r.status_code == 200, r.text
    z2 = ZReport.model_validate(close(edge, manager, openingFloat=1000).json())
    g = z2.figures
    assert (z2.number, z2.period_start, z2.period_end) == (2, z1.period_end, edge.clock())
    assert (g.sales_count, g.net_sales, g.refund_count, g.refunds, g.takings) == (1, 55, 1, 110, -55)
    assert (g.cash_expected, g.counted_cash, g.over_short) == (1000 + 55 - 110, None, None)

    # A period with nothing in it closes too: the drawer holds its float.
    z3 = ZReport.model_validate(close(edge, manager, openingFloat=1500, countedCash=1500).json())
    assert (z3.number, z3.figures.sales_count, z3.figures.cash_expected, z3.figures.over_short) == (
        3,
        0,
        1500,
        0,
    )
    assert z3.business_day == (edge.clock() + timedelta(hours=8)).date()

    # Read back: one by its number, all of them latest first, a page at a time.
    assert ZReport.model_validate(edge.client.get("/end-of-day/1", headers=cashier).json()) == z1
    missing = edge.client.get("/end-of-day/4", headers=cashier)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "zReportNotFound")
    page = edge.client.get("/end-of-day", params={"limit": 2}, headers=cashier).json()
    assert [z["number"] for z in page["items"]] == [3, 2]
    rest = edge.client.get("/end-of-day", params={"cursor": page["nextCursor"]}, headers=cashier).json()
    assert ([z["number"] for z in rest["items"]], rest["nextCursor"]) == ([1], None)
    orders_cursor = edge.client.get("/orders", params={"limit": 1}, headers=cashier).json()["nextCursor"]
    foreign = edge.client.get("/end-of-day", params={"cursor": orders_cursor}, headers=cashier)
    assert (foreign.status_code, foreign.json()["error"]["code"]) == (422, "invalidCursor")

    # Each report waits in the outbox for the cloud, on its own stream.
    streams = {
        s["stream"]: s["pending"] for s in edge.client.get("/sync/status", headers=cashier).json()["streams"]
    }
    assert streams["zReports"] == 3


def test_a_repeated_close_is_the_same_report_and_the_key_with_other_figures_is_refused(edge: EdgeServer):
    manager = as_staff(edge.client, edge.settings, StaffRole.MANAGER)
    sell(edge, ("latte-1", 2))
    key = "close-2026-03-02-xinyi"
    made = close(edge, manager, countedCash=2130, idempotencyKey=key)
    assert made.status_code == 201, made.text
    sell(edge, ("latte-1", 1))  # after the close: the next period's
    again = close(edge, manager, countedCash=2130, idempotencyKey=key)
    assert again.status_code == 200, again.text
    assert again.json() == made.json()
    other = close(edge, manager, countedCash=2000, idempotencyKey=key)
    assert other.status_code == 409, other.text
    assert other.json()["error"]["code"] == "idempotencyKeyReused"
    assert other.json()["error"]["number"] == 1
    bad = close(edge, manager, openingFloat=-1)
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "openingFloat")
    assert close(edge, manager, openingFloat="2000").status_code == 422  # strict integers, as everywhere
    nxt = close(edge, manager, idempotencyKey="close-2026-03-03-xinyi")
    assert (nxt.json()["number"], nxt.json()["figures"]["salesCount"]) == (2, 1)
    listed = edge.client.get("/end-of-day", headers=manager).json()["items"]
    assert [z["number"] for z in listed] == [2, 1]


def test_a_clock_set_back_neither_loses_a_sale_nor_ends_a_period_before_it_began(edge: EdgeServer):
    manager = as_staff(edge.client, edge.settings, StaffRole.MANAGER)
    sell(edge, ("latte-1", 1))
    z1 = ZReport.model_validate(close(edge, manager).json())
    edge.clock.advance(hours=-3)  # a Pi that booted with an old time
    sell(edge, ("latte-1", 1))  # its time is before the last close; it is still the next period's
    z2 = ZReport.model_validate(close(edge, manager).json())
    assert z2.figures.sales_count == 1
    assert z2.period_start == z2.period_end == z1.period_end


def test_every_sale_is_in_exactly_one_z_report_while_sales_and_closes_interleave(edge: EdgeServer):
    manager = as_staff(edge.client, edge.settings, StaffRole.MANAGER)
    sold: list[int] = []
    failures: list[str] = []

    def till(n: int) -> None:
        with edge.new_client() as client:
            for _ in range(n):
                cart = new_cart(client, ("oolong-tea-1", 1))
                r = checkout(client, cart["cartId"])
                if r.status_code == 201:
                    sold.append(r.json()["total"])
                else:
                    failures.append(r.text)

    sellers = [threading.Thread(target=till, args=(8,)) for _ in range(2)]
    for t in sellers:
        t.start()
    reports = []
    while any(t.is_alive() for t in sellers):
        reports.append(ZReport.model_validate(close(edge, manager).json()))
    for t in sellers:
        t.join()
    reports.append(ZReport.model_validate(close(edge, manager).json()))
    assert failures == []
    assert [z.number for z in reports] == list(range(1, len(reports) + 1))
    assert sum(z.figures.sales_count for z in reports) == len(sold) == 16
    assert sum(z.figures.net_sales for z in reports) == sum(sold)
    assert preview(edge, manager).figures.sales_count == 0


def test_a_partial_return_is_a_refund_of_the_till_and_the_last_units_give_back_only_the_rest(
    edge: EdgeServer,
):
    manager = as_staff(edge.client, edge.settings, StaffRole.MANAGER)
    sold = sell(edge, ("bubble-tea-1", 3))  # cash 165
    item = sold["items"][0]["itemId"]

    def take_back(quantity: int) -> dict:
        r = edge.client.post(
            f"/orders/{sold['orderId']}/returns",
            json={"items": [{"itemId": item, "quantity": quantity}]},
            headers=manager,
        )
        assert r.status_code == 201, r.text
        return r.json()

    first = take_back(1)
    figures = preview(edge, manager, openingFloat=1000).figures
    assert (figures.refund_count, figures.refunds) == (1, first["refund"])
    assert figures.cash_expected == 1000 + 165 - first["refund"]
    take_back(2)  # the last units: the order becomes returned, and only what was left goes back
    figures = preview(edge, manager, openingFloat=1000).figures
    assert figures.refunds == 165  # never more than the sale, however it came back
    assert figures.cash_expected == 1000
    assert inconsistencies(figures) == []
