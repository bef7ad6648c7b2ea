"""The Team tab and the invitation page over plain HTTP: the owner invites (the link shown once), the
invitee sets a password and logs in at the ordinary login page, lands on the stores, sees only them (claim
codes and devices, no store forms, no bell), and every owner's page is the 403 page; removal logs them out."""

import importlib
import pkgutil
import re
from html import unescape
from urllib.parse import urlsplit

import httpx

from cloud.web import pages
from cloud.web.routing import WebRoute
from tests.cloud.conftest import CloudServer
from tests.cloud.test_dashboard_pages import (
    PAGES,
    browser,
    create_store,
    csrf_of,
    post_form,
    signup_and_login,
)

PASSWORD = "field staff 1"
OWNER_PAGES = [p for p in PAGES if p not in ("/stores", "/devices")] + ["/team", "/staff", "/recognition"]


def invite_on_the_page(owner: httpx.Client, email: str, name: str = "外勤 阿明") -> str:
    """Invite through the Team tab; returns the invitation link's path, shown once on the answer."""
    r = post_form(owner, "/team", "/team", {"email": email, "name": name, "role": "fieldStaff"})
    assert r.status_code == 201, r.text
    assert r.headers["referrer-policy"] == "no-referrer"
    match = re.search(r'id="shown-invite-url">([^<]+)<', r.text)
    assert match, r.text[:2000]
    return urlsplit(unescape(match.group(1))).path


def accept_and_login(member: httpx.Client, invite_path: str, email: str) -> None:
    """Open the invitation in ``member`` (a browser), set the password, log in at the login page."""
    page = member.get(invite_path)
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"
    assert email in page.text
    r = member.post(
        invite_path, data={"csrf": csrf_of(page.text), "password": PASSWORD, "password2": PASSWORD + "x"}
    )
    assert r.status_code == 422  # the two passwords differ: said on the form
    r = member.post(invite_path, data={"csrf": csrf_of(r.text), "password": PASSWORD, "password2": PASSWORD})
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith("/login?")
    login = member.get(r.headers["location"])
    assert f'value="{email}"' in login.text
    r = member.post("/login", data={"csrf": csrf_of(login.text), "account": email, "password": PASSWORD})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/stores"  # not the dashboard they may not see


def test_the_owner_invites_and_field_staff_see_only_the_stores(cloud_server: CloudServer):
    with browser(cloud_server) as owner:
        signup_and_login(owner, "teamowner")
        store_id = create_store(owner)
        team = owner.get("/team")
        assert team.status_code == 200
        assert "團隊" in team.text
        invite_path = invite_on_the_page(owner, "ming@example.tw")
        listed = owner.get("/team").text
        assert "ming@example.tw" in listed
        assert "已邀請" in listed
        assert invite_path not in listed  # shown once
        # Another invitation for the same email is refused on the form.
        r = post_form(
            owner, "/team", "/team", {"email": "MING@example.tw", "name": "x", "role": "fieldStaff"}
        )
        assert r.status_code == 409
        assert 'id="form-errors"' in r.text

        with browser(cloud_server) as member:
            accept_and_login(member, invite_path, "ming@example.tw")
            stores = member.get("/stores")
            assert stores.status_code == 200
            nav = re.search(r'<nav class="mainnav".*?</nav>', stores.text, re.S)
            assert nav
            assert re.findall(r'<a href="([^"]+)"', nav.group(0)) == ["/stores"]
            assert 'id="bell"' not in stores.text
            assert "外勤人員" in stores.text  # who they are, with their role
            assert 'id="new-store"' not in stores.text  # no store forms
            assert f'action="/stores/{store_id}"' not in stores.text
            assert f'id="claim-codes-{store_id}"' in stores.text
            assert f'id="devices-of-{store_id}"' in stores.text  # the way to the store's Devices page
            devices_page = member.get(f"/stores/{store_id}/devices")
            assert devices_page.status_code == 200
            assert 'class="tabs"' not in devices_page.text  # no tabs to the owner's pages
            # A claim code through the page, shown once.
            r = post_form(member, "/stores", f"/stores/{store_id}/claim-codes", {"name": "櫃台 Pi"})
            assert r.status_code == 201, r.text[:500]
            assert re.search(r'id="shown-claim-code">[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}<', r.text)
            withdraw = re.search(r'action="(/stores/[0-9A-Z]{26}/claim-codes/[0-9A-Z]{26}/withdraw)"', r.text)
            assert withdraw
            r = post_form(member, "/stores", withdraw.group(1), {})
            assert r.status_code == 303
            # The owner's pages and forms are the 403 page.
            for path in OWNER_PAGES:
                r = member.get(path)
                assert r.status_code == 403, path
                assert "你的角色不能使用這個頁面或功能" in r.text, path
            r = post_form(member, "/stores", "/stores", {"name": "偷開的店", "shop_type": "physical"})
            assert r.status_code == 403
            r = post_form(member, "/stores", f"/stores/{store_id}", {"name": "改名", "shop_type": "physical"})
            assert r.status_code == 403
            assert member.get("/").headers["location"] == "/stores"
            assert member.get("/logout").status_code == 200  # logging out is anyone's
            english = member.get("/stores", headers={"Accept-Language": "en"}).text
            assert "Field staff" in english
            assert "Devices" in english

            # Removing them logs them out at once.
            member_id = re.search(r'action="/team/([0-9A-Z]{26})/remove"', owner.get("/team").text)
            assert member_id
            r = post_form(owner, "/team", f"/team/{member_id.group(1)}/remove", {})
            assert r.status_code == 303
            assert "ming@example.tw" not in owner.get(r.headers["location"]).text
            r = member.get("/stores")
            assert r.status_code == 303
            assert r.headers["location"].startswith("/login")


