"""The client's end-of-day calls against a real node: the X-report, closing the till (a manager's; a lost
answer is asked again with the same key and closes once), and reading the Z-reports back."""

import json

import pytest

from models.end_of_day import XReport, ZReport
from models.node_api import Page
from models.sales import PaymentMethod
from models.staff import StaffRole
from node_client import Conflict, Forbidden, NodeClient, NotFound
from tests.edge.helpers import add_staff
from tests.node_client.conftest import MANAGER, QUICK


def test_preview_close_and_read_back(node: NodeClient):
    node.checkout(node.create_cart([("latte-1", 2)]).cart_id, PaymentMethod.CASH)  # 130
    node.checkout(node.create_cart([("bubble-tea-1", 1)]).cart_id, PaymentMethod.CARD)  # 55
    x = node.end_of_day_preview(opening_float=1000, counted_cash=1100)
    assert isinstance(x, XReport)
    assert (x.figures.sales_count, x.figures.net_sales, x.figures.cash_expected) == (2, 185, 1130)
    assert x.figures.over_short == -30
    assert node.end_of_day_preview().figures.opening_float == 0

    z = node.close_day(1000, counted_cash=1100, note="少三十")
    assert isinstance(z, ZReport)
    assert (z.number, z.figures.net_sales, z.figures.over_short, z.note) == (1, 185, -30, "少三十")
    assert z.closed_by.name == MANAGER
    assert node.z_report(1) == z
    second = node.close_day(500)
    assert (second.number, second.figures.sales_count, second.period_start) == (2, 0, z.period_end)
    page = node.z_reports(limit=1)
    assert isinstance(page, Page)
    assert [r.number for r in page.items] == [2]
    assert [r.number for r in node.iter_z_reports(page_size=1)] == [2, 1]
    with pytest.raises(NotFound) as missing:
        node.z_report(9)
    assert missing.value.code == "zReportNotFound"


def test_a_cashier_may_look_but_not_close(edge):
    add_staff(edge.settings, "收銀 Amy", StaffRole.CASHIER, "1357")
    with NodeClient(edge.base_url, **QUICK) as cashier:
        cashier.staff_login("收銀 Amy", "1357")
        assert cashier.end_of_day_preview().figures.sales_count == 0
        with pytest.raises(Forbidden) as refused:
            cashier.close_day(1000)
        assert refused.value.code == "forbidden"
        assert refused.value.details["role"] == "manager"
        assert cashier.z_reports().items == []


def test_a_lost_close_answer_is_asked_again_with_the_same_key_and_closes_once(injected, edge, node):
    node.checkout(node.create_cart([("latte-1", 1)]).cart_id, PaymentMethod.CASH)
    client, injector = injected(edge.base_url, "lose", token=node.token)
    report = client.close_day(2000, counted_cash=2065)  # the node closed; the answer was lost; again

    sent = [r for r in injector.seen if r.method == "POST" and r.url.path.endswith("/end-of-day")]
    assert len(sent) == 2
    assert len({json.loads(r.content)["idempotencyKey"] for r in sent}) == 1
    assert [z.number for z in node.iter_z_reports()] == [report.number] == [1]
    assert node.end_of_day_preview().figures.sales_count == 0

    mine = node.close_day(2000, idempotency_key="manager-close-0002")
    assert node.close_day(2000, idempotency_key="manager-close-0002") == mine
    with pytest.raises(Conflict) as reused:
        node.close_day(2500, idempotency_key="manager-close-0002")
    assert reused.value.code == "idempotencyKeyReused"
    assert [z.number for z in node.iter_z_reports()] == [2, 1]
