"""The kiosk in a real Kivy window under Xvfb, driven by touches against a real node: a shopper's whole
way from the attract screen to the receipt, and what the screens say on the way."""

import threading
import time
from pathlib import Path

from PIL import Image

from edge.demo_catalog import demo_catalog
from edge.settings import EdgeSettings
from models.staff import StaffRole
from plumbing import free_port, wait_until
from tests.conftest import FakeClock
from tests.edge.conftest import EdgeServer, load_catalog, start_server
from tests.edge.helpers import add_staff, as_staff
from tests.kiosk.conftest import run_kiosk

# A shopper from the attract screen to the pay screen with a latte in the cart and a NT$100 note given.
LATTE_TO_CASH_NOTE: list[dict[str, object]] = [
    {"screen": "attract"},
    {"tap": "start"},
    {"screen": "browse"},
    {"tap": "product:latte"},
    {"screen": "product"},
    {"tap": "add"},
    {"screen": "browse"},
    {"tap": "cart"},
    {"screen": "cart"},
    {"tap": "pay"},
    {"screen": "pay"},
    {"tap": "cash"},
    {"tap": "note:100"},
]


def test_a_shopper_buys_with_cash_from_touch_to_receipt(display: str, edge: EdgeServer, tmp_path: Path):
    printer = tmp_path / "printer.bin"
    seen = run_kiosk(
        display,
        {
            "edgeUrl": edge.base_url,
            "size": [800, 480],
            "printer": f"file:{printer}",
            "steps": [
                {"screen": "attract"},
                {"texts": "attract"},
                {"tap": "start"},
                {"screen": "browse"},
                {"tap": "category:souvenirs"},
                {"screen": "browse"},
                {"texts": "souvenirs"},
                {"tap": "keyboard"},
                *[{"tap": f"key:{k}"} for k in "ㄈㄌㄙ"],  # 鳳梨酥's Zhuyin initials, no input method
                {"screen": "browse"},
                {"texts": "search"},
                {"tap": "keyboard"},
                {"tap": "product:pineapple-cake"},
                {"screen": "product"},
                {"tap": "variant:pineapple-cake-2"},
                {"tap": "more"},
                {"texts": "product"},
                {"tap": "add"},
                {"screen": "browse"},
                {"tap": "cart"},
                {"screen": "cart"},
                {"tap": "coupon"},
                *[{"tap": f"key:{k}"} for k in "WELCOME100"],
                {"tap": "couponUse"},
                {"texts": "cart"},
                {"tap": "pay"},
                {"screen": "pay"},
                {"tap": "einvoice"},
                {"tap": "einvoice:carrier"},
                *[{"tap": f"key:{k}"} for k in "ABC123"],
                {"tap": "einvoiceConfirm"},
                {"texts": "carrierShort"},
                {"tap": "key:4"},
                {"tap": "einvoiceConfirm"},
                {"texts": "einvoice"},
                {"tap": "cash"},
                {"tap": "note:1000"},
                {"tap": "note:100"},
                {"texts": "cash"},
                {"tap": "confirmCash"},
                {"screen": "receipt"},
                {"texts": "receipt"},
                {"tap": "done"},
                {"screen": "attract"},
            ],
        },
        tmp_path / "run",
    )
    texts = seen["texts"]
    assert "歡迎光臨" in texts["attract"]
    assert any("鳳梨酥" in t for t in texts["souvenirs"])
    assert not any("珍珠奶茶" in t for t in texts["souvenirs"])
    assert any("鳳梨酥" in t for t in texts["search"])
    assert "NT$504（原價 NT$560，10% off）" in texts["product"]
    assert "ㄈㄌㄙ" in texts["search"]
    assert "2" in texts["product"]
    assert "優惠碼 WELCOME100：結帳時折抵" in texts["cart"]
    assert "合計 NT$908" in texts["cart"]  # 2 x 504, less the coupon's 100, quoted by the node
    assert "收您 NT$1,100" in texts["cash"]
    assert "應付 NT$908" in texts["cash"]
    assert "找零 NT$192" in texts["cash"]
    assert "手機條碼為 / 加 7 碼（數字、大寫英文、. + -）" in texts["carrierShort"]
    assert "電子發票：手機條碼 /ABC1234" in texts["einvoice"]
    assert "謝謝光臨！" in texts["receipt"]
    assert "NT$908" in texts["receipt"]
    assert "鳳梨酥".encode("big5") in printer.read_bytes()
    assert "電子發票：手機條碼 /ABC1234".encode("big5") in printer.read_bytes()
    orders = edge.client.get("/orders", headers=as_staff(edge.client, edge.settings)).json()["items"]
    assert [(o["total"], o["einvoice"]) for o in orders] == [(908, {"kind": "carrier", "value": "/ABC1234"})]


