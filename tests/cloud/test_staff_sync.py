"""The store's staff reach its node end to end, over a real Mosquitto with the shipped ACL and a real
Postgres: an account made before the node's first link comes in the snapshot, later ones down the feed; a
new PIN and a removal end logins at the node; the cloud's account takes its name from a node-local one; and
a return made at the counter shows in the cloud with the staff member who made it (API and order page)."""

import sqlite3
from pathlib import Path

import httpx
import pytest

from models.staff import StaffRole
from tests.cloud.conftest import CloudServer, restock
from tests.cloud.test_cloud_catalog import make_product
from tests.cloud.test_dashboard_pages import browser
from tests.cloud.test_sync_downlink import running_rig
from tests.cloud.test_sync_end_to_end import wait_for
from tests.edge.helpers import add_staff

pytestmark = pytest.mark.slow


def held(database: Path, name: str) -> tuple[str, str, int] | None:
    """The node's active account of that name (role, origin, version), read from its file: polling the
    login would count failures against the name."""
    with sqlite3.connect(database) as conn:
        row = conn.execute(
            "SELECT role, origin, version FROM staff WHERE name = ? AND removed = 0", (name,)
        ).fetchone()
    return tuple(row) if row else None


def test_staff_made_in_the_cloud_log_in_at_the_node_and_sign_its_returns(
    cloud_server: CloudServer, seller: httpx.Client, tmp_path: Path
):
    store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    product = make_product(seller)
    variant = product["variants"][0]["variantId"]
    restock(seller, store, variant, 10)
    staff_url = f"/stores/{store}/staff"
    manager = seller.post(staff_url, json={"name": "王店長", "role": "manager", "pin": "2468"}).json()

    with running_rig(cloud_server, seller, tmp_path, [store]) as rig:
        node = rig.start_node(0)
        database = node.settings.database_path
        # Made before the node linked: it comes in the snapshot, not the feed (which the node skips).
        wait_for(lambda: held(database, "王店長") == ("manager", "cloud", 1), what="the manager at the node")
        login = node.kiosk.post("/staff/login", json={"name": "王店長", "pin": "2468"})
        assert login.status_code == 200, login.text
        assert login.json()["staffId"] == manager["staffId"]
        boss = {"Authorization": f"Bearer {login.json()['token']}"}

        # A node-local account gives its name up to the cloud's when one arrives.
        add_staff(node.settings, "Amy", StaffRole.MANAGER, "9999")
        amy = seller.post(staff_url, json={"name": "amy"}).json()  # PIN made by the cloud
        wait_for(lambda: held(database, "amy") == ("cashier", "cloud", 1), what="the cloud's Amy")
        assert held(database, "Amy") is None
        assert node.kiosk.post("/staff/login", json={"name": "Amy", "pin": "9999"}).status_code == 401
        cashier = node.kiosk.post("/staff/login", json={"name": "AMY", "pin": amy["pin"]})
        assert cashier.status_code == 200, cashier.text
        amys = {"Authorization": f"Bearer {cashier.json()['token']}"}

        # A return at the counter: a cashier may not, the manager may; the cloud hears who did it.
        [order_id] = node.sell(variant, 1, "staff-return")
        wait_for(lambda: seller.get(f"/orders/{order_id}").status_code == 200, what="the sale in the cloud")
        url = f"/orders/{order_id}/transitions"
        assert node.kiosk.post(url, json={"toStatus": "returned"}, headers=amys).status_code == 403
        done = node.kiosk.post(url, json={"toStatus": "returned", "note": "盒子破了"}, headers=boss)
        assert done.status_code == 200, done.text
        wait_for(lambda: seller.get(f"/orders/{order_id}").json()["status"] == "returned", what="the return")
        [event] = [
            e for e in seller.get(f"/orders/{order_id}").json()["events"] if e["toStatus"] == "returned"
        ]
        assert event["staff"] == {"staffId": manager["staffId"], "name": "王店長"}
        assert (event["actor"], event["note"]) == ("store", "盒子破了")
        with browser(cloud_server) as page:
            page.cookies.set("edgestore_session", seller.headers["Authorization"].removeprefix("Bearer "))
            detail = page.get(f"/orders/{order_id}").text
            assert '<span class="staff-name">王店長</span>' in detail
            page.cookies.set("lang", "en")
            assert '<span class="staff-name">王店長</span>' in page.get(f"/orders/{order_id}").text

        # A new PIN and a role, then a removal, each reach the node down the feed.
        fresh = seller.patch(f"{staff_url}/{amy['staffId']}", json={"newPin": True, "role": "manager"}).json()
        wait_for(lambda: held(database, "amy") == ("manager", "cloud", 2), what="Amy's new PIN")
        assert node.kiosk.get("/staff/me", headers=amys).status_code == 401  # the old PIN's login ended
        assert node.kiosk.post("/staff/login", json={"name": "amy", "pin": amy["pin"]}).status_code == 401
        again = node.kiosk.post("/staff/login", json={"name": "amy", "pin": fresh["pin"]})
        assert again.json()["role"] == "manager"
        assert seller.delete(f"{staff_url}/{manager['staffId']}").status_code == 204
        wait_for(lambda: held(database, "王店長") is None, what="the removal at the node")
        assert node.kiosk.get("/staff/me", headers=boss).status_code == 401
        assert node.kiosk.post("/staff/login", json={"name": "王店長", "pin": "2468"}).status_code == 401
