"""A seller's store staff in the cloud, on a real Postgres: the API (PINs given or made and shown once, names
unique per store whatever their case, new PINs, removal), every change a new version in the store's feed
and the accounts in its snapshot, another seller's store and staff 404, and the dashboard's Staff page in
both languages."""

import re

import httpx
from sqlalchemy import select

from cloud.tables import downlink_feed
from cloud.tables import staff as staff_table
from plumbing.credentials import verify_pin
from tests.cloud.conftest import CloudServer
from tests.cloud.test_dashboard_pages import browser, create_store, csrf_of, post_form, signup_and_login


def feed_staff(server: CloudServer, store_id: str) -> list[dict]:
    """The staff records in the store's feed, in order."""
    with server.cloud.db.read() as conn:
        rows = conn.execute(
            select(downlink_feed.c.payload)
            .where(downlink_feed.c.store_id == store_id, downlink_feed.c.kind == "staff")
            .order_by(downlink_feed.c.seq)
        )
        return [r.payload["staff"] for r in rows]


def test_staff_are_added_changed_and_removed_and_each_change_goes_down_the_feed(
    cloud_server: CloudServer, seller: httpx.Client
):
    store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    url = f"/stores/{store}/staff"
    manager = seller.post(url, json={"name": "王店長", "role": "manager", "pin": "2468"})
    assert manager.status_code == 201, manager.text
    assert manager.json()["pin"] is None  # given by the seller: nothing to show
    assert (manager.json()["role"], manager.json()["version"]) == ("manager", 1)
    cashier = seller.post(url, json={"name": "Amy Lin"}).json()
    assert cashier["role"] == "cashier"
    assert re.fullmatch(r"[0-9]{6}", cashier["pin"])  # made by the cloud, shown this once
    listed = seller.get(url).json()
    assert [m["name"] for m in listed] == ["Amy Lin", "王店長"]
    assert all("pin" not in m and "pinHash" not in m for m in listed)
    assert seller.get(f"{url}/{cashier['staffId']}").json()["name"] == "Amy Lin"

    for body in ({"name": "amy lin"}, {"name": "ＡＭＹ  LIN"}):  # any case, full width, blanks
        taken = seller.post(url, json=body)
        assert (taken.status_code, taken.json()["error"]["code"]) == (409, "staffNameTaken")
    for body in (
        {"name": "Bob", "pin": "123"},
        {"name": "Bob", "pin": "123456789"},
        {"name": "Bob", "pin": "12a4"},
        {"name": "Bob", "pin": 1234},
        {"name": "", "pin": "1234"},
        {"name": " Bob", "pin": "1234"},
        {"name": "Bob", "role": "owner"},
    ):
        assert seller.post(url, json=body).status_code == 422, body

    member = f"{url}/{cashier['staffId']}"
    renamed = seller.patch(member, json={"name": "林小美", "role": "manager"}).json()
    assert (renamed["name"], renamed["role"], renamed["version"], renamed["pin"]) == (
        "林小美",
        "manager",
        2,
        None,
    )
    fresh = seller.patch(member, json={"newPin": True}).json()
    assert re.fullmatch(r"[0-9]{6}", fresh["pin"])
    assert fresh["version"] == 3
    assert seller.patch(member, json={"pin": "0042"}).json()["version"] == 4
    assert seller.patch(member, json={}).json()["version"] == 4  # nothing changed, nothing sent
    for body in ({"pin": "0042", "newPin": True}, {"name": None}, {"pin": None}, {"name": "王店長"}):
        assert seller.patch(member, json=body).status_code in (409, 422), body

    assert seller.delete(member).status_code == 204
    assert seller.get(member).status_code == 404
    assert seller.delete(member).status_code == 404
    assert [m["name"] for m in seller.get(url).json()] == ["王店長"]
    assert (
        seller.post(url, json={"name": "林小美", "pin": "1357"}).status_code == 201
    )  # the name is free again

    records = feed_staff(cloud_server, store)
    mine = [r for r in records if r["staffId"] == cashier["staffId"]]
    assert [(r["version"], r["name"], r["role"], r["removed"]) for r in mine] == [
        (1, "Amy Lin", "cashier", False),
        (2, "林小美", "manager", False),
        (3, "林小美", "manager", False),
        (4, "林小美", "manager", False),
        (5, "林小美", "manager", True),
    ]
    assert verify_pin(mine[0]["pinHash"], cashier["pin"])
    assert verify_pin(mine[2]["pinHash"], fresh["pin"])
    assert verify_pin(mine[3]["pinHash"], "0042")
    assert all(r["pinHash"].startswith("$argon2id$") for r in records)
    with cloud_server.cloud.db.read() as conn:
        hashes = list(conn.execute(select(staff_table.c.pin_hash)).scalars())
    assert "0042" not in "".join(hashes)

    snapshot = seller.get(f"/stores/{store}/catalog-snapshot").json()
    held = {(s["name"], s["removed"], s["version"]) for s in snapshot["staff"]}
    assert held == {("王店長", False, 1), ("林小美", True, 5), ("林小美", False, 1)}


