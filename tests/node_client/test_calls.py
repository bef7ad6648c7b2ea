"""Every call of the client against a real node: typed answers, the same the API gives over plain HTTP."""

from datetime import UTC, date, datetime

import pytest

from edge.demo_catalog import DEMO_STORE_ID
from edge.footfall.events import record_crossing
from edge.node import Node
from models.footfall import Direction, FootfallSource
from models.node_api import CartPublic, Health, Page, ProductPublic, ProductSummary, SyncStatus
from models.order_states import OrderStatus
from models.sales import CartStatus, Order, PaymentMethod
from node_client import API_PREFIX, NodeClient
from node_client.errors import Conflict, NotFound, Unauthenticated


def test_the_api_root_is_found_from_the_nodes_address_either_way(edge):
    address = edge.base_url.removesuffix(API_PREFIX)
    for url in (address, address + "/", edge.base_url, edge.base_url + "/"):
        with NodeClient(url) as client:
            assert client.base_url == edge.base_url
            assert client.health().store_id == DEMO_STORE_ID


def test_health_and_sync_status(node, edge):
    health = node.health()
    assert isinstance(health, Health)
    assert (health.status, health.database_ok, health.store_id) == ("ok", True, DEMO_STORE_ID)
    assert health.online is False
    assert health.model_dump() == Health.model_validate(edge.client.get("/health").json()).model_dump()
    status = node.sync_status()
    assert isinstance(status, SyncStatus)
    assert status.pending_total == 0
    assert status.online is False


def test_search_a_page_at_a_time_and_by_category(node):
    page = node.search_products("奶茶")
    assert isinstance(page, Page)
    assert [p.product_id for p in page.items] == ["bubble-tea"]
    assert isinstance(page.items[0], ProductSummary)
    assert page.items[0].name_en == "Bubble milk tea"
    assert page.next_cursor is None
    first = node.search_products(limit=4)
    assert len(first.items) == 4
    assert first.next_cursor is not None
    second = node.search_products(limit=4, cursor=first.next_cursor)
    assert second.items[0].product_id > first.items[-1].product_id
    tea = {p.product_id for p in node.search_products(category_id="tea").items}
    drinks = {p.product_id for p in node.search_products(category_id="drinks").items}
    assert "oolong-tea" in tea
    assert tea < drinks


def test_iterating_products_walks_every_page_once(node, injected, edge):
    everything = list(node.iter_products(page_size=4))
    assert len(everything) == 14 == len({p.product_id for p in everything})
    assert [p.product_id for p in everything] == sorted(p.product_id for p in everything)
    client, injector = injected(edge.base_url)
    assert list(client.iter_products(page_size=4)) == everything
    assert injector.attempts("GET", "/catalog/products") == 4  # 4 + 4 + 4 + 2, fetched as it went
    assert [p.product_id for p in node.iter_products("cake", page_size=1)] == ["pineapple-cake", "sun-cake"]


def test_product_detail_and_categories(node):
    product = node.get_product("pineapple-cake")
    assert isinstance(product, ProductPublic)
    assert [v.variant_id for v in product.variants] == ["pineapple-cake-1", "pineapple-cake-2"]
    assert (product.variants[0].price, product.variants[0].final_price) == (300, 270)
    assert product.active_discount is not None
    assert product.active_discount.discount_id == "souvenir-week"
    categories = node.list_categories()
    assert categories[0].parent_id is None
    tea = next(c for c in categories if c.category_id == "tea")
    assert (tea.name, tea.name_en, tea.parent_id) == ("茶飲", "Tea", "drinks")


def test_a_cart_from_creation_to_checkout(node):
    cart = node.create_cart()
    assert isinstance(cart, CartPublic)
    assert (cart.status, cart.items, cart.total) == (CartStatus.OPEN, [], 0)
    cart = node.add_item(cart.cart_id, "bubble-tea-1", 2)
    cart = node.add_item(cart.cart_id, "bubble-tea-1")  # the same variant adds to its line
    assert [(i.variant_id, i.quantity) for i in cart.items] == [("bubble-tea-1", 3)]
    cart = node.add_item(cart.cart_id, "pineapple-cake-1")
    assert (cart.item_count, cart.subtotal, cart.discount_total, cart.total) == (4, 465, 30, 435)
    tea = next(i for i in cart.items if i.variant_id == "bubble-tea-1")
    cart = node.set_item_quantity(cart.cart_id, tea.item_id, 1)
    assert cart.total == 55 + 270
    cart = node.remove_item(cart.cart_id, tea.item_id)
    assert [i.variant_id for i in cart.items] == ["pineapple-cake-1"]
    assert node.get_cart(cart.cart_id) == cart
    cart = node.add_item(cart.cart_id, "pineapple-cake-1")  # 540 after the discount: the coupon's minimum

    order = node.checkout(cart.cart_id, PaymentMethod.CARD, coupon_code="welcome100")
    assert isinstance(order, Order)
    assert order.status is OrderStatus.COMPLETED
    assert (order.subtotal, order.discount_total, order.coupon_code, order.total) == (
        600,
        60,
        "WELCOME100",
        440,
    )
    assert order.payments[0].method is PaymentMethod.CARD
    closed = node.get_cart(cart.cart_id)
    assert (closed.status, closed.order_id) == (CartStatus.CHECKED_OUT, order.order_id)
    assert node.get_product("pineapple-cake").variants[0].stock == 18
    assert node.sync_status().pending_total == 2  # the order and its stock delta wait for the cloud


