"""Staff at a real node: accounts made with the CLI (a node that was never online), login and logout, the
lock on a name after wrong PINs, tokens that expire, who made a return recorded with it and sent up, and
the cloud's accounts taking their names from local ones."""

import json
import re
import sqlite3
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import httpx
import pytest

from edge import staff
from edge.node import Node
from models.ids import new_id
from models.staff import StaffRecord, StaffRole
from plumbing.credentials import hash_pin, token_hash
from tests.conftest import EDGESTORE
from tests.edge.conftest import EdgeServer
from tests.edge.helpers import add_staff, checkout, new_cart, staff_login


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EDGESTORE, "edge", "staff", *args], capture_output=True, text=True, timeout=120)


def login(edge: EdgeServer, name: str, pin: str) -> httpx.Response:
    return edge.client.post("/staff/login", json={"name": name, "pin": pin})


def me(edge: EdgeServer, headers: dict[str, str]) -> httpx.Response:
    return edge.client.get("/staff/me", headers=headers)


def test_the_cli_makes_lists_and_removes_accounts_a_running_node_logs_in_with(edge: EdgeServer):
    data_dir = str(edge.settings.data_dir)
    made = cli("add", "王小明", "--role", "manager", "--data-dir", data_dir)
    assert made.returncode == 0, made.stderr
    assert "added 王小明 (manager, local)" in made.stdout
    pin = made.stdout.split("PIN: ")[1].split()[0]
    assert re.fullmatch(r"[0-9]{6}", pin)
    given = cli("add", "Amy", "--pin", "0042", "--data-dir", data_dir)
    assert given.returncode == 0, given.stderr
    assert "PIN" not in given.stdout  # the PIN was given: nothing to show
    assert "(cashier, local)" in given.stdout  # the default role

    listed = cli("list", "--data-dir", data_dir).stdout.splitlines()
    assert [line.split("\t")[:3] for line in listed] == [
        ["Amy", "cashier", "local"],
        ["王小明", "manager", "local"],
    ]

    session = login(edge, "王小明", pin)
    assert session.status_code == 200, session.text
    body = session.json()
    assert (body["name"], body["role"]) == ("王小明", "manager")
    headers = {"Authorization": f"Bearer {body['token']}"}
    assert me(edge, headers).json()["staffId"] == body["staffId"]
    assert login(edge, "AMY", "0042").status_code == 200  # names in any case

    for args, message in [
        (("add", "amy", "--data-dir", data_dir), "staffNameTaken"),
        (("add", "Bob", "--pin", "12", "--data-dir", data_dir), "PIN '12'"),
        (("add", "Bob", "--pin", "123456789", "--data-dir", data_dir), "PIN '123456789'"),
        (("add", "Bob", "--role", "owner", "--data-dir", data_dir), "owner"),
        (("remove", "Nobody", "--data-dir", data_dir), "staffNotFound"),
    ]:
        refused = cli(*args)
        assert refused.returncode == 2, (args, refused.stdout)
        assert message in refused.stderr, (args, refused.stderr)

    removed = cli("remove", "王小明", "--data-dir", data_dir)
    assert removed.returncode == 0, removed.stderr
    assert me(edge, headers).status_code == 401  # their login ended with the account
    assert login(edge, "王小明", pin).status_code == 401
    assert "王小明" not in cli("list", "--data-dir", data_dir).stdout
    assert "removed" in cli("list", "--removed", "--data-dir", data_dir).stdout