def test_a_declined_card_says_so_and_the_next_tap_pays_in_english(
    display: str, edge: EdgeServer, tmp_path: Path
):
    seen = run_kiosk(
        display,
        {
            "edgeUrl": edge.base_url,
            "size": [1280, 800],
            "terminal": ["declined"],
            "steps": [
                {"screen": "attract"},
                {"tap": "language"},
                {"texts": "attract"},
                {"tap": "start"},
                {"screen": "browse"},
                {"tap": "product:latte"},
                {"screen": "product"},
                {"tap": "add"},
                {"screen": "browse"},
                {"texts": "browse"},
                {"tap": "cart"},
                {"screen": "cart"},
                {"tap": "pay"},
                {"screen": "pay"},
                {"tap": "card"},
                {"screen": "pay"},
                {"texts": "declined"},
                {"tap": "card"},
                {"screen": "receipt"},
                {"texts": "receipt"},
            ],
        },
        tmp_path / "run",
    )
    texts = seen["texts"]
    assert "Welcome" in texts["attract"]
    assert "Caffè latte" in texts["browse"]
    assert "Cart 1" in texts["browse"]
    assert "The card was declined: try another way to pay" in texts["declined"]
    assert "Thank you!" in texts["receipt"]
    assert "Caffè latte Medium x1" in texts["receipt"]
    [order] = edge.client.get("/orders", headers=as_staff(edge.client, edge.settings)).json()["items"]
    assert order["payments"][0]["method"] == "card"
    assert order["total"] == 65


def test_the_scan_screen_shows_the_camera_says_what_it_does_not_know_and_goes_back_to_browse(
    display: str, edge: EdgeServer, tmp_path: Path
):
    stills = tmp_path / "stills"
    stills.mkdir()
    Image.new("RGB", (320, 240), "orange").save(stills / "held-up.jpg")
    deadline = time.monotonic() + 60
    while not edge.client.get("/recognition/status").json()["loaded"]:  # the node loads its model
        assert time.monotonic() < deadline
        time.sleep(0.05)
    seen = run_kiosk(
        display,
        {
            "edgeUrl": edge.base_url,
            "size": [800, 480],
            "camera": str(stills),
            "recognize": True,
            "steps": [
                {"screen": "attract"},
                {"tap": "start"},
                {"screen": "browse"},
                {"texts": "browse"},
                {"tap": "scan"},
                {"screen": "scan"},
                {"wait": 1.2},
                {"shot": "scan.png"},
                {"tap": "look"},
                {"wait": 1.0},
                {"texts": "scan"},
                {"tap": "notThis"},
                {"screen": "browse"},
            ],
        },
        tmp_path / "run",
    )
    # the node has a model: the scan button shows; an orange card is no product it knows
    assert "掃描" in seen["texts"]["browse"]
    assert "認不出這件商品：換個角度再試，或改用搜尋" in seen["texts"]["scan"]
    shot = Image.open(tmp_path / "run" / "scan.png").convert("RGB")
    orange = sum(1 for r, g, b in shot.get_flattened_data() if r > 200 and 100 < g < 190 and b < 60)
    assert orange > 10_000  # the camera's still is on the screen


def test_the_node_gone_and_back_the_sale_goes_through_with_its_cart_kept(
    display: str, tmp_path: Path, clock: FakeClock
):
    settings = EdgeSettings(data_dir=tmp_path / "node", port=free_port())
    load_catalog(settings, demo_catalog(now=clock()), clock())
    served = [start_server(settings, clock)]
    out = tmp_path / "run"

    def world() -> None:
        """Kill the node when the kiosk says so, bring it back when it says so."""
        wait_until(lambda: (out / "mark-kill").exists(), timeout_s=120, what="the kiosk's cart")
        served[0].stop(timeout_s=20)
        (out / "done-kill").touch()
        wait_until(lambda: (out / "mark-revive").exists(), timeout_s=120, what="the kiosk's failed payment")
        served[0] = start_server(settings, clock)
        (out / "done-revive").touch()

    helper = threading.Thread(target=world, daemon=True)
    helper.start()
    try:
        seen = run_kiosk(
            display,
            {
                "edgeUrl": f"http://127.0.0.1:{settings.port}/api/v1",
                "size": [800, 480],
                "steps": [
                    *LATTE_TO_CASH_NOTE,
                    {"mark": "kill"},
                    {"await": "kill"},
                    {"wait": 6},  # the next health poll finds nobody
                    {"tap": "confirmCash"},
                    {"screen": "pay"},
                    {"texts": "down"},
                    {"mark": "revive"},
                    {"await": "revive"},
                    {"wait": 6},
                    {"texts": "back"},
                    {"tap": "confirmCash"},
                    {"screen": "receipt"},
                    {"texts": "receipt"},
                ],
            },
            out,
        )
    finally:
        served[0].stop(timeout_s=20)
    texts = seen["texts"]
    assert "結帳系統暫時無法連線，請稍候或洽詢店員" in texts["down"]  # the banner
    assert "暫時無法連線，購物車仍保留，請稍後再試" in texts["down"]  # the payment's own message
    assert "結帳系統暫時無法連線，請稍候或洽詢店員" not in texts["back"]
    assert "謝謝光臨！" in texts["receipt"]
    assert "找零" in texts["receipt"]
    assert "NT$35" in texts["receipt"]  # the change from NT$100 for a NT$65 latte


