"""Registration, login, sessions, the login rate limit, and stores scoped to their seller."""

import httpx

from tests.cloud.conftest import CloudServer, register_and_login


def test_register_login_me_logout(cloud_server: CloudServer):
    with cloud_server.client() as c:
        r = c.post(
            "/sellers",
            json={
                "account": "tea.house",
                "password": "longenough",
                "name": "茶屋",
                "phone": "+886 2 2345 6789",
            },
        )
        assert r.status_code == 201
        body = r.json()
        assert body["account"] == "tea.house"
        assert body["name"] == "茶屋"
        assert "password" not in body
        assert "passwordHash" not in body
        r = c.post("/auth/login", json={"account": "TEA.HOUSE", "password": "longenough"})
        assert r.status_code == 200
        token = r.json()["token"]
        assert c.cookies.get("edgestore_session") == token
        assert c.get("/me").json()["sellerId"] == body["sellerId"]  # the cookie works
        c.cookies.clear()
        assert c.get("/me").status_code == 401
        c.headers["Authorization"] = f"Bearer {token}"
        assert c.get("/me").status_code == 200  # so does the Bearer header
        assert c.post("/auth/logout").status_code == 204
        r = c.get("/me")
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "unauthenticated"


def test_account_is_unique_whatever_its_case(cloud_server: CloudServer):
    with cloud_server.client() as c:
        assert (
            c.post("/sellers", json={"account": "Alice", "password": "password1", "name": "A"}).status_code
            == 201
        )
        r = c.post("/sellers", json={"account": "alice", "password": "password2", "name": "B"})
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "accountTaken"


def test_bad_registrations_are_422_naming_the_field(cloud_server: CloudServer):
    with cloud_server.client() as c:
        for body, field in [
            ({"account": "ab", "password": "password1", "name": "x"}, "account"),
            ({"account": "okname", "password": "short", "name": "x"}, "password"),
            ({"account": "okname", "password": "password1", "name": ""}, "name"),
            ({"account": "okname", "password": "password1", "name": "x", "phone": "call me"}, "phone"),
            ({"account": "okname", "password": "password1", "name": "x", "extra": 1}, "extra"),
        ]:
            r = c.post("/sellers", json=body)
            assert r.status_code == 422, body
            assert r.json()["error"]["code"] == "validationError"
            assert r.json()["error"]["field"] == field


def test_wrong_password_and_unknown_account_look_the_same(cloud_server: CloudServer):
    with cloud_server.client() as c:
        register_and_login(c, "known1")
        wrong = c.post("/auth/login", json={"account": "known1", "password": "nope-nope"})
        unknown = c.post("/auth/login", json={"account": "nobody", "password": "nope-nope"})
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json()


def test_login_is_rate_limited_per_account(cloud_server: CloudServer):
    with cloud_server.client() as c:
        register_and_login(c, "target", password="the-right-one")
    with cloud_server.client() as c:
        for _ in range(cloud_server.settings.login_max_failures):
            assert (
                c.post("/auth/login", json={"account": "target", "password": "guess-guess"}).status_code
                == 401
            )
        r = c.post("/auth/login", json={"account": "target", "password": "the-right-one"})
        assert r.status_code == 429
        assert r.json()["error"]["code"] == "tooManyAttempts"
        assert int(r.headers["Retry-After"]) > 0
        cloud_server.clock.advance(seconds=cloud_server.settings.login_window_s + 1)
        assert (
            c.post("/auth/login", json={"account": "target", "password": "the-right-one"}).status_code == 200
        )


def test_sessions_expire(cloud_server: CloudServer, seller: httpx.Client):
    assert seller.get("/me").status_code == 200
    cloud_server.clock.advance(hours=cloud_server.settings.session_ttl_hours + 1)
    assert seller.get("/me").status_code == 401


def test_profile_update(seller: httpx.Client):
    r = seller.patch("/me", json={"phone": "0912-345-678", "address": "台北市信義區"})
    assert r.status_code == 200
    assert r.json()["phone"] == "0912-345-678"
    assert seller.patch("/me", json={"name": None}).status_code == 422  # a name is never removed
    assert seller.patch("/me", json={"phone": None}).json()["phone"] is None  # a phone may be cleared


def test_stores_crud(seller: httpx.Client):
    r = seller.post(
        "/stores",
        json={
            "name": "信義店",
            "address": "台北市信義區松高路 1 號",
            "shopType": "physical",
            "openingHours": "10:00-22:00",
        },
    )
    assert r.status_code == 201
    store = r.json()
    assert store["shopType"] == "physical"
    assert store["openingHours"] == "10:00-22:00"
    seller.post("/stores", json={"name": "網路商店", "shopType": "online"})
    stores = seller.get("/stores").json()
    assert [s["name"] for s in stores] == ["信義店", "網路商店"]
    r = seller.patch(f"/stores/{store['storeId']}", json={"openingHours": "09:00-21:00", "shopType": "popUp"})
    assert r.status_code == 200
    assert r.json()["openingHours"] == "09:00-21:00"
    assert r.json()["shopType"] == "popUp"
    assert seller.get(f"/stores/{store['storeId']}").json()["name"] == "信義店"


def test_store_errors(seller: httpx.Client):
    assert seller.post("/stores", json={"name": "x", "shopType": "castle"}).status_code == 422
    r = seller.get("/stores/01HZZZZZZZZZZZZZZZZZZZZZZZ")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "storeNotFound"
    assert seller.get("/stores/not-an-id").status_code == 422


def test_a_seller_cannot_see_or_change_another_sellers_store(
    seller: httpx.Client, other_seller: httpx.Client
):
    store = seller.post("/stores", json={"name": "A 的店"}).json()
    assert other_seller.get("/stores").json() == []
    assert other_seller.get(f"/stores/{store['storeId']}").status_code == 404
    assert other_seller.patch(f"/stores/{store['storeId']}", json={"name": "mine now"}).status_code == 404
    assert seller.get(f"/stores/{store['storeId']}").json()["name"] == "A 的店"


def test_every_seller_route_needs_a_session(cloud_server: CloudServer):
    with cloud_server.client() as c:
        for method, path in [("GET", "/me"), ("GET", "/stores"), ("POST", "/stores")]:
            r = c.request(method, path, json={"name": "x"})
            assert r.status_code == 401, path
