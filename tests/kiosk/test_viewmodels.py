"""The kiosk's view-models against a real store node (the `edge` fixture: a fresh SQLite file, the real
app on a free port, the demo catalog), through the real node client: what each screen shows and what a
touch does, without a window."""

import pytest

from kiosk_ui.hardware.payment import Outcome, SimulatedTerminal
from kiosk_ui.i18n import translator
from kiosk_ui.viewmodels.catalog import ProductDetail
from kiosk_ui.viewmodels.keyboard import Keyboard, Layout
from kiosk_ui.viewmodels.kiosk import Kiosk
from kiosk_ui.viewmodels.payment import Step
from kiosk_ui.viewmodels.problems import explain
from kiosk_ui.viewmodels.receipt import order_number, qr_png, receipt_of
from kiosk_ui.viewmodels.staff import EndOfDay, OrderNotFound
from models.einvoice import EInvoice, EInvoiceKind
from models.order_states import OrderStatus
from models.sales import PaymentMethod
from models.staff import StaffRole
from node_client import NodeClient
from node_client.errors import Conflict, NodeError, NodeUnreachable, Unauthenticated
from plumbing import free_port
from tests.conftest import FakeClock
from tests.edge.conftest import EdgeServer
from tests.edge.helpers import add_staff


def test_browsing_opens_on_the_top_categories_and_pages_through_everything(kiosk: Kiosk):
    catalog = kiosk.catalog
    catalog.open()
    assert {c.category_id for c in catalog.categories} == {
        "drinks",
        "snacks",
        "souvenirs",
        "household",
        "phones",
    }
    seen = list(catalog.items)
    while catalog.has_more:
        catalog.load_more()
    assert len(catalog.items) == 14
    assert catalog.items[: len(seen)] == seen
    catalog.choose_category("drinks")  # a category holds its sub-categories' products
    assert {p.product_id for p in catalog.items} == {"bubble-tea", "oolong-tea", "black-coffee", "latte"}
    catalog.search("pineapple")
    assert [p.product_id for p in catalog.items] == []  # in drinks: none
    catalog.choose_category(None)
    assert [p.product_id for p in catalog.items] == ["pineapple-cake"]
    catalog.search("no such thing")
    assert catalog.loaded
    assert catalog.items == []


def test_a_product_opens_on_its_default_variant_and_counts_within_stock(node: NodeClient):
    detail = ProductDetail(node, "pineapple-cake")
    assert detail.variant.variant_id == "pineapple-cake-1"
    assert detail.variant.discount_percent == 10
    detail.choose("pineapple-cake-2")
    for _ in range(20):
        detail.more()
    assert detail.quantity == 12  # the 12 boxes in stock
    detail.fewer()
    assert detail.quantity == 11
    assert detail.in_stock


def test_the_keyboard_types_zhuyin_and_latin():
    keyboard = Keyboard()
    assert keyboard.layout is Layout.ZHUYIN
    for key in "ㄓㄓㄋㄔ":
        keyboard.press(key)
    assert keyboard.text == "ㄓㄓㄋㄔ"
    keyboard.backspace()
    assert keyboard.text == "ㄓㄓㄋ"
    keyboard.switch_layout()
    assert keyboard.layout is Layout.LATIN
    assert "QWERTYUIOP" in keyboard.rows
    assert sum(len(row) for row in Keyboard().rows) == 37  # every Zhuyin symbol