def test_a_manager_logs_in_finds_the_receipt_and_takes_the_order_back(
    display: str, edge: EdgeServer, tmp_path: Path
):
    add_staff(edge.settings, "BOSS", StaffRole.MANAGER, "2468")
    cart = edge.client.post("/carts", json={"items": [{"variantId": "latte-1", "quantity": 2}]}).json()
    order = edge.client.post(f"/carts/{cart['cartId']}/checkout", json={"paymentMethod": "cash"}).json()
    number = order["orderId"][-6:]
    item = order["items"][0]["itemId"]
    seen = run_kiosk(
        display,
        {
            "edgeUrl": edge.base_url,
            "size": [1280, 800],
            "steps": [
                {"screen": "attract"},
                {"tap": "staff"},
                {"screen": "staff-login"},
                *[{"tap": f"key:{k}"} for k in "BOSS"],
                {"tap": "staffPin"},
                *[{"tap": f"key:{k}"} for k in "2468"],
                {"texts": "login"},
                {"tap": "staffLogin"},
                {"screen": "staff"},
                *[{"tap": f"key:{k}"} for k in number],
                {"tap": "find"},
                {"screen": "staff"},
                {"texts": "found"},
                {"tap": f"take:{item}"},
                {"texts": "taking"},
                {"tap": "returnUnits"},
                {"tap": "confirmUnits"},
                {"screen": "staff"},
                {"texts": "partly"},
                {"tap": "return"},
                {"tap": "confirmReturn"},
                {"screen": "staff"},
                {"texts": "returned"},
                {"tap": "endOfDay"},
                {"screen": "end-of-day"},
                *[{"tap": f"key:{k}"} for k in "2000"],
                {"tap": "counted"},
                *[{"tap": f"key:{k}"} for k in "2000"],
                {"tap": "preview"},
                {"screen": "end-of-day"},
                {"texts": "preview"},
                {"tap": "close"},
                {"tap": "confirmClose"},
                {"screen": "end-of-day"},
                {"texts": "closed"},
                {"tap": "back"},
                {"screen": "staff"},
                {"tap": "staffLogout"},
                {"screen": "attract"},
            ],
        },
        tmp_path / "run",
    )
    texts = seen["texts"]
    assert "密碼：●●●●" in texts["login"]  # the PIN is never shown
    assert "姓名：BOSS" in texts["login"]
    assert "BOSS（店長）" in texts["found"]
    assert f"訂單 {number} · 已完成 · NT$130" in texts["found"]
    assert "退回所選（退款 NT$65）" in texts["taking"]
    assert "拿鐵 中杯 x2　NT$130（已退 1）" in texts["partly"]
    assert f"訂單 {number} · 退貨 · NT$130" in texts["returned"]
    assert "抽屜應有現金" in texts["preview"]
    assert "NT$2,000" in texts["preview"]  # the float: the sale went back at this till, in two refunds
    assert "相符" in texts["preview"]
    assert "已關帳：Z 帳 #1" in texts["closed"]
    staff = as_staff(edge.client, edge.settings)
    back = edge.client.get(f"/orders/{order['orderId']}", headers=staff).json()
    assert back["status"] == "returned"
    [report] = edge.client.get("/end-of-day", headers=staff).json()["items"]
    assert report["closedBy"]["name"] == "BOSS"
    assert report["figures"]["overShort"] == 0


def test_sold_out_while_the_shopper_paid_is_said_in_words_and_nothing_is_sold(
    display: str, edge: EdgeServer, tmp_path: Path
):
    out = tmp_path / "run"

    def another_till() -> None:
        """Another kiosk sells every latte while this shopper is on the pay screen."""
        wait_until(
            lambda: (out / "mark-paying").exists(), timeout_s=120, what="the shopper at the pay screen"
        )
        level = edge.client.get("/catalog/products/latte").json()["variants"][0]["stock"]
        cart = edge.client.post(
            "/carts", json={"items": [{"variantId": "latte-1", "quantity": level}]}
        ).json()
        assert (
            edge.client.post(f"/carts/{cart['cartId']}/checkout", json={"paymentMethod": "cash"}).status_code
            == 201
        )
        (out / "done-paying").touch()

    threading.Thread(target=another_till, daemon=True).start()
    seen = run_kiosk(
        display,
        {
            "edgeUrl": edge.base_url,
            "size": [800, 480],
            "steps": [
                *LATTE_TO_CASH_NOTE,
                {"mark": "paying"},
                {"await": "paying"},
                {"tap": "confirmCash"},
                {"screen": "pay"},
                {"texts": "soldOut"},
            ],
        },
        out,
    )
    assert "庫存不足，請減少數量" in seen["texts"]["soldOut"]
    staff = as_staff(edge.client, edge.settings)
    sold = edge.client.get("/orders", headers=staff).json()["items"]
    assert len(sold) == 1  # the other till's sale only
