"""Taking a phone's cart at the kiosk, the view-models against a real node through the real client: a cart
built elsewhere (as the phone does, through ``NodeClient``) handed off, its code typed or scanned at the
kiosk, paid, and its receipt code; the refusals in words, the keypad cleared; the kiosk's own cart replaced
only after a yes; a node that does not answer."""

from kiosk_ui.hardware.payment import SimulatedTerminal
from kiosk_ui.i18n import translator
from kiosk_ui.viewmodels.kiosk import Kiosk
from kiosk_ui.viewmodels.problems import explain
from kiosk_ui.viewmodels.receipt import receipt_of
from node_client import NodeClient
from plumbing import free_port
from tests.conftest import FakeClock

ZH = translator("zh-TW")


def phone_code(node: NodeClient, *items: tuple[str, int]) -> str:
    """A cart built as the phone builds it, handed off: the code the phone shows."""
    cart = node.create_cart(items)
    return node.hand_off_cart(cart.cart_id).code


def refusal(kiosk: Kiosk) -> str:
    assert kiosk.phone_cart.refusal is not None
    return explain(ZH, kiosk.phone_cart.refusal)


def test_a_typed_code_takes_the_phone_cart_which_pays_with_a_receipt_code(kiosk: Kiosk, node: NodeClient):
    code = phone_code(node, ("latte-1", 2), ("pineapple-cake-2", 1))
    phone = kiosk.phone_cart
    for digit in "x" + code + "9":  # not a digit, then the code, then one too many: both ignored
        phone.press(digit)
    assert phone.code == code
    assert phone.complete
    assert not phone.must_confirm(code)  # the kiosk's cart is empty: nothing to replace
    assert phone.claim(code)
    assert phone.code == ""
    assert phone.refusal is None
    cart = kiosk.cart.cart
    assert cart is not None
    assert sorted((i.variant_id, i.quantity) for i in cart.items) == [("latte-1", 2), ("pineapple-cake-2", 1)]
    assert kiosk.cart.count == 3
    payment = kiosk.new_payment()
    payment.pay_cash()
    payment.tender_note(1000)
    order = payment.confirm_cash()
    code_printed = payment.fetch_receipt_code()
    assert code_printed is not None
    assert len(code_printed) == 9
    assert code_printed[4] == "-"
    access = node.receipt_access(kiosk.cart.cart_id or "")
    assert access.order_id == order.order_id
    assert code_printed.replace("-", "") == access.receipt_token
    receipt = receipt_of(order, ZH, tendered=1000, receipt_code=code_printed)
    assert f"收據代碼 Receipt code: {code_printed}" in receipt.footer
    assert "手機可透過藍牙用此代碼取得這張收據" in receipt.footer
    english = receipt_of(order, translator("en"), receipt_code=code_printed)
    assert f"Receipt code: {code_printed}" in english.footer
    assert not any(
        "Receipt code" in line for line in receipt_of(order, ZH).footer
    )  # none given: none printed


def test_a_scanned_code_is_taken_and_a_refused_one_not_sent_again(kiosk: Kiosk, node: NodeClient):
    code = phone_code(node, ("latte-1", 1))
    phone = kiosk.phone_cart
    assert phone.scanned(code)
    assert phone.code == code
    assert phone.claim(code, scanned=True)
    kiosk.end_session()
    # The same QR, still in view at the next kiosk: used now, said so once, not sent again.
    assert phone.scanned(code)
    assert not phone.claim(code, scanned=True)
    assert refusal(kiosk) == "這個代碼已經用過，請在手機上重新產生"
    assert phone.code == ""
    assert not phone.scanned(code)
    other = phone_code(node, ("latte-1", 1))
    assert phone.scanned(other)  # another phone's QR is tried
    assert phone.refusal is None


def test_wrong_and_expired_codes_say_so_and_clear_the_keypad(
    kiosk: Kiosk, node: NodeClient, clock: FakeClock
):
    code = phone_code(node, ("latte-1", 1))
    phone = kiosk.phone_cart
    wrong = "000000" if code != "000000" else "000001"
    for digit in wrong:
        phone.press(digit)
    assert not phone.claim(phone.code)
    assert refusal(kiosk) == "找不到這個代碼的購物車，請確認手機上的代碼"
    assert explain(translator("en"), phone.refusal or Exception()) == (
        "No cart has that code: check the code on your phone"
    )
    assert phone.code == ""
    phone.press("1")
    assert phone.refusal is None  # typing again clears the sentence
    phone.clear()
    clock.advance(seconds=601)  # the node's hand-off codes last 10 minutes
    assert not phone.claim(code)
    assert refusal(kiosk) == "這個代碼已過期，請在手機上重新產生"
    assert kiosk.cart.cart is None


def test_too_many_wrong_codes_are_refused_for_a_while(kiosk: Kiosk, node: NodeClient):
    phone = kiosk.phone_cart
    said = set()
    for n in range(12):
        assert not phone.claim(str(900_000 + n))
        said.add(refusal(kiosk))
    assert "嘗試太多次，請稍候再試" in said


def test_the_kiosk_cart_is_replaced_only_after_a_yes(kiosk: Kiosk, node: NodeClient):
    kiosk.cart.add("pineapple-cake-2")
    own = kiosk.cart.cart_id
    code = phone_code(node, ("latte-1", 3))
    phone = kiosk.phone_cart
    assert phone.must_confirm(code)
    assert phone.confirming == code
    assert not phone.scanned(code)  # the same QR while the question is asked: asked once
    phone.keep_own_cart()
    assert phone.confirming is None
    assert kiosk.cart.cart_id == own
    assert phone.must_confirm(code)
    assert phone.claim(code)  # "use my phone's cart": the code was left unused by "keep"
    assert kiosk.cart.cart_id != own
    assert kiosk.cart.cart is not None
    assert [(i.variant_id, i.quantity) for i in kiosk.cart.cart.items] == [("latte-1", 3)]


def test_a_node_that_does_not_answer_is_said_and_the_receipt_goes_without_a_code(
    kiosk: Kiosk, clock: FakeClock
):
    kiosk.cart.add("latte-1")
    payment = kiosk.new_payment()
    payment.pay_cash()
    payment.tender_note(500)
    order = payment.confirm_cash()
    with NodeClient(f"http://127.0.0.1:{free_port()}/api/v1", retries=0, timeout=1) as gone:
        payment.node = gone  # the node went away after the sale
        assert payment.fetch_receipt_code() is None
        assert not any("收據代碼" in line for line in receipt_of(order, ZH).footer)
        away = Kiosk(node=gone, terminal=SimulatedTerminal(), printer=None, now=clock)
        for digit in "123456":
            away.phone_cart.press(digit)
        assert not away.phone_cart.claim(away.phone_cart.code)
        assert refusal(away) == ZH("problem.unreachable")
        assert away.phone_cart.code == ""


def test_a_code_being_claimed_is_not_taken_from_the_camera_again(kiosk: Kiosk, node: NodeClient):
    code = phone_code(node, ("latte-1", 1))
    phone = kiosk.phone_cart
    seen: list[bool] = []

    class Slow:
        """The node, while the claim is on its way: the camera's look that was under way finds the code."""

        def __getattr__(self, name):
            return getattr(node, name)

        def claim_handoff(self, claimed: str):
            seen.append(phone.scanned(claimed))
            return node.claim_handoff(claimed)

    phone.node = Slow()
    assert phone.claim(code)
    assert seen == [False]