def test_cart_lines_change_and_a_too_large_quantity_says_so_in_words(kiosk: Kiosk):
    cart = kiosk.cart
    cart.add("bubble-tea-2", 2)
    cart.add("pineapple-cake-1")
    assert cart.count == 3
    assert cart.total == 65 * 2 + 270  # the cake's 10% off
    tea = next(i for i in cart.cart.items if i.variant_id == "bubble-tea-2")
    cart.set_quantity(tea.item_id, 1)
    assert cart.count == 2
    cake = next(i for i in cart.cart.items if i.variant_id == "pineapple-cake-1")
    with pytest.raises(Conflict) as refused:
        cart.add("pineapple-cake-1", 999)  # one line holds at most 999
    assert explain(translator("zh-TW"), refused.value) == "數量太多"
    assert explain(translator("en"), refused.value) == "That is too many"
    cart.set_quantity(cake.item_id, 0)  # zero removes the line
    assert [i.variant_id for i in cart.cart.items] == ["bubble-tea-2"]
    assert not cart.use_coupon("x")
    with pytest.raises(Conflict) as refused:  # 65: under WELCOME100's minimum of 500
        cart.use_coupon(" welcome100 ")
    assert explain(translator("en"), refused.value).startswith("The coupon cannot be used")
    assert cart.coupon_code is None
    assert cart.use_coupon("save10")
    assert cart.coupon_code == "SAVE10"
    assert (cart.coupon_discount, cart.total) == (7, 58)  # 10% of 65, rounded as checkout rounds it
    cart.add("pineapple-cake-2")  # the quote follows the cart
    assert cart.total == 65 + 504 - cart.coupon_discount


def test_more_than_the_store_holds_is_refused_at_payment_in_words(kiosk: Kiosk):
    kiosk.cart.add("pineapple-cake-2", 13)  # 12 in stock: a cart may hold more, the sale may not
    payment = kiosk.new_payment()
    payment.tender_note(10_000)
    with pytest.raises(Conflict) as refused:
        payment.confirm_cash()
    assert explain(translator("zh-TW"), refused.value) == "庫存不足，請減少數量"
    assert payment.step is not Step.DONE


def test_paying_cash_shows_the_change_and_the_receipt_says_it_all(kiosk: Kiosk):
    kiosk.cart.add("pineapple-cake-2")  # 560 - 10% = 504
    kiosk.cart.use_coupon("WELCOME100")
    payment = kiosk.new_payment()
    payment.pay_cash()
    assert payment.step is Step.CASH
    payment.tender_note(100)
    assert not payment.cash.enough
    with pytest.raises(ValueError, match="not enough"):
        payment.confirm_cash()
    payment.clear_tender()
    for digit in "1000":
        payment.tender(digit)
    assert payment.cash.tendered == 1000
    order = payment.confirm_cash()
    assert payment.step is Step.DONE
    assert order.status is OrderStatus.COMPLETED
    assert order.total == 404  # coupon after the discount
    assert order.payments[0].method is PaymentMethod.CASH
    receipt = receipt_of(order, translator("zh-TW"), tendered=1000)
    texts = {line.text: line.amount for line in [*receipt.lines, *receipt.totals]}
    assert texts["鳳梨酥 12入 x1"] == "NT$504"
    assert texts["優惠碼 WELCOME100"] == "-NT$100"
    assert texts["合計"] == "NT$404"
    assert texts["找零"] == "NT$596"
    assert receipt.qr == order.order_id
    assert f"訂單 {order_number(order)}" in receipt.footer
    assert qr_png(order.order_id).startswith(b"\x89PNG")


def test_a_declined_card_pays_nothing_and_an_approval_sells_once(
    kiosk: Kiosk, node: NodeClient, edge: EdgeServer
):
    terminal = SimulatedTerminal([Outcome.DECLINED, Outcome.TIMED_OUT])
    kiosk.terminal = terminal
    kiosk.cart.add("latte-1")
    payment = kiosk.new_payment()
    assert payment.pay_card() is None
    assert payment.declined is Outcome.DECLINED
    assert payment.pay_card() is None
    assert payment.declined is Outcome.TIMED_OUT
    order = payment.pay_card()
    assert order is not None
    assert order.payments[0].method is PaymentMethod.CARD
    assert [c.outcome for c in terminal.charges] == [Outcome.DECLINED, Outcome.TIMED_OUT, Outcome.APPROVED]
    assert terminal.voided == []
    with NodeClient(node.base_url) as staff:  # the orders are staff only; the kiosk is not logged in
        add_staff(edge.settings, "店長 Manager", StaffRole.MANAGER, "2468")
        staff.staff_login("店長 Manager", "2468")
        assert [o.order_id for o in staff.iter_orders()] == [order.order_id]


