"""Taking a cart from a phone, in the real kiosk window under Xvfb against a real node: the entry on the
attract and browse screens, the hand-off code typed on the keypad or its QR code seen by the camera, the
phone's cart on the cart screen, paid as usual, and the receipt's code for the phone."""

import io
from pathlib import Path

import segno
from PIL import Image

from models.node_api import handoff_qr
from node_client import NodeClient
from tests.edge.conftest import EdgeServer
from tests.edge.helpers import as_staff
from tests.kiosk.conftest import run_kiosk


def test_the_phone_cart_screen_opens_from_attract_and_browse(display: str, edge: EdgeServer, tmp_path: Path):
    seen = run_kiosk(
        display,
        {
            "edgeUrl": edge.base_url,
            "size": [800, 480],
            "steps": [
                {"screen": "attract"},
                {"texts": "attract"},
                {"tap": "phoneCart"},
                {"screen": "phone-cart"},
                *[{"tap": f"digit:{k}"} for k in "0429"],
                {"tap": "backspace"},
                {"texts": "typed"},
                {"shot": "phone-cart.png"},
                {"tap": "back"},
                {"screen": "attract"},
                {"tap": "start"},
                {"screen": "browse"},
                {"texts": "browse"},
                {"tap": "phoneCart"},
                {"screen": "phone-cart"},
                {"tap": "back"},
                {"screen": "browse"},
            ],
        },
        tmp_path / "run",
    )
    texts = seen["texts"]
    assert "從手機取購物車" in texts["attract"]
    assert "從手機取購物車" in texts["browse"]
    assert "0 4 2 _ _ _" in texts["typed"]
    assert "輸入手機上顯示的 6 位數代碼" in texts["typed"]  # no camera at this kiosk


def handed_off(edge: EdgeServer, *items: tuple[str, int]) -> str:
    """A cart built as the phone builds it, through the node's client, handed off: the phone's code."""
    with NodeClient(edge.base_url) as phone:
        cart = phone.create_cart(items)
        return phone.hand_off_cart(cart.cart_id).code


def test_a_typed_hand_off_code_brings_the_phone_cart_to_pay_and_the_receipt_code(
    display: str, edge: EdgeServer, tmp_path: Path
):
    code = handed_off(edge, ("latte-1", 2))
    wrong = "000000" if code != "000000" else "111111"
    printer = tmp_path / "printer.bin"
    seen = run_kiosk(
        display,
        {
            "edgeUrl": edge.base_url,
            "size": [800, 480],
            "printer": f"file:{printer}",
            "steps": [
                {"screen": "attract"},
                {"tap": "phoneCart"},
                {"screen": "phone-cart"},
                *[{"tap": f"digit:{k}"} for k in wrong],
                {"screen": "phone-cart"},
                {"texts": "wrong"},
                *[{"tap": f"digit:{k}"} for k in code],
                {"screen": "cart"},
                {"texts": "cart"},
                {"tap": "pay"},
                {"screen": "pay"},
                {"tap": "cash"},
                {"tap": "note:500"},
                {"tap": "confirmCash"},
                {"screen": "receipt"},
                {"see": "receiptCode"},
                {"texts": "receipt"},
                {"shot": "receipt.png"},
                {"tap": "done"},
                {"screen": "attract"},
            ],
        },
        tmp_path / "run",
    )
    texts = seen["texts"]
    assert "找不到這個代碼的購物車，請確認手機上的代碼" in texts["wrong"]
    assert "_ _ _ _ _ _" in texts["wrong"]  # the keypad cleared for another try
    assert any("拿鐵" in t for t in texts["cart"])
    assert "合計 NT$130" in texts["cart"]  # 2 x NT$65
    orders = edge.client.get("/orders", headers=as_staff(edge.client, edge.settings)).json()["items"]
    assert len(orders) == 1
    shown = [t for t in texts["receipt"] if t.startswith("收據代碼 Receipt code: ")]
    assert len(shown) == 1
    printed = shown[0]
    token = printed.removeprefix("收據代碼 Receipt code: ")
    assert len(token) == 9
    assert token[4] == "-"
    # The code on the receipt is the one the node fetches this order's receipt with (as the phone will).
    receipt = edge.client.get(f"/receipts/{orders[0]['orderId']}", params={"token": token})
    assert receipt.status_code == 200
    assert "手機可透過藍牙用此代碼取得這張收據" in texts["receipt"]
    assert printed.encode("big5") in printer.read_bytes()


def test_the_camera_reads_the_phone_qr_and_the_kiosk_cart_is_replaced_after_a_yes(
    display: str, edge: EdgeServer, tmp_path: Path
):
    code = handed_off(edge, ("pineapple-cake-2", 1))
    camera = tmp_path / "camera"
    camera.mkdir()
    frame = Image.new("RGB", (640, 480), (150, 150, 150))
    qr = io.BytesIO()
    segno.make(handoff_qr(code), error="m").save(qr, kind="png", scale=6, border=4)
    frame.paste(Image.open(qr).rotate(12, expand=True, fillcolor="white"), (200, 100))
    frame.save(camera / "phone.jpg", quality=85)
    seen = run_kiosk(
        display,
        {
            "edgeUrl": edge.base_url,
            "size": [1280, 800],
            "locale": "en",
            "camera": str(camera),
            "steps": [
                {"screen": "attract"},
                {"tap": "start"},
                {"screen": "browse"},
                {"tap": "product:latte"},
                {"screen": "product"},
                {"tap": "add"},
                {"screen": "browse"},
                {"tap": "phoneCart"},
                {"screen": "phone-cart"},
                {"see": "usePhoneCart"},  # the camera saw the QR; the kiosk's own cart is not empty
                {"texts": "confirm"},
                {"tap": "usePhoneCart"},
                {"screen": "cart"},
                {"texts": "cart"},
            ],
        },
        tmp_path / "run",
    )
    texts = seen["texts"]
    assert any("Replace it with your phone's cart?" in t for t in texts["confirm"])
    assert any("Pineapple cake" in t for t in texts["cart"])
    assert not any("Caffè latte" in t for t in texts["cart"])