def test_another_sellers_store_and_staff_are_not_found(
    seller: httpx.Client, other_seller: httpx.Client, cloud_server: CloudServer
):
    mine = seller.post("/stores", json={"name": "我的店"}).json()["storeId"]
    second = seller.post("/stores", json={"name": "我的二店"}).json()["storeId"]
    member = seller.post(f"/stores/{mine}/staff", json={"name": "王店長", "pin": "2468"}).json()["staffId"]
    theirs = other_seller.post("/stores", json={"name": "別人的店"}).json()["storeId"]
    for method, path, body in [
        ("GET", f"/stores/{mine}/staff", None),
        ("POST", f"/stores/{mine}/staff", {"name": "內鬼", "pin": "1234"}),
        ("GET", f"/stores/{mine}/staff/{member}", None),
        ("PATCH", f"/stores/{mine}/staff/{member}", {"pin": "1234"}),
        ("DELETE", f"/stores/{mine}/staff/{member}", None),
    ]:
        r = other_seller.request(method, path, json=body)
        assert r.status_code == 404, (method, path, r.text)
    # Under another store of the same seller, a member is not found either.
    assert seller.get(f"/stores/{second}/staff/{member}").status_code == 404
    assert seller.get(f"/stores/{theirs}/staff").status_code == 404
    with httpx.Client(base_url=cloud_server.base_url) as anonymous:
        refused = anonymous.get(f"/stores/{mine}/staff")
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"] == "Bearer"
    assert [m["name"] for m in seller.get(f"/stores/{mine}/staff").json()] == ["王店長"]
    assert feed_staff(cloud_server, theirs) == []


def test_the_staff_page_in_both_languages(cloud_server: CloudServer):
    with browser(cloud_server) as c:
        signup_and_login(c, "staffer")
        assert "還沒有商店" in c.get("/staff").text
        store_id = create_store(c)
        page = c.get("/staff")
        assert page.status_code == 200
        assert 'href="/staff"' in page.text
        assert re.search(
            r'href="/staff" class="on" aria-current="page">店員<', page.text
        )  # the shop area's tab
        assert "這家門市還沒有店員" in page.text
        assert f'href="/staff?store={store_id}"' in c.get("/stores").text

        made = post_form(c, "/staff", f"/staff/{store_id}", {"name": "林小美", "role": "cashier", "pin": ""})
        assert made.status_code == 201, made.text
        pin = re.search(r'id="shown-pin">([0-9]{6})<', made.text)
        assert pin, made.text
        assert "只顯示這一次" in made.text
        assert "林小美" in made.text
        given = post_form(
            c, "/staff", f"/staff/{store_id}", {"name": "王店長", "role": "manager", "pin": "2468"}
        )
        assert given.status_code == 303
        assert given.headers["location"] == f"/staff?store={store_id}&msg=staffAdded"
        listing = c.get(given.headers["location"]).text
        assert "店員已新增" in listing
        assert "shown-pin" not in listing  # a PIN the seller gave is never shown
        assert "店長" in listing
        staff_ids = re.findall(rf'action="/staff/{store_id}/([0-9A-Z]{{26}})"', listing)
        assert len(staff_ids) == 2

        taken = post_form(
            c, "/staff", f"/staff/{store_id}", {"name": "林小美", "role": "cashier", "pin": "1234"}
        )
        assert taken.status_code == 422
        assert "這家門市已有同名的店員" in taken.text
        bad = post_form(c, "/staff", f"/staff/{store_id}", {"name": "Bob", "role": "cashier", "pin": "12"})
        assert bad.status_code == 422
        assert 'value="Bob"' in bad.text  # what was typed stays
        assert "PIN" in bad.text

        found = re.search(
            r'id="staff-([0-9A-Z]{26})">\s*<details>\s*<summary>\s*<span class="item-title">王店長<', listing
        )
        assert found, listing
        wang = found.group(1)
        new_pin = post_form(
            c,
            "/staff",
            f"/staff/{store_id}/{wang}",
            {"name": "王店長", "role": "manager", "pin": "", "new_pin": "on"},
        )
        assert new_pin.status_code == 200
        assert re.search(r'id="shown-pin">[0-9]{6}<', new_pin.text)
        token = csrf_of(c.get("/staff").text)
        removed = c.post(f"/staff/{store_id}/{wang}/delete", data={"csrf": token})
        assert removed.status_code == 303
        assert removed.headers["location"].endswith("msg=staffRemoved")

        c.get("/lang/en", params={"next": "/"})
        english = c.get(f"/staff?store={store_id}").text
        assert "Staff of" in english
        assert ">Staff<" in english
        assert "Cashier" in english
        assert "Add a staff member" in english
        made = post_form(c, "/staff", f"/staff/{store_id}", {"name": "Amy", "role": "manager", "pin": ""})
        assert "shown only this once" in made.text
        assert "Manager" in made.text

    with browser(cloud_server) as other:
        signup_and_login(other, "staffsnoop")
        assert other.get(f"/staff?store={store_id}").status_code == 404
        token = csrf_of(other.get("/staff").text)
        for action, data in [
            (f"/staff/{store_id}", {"name": "內鬼", "role": "manager", "pin": "1234"}),
            (f"/staff/{store_id}/{staff_ids[0]}", {"name": "內鬼", "role": "manager"}),
            (f"/staff/{store_id}/{staff_ids[0]}/delete", {}),
        ]:
            assert other.post(action, data={"csrf": token, **data}).status_code == 404, action