def test_an_approved_charge_the_node_cannot_record_is_voided(kiosk: Kiosk, node: NodeClient):
    terminal = SimulatedTerminal()
    kiosk.terminal = terminal
    kiosk.cart.add("latte-1")
    first = kiosk.new_payment()
    first.tender_note(100)
    first.confirm_cash()  # the cart is sold...
    second = kiosk.new_payment()  # ...and a second payment of the same cart is refused by the node
    with pytest.raises(Conflict):
        second.pay_card()
    assert terminal.voided == [terminal.charges[-1].reference]
    assert second.step is Step.CHOOSING


def test_the_session_ends_when_idle_and_forgets_the_shopper(kiosk: Kiosk, clock: FakeClock):
    kiosk.session.toggle_language()
    kiosk.cart.add("latte-1")
    kiosk.keyboard.press("ㄋ")
    assert not kiosk.session.idle_expired(clock())
    clock.advance(seconds=91)
    assert kiosk.session.idle_expired(clock())
    kiosk.end_session()
    assert kiosk.session.locale == "zh-TW"
    assert kiosk.cart.cart is None
    assert kiosk.keyboard.text == ""


def test_the_banner_follows_the_node(kiosk: Kiosk, node: NodeClient):
    session = kiosk.session
    session.node_answered(node.health())
    assert session.banner == "門市目前離線：仍可正常結帳"  # a node never linked to a cloud is offline
    session.node_silent()
    assert session.banner == "結帳系統暫時無法連線，請稍候或洽詢店員"
    with (
        NodeClient(f"http://127.0.0.1:{free_port()}/api/v1", retries=0) as gone,
        pytest.raises(NodeUnreachable) as missing,
    ):
        gone.health()
    assert explain(translator("en"), missing.value).startswith("Cannot reach the checkout")


def test_the_e_invoice_is_checked_while_the_shopper_is_there_and_goes_with_the_sale(kiosk: Kiosk):
    kiosk.cart.add("latte-1")
    payment = kiosk.new_payment()
    choice = payment.einvoice
    assert choice.chosen.kind is EInvoiceKind.NONE
    choice.choose(EInvoiceKind.CARRIER)
    assert choice.keyboard.text == "/"
    for key in "ABC123":
        choice.keyboard.press(key)
    assert not choice.confirm()  # six characters after the slash: one short
    assert translator("zh-TW")(choice.problem).startswith("手機條碼為 / 加 7 碼")
    choice.keyboard.press("4")
    assert choice.confirm()
    choice.choose(EInvoiceKind.TAX_ID)
    for key in "04595258":
        choice.keyboard.press(key)
    assert not choice.confirm()
    assert choice.problem == "einvoice.invalidTaxId"
    assert choice.chosen == EInvoice(kind=EInvoiceKind.CARRIER, value="/ABC1234")  # the last good choice
    choice.choose(EInvoiceKind.CARRIER)
    for key in "ABC1234":
        choice.keyboard.press(key)
    assert choice.confirm()
    payment.tender_note(100)
    order = payment.confirm_cash()
    assert order.einvoice == EInvoice(kind=EInvoiceKind.CARRIER, value="/ABC1234")
    receipt = receipt_of(order, translator("en"))
    assert "E-invoice: Mobile barcode /ABC1234" in receipt.footer


def test_staff_mode_finds_an_order_by_its_receipt_and_a_manager_takes_it_back(kiosk: Kiosk, edge: EdgeServer):
    add_staff(edge.settings, "AMY", StaffRole.CASHIER, "1357")
    add_staff(edge.settings, "BOSS", StaffRole.MANAGER, "2468")
    kiosk.cart.add("latte-1")
    payment = kiosk.new_payment()
    payment.tender_note(100)
    sold = payment.confirm_cash()
    staff = kiosk.staff
    with pytest.raises(Unauthenticated):
        staff.login("AMY", "0000")
    staff.login("amy", "1357")  # names in any case
    assert (staff.logged_in, staff.is_manager) == (True, False)
    assert staff.find(order_number(sold)).order_id == sold.order_id  # the receipt's number
    assert staff.find(sold.order_id.lower()).order_id == sold.order_id  # the QR code, as a scanner types it
    with pytest.raises(OrderNotFound):
        staff.find("ZZZZZZ")
    assert not staff.can_return  # a cashier sees it, a manager takes it back
    staff.logout()
    assert kiosk.node.token is None
    staff.login("BOSS", "2468")
    staff.find(order_number(sold))
    assert staff.can_return
    line = sold.items[0].item_id
    staff.take(line, 1)
    staff.take(line, 5)  # no more than is left of the line
    assert staff.taking == {line: 1}
    assert staff.refund_due == 65
    taken = staff.return_units("one was spilt")
    assert taken.refund == 65
    assert staff.order.returned_quantities == {line: 1}
    assert staff.left(line) == 0
    assert staff.order.status is OrderStatus.RETURNED  # the last unit of a one-unit sale
    assert not staff.can_return
    kiosk.end_session()  # the idle timeout: the staff login ends with the session
    assert not staff.logged_in
    assert kiosk.node.token is None