def test_a_cart_created_with_lines(node):
    cart = node.create_cart([("latte-1", 2), ("oolong-tea-1", 1)])
    assert sorted((i.variant_id, i.quantity) for i in cart.items) == [("latte-1", 2), ("oolong-tea-1", 1)]


def test_orders_listed_paged_read_and_returned(node):
    made = [node.checkout(node.create_cart([("tissues-1", 1)]).cart_id, PaymentMethod.CASH) for _ in range(5)]
    newest_first = [o.order_id for o in reversed(made)]
    page = node.list_orders(limit=2)
    assert [o.order_id for o in page.items] == newest_first[:2]
    assert page.next_cursor is not None
    assert [o.order_id for o in node.iter_orders(page_size=2)] == newest_first
    standing = node.get_order(made[0].order_id)
    assert Order.model_validate(standing.model_dump(exclude=RETURN_FIELDS)) == made[0]  # the sale as sold
    assert (standing.refunded_amount, standing.returns) == (0, [])

    stock = node.get_product("tissues").variants[0].stock
    returned = node.transition_order(made[0].order_id, OrderStatus.RETURNED, note="破損")
    assert returned.status is OrderStatus.RETURNED
    assert node.get_product("tissues").variants[0].stock == stock + 1  # the goods are back on the shelf
    assert [o.order_id for o in node.iter_orders(status=OrderStatus.RETURNED)] == [made[0].order_id]
    assert node.list_orders(status=OrderStatus.REFUNDED).items == []


RETURN_FIELDS = {"returned_quantities", "refunded_amount", "returns"}


def test_a_manager_takes_back_some_units_and_the_order_shows_them(node):
    sale = node.checkout(node.create_cart([("latte-1", 3)]).cart_id, PaymentMethod.CARD)
    line = sale.items[0].item_id
    stock = node.get_product("latte").variants[0].stock
    taken = node.return_items(sale.order_id, [(line, 2)], note="太甜")
    assert (taken.refund, taken.refund_method, taken.note) == (130, PaymentMethod.CARD, "太甜")
    assert taken.staff is not None
    assert taken.staff.name == "店長 Manager"
    assert node.get_product("latte").variants[0].stock == stock + 2
    standing = node.get_order(sale.order_id)
    assert standing.status is OrderStatus.COMPLETED
    assert (standing.returned_quantities, standing.refunded_amount) == ({line: 2}, 130)
    assert standing.returns == [taken]
    with pytest.raises(Conflict) as too_many:
        node.return_items(sale.order_id, [(line, 2)])
    assert (too_many.value.code, too_many.value.details["returnable"]) == ("returnTooLarge", 1)
    with pytest.raises(NotFound) as unknown:
        node.return_items(sale.order_id, [("01J0000000000000000000000Z", 1)])
    assert unknown.value.code == "orderItemNotFound"
    last = node.return_items(sale.order_id, [(line, 1)])
    assert last.refund == 65
    assert node.get_order(sale.order_id).status is OrderStatus.RETURNED
    with pytest.raises(Conflict) as done:
        node.return_items(sale.order_id, [(line, 1)])
    assert done.value.code == "illegalTransition"


def test_the_token_goes_as_a_bearer_header_once_set(injected, edge):
    client, injector = injected(edge.base_url)
    client.health()
    client.token = "staff-token-1"
    client.health()
    client.token = None
    client.health()
    sent = [r.headers.get("Authorization") for r in injector.seen]
    assert sent == [None, "Bearer staff-token-1", None]
    with NodeClient(edge.base_url, token="from-the-start", transport=injector.transport) as other:
        other.health()
    assert injector.seen[-1].headers["Authorization"] == "Bearer from-the-start"


def test_staff_login_carries_the_token_and_logout_drops_it(edge, node):
    me = node.staff_me()
    assert (me.name, me.role) == ("店長 Manager", "manager")
    node.staff_logout()
    assert node.token is None
    with pytest.raises(Unauthenticated):
        node.list_orders()
    with pytest.raises(Unauthenticated):
        node.staff_login("店長 Manager", "0000")
    session = node.staff_login("店長 Manager", "2468")
    assert node.token == session.token
    assert node.list_orders().items == []


def test_footfall_counts_and_events_of_a_day(node, edge):
    door = Node.open(edge.settings, edge.clock)  # the door counter's own handle on the node's database
    try:
        at = datetime(2026, 12, 5, 3, 20, tzinfo=UTC)  # 11:20 in Taipei
        made = [record_crossing(door, d, FootfallSource.PIR, at) for d in (Direction.IN, Direction.OUT)]
    finally:
        door.close()
    summary = node.footfall(date(2026, 12, 5))
    assert (summary.day, summary.in_count, summary.out_count) == (date(2026, 12, 5), 1, 1)
    assert [(b.start.isoformat(), b.in_count, b.out_count) for b in summary.buckets] == [
        ("2026-12-05T11:15:00+08:00", 1, 1)
    ]
    assert summary.sources[FootfallSource.PIR] == 2
    first = node.footfall_events(day=date(2026, 12, 5), limit=1)
    rest = node.footfall_events(day=date(2026, 12, 5), cursor=first.next_cursor)
    assert {e.event_id for e in first.items + rest.items} == {e.event_id for e in made}
    assert rest.next_cursor is None
    assert node.footfall().day is not None  # today at the node
