"""The Devices page (issue 19): each device of a store with what its last status said, renamed and revoked
with forms (CSRF, the 404 rules of every page), revoked ones apart; in zh-TW and English."""

import re

from sqlalchemy import select

from cloud import devices
from cloud.sync_service import SyncService
from cloud.tables import stores
from models.cloud_api import DeviceCreate
from sync_protocol.mqtt_link import MqttSettings
from sync_protocol.topics import Topics
from tests.cloud.conftest import CloudServer
from tests.cloud.test_dashboard_pages import browser, create_store, csrf_of, post_form, signup_and_login
from tests.cloud.test_device_health import healthy


def seller_of(server: CloudServer, store_id: str) -> str:
    with server.cloud.db.read() as conn:
        return str(conn.execute(select(stores.c.seller_id).where(stores.c.store_id == store_id)).scalar_one())


def register(server: CloudServer, store_id: str, name: str) -> str:
    with server.cloud.db.transaction() as conn:
        made = devices.register(
            conn,
            seller_of(server, store_id),
            store_id,
            DeviceCreate(name=name),
            server.clock(),
            hardware_id="10000000abcdef01",
        )
    server.cloud.refresh_broker_credentials()
    return made.device_id


def say_status(server: CloudServer, store_id: str, device_id: str) -> None:
    """The device's status, handed to the sync service's handler as MQTT would."""
    service = SyncService(server.cloud, MqttSettings(host="127.0.0.1", port=1), server.clock)
    service._on_message(str(Topics.status(store_id, device_id)), healthy(store_id, device_id))


def test_the_devices_page_shows_renames_and_revokes(cloud_server: CloudServer):
    with browser(cloud_server) as c:
        signup_and_login(c, "devicer")
        assert "還沒有商店" in c.get("/devices").text
        store_id = create_store(c)
        empty = c.get(f"/stores/{store_id}/devices")
        assert empty.status_code == 200
        assert "這間門市還沒有裝置" in empty.text
        assert f'href="/stores/{store_id}/devices"' in c.get("/stores").text  # linked from the store
        assert re.search(r'href="/devices" class="on" aria-current="page">裝置<', empty.text)  # its tab

        counter = register(cloud_server, store_id, "櫃台 Pi")
        kiosk = register(cloud_server, store_id, "自助機")
        say_status(cloud_server, store_id, counter)
        cloud_server.clock.advance(minutes=3)
        page = c.get(f"/stores/{store_id}/devices")
        assert page.status_code == 200
        row = page.text[page.text.index(f'id="device-{counter}"') :]
        row = row[: row.index("</tr>")]
        assert "上線" in row
        assert "3 分鐘前" in row  # last seen, relative
        assert "0.4.0" in row
        assert "192.168.1.20" in row
        assert "2 小時 1 分" in row  # uptime 7260 s
        assert "待上傳 3 筆" in row
        assert "最舊 3 分鐘" in row  # 42 s when said, 3 minutes since: as of now
        assert "落後雲端 0 則" in row
        assert "product-recognizer" in row
        assert "10000000abcdef01" in row
        other = page.text[page.text.index(f'id="device-{kiosk}"') :]
        assert "離線" in other[: other.index("</tr>")]
        assert "從未連線" in other[: other.index("</tr>")]
        assert c.get(f"/devices?store={store_id}").status_code == 200  # the tab's store picker

        renamed = post_form(
            c, f"/stores/{store_id}/devices", f"/stores/{store_id}/devices/{counter}", {"name": " 收銀台 Pi "}
        )
        assert renamed.status_code == 303, renamed.text
        assert renamed.headers["location"] == f"/stores/{store_id}/devices?msg=deviceRenamed"
        listing = c.get(renamed.headers["location"]).text
        assert "裝置已改名" in listing
        assert "收銀台 Pi" in listing
        too_long = post_form(
            c, f"/stores/{store_id}/devices", f"/stores/{store_id}/devices/{counter}", {"name": "x" * 201}
        )
        assert too_long.status_code == 422
        assert 'aria-invalid="true"' in too_long.text
        empty_name = post_form(
            c, f"/stores/{store_id}/devices", f"/stores/{store_id}/devices/{counter}", {"name": "  "}
        )
        assert empty_name.status_code == 422
        no_token = c.post(f"/stores/{store_id}/devices/{counter}/revoke", data={})
        assert no_token.status_code == 403  # CSRF
        assert 'data-confirm="撤銷 收銀台 Pi？' in listing  # the browser asks first

        revoked = post_form(
            c, f"/stores/{store_id}/devices", f"/stores/{store_id}/devices/{counter}/revoke", {}
        )
        assert revoked.status_code == 303
        assert revoked.headers["location"].endswith("msg=deviceRevoked")
        after = c.get(revoked.headers["location"]).text
        assert "裝置已撤銷" in after
        assert f'id="device-{counter}"' not in after  # out of the table...
        assert f'id="revoked-{counter}"' in after  # ...into the revoked list
        assert counter not in cloud_server.cloud.broker_password_path.read_text()

        c.get("/lang/en", params={"next": "/"})
        english = c.get(f"/stores/{store_id}/devices").text
        assert "Devices of" in english
        assert "Revoked devices" in english
        assert "Store node" in english
        assert "Offline" in english

    with browser(cloud_server) as snoop:
        signup_and_login(snoop, "devicesnoop")
        create_store(snoop, "別人的店")
        assert snoop.get(f"/stores/{store_id}/devices").status_code == 404
        assert snoop.get(f"/devices?store={store_id}").status_code == 404
        token = csrf_of(snoop.get("/devices").text)
        for action, data in [
            (f"/stores/{store_id}/devices/{kiosk}", {"name": "內鬼"}),
            (f"/stores/{store_id}/devices/{kiosk}/revoke", {}),
        ]:
            assert snoop.post(action, data={"csrf": token, **data}).status_code == 404, action
    with browser(cloud_server) as c:
        signup_and_login(c, "devicer2")
        mine = create_store(c, "我的一店")
        second = create_store(c, "我的二店")
        device = register(cloud_server, mine, "Pi")
        token = csrf_of(c.get("/devices").text)
        # under another store of the same seller, the device is not found
        assert (
            c.post(f"/stores/{second}/devices/{device}", data={"csrf": token, "name": "x"}).status_code == 404
        )
        assert c.post(f"/stores/{second}/devices/{device}/revoke", data={"csrf": token}).status_code == 404
