"""The sellers' dashboard in a real browser (Debian's Chromium driven by Playwright) against the real app.

One seller's first day: sign up, log in, open two shops, add a product with two variants and a photo, see it
listed; an order arrives from a store and the bell counts it without a reload; the order is moved through its
states with the buttons; the pages switch to English. Screenshots of the main pages go to docs/screenshots/.
"""

import io
import itertools
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Browser, Page, expect, sync_playwright

from cloud import footfall
from models.footfall import Direction, FootfallEvent, FootfallSource
from models.ids import new_id
from models.order_states import OrderStatus
from models.sales import Channel, PaymentMethod
from tests.cloud.conftest import CloudServer, ingest, sale

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Screenshots are always taken (so that path is exercised); they land in docs/screenshots/ only when asked:
#   EDGESTORE_SCREENSHOTS_DIR=docs/screenshots .venv/bin/python -m pytest tests/cloud/test_dashboard_browser.py
SCREENSHOTS_ENV = "EDGESTORE_SCREENSHOTS_DIR"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@contextmanager
def chromium() -> Iterator[Browser]:
    """The system's Chromium, headless, closed afterwards: every browser test's."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def desk_page(browser: Browser, locale: str = "zh-TW") -> Page:
    """A page in a new context (its own cookies) as a seller at a desk in Taiwan sees it."""
    page = browser.new_context(viewport=DESKTOP, locale=locale, timezone_id="Asia/Taipei").new_page()
    page.set_default_timeout(15_000)
    return page


def log_in(page: Page, root: str, account: str, password: str) -> None:
    """Through the login page; the dashboard opens."""
    page.goto(root + "/login")
    page.fill("input[name=account]", account)
    page.fill("input[name=password]", password)
    page.get_by_role("button", name="登入").click()
    expect(page).to_have_url(root + "/dashboard")


def tea_photo(path: Path) -> Path:
    """A small PNG that looks like something: a cup on a warm background."""
    image = Image.new("RGB", (640, 480), (244, 226, 198))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 360, 640, 480), fill=(170, 120, 80))
    draw.ellipse((200, 150, 440, 390), fill=(250, 250, 245))
    draw.ellipse((230, 170, 410, 250), fill=(140, 160, 60))
    draw.arc((400, 220, 490, 320), start=-90, end=90, fill=(250, 250, 245), width=18)
    out = io.BytesIO()
    image.save(out, "PNG")
    path.write_bytes(out.getvalue())
    return path


def api_for(server: CloudServer, page: Page) -> httpx.Client:
    """The API, as the seller signed in on ``page`` (the same session token)."""
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "edgestore_session")
    return httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def seed_history(server: CloudServer, api: httpx.Client, stores: list[str], tea: dict) -> None:
    """Two weeks of sales at both shops, a few more products and door counts, so the charts have a shape."""
    more = []
    for name, en, price, cat in [
        ("阿里山高山茶", "Alishan high-mountain tea", 680, "tea"),
        ("手沖咖啡豆 半磅", "Pour-over coffee beans 227 g", 420, "coffee"),
        ("鳳梨酥禮盒", "Pineapple cake gift box", 360, None),
    ]:
        body = {"name": name, "nameEn": en, "price": price, "categoryId": "drinks" if cat else "souvenirs"}
        if cat:
            body["subCategoryId"] = cat
        r = api.post("/products", json=body)
        assert r.status_code == 201, r.text
        more.append(r.json())
    products = [tea, *more]
    for store_id in stores:
        for p in products:
            for v in p["variants"]:
                r = api.post(
                    f"/stores/{store_id}/stock/adjustments",
                    json={"variantId": v["variantId"], "kind": "restock", "quantity": 60},
                )
                assert r.status_code == 201, r.text
    now = server.clock()
    pattern = itertools.cycle([3, 5, 2, 6, 4, 7, 3, 8, 5, 4])
    events = []
    for days_ago in range(13, 0, -1):
        at = now - timedelta(days=days_ago, hours=2)
        for s, store_id in enumerate(stores):
            orders = next(pattern) // (s + 1) + 1
            for k in range(orders):
                product = products[(days_ago + k + s) % len(products)]
                lines = [(0, 1 + (k + days_ago) % 3)]
                ingest(server, sale(store_id, product, lines, at + timedelta(minutes=7 * k)))
            visitors = orders * (6 + (days_ago + s) % 5)
            events += [
                FootfallEvent(
                    event_id=new_id(),
                    store_id=store_id,
                    device_id="door-1",
                    occurred_at=at - timedelta(minutes=i),
                    direction=Direction.IN,
                    source=FootfallSource.FUSED,
                )
                for i in range(visitors)
            ]
    with server.cloud.db.transaction() as conn:
        footfall.ingest_footfall(conn, events)
    api.post("/notifications/read-all")


def shot(page: Page, folder: Path, name: str, *, full_page: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=full_page)


def test_a_sellers_first_day_in_the_browser(cloud_server: CloudServer, tmp_path: Path):
    shots = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path / "screenshots")
    root = f"http://127.0.0.1:{cloud_server.settings.cloud_port}"
    with chromium() as browser:
        page = desk_page(browser)
        context = page.context
        console_errors: list[str] = []
        page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
        failed: list[str] = []
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)

        # sign up, log in
        page.goto(root + "/")
        expect(page).to_have_url(re.compile(r"/login$"))
        page.get_by_role("link", name="註冊賣家").click()
        page.fill("input[name=account]", "tea.house")
        page.fill("input[name=name]", "山嵐茶行")
        page.fill("input[name=password]", "correct horse 1")
        page.fill("input[name=password2]", "correct horse 1")
        page.get_by_role("button", name="建立帳號").click()
        expect(page.locator(".flash.ok")).to_have_text("註冊完成，請登入。")
        expect(page.locator("input[name=account]")).to_have_value("tea.house")
        page.fill("input[name=password]", "correct horse 1")
        page.get_by_role("button", name="登入").click()
        expect(page).to_have_url(root + "/dashboard")
        expect(page.locator(".mainnav .who")).to_have_text("山嵐茶行")

        # two shops
        stores = []
        for name, address in [
            ("信義旗艦店", "台北市信義區松高路 11 號"),
            ("台中勤美店", "台中市西區公益路 68 號"),
        ]:
            page.goto(root + "/stores")
            page.fill("#new-name", name)
            page.fill("#new-address", address)
            page.fill("#new-opening_hours", "每日 11:00–21:30")
            page.get_by_role("button", name="建立商店", exact=True).last.click()
            expect(page.locator(".flash.ok")).to_have_text("商店已建立。")
            expect(page.locator("#store-list")).to_contain_text(name)
            stores.append(page.locator("#store-list > li").last.get_attribute("id").removeprefix("store-"))

        # a product with two variants and a photo
        page.goto(root + "/products")
        page.click("#new-product")
        page.fill("#f-name", "凍頂烏龍茶")
        page.fill("#f-name_en", "Dong Ding oolong tea")
        page.fill("#f-description", "南投鹿谷的凍頂烏龍，焙火香氣、回甘。")
        page.select_option("#f-category", "drinks")
        page.select_option("#f-sub-category", "tea")
        expect(page.locator("#phone-hint")).to_be_hidden()
        rows = page.locator("#variant-rows .variant-row")
        expect(rows).to_have_count(1)
        rows.nth(0).locator("input[name=variant_name]").fill("150g 罐裝")
        rows.nth(0).locator("input[name=variant_price]").fill("450")
        rows.nth(0).locator("input[name=variant_barcode]").fill("4710000000011")
        page.click("#add-variant")
        expect(rows).to_have_count(2)
        rows.nth(1).locator("input[name=variant_name]").fill("300g 禮盒")
        rows.nth(1).locator("input[name=variant_price]").fill("820")
        rows.nth(1).locator("input[name=variant_barcode]").fill("4710000000028")
        rows.nth(0).locator("input[name=variant_sku]").fill("DD-150")
        rows.nth(1).locator("input[name=variant_sku]").fill("DD-300")
        # attributes: the blank row, then one more from the button
        attributes = page.locator("#attribute-rows .attribute-row")
        expect(attributes).to_have_count(1)
        attributes.nth(0).locator("input[name=attr_name]").fill("產地")
        attributes.nth(0).locator("input[name=attr_value]").fill("南投鹿谷")
        page.click("#add-attribute")
        attributes.nth(1).locator("input[name=attr_name]").fill("焙火")
        attributes.nth(1).locator("input[name=attr_value]").fill("中焙火")
        page.click("#add-variant")  # one too many: remove it again
        expect(rows).to_have_count(3)
        rows.nth(2).locator(".remove-variant").click()
        expect(rows).to_have_count(2)
        expect(rows.nth(0).locator("input[type=radio]")).to_be_checked()
        page.check("#f-ship-convenienceStore")
        page.fill("#f-fee-convenienceStore", "60")
        # phones need brand and condition: the form says so while a phone category is chosen
        page.select_option("#f-category", "electronics")
        page.select_option("#f-sub-category", "phones")
        expect(page.locator("#phone-hint")).to_be_visible()
        page.select_option("#f-category", "drinks")
        page.select_option("#f-sub-category", "tea")
        page.click("#save-product")
        expect(page.locator(".flash.ok")).to_contain_text("商品已建立")
        product_id = page.url.split("/products/")[1].split("?")[0]
        page.set_input_files("input[name=image]", str(tea_photo(tmp_path / "tea.png")))
        page.locator("#image-upload button[type=submit]").click()
        expect(page.locator(".flash.ok")).to_have_text("圖片已上傳。")
        thumb = page.locator("#gallery img").first
        expect(thumb).to_be_visible()
        # visible is not yet decoded (the thumbnail loads lazily): wait for the picture itself
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
        page.locator("#variants").evaluate("e => window.scrollTo(0, e.offsetTop - 120)")
        shot(page, shots, "product-editor")

        page.goto(root + "/products")
        card = page.locator("#product-list .product-card", has_text="凍頂烏龍茶")
        expect(card).to_contain_text("NT$450")
        expect(card).to_contain_text("2 種規格")
        expect(card.locator("img")).to_be_visible()

        with api_for(cloud_server, page) as api:
            tea = api.get(f"/products/{product_id}").json()
            assert [v["name"] for v in tea["variants"]] == ["150g 罐裝", "300g 禮盒"]
            assert [v["sku"] for v in tea["variants"]] == ["DD-150", "DD-300"]
            assert tea["attributes"] == {"產地": "南投鹿谷", "焙火": "中焙火"}
            seed_history(cloud_server, api, stores, tea)

        # the dashboard, the bell ringing live
        page.goto(root + "/dashboard")
        expect(page.locator("#chart-daily rect").first).to_be_attached()
        expect(page.locator("#top-products")).to_contain_text("凍頂烏龍茶")
        expect(page.locator("#bell-count")).to_be_hidden()
        page.wait_for_timeout(500)  # let the stream connect
        page.evaluate("window.__stillThisPage = true")
        order = sale(stores[0], tea, [(1, 2)], cloud_server.clock())
        online = order.model_copy(
            update={"status": OrderStatus.UNPAID, "channel": Channel.ONLINE, "payments": []}
        )
        assert ingest(cloud_server, online)
        expect(page.locator("#bell-count")).to_have_text("1")
        expect(page.locator("#bell-count")).to_be_visible()
        expect(page.locator("#toast")).to_contain_text("新訂單 NT$1,640")
        assert page.evaluate("window.__stillThisPage") is True  # no reload happened
        page.reload()
        shot(page, shots, "dashboard")

        # the order through its states, with the buttons
        page.goto(root + "/orders")
        card = page.locator(f"#order-{online.order_id}")
        expect(card.locator("[data-role=status]")).to_have_text("尚未付款")
        page.evaluate("window.__stillThisPage = true")
        for action, status in [("toShip", "待出貨"), ("shipping", "運送中"), ("completed", "已完成")]:
            card.locator(f"button[value={action}]").click()
            expect(card.locator("[data-role=status]")).to_have_text(status)
            if action == "toShip":
                shot(page, shots, "orders")
        # completed: refund and return are next, on the order's own page, not as buttons of the list
        expect(card.locator("button")).to_have_count(0)
        expect(page.locator("#after-sale-hint")).to_have_text("退款、退貨請在訂單詳情頁辦理。")
        assert page.evaluate("window.__stillThisPage") is True  # htmx redrew the card only

        # the order's page: items, payments, history; a refund behind a confirmation
        card.get_by_role("link", name=f"#{online.order_id[-8:]}").click()
        expect(page).to_have_url(root + f"/orders/{online.order_id}")
        expect(page.locator("#order-items")).to_contain_text("300g 禮盒")
        expect(page.locator("#order-events")).to_contain_text("運送中 → 已完成")
        expect(page.locator("#order-events")).to_contain_text("賣家")
        expect(page.locator("#confirm")).to_have_count(0)
        page.locator("#order-actions").get_by_role("link", name="退款").click()
        expect(page.locator("#confirm-question")).to_have_text("確定要將這筆訂單從「已完成」改為「退款」嗎？")
        page.fill("#confirm-note", "買家不滿意口味，全額退款")
        page.click("#confirm-cancel")  # changing one's mind changes nothing
        expect(page.locator("#confirm")).to_have_count(0)
        expect(page.locator("#order-status")).to_have_text("已完成")
        page.locator("#order-actions").get_by_role("link", name="退款").click()
        page.fill("#confirm-note", "買家不滿意口味，全額退款")
        page.click("#confirm-submit")
        expect(page.locator(".flash.ok")).to_have_text("訂單狀態已更新。")
        expect(page.locator("#order-status")).to_have_text("退款")
        expect(page.locator("#order-events")).to_contain_text("已完成 → 退款")
        expect(page.locator("#order-events")).to_contain_text("買家不滿意口味，全額退款")
        expect(page.locator("#order-actions")).to_contain_text("這筆訂單已結案")

        # the bell's list
        page.goto(root + "/notifications")
        first = page.locator("#notification-list .notification").first
        expect(first).to_contain_text("新訂單 NT$1,640")
        shot(page, shots, "notifications")
        first.get_by_role("button", name="標為已讀").click()
        expect(first).to_contain_text("已讀")
        expect(page.locator("#bell-count")).to_be_hidden()

        # a sale at the counter, paid by card: its page, with a return being confirmed
        counter = sale(stores[0], tea, [(0, 2), (1, 1)], cloud_server.clock() - timedelta(hours=3))
        card_payment = counter.payments[0].model_copy(update={"method": PaymentMethod.CARD})
        assert ingest(cloud_server, counter.model_copy(update={"payments": [card_payment]}))
        page.goto(root + f"/orders/{counter.order_id}")
        expect(page.locator("#order-payments")).to_contain_text("信用卡")
        expect(page.locator("#order-events")).to_contain_text("門市 · 信義旗艦店")
        page.locator("#order-actions").get_by_role("link", name="退貨").click()
        expect(page.locator("#confirm")).to_contain_text("商品會回補到「信義旗艦店」的庫存。")
        page.fill("#confirm-note", "包裝破損，買家退回")
        page.evaluate("window.scrollTo(0, 0)")
        shot(page, shots, "order-detail", full_page=True)

        # marketing: discounts made, refused with a reason, and deleted behind the browser's confirm
        page.locator(".mainnav").get_by_role("link", name="行銷").click()
        expect(page).to_have_url(root + "/discounts")
        for name, percent, target, ends in [
            ("烏龍茶 85 折", "15", f"p:{product_id}", "2026-12-31"),
            ("全館 95 折", "5", "", ""),
            ("太多了", "150", "", ""),
            ("週末限定 9 折", "10", "", "2026-12-20"),
        ]:
            page.fill("#new-name", name)
            page.fill("#new-percent", percent)
            page.select_option("#new-target", target)
            page.fill("#new-ends", ends)
            page.click("#create-discount")
            if percent == "150":
                expect(page.locator("#form-errors")).to_contain_text("折扣：數值太大")
                expect(page.locator("#new-name")).to_have_value("太多了")  # kept, to fix
                # the refusal itself is expected, and Chromium logs every 4xx page as a console error
                failed.remove(f"422 {root}/discounts")
                console_errors[:] = [e for e in console_errors if "status of 422" not in e]
            else:
                expect(page.locator(".flash.ok")).to_have_text("折扣已建立。")
        items = page.locator("#discount-list > li")
        expect(items).to_have_count(3)
        weekend = items.filter(has_text="週末限定 9 折")
        page.once("dialog", lambda dialog: dialog.accept())
        weekend.locator("summary").click()
        weekend.get_by_role("button", name="刪除折扣").click()
        expect(page.locator(".flash.ok")).to_have_text("折扣已刪除。")
        expect(items).to_have_count(2)
        tea_sale = items.filter(has_text="烏龍茶 85 折")
        expect(tea_sale).to_contain_text("凍頂烏龍茶（所有規格）")
        expect(tea_sale).to_contain_text("85 折")
        expect(tea_sale).to_contain_text("至 2026-12-31")
        shot(page, shots, "discounts")
        tea_sale.locator("summary").click()  # its edit form opens in place
        expect(tea_sale.locator("input[name=percent]")).to_have_value("15")

        # coupons
        page.locator("nav.tabs").get_by_role("link", name="優惠碼").click()
        for code, kind, value, minimum, uses in [
            ("WELCOME100", "amount", "100", "1000", "1"),
            ("TEA10", "percent", "10", "0", ""),
        ]:
            page.fill("#new-code", code)
            page.locator(f"input[name=coupon_kind][value={kind}]").check(force=True)
            page.fill("#new-value", value)
            page.fill("#new-min_spend", minimum)
            page.fill("#new-max_uses", uses)
            page.click("#create-coupon")
            expect(page.locator(".flash.ok")).to_have_text("優惠碼已建立。")
        coupons = page.locator("#coupon-list > li")
        expect(coupons).to_have_count(2)
        expect(coupons.filter(has_text="WELCOME100")).to_contain_text("限用一次")
        expect(coupons.filter(has_text="TEA10")).to_contain_text("9 折")
        shot(page, shots, "coupons")

        # the seller's profile, from the name in the menu; the shop settings under it
        page.locator(".mainnav .who").click()
        expect(page).to_have_url(root + "/profile")
        page.fill("#p-phone", "02-2722-1100")
        page.fill("#p-address", "台北市信義區松高路 11 號 3 樓")
        page.click("#save-profile")
        expect(page.locator(".flash.ok")).to_have_text("賣家資料已儲存。")
        expect(page.locator("#p-phone")).to_have_value("02-2722-1100")
        expect(page.locator("#shop-settings > li")).to_have_count(2)
        shot(page, shots, "profile")
        page.locator("#shop-settings > li", has_text="台中勤美店").get_by_role("link", name="編輯").click()
        expect(page.locator("#store-list details[open]")).to_contain_text("台中勤美店")

        page.goto(root + "/stores")
        shot(page, shots, "stores")
        page.goto(root + "/products")
        shot(page, shots, "products")
        page.goto(root + f"/stock?store={stores[0]}")
        expect(page.locator("#stock-table")).to_contain_text("凍頂烏龍茶")
        shot(page, shots, "stock")

        # English
        page.goto(root + "/dashboard")
        page.click("#lang-en")
        expect(page).to_have_url(root + "/dashboard")
        expect(page.locator("h1")).to_have_text("Sales overview")
        expect(page.locator(".mainnav")).to_contain_text("Orders")
        expect(page.locator("#chart-daily > title")).to_have_text("Revenue per day")
        shot(page, shots, "dashboard-en")
        page.click("#lang-zh")
        expect(page.locator("h1")).to_have_text("銷售總覽")
        page.click("#theme-toggle")  # the optional light theme, remembered in a cookie
        expect(page.locator("html")).to_have_attribute("data-theme", "light")
        shot(page, shots, "dashboard-light")
        page.click("#theme-toggle")
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")

        # the phone-sized dashboard
        phone = browser.new_context(
            viewport=PHONE,
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale="zh-TW",
            storage_state=context.storage_state(),
        )
        small = phone.new_page()
        small.goto(root + "/dashboard")
        expect(small.locator("#kpi-revenue")).to_be_visible()
        width = small.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], "the phone layout scrolls sideways"
        shot(small, shots, "dashboard-phone")
        for path in (
            f"/orders/{counter.order_id}?confirm=returned",
            "/discounts",
            "/coupons",
            "/profile",
        ):
            small.goto(root + path)
            width = small.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} scrolls sideways on a phone"
        phone.close()
        assert not failed, failed
        assert not console_errors, console_errors