def test_login_logout_and_a_token_that_expires_after_a_shift(edge: EdgeServer):
    add_staff(edge.settings, "林小美", StaffRole.CASHIER, "1357")
    session = login(edge, "林小美", "1357").json()
    headers = {"Authorization": f"Bearer {session['token']}"}
    expires_at = datetime.fromisoformat(session["expiresAt"].replace("Z", "+00:00"))
    assert expires_at == edge.clock() + timedelta(hours=8)
    assert me(edge, headers).json()["role"] == "cashier"
    with sqlite3.connect(edge.database_path) as conn:
        stored = [row[0] for row in conn.execute("SELECT token_hash FROM staff_sessions")]
    assert stored == [token_hash(session["token"])]  # only its SHA-256 is kept

    edge.clock.advance(hours=7, minutes=59)
    assert me(edge, headers).status_code == 200
    edge.clock.advance(minutes=1)
    expired = me(edge, headers)
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "unauthenticated"
    assert expired.headers["WWW-Authenticate"] == "Bearer"

    again = {"Authorization": f"Bearer {login(edge, '林小美', '1357').json()['token']}"}
    assert edge.client.post("/staff/logout", headers=again).status_code == 204
    assert me(edge, again).status_code == 401
    assert edge.client.post("/staff/logout", headers=again).status_code == 401
    assert me(edge, {"Authorization": "Bearer made-up"}).status_code == 401
    assert me(edge, {"Authorization": "Basic dXNlcjpwYXNz"}).status_code == 401


@pytest.mark.parametrize("name", ["林小美", "Nobody At All"])
def test_wrong_pins_lock_the_name_for_longer_each_time(edge: EdgeServer, name: str):
    """The same answers for a name nobody has: they do not tell which names exist."""
    add_staff(edge.settings, "林小美", StaffRole.CASHIER, "1357")
    pin = "1357"
    for _ in range(5):
        wrong = login(edge, name, "9999")
        assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "invalidCredentials")
    locked = login(edge, name, pin)  # even the right PIN waits: it is not looked at
    assert locked.status_code == 429
    assert locked.headers["Retry-After"] == "30"
    assert locked.json()["error"] | {"message": ""} == {
        "code": "tooManyAttempts",
        "message": "",
        "retryAfterS": 30,
    }
    edge.clock.advance(seconds=20)
    assert login(edge, name, pin).headers["Retry-After"] == "10"
    edge.clock.advance(seconds=10)
    assert login(edge, name, "9999").status_code == 401  # the 6th failure in a row: 60 s now
    assert login(edge, name, pin).headers["Retry-After"] == "60"
    edge.clock.advance(seconds=60)
    assert login(edge, name, "9999").status_code == 401
    assert login(edge, name, pin).headers["Retry-After"] == "120"
    assert login(edge, "someone else", "9999").status_code == 401  # other names are not held
    edge.clock.advance(seconds=120)
    if name == "林小美":
        assert login(edge, name, pin).status_code == 200  # a success forgives the name's failures
        assert login(edge, name, "9999").status_code == 401
        assert login(edge, name, pin).status_code == 200


def test_parallel_guesses_are_each_counted(edge: EdgeServer):
    add_staff(edge.settings, "林小美", StaffRole.CASHIER, "1357")

    def guess(_: int) -> int:
        with edge.new_client() as client:
            return client.post("/staff/login", json={"name": "林小美", "pin": "0000"}).status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = sorted(pool.map(guess, range(24)))
    assert statuses == [401] * 5 + [429] * 19  # the lock set by the 5th holds all the others back


def test_failures_are_forgotten_after_a_day_without_any(edge: EdgeServer):
    add_staff(edge.settings, "林小美", StaffRole.CASHIER, "1357")
    for _ in range(5):
        login(edge, "林小美", "0000")
    edge.clock.advance(seconds=30)
    login(edge, "林小美", "0000")  # the 6th in a row
    assert login(edge, "林小美", "1357").headers["Retry-After"] == "60"
    edge.clock.advance(days=1)
    for _ in range(5):  # five free ones again
        assert login(edge, "林小美", "0000").status_code == 401
    assert login(edge, "林小美", "1357").headers["Retry-After"] == "30"
    with sqlite3.connect(edge.database_path) as conn:
        assert conn.execute("SELECT count(*) FROM staff_login_failures").fetchone() == (1,)


def test_a_locked_name_is_unlocked_at_the_console(edge: EdgeServer):
    add_staff(edge.settings, "林小美", StaffRole.CASHIER, "1357")
    for _ in range(6):
        login(edge, "林小美", "0000")
    assert login(edge, "林小美", "1357").status_code == 429
    done = cli("unlock", "林小美", "--data-dir", str(edge.settings.data_dir))
    assert done.returncode == 0, done.stderr
    assert "unlocked" in done.stdout
    assert login(edge, "林小美", "1357").status_code == 200


