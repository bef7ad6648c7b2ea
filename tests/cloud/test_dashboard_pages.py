"""The sellers' web dashboard over plain HTTP (no browser): sign-in, redirects, CSRF, languages, every page
rendering for a signed-in seller, forms and their errors, and other sellers' things being 404."""

import io
import re
from pathlib import Path

import httpx
import pytest
from PIL import Image

from cloud import i18n
from cloud.message_sources import SOURCES
from cloud.web import rendering
from models.order_states import OrderStatus
from models.sales import Channel
from plumbing.i18n import LOCALES, negotiate
from plumbing.message_catalogs import extract, problems
from tests.cloud.conftest import CloudServer, ingest, register_and_login, sale

TEMPLATES = Path(__file__).resolve().parents[2] / "cloud" / "web" / "templates"
PAGES = [
    "/dashboard",
    "/stores",
    "/devices",
    "/products",
    "/products/new",
    "/stock",
    "/orders",
    "/discounts",
    "/coupons",
    "/group-buys",
    "/profile",
    "/z-reports",
    "/team",
    "/notifications",
]


def root_url(server: CloudServer) -> str:
    return f"http://127.0.0.1:{server.settings.cloud_port}"


def browser(server: CloudServer, **headers: str) -> httpx.Client:
    """A client that behaves like a browser without script: cookies kept, redirects not followed."""
    return httpx.Client(base_url=root_url(server), timeout=30, headers=headers)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def signup_and_login(client: httpx.Client, account: str, password: str = "correct horse 1") -> None:
    page = client.get("/signup")
    assert page.status_code == 200
    r = client.post(
        "/signup",
        data={
            "csrf": csrf_of(page.text),
            "account": account,
            "name": f"{account} 小舖",
            "password": password,
            "password2": password,
        },
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith("/login?")
    page = client.get(r.headers["location"])
    assert f'value="{account}"' in page.text  # the account is filled in
    r = client.post("/login", data={"csrf": csrf_of(page.text), "account": account, "password": password})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/dashboard"
    assert client.cookies.get("edgestore_session")


def post_form(client: httpx.Client, page_url: str, action: str, data: dict, **kwargs) -> httpx.Response:
    """Open ``page_url`` for its CSRF token, then post ``data`` to ``action``."""
    token = csrf_of(client.get(page_url).text)
    return client.post(action, data={"csrf": token, **data}, **kwargs)


def create_store(client: httpx.Client, name: str = "信義旗艦店") -> str:
    r = post_form(
        client, "/stores", "/stores", {"name": name, "shop_type": "physical", "address": "台北市信義區"}
    )
    assert r.status_code == 303, r.text
    page = client.get("/stores").text
    assert name in page
    return re.findall(r'action="/stores/([0-9A-Z]{26})"', page)[-1]


def product_form(name: str = "凍頂烏龍茶", **overrides) -> dict:
    data = {
        "name": name,
        "name_en": "Oolong tea",
        "description": "南投鹿谷",
        "category_id": "drinks",
        "sub_category_id": "tea",
        "brand_id": "",
        "condition": "",
        "listed": "on",
        "storage_condition": "ambient",
        "ship_homeDelivery": "on",
        "fee_homeDelivery": "80",
        "returnable": "on",
        "return_days": "7",
        "refundable": "on",
        "refund_note": "未拆封可退",
        "variant_key": ["k1", "k2"],
        "variant_id": ["", ""],
        "variant_name": ["150g", "300g"],
        "variant_name_en": ["150 g", "300 g"],
        "variant_price": ["450", "820"],
        "variant_barcode": ["4710000000011", ""],
        "default_variant": "k1",
    }
    data.update(overrides)
    return data


def create_product(client: httpx.Client, **overrides) -> str:
    r = post_form(client, "/products/new", "/products/new", product_form(**overrides))
    assert r.status_code == 303, r.text
    match = re.fullmatch(r"/products/([0-9A-Z]{26})\?msg=productCreated", r.headers["location"])
    assert match, r.headers["location"]
    return match.group(1)


def png_bytes(size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (255, 122, 69)).save(out, "PNG")
    return out.getvalue()


# --- signing in -----------------------------------------------------------------------------------------


def test_logged_out_pages_redirect_to_login(cloud_server: CloudServer):
    with browser(cloud_server) as c:
        r = c.get("/")
        assert r.status_code == 303
        assert r.headers["location"] == "/login"
        for path in [*PAGES, "/products/01HZZZZZZZZZZZZZZZZZZZZZZZ", "/logout"]:
            r = c.get(path)
            assert r.status_code == 303, path
            assert r.headers["location"].startswith("/login?next="), path
        assert c.get("/orders?status=toShip").headers["location"] == "/login?next=%2Forders%3Fstatus%3DtoShip"
        # a stale cookie is no better than none
        c.cookies.set("edgestore_session", "not-a-token")
        assert c.get("/dashboard").headers["location"].startswith("/login")
        login = c.get("/login")
        assert login.status_code == 200
        assert "text/html" in login.headers["content-type"]
        assert "default-src 'self'" in login.headers["content-security-policy"]


def test_signup_login_logout_and_the_api_sees_the_same_session(cloud_server: CloudServer):
    with browser(cloud_server) as c:
        signup_and_login(c, "web.seller")
        assert c.get("/").headers["location"] == "/dashboard"
        assert c.get("/login").headers["location"] == "/dashboard"  # already signed in
        page = c.get("/dashboard")
        assert page.status_code == 200
        assert "web.seller 小舖" in page.text
        # the page's session is the API's session
        assert c.get("/api/v1/me").json()["account"] == "web.seller"
        r = post_form(c, "/dashboard", "/logout", {})
        assert r.status_code == 303
        assert r.headers["location"] == "/login?msg=loggedOut"
        assert c.get("/dashboard").status_code == 303
        assert c.get("/api/v1/me").status_code == 401


def test_login_redirects_back_to_where_the_seller_was_going_but_never_off_site(cloud_server: CloudServer):
    with cloud_server.client() as api:
        register_and_login(api, "goer", password="password-goer")
    with browser(cloud_server) as c:
        for target, expected in [
            ("/orders?status=toShip", "/orders?status=toShip"),
            ("//evil.example", "/dashboard"),
        ]:
            page = c.get("/login", params={"next": target})
            r = c.post(
                "/login",
                data={
                    "csrf": csrf_of(page.text),
                    "account": "goer",
                    "password": "password-goer",
                    "next": target,
                },
            )
            assert r.headers["location"] == expected
            c.cookies.delete("edgestore_session")


def test_wrong_password_and_the_rate_limit_are_the_apis(cloud_server: CloudServer):
    with cloud_server.client() as api:
        register_and_login(api, "limited", password="the-right-one")
    limit = cloud_server.settings.login_max_failures
    with browser(cloud_server) as c:
        for _ in range(limit):
            r = post_form(c, "/login", "/login", {"account": "limited", "password": "wrong-one"})
            assert r.status_code == 401
            assert "帳號或密碼錯誤" in r.text
        r = post_form(c, "/login", "/login", {"account": "limited", "password": "the-right-one"})
        assert r.status_code == 429
        assert "登入失敗次數過多" in r.text
        assert "edgestore_session" not in c.cookies
    with cloud_server.client() as api:  # failures through the page count for the API too
        r = api.post("/auth/login", json={"account": "limited", "password": "the-right-one"})
        assert r.status_code == 429


def test_signup_errors_are_shown_on_the_form(cloud_server: CloudServer):
    with browser(cloud_server) as c:
        base = {"account": "ab", "name": "小店", "password": "password1", "password2": "password1"}
        r = post_form(c, "/signup", "/signup", base)
        assert r.status_code == 422
        assert "帳號：太短" in r.text
        assert 'value="小店"' in r.text  # what was typed stays
        r = post_form(c, "/signup", "/signup", base | {"account": "okname", "password2": "different"})
        assert r.status_code == 422
        assert "兩次輸入的密碼不一致" in r.text
        assert post_form(c, "/signup", "/signup", base | {"account": "taken1"}).status_code == 303
        r = post_form(c, "/signup", "/signup", base | {"account": "TAKEN1"})
        assert r.status_code == 422
        assert "此帳號已被使用" in r.text


# --- CSRF -----------------------------------------------------------------------------------------------


def test_form_posts_without_the_right_csrf_token_are_refused(cloud_server: CloudServer):
    with browser(cloud_server) as c, browser(cloud_server) as other:
        signup_and_login(c, "csrf.victim")
        signup_and_login(other, "csrf.attacker")
        foreign_token = csrf_of(other.get("/stores").text)
        for data in ({}, {"csrf": ""}, {"csrf": "0" * 64}, {"csrf": foreign_token}):
            r = c.post("/stores", data={"name": "不該建立", **data})
            assert r.status_code == 403, data
            assert "表單已過期或來源不明" in r.text
        r = c.post("/logout", data={"csrf": foreign_token})
        assert r.status_code == 403
        assert c.get("/stores").status_code == 200  # still signed in
        assert "不該建立" not in c.get("/stores").text
        # the right token works, and it changes with the session
        token = csrf_of(c.get("/stores").text)
        assert c.post("/stores", data={"csrf": token, "name": "可以建立"}).status_code == 303
    with browser(cloud_server) as fresh:
        # before a session the token is bound to a pre-session cookie: no cookie, no login
        page = fresh.get("/login")
        assert "edgestore_csrf" in page.headers["set-cookie"]
        assert "samesite=strict" in page.headers["set-cookie"].lower()
        token = csrf_of(page.text)
        fresh.cookies.clear()
        r = fresh.post(
            "/login", data={"csrf": token, "account": "csrf.victim", "password": "correct horse 1"}
        )
        assert r.status_code == 403


# --- languages ------------------------------------------------------------------------------------------


def test_language_from_cookie_switcher_or_accept_language(cloud_server: CloudServer):
    with browser(cloud_server) as c:
        page = c.get("/login")
        assert '<html lang="zh-Hant-TW"' in page.text
        assert "登入賣家中心" in page.text
        with browser(cloud_server, **{"Accept-Language": "en-US,en;q=0.9,zh-TW;q=0.5"}) as en:
            page = en.get("/login")
            assert '<html lang="en"' in page.text
            assert "Log in to the Seller Centre" in page.text
        with browser(cloud_server, **{"Accept-Language": "ja,zh-TW;q=0.8,en;q=0.5"}) as zh:
            assert "登入賣家中心" in zh.get("/login").text
        r = c.get("/lang/en", params={"next": "/signup"})
        assert r.status_code == 303
        assert r.headers["location"] == "/signup"
        assert c.cookies.get("lang") == "en"
        assert "Sign up as a seller" in c.get("/signup").text
        # the cookie beats Accept-Language
        c.headers["Accept-Language"] = "en"
        c.get("/lang/zh-TW", params={"next": "/login"})
        assert "登入賣家中心" in c.get("/login").text
        # unknown languages fall back to zh-TW; off-site targets are refused
        r = c.get("/lang/xx", params={"next": "https://evil.example/"})
        assert r.headers["location"] == "/"
        assert c.cookies.get("lang") == "zh-TW"


def test_the_pages_negotiate_like_every_part():
    # The cookie the switcher sets wins; then Accept-Language by quality; any Chinese reads zh-TW.
    assert i18n.CATALOG.locales == LOCALES
    assert negotiate(None) == "zh-TW"
    assert negotiate("zh-TW", chosen="en") == "en"
    assert negotiate("en-GB", chosen="fr") == "en"
    assert negotiate("zh-CN,zh;q=0.9") == "zh-TW"
    assert negotiate("en;q=0.3, zh-TW;q=0.8") == "zh-TW"
    assert negotiate("de, fr;q=0.5") == "zh-TW"
    assert negotiate("en;q=0") == "zh-TW"


def test_every_key_the_cloud_asks_for_has_words_in_both_languages():
    # Babel extracts the keys from the code and templates; the families add the ones built at run time.
    assert problems(SOURCES) == []
    keys = extract(SOURCES)
    assert {"status.completed", "nav.dashboard", "notice.newOrder.title"} <= keys.keys()
    assert {f"flash.{m}" for m in rendering.FLASHES} <= keys.keys()


# --- the pages ------------------------------------------------------------------------------------------


def test_every_page_renders_for_a_signed_in_seller(cloud_server: CloudServer):
    with browser(cloud_server) as c:
        signup_and_login(c, "pages")
        for path in PAGES:
            r = c.get(path)
            assert r.status_code == 200, (path, r.text[:500])
            assert 'id="bell-count"' in r.text
            assert r.headers["cache-control"] == "no-store"
        store_id = create_store(c)
        product_id = create_product(c)
        extreme_days = (
            "/orders?from=0001-01-01&to=9999-12-31"  # as the API refuses them, the page ignores them
        )
        for path in [
            *PAGES,
            f"/products/{product_id}",
            f"/stock?store={store_id}",
            "/dashboard?days=7",
            extreme_days,
        ]:
            r = c.get(path)
            assert r.status_code == 200, (path, r.text[:500])
            assert "{{" not in r.text
            assert not re.search(r">\s*(?:nav|err|dash|field|label|stock|orders)\.[a-zA-Z.]+\s*<", r.text), (
                path
            )
        listing = c.get("/products", params={"q": "烏龍"}).text
        assert "凍頂烏龍茶" in listing
        assert "NT$450" in listing
        assert "2 種規格" in listing
        assert "凍頂烏龍茶" not in c.get("/products", params={"q": "咖啡"}).text
        editor = c.get(f"/products/{product_id}").text
        for expected in (
            'value="150g"',
            'value="300g"',
            'value="820"',
            'value="4710000000011"',
            "未拆封可退",
        ):
            assert expected in editor
        assert "/static/app.css" in editor
        assert c.get("/static/app.css").status_code == 200
        assert c.get("/static/htmx.min.js").text.startswith("/*! htmx 2")


def test_product_form_keeps_input_and_explains_errors(cloud_server: CloudServer):
    with browser(cloud_server) as c:
        signup_and_login(c, "formy")
        phone = product_form(
            "Pixel 9",
            category_id="electronics",
            sub_category_id="phones",
            variant_key=["a"],
            variant_id=[""],
            variant_name=["128GB"],
            variant_name_en=[""],
            variant_price=["24990"],
            variant_barcode=[""],
            default_variant="a",
        )
        r = post_form(c, "/products/new", "/products/new", phone)
        assert r.status_code == 422
        assert "手機類商品必須選擇品牌與商品狀況" in r.text
        assert 'value="Pixel 9"' in r.text
        assert 'value="24990"' in r.text
        r = post_form(c, "/products/new", "/products/new", phone | {"variant_price": ["兩萬"]})
        assert r.status_code == 422
        assert "規格 1 價格：請輸入整數" in r.text
        r = post_form(c, "/products/new", "/products/new", phone | {"variant_barcode": ["?"]})
        assert "規格 1 條碼：太短" in r.text or "規格 1 條碼：格式不符" in r.text
        pid = create_product(c, **(phone | {"brand_id": "google", "condition": "new"}))
        # editing: remove one variant, add one, move the default
        current = c.get(f"/products/{pid}").text
        vid = re.search(r'name="variant_id" value="([0-9A-Z]{26})"', current).group(1)
        r = post_form(
            c,
            f"/products/{pid}",
            f"/products/{pid}",
            phone
            | {
                "brand_id": "google",
                "condition": "used",
                "variant_key": [vid, "n1"],
                "variant_id": [vid, ""],
                "variant_name": ["128GB", "256GB"],
                "variant_name_en": ["", ""],
                "variant_price": ["19990", "22990"],
                "variant_barcode": ["", ""],
                "default_variant": "n1",
            },
        )
        assert r.status_code == 303, r.text
        with httpx.Client(base_url=cloud_server.base_url, cookies=c.cookies) as api:
            detail = api.get(f"/products/{pid}").json()
        assert detail["condition"] == "used"
        assert [(v["name"], v["price"], v["isDefault"]) for v in detail["variants"]] == [
            ("128GB", 19990, False),
            ("256GB", 22990, True),
        ]
        assert detail["variants"][0]["variantId"] == vid  # the kept variant kept its id (and stock)


def test_skus_and_attributes_in_the_product_editor(cloud_server: CloudServer):
    with browser(cloud_server) as c:
        signup_and_login(c, "skus")
        pid = create_product(
            c,
            variant_sku=["OOL-150", "OOL-300"],
            attr_name=["產地", "重量", ""],
            attr_value=["南投鹿谷", "150 g", ""],
        )
        with api_of(cloud_server, c) as api:
            detail = api.get(f"/products/{pid}").json()
        assert [v["sku"] for v in detail["variants"]] == ["OOL-150", "OOL-300"]
        assert detail["attributes"] == {"產地": "南投鹿谷", "重量": "150 g"}
        editor = c.get(f"/products/{pid}").text
        for expected in (
            'value="OOL-150"',
            'value="OOL-300"',
            'value="產地"',
            'value="南投鹿谷"',
            'value="150 g"',
        ):
            assert expected in editor, expected
        assert editor.count('name="attr_name"') == 2 + 2  # two, a blank one to add, and the script's template
        ids = [v["variantId"] for v in detail["variants"]]
        edit = product_form(
            variant_key=ids,
            variant_id=ids,
            variant_sku=["OOL-150-TIN", ""],  # renamed, and cleared
            attr_name=["產地", "保存期限"],
            attr_value=["南投鹿谷", "兩年"],
        )
        r = post_form(c, f"/products/{pid}", f"/products/{pid}", edit)
        assert r.status_code == 303, r.text
        with api_of(cloud_server, c) as api:
            detail = api.get(f"/products/{pid}").json()
        assert [v["sku"] for v in detail["variants"]] == ["OOL-150-TIN", None]
        assert detail["attributes"] == {"產地": "南投鹿谷", "保存期限": "兩年"}
        for data, message in [
            (
                {"attr_name": ["", "重量"], "attr_value": ["沒有名稱", "1 kg"]},
                "屬性名稱：有內容的屬性要填名稱",
            ),
            ({"attr_name": ["產地", "產地"], "attr_value": ["南投", "嘉義"]}, "屬性名稱：屬性名稱重複了"),
            ({"variant_sku": ["X" * 65, ""]}, "規格 1 SKU：太長"),
        ]:
            r = post_form(c, f"/products/{pid}", f"/products/{pid}", edit | data)
            assert r.status_code == 422, data
            assert message in r.text, (data, message)
        assert (
            'value="沒有名稱"'
            in post_form(
                c,
                f"/products/{pid}",
                f"/products/{pid}",
                edit | {"attr_name": [""], "attr_value": ["沒有名稱"]},
            ).text
        )  # what was typed stays
        c.get("/lang/en", params={"next": "/"})
        english = c.get(f"/products/{pid}").text
        assert "Attributes" in english
        assert ">SKU" in english


def test_image_upload_on_the_product_page(cloud_server: CloudServer):
    with browser(cloud_server) as c:
        signup_and_login(c, "photos")
        pid = create_product(c)
        token = csrf_of(c.get(f"/products/{pid}").text)
        r = c.post(
            f"/products/{pid}/images",
            data={"csrf": token},
            files={"image": ("tea.png", png_bytes(), "image/png")},
        )
        assert r.status_code == 303, r.text
        page = c.get(f"/products/{pid}").text
        thumb = re.search(r'<img src="([^"]+-thumb\.[a-z]+)"', page).group(1)
        assert c.get(thumb).status_code == 200
        assert thumb in c.get("/products").text  # the list shows the first image's thumbnail
        r = c.post(
            f"/products/{pid}/images",
            data={"csrf": token},
            files={"image": ("fake.png", b"not an image at all", "image/png")},
        )
        assert r.status_code == 422
        assert "圖片：圖片損毀，無法讀取" in r.text
        limit = cloud_server.settings.max_image_bytes
        r = c.post(
            f"/products/{pid}/images",
            data={"csrf": token},
            files={"image": ("big.png", png_bytes() + b"\0" * limit, "image/png")},
        )
        assert r.status_code == 422  # read up to the limit + 1 byte, then refused
        assert "圖片：圖片太大" in r.text
        r = c.post(
            f"/products/{pid}/images",
            data={"csrf": token},
            files={"image": ("huge.png", b"\0" * (limit + 200_000), "image/png")},
        )
        assert r.status_code == 413  # refused from its Content-Length, before the body is parsed
        image_id = re.search(rf"/products/{pid}/images/([0-9A-Z]{{26}})/delete", page).group(1)
        r = c.post(f"/products/{pid}/images/{image_id}/delete", data={"csrf": token})
        assert r.status_code == 303
        assert "-thumb." not in c.get(f"/products/{pid}").text


def test_stock_orders_and_the_bell_through_the_pages(cloud_server: CloudServer):
    with browser(cloud_server) as c:
        signup_and_login(c, "orders")
        store_id = create_store(c)
        pid = create_product(c)
        with httpx.Client(base_url=cloud_server.base_url, cookies=c.cookies) as api:
            product = api.get(f"/products/{pid}").json()
        vid = product["variants"][0]["variantId"]
        r = post_form(
            c,
            f"/stock?store={store_id}",
            f"/stock/{store_id}/adjustments",
            {"variant_id": vid, "kind": "restock", "quantity": "12", "reason": "到貨"},
        )
        assert r.status_code == 303, r.text
        assert re.search(r">12</a>", c.get(f"/stock?store={store_id}").text)
        r = post_form(
            c,
            f"/stock?store={store_id}",
            f"/stock/{store_id}/adjustments",
            {"variant_id": vid, "kind": "restock", "quantity": "0"},
        )
        assert r.status_code == 422
        assert "數量" in r.text
        order = sale(store_id, product, [(0, 2)], cloud_server.clock())
        online = order.model_copy(
            update={"status": OrderStatus.UNPAID, "channel": Channel.ONLINE, "payments": []}
        )
        assert ingest(cloud_server, online)
        assert 'data-count="1"' in c.get("/dashboard").text
        orders = c.get("/orders").text
        assert "NT$900" in orders
        assert 'value="toShip"' in orders
        assert 'value="cancelled"' in orders
        assert "共 1 筆訂單" in orders
        assert "凍頂烏龍茶" in c.get("/dashboard").text  # top products
        for target, buttons in [
            ("toShip", ["shipping", "cancelled"]),
            ("shipping", ["completed"]),  # a refused delivery ("returned") is on the order's page only
        ]:
            token = csrf_of(c.get("/orders").text)
            r = c.post(
                f"/orders/{online.order_id}/transition",
                data={"csrf": token, "to_status": target, "next": "/orders?status="},
            )
            assert r.status_code == 303
            assert r.headers["location"] == "/orders?status=&msg=orderUpdated"
            page = c.get("/orders").text
            for b in buttons:
                assert f'value="{b}"' in page
        # htmx answers with the order's card alone
        token = csrf_of(c.get("/orders").text)
        r = c.post(
            f"/orders/{online.order_id}/transition",
            data={"csrf": token, "to_status": "completed", "next": "/orders"},
            headers={"HX-Request": "true"},
        )
        assert r.status_code == 200
        assert r.text.lstrip().startswith(f'<article class="card order" id="order-{online.order_id}"')
        assert "已完成" in r.text
        # a completed order's refund and return are not buttons of the list: they live on its page
        assert 'value="refunded"' not in r.text
        assert 'value="returned"' not in r.text
        assert f'href="/orders/{online.order_id}"' in r.text
        assert "退款、退貨請在訂單詳情頁辦理" in c.get("/orders").text  # said once, above the list
        r = c.post(
            f"/orders/{online.order_id}/transition",
            data={"csrf": token, "to_status": "shipping", "next": "/orders"},
            headers={"HX-Request": "true"},
        )
        assert "這筆訂單目前不能改成這個狀態" in r.text
        assert c.get("/orders", params={"status": "completed"}).text.count('class="card order"') == 1
        assert c.get("/orders", params={"status": "unpaid"}).text.count('class="card order"') == 0
        # the bell page: mark one read, then all
        bell = c.get("/notifications").text
        assert "新訂單 NT$900" in bell
        nid = re.search(r"/notifications/([0-9A-Z]{26})/read", bell).group(1)
        r = post_form(c, "/notifications", f"/notifications/{nid}/read", {"next": "/notifications"})
        assert r.status_code == 303
        assert 'data-count="0"' in c.get("/notifications").text
        r = post_form(c, "/notifications", "/notifications/read-all", {})
        assert r.headers["location"] == "/notifications?msg=allRead"
        c.get("/lang/en", params={"next": "/"})
        bell = c.get("/notifications").text
        assert "New order NT$900" in bell
        # English pages name products and variants in English where the seller gave English names
        assert "Oolong tea 150 g x2" in bell
        assert "Oolong tea" in c.get("/dashboard").text  # top products
        assert "凍頂烏龍茶" not in c.get("/dashboard").text
        stock = c.get(f"/stock?store={store_id}").text
        assert "Oolong tea" in stock
        assert "150 g" in stock
        # the API writes the same notification in the language its caller reads, and says which
        with httpx.Client(
            base_url=cloud_server.base_url, cookies={"edgestore_session": c.cookies["edgestore_session"]}
        ) as api:
            for language, title in [
                ("en-US,en;q=0.9", "New order NT$900: 信義旗艦店"),
                ("zh-TW", "新訂單 NT$900：信義旗艦店"),
            ]:
                r = api.get("/notifications", headers={"Accept-Language": language})
                assert r.headers["content-language"] == ("en" if language.startswith("en") else "zh-TW")
                [newest] = [n for n in r.json()["items"] if n["kind"] == "newOrder"]
                assert newest["title"] == title
                assert newest["params"]["total"] == 900
                assert "titleEn" not in newest["params"]


def test_order_page_items_payments_history_and_a_change_behind_a_confirmation(cloud_server: CloudServer):
    with browser(cloud_server) as c:
        signup_and_login(c, "detail")
        store_id = create_store(c)
        pid = create_product(c)
        with httpx.Client(base_url=cloud_server.base_url, cookies=c.cookies) as api:
            product = api.get(f"/products/{pid}").json()
        order = sale(store_id, product, [(0, 2), (1, 1)], cloud_server.clock())
        oid = order.order_id
        assert ingest(cloud_server, order)
        listing = c.get("/orders").text
        # no refund or return button on a completed order's card
        assert not re.search(r'name="to_status" value="(?:refunded|returned)"', listing)
        assert f'href="/orders/{oid}"' in listing
        page = c.get(f"/orders/{oid}")
        assert page.status_code == 200
        for expected in (
            f"訂單 #{oid[-8:]}",
            "信義旗艦店",
            "凍頂烏龍茶",
            "150g",
            "300g",
            "NT$900",
            "NT$820",
            "NT$1,720",
            "現金",
            "已收款",
            "訂單成立 · 已完成",
        ):
            assert expected in page.text, expected
        # the history says who and when: the store that sold it, at its time (Taiwan)
        assert re.search(r"門市 · 信義旗艦店 · \d{4}-\d\d-\d\d \d\d:\d\d", page.text)
        # every change the seller may make is a link to its confirmation, none a button that acts at once
        for target in ("refunded", "returned"):
            assert f'href="/orders/{oid}?confirm={target}#confirm"' in page.text
        assert 'id="confirm-form"' not in page.text
        assert 'id="confirm-form"' not in c.get(f"/orders/{oid}", params={"confirm": "shipping"}).text
        confirm = c.get(f"/orders/{oid}", params={"confirm": "returned"}).text
        assert "確定要將這筆訂單從「已完成」改為「退貨」嗎？" in confirm
        assert "商品會回補到「信義旗艦店」的庫存。" in confirm
        assert "付款會標記為已退款。" in confirm
        assert "商品會回補" not in c.get(f"/orders/{oid}", params={"confirm": "refunded"}).text
        r = c.post(
            f"/orders/{oid}/transition",
            data={
                "csrf": csrf_of(confirm),
                "to_status": "returned",
                "note": "買家退回",
                "next": f"/orders/{oid}",
            },
        )
        assert r.status_code == 303
        assert r.headers["location"] == f"/orders/{oid}?msg=orderUpdated"
        after = c.get(r.headers["location"]).text
        assert "訂單狀態已更新" in after
        assert "已完成 → 退貨" in after
        assert re.search(r"賣家 · \d{4}-\d\d-\d\d \d\d:\d\d", after)
        assert "買家退回" in after
        assert "已退款" in after  # the payment
        assert "這筆訂單已結案" in after
        stock = c.get(f"/stock?store={store_id}").text
        assert not re.search(r">-\d+</a>", stock)  # the return put back what the sale took
        # a change that is no longer allowed (a stale page) is refused on the order's page
        r = c.post(
            f"/orders/{oid}/transition",
            data={"csrf": csrf_of(after), "to_status": "refunded", "next": f"/orders/{oid}"},
        )
        assert r.status_code == 409
        assert 'id="order-error"' in r.text
        assert "這筆訂單目前不能改成這個狀態" in r.text
        c.get("/lang/en", params={"next": "/"})
        english = c.get(f"/orders/{oid}").text
        for expected in ("History", "Payments", "Cash", "Refunded", "Seller", "Completed → Returned"):
            assert expected in english, expected


def api_of(server: CloudServer, client: httpx.Client) -> httpx.Client:
    """The API as the seller signed in on ``client`` (the same session cookie)."""
    return httpx.Client(base_url=server.base_url, cookies=client.cookies, timeout=30)


def test_discounts_create_edit_delete_with_errors_on_the_form(cloud_server: CloudServer):
    with browser(cloud_server) as c:
        signup_and_login(c, "promo")
        pid = create_product(c)
        with api_of(cloud_server, c) as api:
            variants = api.get(f"/products/{pid}").json()["variants"]
        page = c.get("/discounts").text
        assert "還沒有折扣活動" in page
        assert f'value="p:{pid}"' in page  # the whole product, or one of its variants
        assert f'value="v:{variants[1]["variantId"]}"' in page
        base = {"name": "週年慶", "percent": "10", "target": "", "starts": "", "ends": "", "active": "on"}
        for data, message in [
            ({"starts": "2026-12-10", "ends": "2026-12-01"}, "結束日：結束日必須在開始日之後"),
            ({"percent": "120"}, "折扣：數值太大"),
            ({"percent": "九折"}, "折扣：請輸入整數"),
            ({"target": "v:01HZZZZZZZZZZZZZZZZZZZZZZZ"}, "適用商品：請從清單中選擇"),
            ({"name": ""}, "名稱：太短"),
        ]:
            r = post_form(c, "/discounts", "/discounts", base | data)
            assert r.status_code == 422, data
            assert message in r.text, data
            assert f'value="{(base | data)["percent"]}"' in r.text  # what was typed stays
        r = post_form(
            c,
            "/discounts",
            "/discounts",
            base
            | {
                "name": "禮盒 85 折",
                "percent": "15",
                "target": f"v:{variants[1]['variantId']}",
                "starts": "2026-12-01",
                "ends": "2026-12-31",
            },
        )
        assert r.status_code == 303, r.text
        assert r.headers["location"] == "/discounts?msg=discountCreated"
        page = c.get(r.headers["location"]).text
        assert "折扣已建立" in page
        assert "85 折" in page
        assert "凍頂烏龍茶 · 300g" in page
        assert "2026-12-01 – 2026-12-31" in page
        with api_of(cloud_server, c) as api:
            (made,) = api.get("/discounts").json()
        assert (made["percent"], made["productId"], made["variantId"]) == (15, pid, variants[1]["variantId"])
        # whole Taiwan days: from the first day's start to the last day's end
        assert made["startsAt"].startswith("2026-11-30T16:00:00")
        assert made["endsAt"].startswith("2026-12-31T15:59:59")
        did = made["discountId"]
        r = post_form(c, "/discounts", f"/discounts/{did}", {"name": "禮盒 8 折", "percent": "20"})  # off
        assert r.status_code == 303, r.text
        with api_of(cloud_server, c) as api:
            (saved,) = api.get("/discounts").json()
        assert (saved["name"], saved["percent"], saved["active"]) == ("禮盒 8 折", 20, False)
        assert saved["startsAt"] is None  # blank dates clear the window
        assert saved["variantId"] == variants[1]["variantId"]  # an edit never moves it to other goods
        page = c.get("/discounts").text
        for expected in ("8 折", "已停用", "不限期間", "禮盒 8 折"):
            assert expected in page
        r = post_form(c, "/discounts", f"/discounts/{did}", {"name": "", "percent": "20"})
        assert r.status_code == 422
        assert "名稱：太短" in r.text
        assert re.search(rf'id="discount-{did}">\s*<details open', r.text)  # the row stays open to fix it
        r = post_form(c, "/discounts", f"/discounts/{did}/delete", {})
        assert r.headers["location"] == "/discounts?msg=discountDeleted"
        with api_of(cloud_server, c) as api:
            assert api.get("/discounts").json() == []
        c.get("/lang/en", params={"next": "/"})
        english = c.get("/discounts").text
        assert "No discounts yet." in english
        assert "Every product" in english
        assert "Oolong tea (every variant)" in english


def test_coupons_create_edit_delete_uses_and_errors(cloud_server: CloudServer):
    with browser(cloud_server) as c:
        signup_and_login(c, "coupons")
        store_id = create_store(c)
        pid = create_product(c)
        assert "還沒有優惠碼" in c.get("/coupons").text
        base = {
            "code": "welcome100",
            "coupon_kind": "amount",
            "value": "100",
            "min_spend": "1,000",
            "max_uses": "",
            "starts": "",
            "ends": "",
            "active": "on",
        }
        r = post_form(c, "/coupons", "/coupons", base)
        assert r.status_code == 303, r.text
        page = c.get(r.headers["location"]).text
        for expected in (
            "優惠碼已建立",
            "WELCOME100",
            "折 NT$100",
            "滿 NT$1,000 可用",
            "不限次數",
            "已用於 0 筆訂單",
        ):
            assert expected in page, expected
        for data, message in [
            ({"code": "Welcome100"}, "優惠碼：這個優惠碼已經有了"),  # codes are one spelling
            ({"code": "HALF", "coupon_kind": "percent", "value": "150"}, "折扣值：百分比折扣最多 100"),
            ({"code": "no way"}, "優惠碼：格式不符"),
            ({"code": "OK1", "value": ""}, "折扣值：必填"),
            ({"code": "OK2", "starts": "2026-12-10", "ends": "2026-12-01"}, "結束日：結束日必須在開始日之後"),
        ]:
            r = post_form(c, "/coupons", "/coupons", base | data)
            assert r.status_code == 422, data
            assert message in r.text, (data, message)
        assert (
            'value="HALF"'
            in post_form(
                c, "/coupons", "/coupons", base | {"code": "half", "coupon_kind": "percent", "value": "150"}
            ).text
        )
        with api_of(cloud_server, c) as api:
            product = api.get(f"/products/{pid}").json()
            (coupon,) = api.get("/coupons").json()
        cid = coupon["couponId"]
        assert (coupon["code"], coupon["kind"], coupon["minSpend"], coupon["maxUses"]) == (
            "WELCOME100",
            "amount",
            1000,
            None,
        )
        order = sale(store_id, product, [(0, 3)], cloud_server.clock())  # NT$1,350 before the coupon
        payment = order.payments[0].model_copy(update={"amount": 1250})
        ingest(
            cloud_server,
            order.model_copy(
                update={
                    "coupon_code": "welcome100",
                    "coupon_discount": 100,
                    "total": 1250,
                    "payments": [payment],
                }
            ),
        )
        assert "已用於 1 筆訂單" in c.get("/coupons").text
        edit = re.search(rf'id="coupon-{cid}".*?</li>', c.get("/coupons").text, re.S).group(0)
        assert 'name="code"' not in edit  # what shoppers may hold is not editable
        assert 'name="max_uses"' in edit
        r = post_form(c, "/coupons", f"/coupons/{cid}", {"max_uses": "1", "ends": "2026-12-31"})  # and off
        assert r.status_code == 303, r.text
        with api_of(cloud_server, c) as api:
            (saved,) = api.get("/coupons").json()
        assert (saved["maxUses"], saved["active"], saved["value"]) == (1, False, 100)
        assert saved["endsAt"].startswith("2026-12-31T15:59:59")
        page = c.get("/coupons").text
        assert "限用一次" in page
        assert "已停用" in page
        r = post_form(c, "/coupons", f"/coupons/{cid}", {"max_uses": "0", "active": "on"})
        assert r.status_code == 422
        assert "可使用次數：數值太小" in r.text
        r = post_form(c, "/coupons", f"/coupons/{cid}/delete", {})
        assert r.headers["location"] == "/coupons?msg=couponDeleted"
        with api_of(cloud_server, c) as api:
            assert api.get("/coupons").json() == []
        c.get("/lang/en", params={"next": "/"})
        assert "No coupons yet." in c.get("/coupons").text


def test_group_buy_settings_in_the_editor_and_their_progress(cloud_server: CloudServer):
    with browser(cloud_server) as c:
        signup_and_login(c, "groupy")
        store_id = create_store(c)
        assert "還沒有團購商品" in c.get("/group-buys").text
        pid = create_product(c, group_buy_min="5", group_buy_max="10", group_buy_ends="2999-12-31")
        ended = create_product(c, name="阿里山烏龍", group_buy_min="3", group_buy_ends="2000-01-02")
        with api_of(cloud_server, c) as api:
            product = api.get(f"/products/{pid}").json()
        assert (product["groupBuy"]["minQuantity"], product["groupBuy"]["maxQuantity"]) == (5, 10)
        ingest(cloud_server, sale(store_id, product, [(0, 2)], cloud_server.clock()))
        page = c.get("/group-buys").text
        row = re.search(rf'id="gb-{pid}".*?</li>', page, re.S).group(0)
        for expected in (
            "已售 2／門檻 5",
            "上限 10",
            "還差 3",
            "募集中",
            "2999-12-31 截止",
            f'href="/products/{pid}#group-buy"',
        ):
            assert expected in row, expected
        row = re.search(rf'id="gb-{ended}".*?</li>', page, re.S).group(0)
        assert "未成團" in row
        assert "2000-01-02 已截止" in row
        assert page.index(f'id="gb-{ended}"') < page.index(f'id="gb-{pid}"')  # the soonest end first
        ingest(cloud_server, sale(store_id, product, [(1, 3)], cloud_server.clock()))
        assert re.search(rf'id="gb-{pid}" data-state="reached"', c.get("/group-buys").text)
        editor = c.get(f"/products/{pid}").text
        assert "已售 5／門檻 5" in editor  # the editor shows how far its group buy got, by its settings
        assert 'name="group_buy_min" id="f-group_buy_min" value="5"' in editor
        r = post_form(
            c,
            f"/products/{pid}",
            f"/products/{pid}",
            product_form(group_buy_min="10", group_buy_max="5", group_buy_ends="2999-12-31")
            | {"variant_id": [v["variantId"] for v in product["variants"]]},
        )
        assert r.status_code == 422
        assert "成團最低數量：數值不合理" in r.text
        c.get("/lang/en", params={"next": "/"})
        assert "2 sold of 5 needed" not in c.get("/group-buys").text
        assert "5 sold of 5 needed" in c.get("/group-buys").text


def test_profile_and_shop_settings(cloud_server: CloudServer):
    with browser(cloud_server) as c:
        signup_and_login(c, "profiled")
        store_id = create_store(c)
        page = c.get("/profile").text
        assert 'value="profiled 小舖"' in page
        assert re.search(r'value="profiled" id="p-account" disabled', page)  # the login never changes
        assert "信義旗艦店" in page  # the shop settings: each store, with a way to its form
        assert f'href="/stores?edit={store_id}#store-{store_id}"' in page
        assert re.search(rf'id="store-{store_id}">\s*<details open', c.get(f"/stores?edit={store_id}").text)
        good = {"name": "山嵐茶行", "phone": "02-2345-6789", "address": "台北市信義區松高路 11 號"}
        r = post_form(c, "/profile", "/profile", good)
        assert r.status_code == 303, r.text
        assert r.headers["location"] == "/profile?msg=profileSaved"
        page = c.get(r.headers["location"]).text
        assert "賣家資料已儲存" in page
        assert 'value="02-2345-6789"' in page
        assert re.search(r'class="who"[^>]*>山嵐茶行<', page)  # the header says the new name
        with api_of(cloud_server, c) as api:
            me = api.get("/me").json()
        assert (me["name"], me["phone"], me["address"]) == (good["name"], good["phone"], good["address"])
        r = post_form(c, "/profile", "/profile", {"name": "", "phone": "call me", "address": ""})
        assert r.status_code == 422
        assert "名稱：太短" in r.text
        assert "電話：" in r.text
        assert 'value="call me"' in r.text  # what was typed stays
        r = post_form(c, "/profile", "/profile", {"name": "山嵐茶行", "phone": "", "address": ""})
        assert r.status_code == 303  # blank clears
        with api_of(cloud_server, c) as api:
            me = api.get("/me").json()
        assert (me["phone"], me["address"]) == (None, None)
        c.get("/lang/en", params={"next": "/"})
        english = c.get("/profile").text
        assert "Seller profile" in english
        assert "Shop settings" in english


def test_another_sellers_things_are_404(cloud_server: CloudServer):
    with browser(cloud_server) as owner:
        signup_and_login(owner, "owner")
        store_id = create_store(owner)
        pid = create_product(owner)
        with httpx.Client(base_url=cloud_server.base_url, cookies=owner.cookies) as api:
            product = api.get(f"/products/{pid}").json()
    order = sale(store_id, product, [(0, 1)], cloud_server.clock())
    ingest(cloud_server, order)
    with api_of(cloud_server, owner) as api:
        discount = api.post("/discounts", json={"name": "九折", "percent": 10}).json()["discountId"]
        coupon = api.post("/coupons", json={"code": "MINE", "kind": "amount", "value": 50}).json()["couponId"]
    with browser(cloud_server) as other:
        signup_and_login(other, "snoop")
        r = other.get(f"/products/{pid}")
        assert r.status_code == 404
        assert "找不到這個頁面" in r.text
        assert "凍頂烏龍茶" not in r.text
        assert other.get("/products/not-even-an-id").status_code == 404
        token = csrf_of(other.get("/products").text)
        for action, data in [
            (f"/products/{pid}", product_form("搶來的")),
            (f"/products/{pid}/delete", {}),
            (f"/stores/{store_id}", {"name": "搶來的店"}),
            (
                f"/stock/{store_id}/adjustments",
                {"variant_id": product["variants"][0]["variantId"], "kind": "restock", "quantity": "1"},
            ),
            (f"/orders/{order.order_id}/transition", {"to_status": "refunded"}),
            (f"/discounts/{discount}", {"name": "搶來的", "percent": "50"}),
            (f"/discounts/{discount}/delete", {}),
            (f"/coupons/{coupon}", {"max_uses": "1"}),
            (f"/coupons/{coupon}/delete", {}),
        ]:
            r = other.post(action, data={"csrf": token, **data})
            assert r.status_code == 404, action
        r = other.post(
            f"/products/{pid}/images",
            data={"csrf": token},
            files={"image": ("a.png", png_bytes(), "image/png")},
        )
        assert r.status_code == 404
        assert other.get(f"/stock?store={store_id}").status_code == 404
        r = other.get(f"/orders/{order.order_id}")
        assert r.status_code == 404
        assert "找不到這個頁面" in r.text
        assert other.get("/orders/not-an-order").status_code == 404
        orders = other.get("/orders").text
        assert order.order_id[-8:] not in orders
        assert "共 0 筆訂單" in orders
        assert "九折" not in other.get("/discounts").text
        assert "MINE" not in other.get("/coupons").text


@pytest.mark.parametrize("path", ["/lang/en", "/theme/light"])
def test_switchers_refuse_off_site_next(cloud_server: CloudServer, path: str):
    with browser(cloud_server) as c:
        for bad in ["//evil.example/x", "https://evil.example", "/\\evil.example", "javascript:alert(1)"]:
            assert c.get(path, params={"next": bad}).headers["location"] == "/"
