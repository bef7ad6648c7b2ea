"""The Devices page in a real browser (Chromium through Playwright, as ``test_dashboard_browser``): a node that
said its status shows online with its version; it is renamed with the form and revoked behind the browser's
confirm, after which the broker's password file no longer has it."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.cloud.conftest import CloudServer
from tests.cloud.test_dashboard_browser import SCREENSHOTS_ENV, chromium, desk_page, shot
from tests.cloud.test_devices_page import register, say_status

pytestmark = pytest.mark.slow


def test_a_device_online_renamed_and_revoked_in_the_browser(cloud_server: CloudServer, tmp_path: Path):
    shots = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path / "screenshots")
    root = f"http://127.0.0.1:{cloud_server.settings.cloud_port}"
    with chromium() as browser:
        page = desk_page(browser)
        console_errors: list[str] = []
        page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)

        page.goto(root + "/signup")
        page.fill("input[name=account]", "pi.keeper")
        page.fill("input[name=name]", "山嵐茶行")
        page.fill("input[name=password]", "correct horse 1")
        page.fill("input[name=password2]", "correct horse 1")
        page.get_by_role("button", name="建立帳號").click()
        page.fill("input[name=password]", "correct horse 1")
        page.get_by_role("button", name="登入").click()
        expect(page).to_have_url(root + "/dashboard")
        page.goto(root + "/stores")
        page.fill("#new-name", "信義旗艦店")
        page.get_by_role("button", name="建立商店", exact=True).last.click()
        expect(page.locator(".flash.ok")).to_have_text("商店已建立。")
        store = page.locator("#store-list > li").last.get_attribute("id").removeprefix("store-")

        counter = register(cloud_server, store, "櫃台 Pi")
        say_status(cloud_server, store, counter)
        page.locator("#store-list summary").first.click()
        page.locator(f"#devices-of-{store}").click()
        expect(page).to_have_url(root + f"/stores/{store}/devices")
        row = page.locator(f"#device-{counter}")
        expect(row.locator(".device-state")).to_have_text("上線")
        expect(row.locator(".software-version")).to_have_text("0.4.0")
        expect(row.locator(".device-ip")).to_have_text("192.168.1.20")
        shot(page, shots, "devices")

        row.get_by_text("改名").click()
        row.locator("input[name=name]").fill("收銀台 Pi")
        row.get_by_role("button", name="儲存").click()
        expect(page.locator(".flash.ok")).to_have_text("裝置已改名")
        expect(row.locator(".device-name")).to_have_text("收銀台 Pi")

        questions: list[str] = []

        def answer(dialog) -> None:  # type: ignore[no-untyped-def]
            questions.append(dialog.message)
            dialog.accept()

        page.once("dialog", answer)
        row.get_by_role("button", name="撤銷").click()
        expect(page.locator(".flash.ok")).to_contain_text("裝置已撤銷")
        assert len(questions) == 1
        assert questions[0].startswith("撤銷 收銀台 Pi？")
        expect(page.locator(f"#device-{counter}")).to_have_count(0)
        expect(page.locator(f"#revoked-{counter}")).to_contain_text("收銀台 Pi")
        expect(page.locator("#no-devices")).to_be_visible()
        assert counter not in cloud_server.cloud.broker_password_path.read_text()
        assert not [e for e in console_errors if not re.search(r"favicon", e)], console_errors