def test_end_of_day_previews_for_staff_and_a_manager_closes_it_once(kiosk: Kiosk, edge: EdgeServer):
    add_staff(edge.settings, "AMY", StaffRole.CASHIER, "1357")
    add_staff(edge.settings, "BOSS", StaffRole.MANAGER, "2468")
    kiosk.cart.add("latte-1", 2)  # 130 in cash
    payment = kiosk.new_payment()
    payment.tender_note(500)
    payment.confirm_cash()
    kiosk.staff.login("AMY", "1357")
    day = EndOfDay(kiosk.node, kiosk.staff)
    day.opening_float, day.counted_cash = 2000, 2100
    preview = day.look()
    assert (preview.figures.sales_count, preview.figures.net_sales) == (1, 130)
    assert preview.figures.cash_expected == 2130
    assert preview.figures.over_short == -30  # short
    with pytest.raises(PermissionError):
        day.close()
    kiosk.staff.logout()
    kiosk.staff.login("BOSS", "2468")
    closed = day.close("end of a quiet Friday")
    assert closed.number == 1
    assert (
        day.close("end of a quiet Friday").number == 1
    )  # pressed again: the same report, not a second close
    assert EndOfDay(kiosk.node, kiosk.staff).look().figures.sales_count == 0  # the next period is empty


def test_a_phones_hand_off_code_refused_at_the_kiosk_is_said_in_the_shoppers_words(node, edge):
    """The codes a kiosk meets when it takes over a phone's cart (docs/edge-api.md, "Cart hand-off")."""

    def refusal(call) -> NodeError:
        with pytest.raises(NodeError) as refused:
            call()
        return refused.value

    phone = node.create_cart([("latte-1", 1)])
    expired = node.hand_off_cart(phone.cart_id).code
    used = node.hand_off_cart(phone.cart_id).code  # voids the first
    node.claim_handoff(used)
    unknown = next(c for c in ("000000", "000001", "000002") if c not in (expired, used))
    said = {
        "handoffExpired": refusal(lambda: node.claim_handoff(expired)),
        "handoffUsed": refusal(lambda: node.claim_handoff(used)),
        "cartHandedOff": refusal(lambda: node.add_item(phone.cart_id, "latte-1")),
        "handoffNotFound": refusal(lambda: node.claim_handoff(unknown)),
    }
    for _ in range(9):
        refusal(lambda: node.claim_handoff(expired))
    said["tooManyAttempts"] = refusal(lambda: node.claim_handoff(expired))
    assert {code: error.code for code, error in said.items()} == {code: code for code in said}
    english = {code: explain(translator("en"), error) for code, error in said.items()}
    assert english == {
        "handoffExpired": "That code has expired: show a new one from your phone",
        "handoffUsed": "That code was used already: show a new one from your phone",
        "cartHandedOff": "This cart was taken over by a checkout kiosk: carry on there",
        "handoffNotFound": "No cart has that code: check the code on your phone",
        "tooManyAttempts": "Too many tries: please wait a moment",
    }
    chinese = {code: explain(translator("zh-TW"), error) for code, error in said.items()}
    assert chinese["handoffExpired"] == "這個代碼已過期，請在手機上重新產生"
    assert chinese["cartHandedOff"] == "這個購物車已轉到結帳機，請在結帳機上繼續"
    assert len(set(chinese.values())) == 5
