"""Field staff in a real browser (Chromium driven by Playwright): the seller invites someone on the Team tab,
the invitee opens the link in their own browser, sets a password, logs in at the ordinary login, lands on the
stores with only Stores in the menu, makes a claim code for a store, and gets the 403 page on the orders."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.cloud.conftest import CloudServer, register_and_login
from tests.cloud.test_dashboard_browser import SCREENSHOTS_ENV, chromium, desk_page, log_in, shot

pytestmark = pytest.mark.slow

OWNER_PASSWORD = "correct horse 1"
MEMBER_PASSWORD = "field staff 1"


def test_field_staff_join_and_make_a_claim_code_in_the_browser(cloud_server: CloudServer, tmp_path: Path):
    shots = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path / "screenshots")
    root = f"http://127.0.0.1:{cloud_server.settings.cloud_port}"
    with cloud_server.client() as api:
        register_and_login(api, "mountain.tea", OWNER_PASSWORD)
        store_id = api.post("/stores", json={"name": "信義門市"}).json()["storeId"]
    with chromium() as browser:
        # The seller invites on the Team tab; the link is shown once.
        owner = desk_page(browser)
        log_in(owner, root, "mountain.tea", OWNER_PASSWORD)
        owner.goto(root + "/stores")
        owner.get_by_role("link", name="團隊").click()
        expect(owner).to_have_url(root + "/team")
        owner.fill("#new-member input[name=email]", "ming@example.tw")
        owner.fill("#new-member input[name=name]", "外勤 阿明")
        owner.click("#invite-member")
        link = owner.locator("#shown-invite-url").inner_text().strip()
        assert re.fullmatch(r"http://\S+/invite/\S+", link), link
        expect(owner.locator("#team-list")).to_contain_text("ming@example.tw")
        shot(owner, shots, "team")

        # The invitee, in their own browser.
        member = desk_page(browser)
        failed: list[str] = []
        member.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        member.goto(link)
        expect(member.locator("input[name=account]")).to_have_value("ming@example.tw")
        member.fill("input[name=password]", MEMBER_PASSWORD)
        member.fill("input[name=password2]", MEMBER_PASSWORD)
        member.click("#accept-invite")
        expect(member.locator(".flash.ok")).to_have_text("已設定密碼，請用你的電子郵件登入。")
        expect(member.locator("input[name=account]")).to_have_value("ming@example.tw")
        member.fill("input[name=password]", MEMBER_PASSWORD)
        member.get_by_role("button", name="登入").click()
        expect(member).to_have_url(root + "/stores")
        expect(member.locator(".mainnav a")).to_have_count(1)
        expect(member.locator(".mainnav a")).to_have_text("商店")
        expect(member.locator(".mainnav .who")).to_contain_text("外勤人員")
        expect(member.locator("#bell")).to_have_count(0)
        expect(member.locator("#new-store")).to_have_count(0)

        # A claim code for the store.
        member.locator(f"#store-{store_id} summary").click()
        claim = member.locator(f"#claim-codes-{store_id}")
        claim.locator("input[name=name]").fill("櫃台 Pi")
        claim.get_by_role("button", name="新增裝置認領碼").click()
        expect(member.locator("#shown-claim-code")).to_have_text(
            re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$")
        )
        expect(member.locator("#shown-claim-qr")).to_be_visible()
        shot(member, shots, "field-staff-stores")
        assert not failed, failed

        # The orders are the seller's: the 403 page.
        response = member.goto(root + "/orders")
        assert response is not None
        assert response.status == 403
        expect(member.locator("main")).to_contain_text("你的角色不能使用這個頁面或功能")
        shot(member, shots, "field-staff-403")