def test_the_invitation_page_says_when_a_link_is_used_unknown_or_expired(cloud_server: CloudServer):
    with browser(cloud_server) as owner:
        signup_and_login(owner, "linkowner")
        used = invite_on_the_page(owner, "used@example.tw")
        expired = invite_on_the_page(owner, "late@example.tw")
        with browser(cloud_server) as member:
            accept_and_login(member, used, "used@example.tw")
        cloud_server.clock.advance(days=8)
        with browser(cloud_server) as anyone:
            r = anyone.get(used)
            assert r.status_code == 409
            assert "已經接受過了" in r.text
            assert 'name="password"' not in r.text
            r = anyone.get(expired)
            assert r.status_code == 410
            assert "過期" in r.text
            r = anyone.get("/invite/not-a-token", headers={"Accept-Language": "en"})
            assert r.status_code == 404
            assert "no such invitation" in r.text
            team = owner.get("/team", headers={"Accept-Language": "en"}).text
            assert "Invitation expired" in team
            assert "Active" in team


# Pages anyone may open (no login, or any session's own: its language, theme, logging out).
PUBLIC_PAGES = {
    "GET /",
    "GET /login",
    "POST /login",
    "GET /signup",
    "POST /signup",
    "GET /logout",
    "POST /logout",
    "GET /lang/{code}",
    "GET /theme/{name}",
    "GET /invite/{token}",
    "POST /invite/{token}",
}
FIELD_STAFF_PAGES = {
    "GET /stores",
    "GET /devices",
    "GET /stores/{store_id}/devices",
    "POST /stores/{store_id}/devices/{device_id}",
    "POST /stores/{store_id}/devices/{device_id}/revoke",
    "POST /stores/{store_id}/claim-codes",
    "POST /stores/{store_id}/claim-codes/{claim_code_id}/withdraw",
}


def page_routes() -> list[tuple[str, str]]:
    """(method, path) of every dashboard page: the routers of every module in ``cloud.web.pages``, so a page
    area added later is walked too."""
    found = []
    for info in pkgutil.iter_modules(pages.__path__):
        module = importlib.import_module(f"{pages.__name__}.{info.name}")
        for route in module.router.routes:
            assert isinstance(route, WebRoute), route
            found += [(method, route.path) for method in sorted(route.methods)]
    return found


def test_every_owners_page_and_form_is_403_to_field_staff(cloud_server: CloudServer):
    """Every page route, from the page modules, as field staff: the allowed ones answer (not 403), every
    other one is the 403 page, whatever it is (a GET, or a POST with a good CSRF token)."""
    routes = page_routes()
    with browser(cloud_server) as owner:
        signup_and_login(owner, "walkowner")
        store_id = create_store(owner)
        invite_path = invite_on_the_page(owner, "walker@example.tw")
    with browser(cloud_server) as member:
        accept_and_login(member, invite_path, "walker@example.tw")
        token = csrf_of(member.get("/stores").text)
        values = {
            "store_id": store_id,
            "code": "zh-TW",
            "name": "dark",
            "token": "not-a-token",
            "version": "1",
        }
        for method, path in routes:
            key = f"{method} {path}"
            if key == "POST /logout":
                continue
            url = re.sub(r"{(\w+)}", lambda m: values.get(m.group(1), "01HZZZZZZZZZZZZZZZZZZZZZZZ"), path)
            r = member.request(method, url, data={"csrf": token} if method == "POST" else None)
            if key in PUBLIC_PAGES or key in FIELD_STAFF_PAGES:
                assert r.status_code != 403, f"{key} refused to field staff"
                assert r.status_code < 500, key
            else:
                assert r.status_code == 403, f"{key} as field staff: {r.status_code}"
                assert "你的角色不能使用這個頁面或功能" in r.text, key
        assert {f"{m} {p}" for m, p in routes} >= PUBLIC_PAGES | FIELD_STAFF_PAGES