def test_a_return_names_the_manager_who_made_it_here_and_on_its_way_up(edge: EdgeServer):
    add_staff(edge.settings, "王店長", StaffRole.MANAGER, "2468")
    add_staff(edge.settings, "林小美", StaffRole.CASHIER, "1357")
    manager = staff_login(edge.client, "王店長", "2468")
    cashier = staff_login(edge.client, "林小美", "1357")
    order = checkout(edge.client, new_cart(edge.client, ("latte-1", 1))["cartId"]).json()
    url = f"/orders/{order['orderId']}/transitions"
    assert edge.client.post(url, json={"toStatus": "returned"}).status_code == 401
    refused = edge.client.post(url, json={"toStatus": "returned"}, headers=cashier)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
    assert refused.json()["error"]["role"] == "manager"
    done = edge.client.post(url, json={"toStatus": "returned", "note": "破損"}, headers=manager)
    assert done.status_code == 200, done.text
    staff_id = me(edge, manager).json()["staffId"]
    with sqlite3.connect(edge.database_path) as conn:
        assert conn.execute("SELECT staff_id, staff_name FROM order_transitions").fetchall() == [
            (staff_id, "王店長")
        ]
        payload = json.loads(
            conn.execute("SELECT payload FROM outbox WHERE stream = 'orderStatus'").fetchone()[0]
        )
    assert payload["staff"] == {"staffId": staff_id, "name": "王店長"}
    assert payload["toStatus"] == "returned"


def record(store_id: str, name: str, *, staff_id: str | None = None, version: int = 1, **rest) -> StaffRecord:
    return StaffRecord(
        staff_id=staff_id or new_id(),
        store_id=store_id,
        name=name,
        role=rest.pop("role", StaffRole.CASHIER),
        pin_hash=rest.pop("pin_hash", hash_pin("1111")),
        version=version,
        **rest,
    )


def apply(edge: EdgeServer, *records: StaffRecord) -> list[bool]:
    node = Node.open(edge.settings)
    try:
        with node.db.write() as conn:
            return [staff.apply_record(conn, r, edge.clock()) for r in records]
    finally:
        node.close()


def test_the_clouds_account_takes_its_name_from_a_local_one_and_only_newer_versions_apply(edge: EdgeServer):
    store_id = new_id()
    add_staff(edge.settings, "Amy", StaffRole.MANAGER, "2468")
    local = staff_login(edge.client, "Amy", "2468")
    amy = record(store_id, "amy", role=StaffRole.CASHIER, pin_hash=hash_pin("1111"))
    assert apply(edge, amy) == [True]
    assert me(edge, local).status_code == 401  # the local Amy is gone, her login with her
    assert login(edge, "Amy", "2468").status_code == 401
    cloud = staff_login(edge.client, "AMY", "1111")
    assert me(edge, cloud).json()["role"] == "cashier"
    refused = cli("add", "Amy", "--data-dir", str(edge.settings.data_dir))
    assert (refused.returncode, "the cloud's account" in refused.stderr) == (2, True)
    refused = cli("remove", "Amy", "--data-dir", str(edge.settings.data_dir))
    assert (refused.returncode, "staffManagedInCloud" in refused.stderr) == (2, True)

    promoted = amy.model_copy(update={"role": StaffRole.MANAGER, "version": 2})
    assert apply(edge, promoted, amy) == [True, False]  # a repeat of an older version changes nothing
    assert me(edge, cloud).json()["role"] == "manager"  # the role applies to a live login at once
    new_pin = promoted.model_copy(update={"pin_hash": hash_pin("2222"), "version": 3})
    assert apply(edge, new_pin) == [True]
    assert me(edge, cloud).status_code == 401  # a new PIN ends the logins made with the old one
    again = staff_login(edge.client, "amy", "2222")
    assert apply(edge, new_pin.model_copy(update={"removed": True, "version": 4})) == [True]
    assert me(edge, again).status_code == 401
    assert login(edge, "amy", "2222").status_code == 401
