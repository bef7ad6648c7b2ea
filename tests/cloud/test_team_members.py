"""A seller's team members (field staff): invitations (once, expiring), accepting, logging in at the ordinary
login, removal ending their sessions, emails shared with sellers' accounts as one login, and the one rule of
authorisation: a field staff session reaches exactly the stores, claim codes and devices; every other route
(including any added later) is 403 ``forbiddenForRole``."""

import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import inspect, text

from cloud.db import CloudDatabase
from tests.cloud.conftest import CloudServer, PostgresForTests, ingest, register_and_login, sale
from tests.cloud.test_brand_migration import add_seller, migrate_to
from tests.cloud.test_cloud_catalog import make_product
from tests.cloud.test_seller_isolation import BODIES

PASSWORD = "field staff 1"

# What a field staff session may call (besides the routes that take no login at all).
FIELD_STAFF_ROUTES = {
    "POST /api/v1/auth/logout",
    "GET /api/v1/stores",
    "GET /api/v1/stores/{storeId}",
    "GET /api/v1/stores/{storeId}/devices",
    "POST /api/v1/stores/{storeId}/devices",
    "DELETE /api/v1/stores/{storeId}/devices/{deviceId}",
    "PATCH /api/v1/stores/{storeId}/devices/{deviceId}",
    "GET /api/v1/stores/{storeId}/claim-codes",
    "POST /api/v1/stores/{storeId}/claim-codes",
    "DELETE /api/v1/stores/{storeId}/claim-codes/{claimCodeId}",
}
# Routes that take no login: anyone may call them, so no role is refused there.
PUBLIC_ROUTES = {
    "POST /api/v1/sellers",
    "POST /api/v1/auth/login",
    "POST /api/v1/devices/claim",
    "POST /api/v1/team-members/accept",
}


def invite(owner: httpx.Client, email: str, name: str = "外勤 阿明") -> dict:
    r = owner.post("/team-members", json={"email": email, "name": name, "role": "fieldStaff"})
    assert r.status_code == 201, r.text
    return r.json()


def field_staff(server: CloudServer, owner: httpx.Client, email: str) -> tuple[httpx.Client, dict]:
    """Invite ``email``, accept with ``PASSWORD``, log in: a client with the member's Bearer token."""
    invited = invite(owner, email)
    client = server.client()
    r = client.post("/team-members/accept", json={"token": invited["inviteToken"], "password": PASSWORD})
    assert r.status_code == 200, r.text
    r = client.post("/auth/login", json={"account": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    client.headers["Authorization"] = f"Bearer {r.json()['token']}"
    client.cookies.clear()
    return client, invited


Join = Callable[[httpx.Client, str], tuple[httpx.Client, dict]]


@pytest.fixture
def join(cloud_server: CloudServer) -> Iterator[Join]:
    """``join(owner, email)``: ``field_staff`` with its client closed after the test."""
    made: list[httpx.Client] = []

    def make(owner: httpx.Client, email: str) -> tuple[httpx.Client, dict]:
        client, invited = field_staff(cloud_server, owner, email)
        made.append(client)
        return client, invited

    yield make
    for client in made:
        client.close()


def test_an_invited_member_accepts_logs_in_and_is_field_staff(
    cloud_server: CloudServer, seller: httpx.Client
):
    invited = invite(seller, "ming@example.tw")
    member = invited["teamMember"]
    assert member["status"] == "invited"
    assert member["role"] == "fieldStaff"
    assert invited["inviteUrl"].endswith("/invite/" + invited["inviteToken"])
    listed = seller.get("/team-members").json()
    assert [m["email"] for m in listed] == ["ming@example.tw"]
    assert "inviteToken" not in listed[0]  # shown once

    with cloud_server.client() as anyone:
        # Not yet accepted: no login.
        r = anyone.post("/auth/login", json={"account": "ming@example.tw", "password": PASSWORD})
        assert r.status_code == 401
        r = anyone.post("/team-members/accept", json={"token": invited["inviteToken"], "password": PASSWORD})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "active"
        # Used once.
        r = anyone.post(
            "/team-members/accept", json={"token": invited["inviteToken"], "password": "again 12345"}
        )
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "inviteUsed"
        r = anyone.post("/team-members/accept", json={"token": "no-such-token", "password": PASSWORD})
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "inviteNotFound"
        # The ordinary login, with the email in any case.
        r = anyone.post("/auth/login", json={"account": "Ming@Example.TW", "password": PASSWORD})
        assert r.status_code == 200, r.text
        session = r.json()
        assert session["role"] == "fieldStaff"
        assert session["seller"] is None  # the seller's profile is the owner's
        assert session["teamMember"]["email"] == "ming@example.tw"
        r = anyone.get("/stores", headers={"Authorization": f"Bearer {session['token']}"})
        assert r.status_code == 200
    assert seller.get("/team-members").json()[0]["status"] == "active"


def test_invitations_expire(cloud_server: CloudServer, seller: httpx.Client):
    invited = invite(seller, "late@example.tw")
    cloud_server.clock.advance(days=7, seconds=1)
    assert seller.get("/team-members").json()[0]["status"] == "inviteExpired"
    with cloud_server.client() as anyone:
        r = anyone.post("/team-members/accept", json={"token": invited["inviteToken"], "password": PASSWORD})
        assert r.status_code == 410
        assert r.json()["error"]["code"] == "inviteExpired"
    # An expired invitation holds its email no longer: a new one replaces it, and works.
    again = invite(seller, "late@example.tw")
    assert [m["teamMemberId"] for m in seller.get("/team-members").json()] == [
        again["teamMember"]["teamMemberId"]
    ]
    with cloud_server.client() as anyone:
        r = anyone.post("/team-members/accept", json={"token": invited["inviteToken"], "password": PASSWORD})
        assert r.status_code == 404
        r = anyone.post("/team-members/accept", json={"token": again["inviteToken"], "password": PASSWORD})
        assert r.status_code == 200


def test_an_email_is_one_login_across_sellers_and_members(
    cloud_server: CloudServer, seller: httpx.Client, other_seller: httpx.Client
):
    invite(seller, "pat@example.tw")
    for who in (seller, other_seller):
        r = who.post("/team-members", json={"email": "PAT@example.tw", "name": "Pat", "role": "fieldStaff"})
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "accountTaken"
    with cloud_server.client() as anyone:
        r = anyone.post("/sellers", json={"account": "pat@EXAMPLE.tw", "password": PASSWORD, "name": "Pat"})
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "accountTaken"
        register_and_login(anyone, "owner@example.tw")
    r = seller.post("/team-members", json={"email": "owner@example.tw", "name": "O", "role": "fieldStaff"})
    assert r.status_code == 409
    r = seller.post("/team-members", json={"email": "x@example.tw", "name": "O", "role": "owner"})
    assert r.status_code == 422
    r = seller.post("/team-members", json={"email": "not-an-email", "name": "O", "role": "fieldStaff"})
    assert r.status_code == 422


def test_removing_a_member_ends_their_sessions_at_once(
    cloud_server: CloudServer, seller: httpx.Client, join: Join
):
    member, invited = join(seller, "gone@example.tw")
    assert member.get("/stores").status_code == 200
    member_id = invited["teamMember"]["teamMemberId"]
    assert seller.delete(f"/team-members/{member_id}").status_code == 204
    r = member.get("/stores")
    assert r.status_code == 401
    r = member.post("/auth/login", json={"account": "gone@example.tw", "password": PASSWORD})
    assert r.status_code == 401
    assert seller.get("/team-members").json() == []
    assert seller.delete(f"/team-members/{member_id}").status_code == 404
    # A pending invitation stops working when its member is removed; the email is free again.
    pending = invite(seller, "gone@example.tw")
    seller.delete(f"/team-members/{pending['teamMember']['teamMemberId']}")
    r = member.post("/team-members/accept", json={"token": pending["inviteToken"], "password": PASSWORD})
    assert r.status_code == 404


def test_field_staff_reach_exactly_stores_claim_codes_and_devices(
    cloud_server: CloudServer, seller: httpx.Client, join: Join
):
    """Every route of the API, from the OpenAPI document, as field staff: the allowed ones answer (not
    403), every other one is 403 forbiddenForRole. A route added later is refused until it is listed."""
    store = seller.post("/stores", json={"name": "外勤店"}).json()
    product = make_product(seller)
    order = sale(store["storeId"], product, [(0, 1)], cloud_server.clock())
    ingest(cloud_server, order)
    member, invited = join(seller, "walker@example.tw")
    device = member.post(f"/stores/{store['storeId']}/devices", json={"name": "櫃台 Pi"})
    assert device.status_code == 201, device.text
    claim_code = member.post(f"/stores/{store['storeId']}/claim-codes", json={"name": "門口 Pi"})
    assert claim_code.status_code == 201, claim_code.text
    ids = {
        "storeId": store["storeId"],
        "productId": product["productId"],
        "variantId": product["variants"][0]["variantId"],
        "orderId": order.order_id,
        "deviceId": device.json()["deviceId"],
        "claimCodeId": claim_code.json()["claimCodeId"],
        "teamMemberId": invited["teamMember"]["teamMemberId"],
        "name": "product-recognizer",
    }
    schema = seller.get("/openapi.json").json()
    seen: set[str] = set()
    for path, methods in schema["paths"].items():
        for method in methods:
            key = f"{method.upper()} {path}"
            if key == "POST /api/v1/auth/logout":
                continue  # last, below
            seen.add(key)
            url = path.removeprefix("/api/v1")
            for name in re.findall(r"{(\w+)}", path):
                url = url.replace(f"{{{name}}}", ids.get(name, "01HZZZZZZZZZZZZZZZZZZZZZZZ"))
            body = BODIES.get(key) if key in FIELD_STAFF_ROUTES else None
            r = member.request(method.upper(), url, json=body)
            if key in FIELD_STAFF_ROUTES or key in PUBLIC_ROUTES:
                assert r.status_code != 403, f"{key} refused to field staff: {r.text}"
                assert r.status_code < 500, f"{key}: {r.status_code} {r.text}"
            else:
                assert r.status_code == 403, f"{key} as field staff: {r.status_code} {r.text[:200]}"
                assert r.json()["error"]["code"] == "forbiddenForRole"
    assert FIELD_STAFF_ROUTES - {"POST /api/v1/auth/logout"} <= seen
    assert seen >= PUBLIC_ROUTES
    # What field staff did is the seller's: the owner sees the device they revoked and the code they withdrew.
    assert seller.get(f"/stores/{store['storeId']}/devices").json()[0]["revokedAt"] is not None
    active = [c["claimCodeId"] for c in seller.get(f"/stores/{store['storeId']}/claim-codes").json()]
    assert ids["claimCodeId"] not in active
    # Logging out ends the member's session.
    assert member.post("/auth/logout").status_code == 204
    assert member.get("/stores").status_code == 401


def test_field_staff_see_only_their_own_sellers_stores(
    cloud_server: CloudServer, seller: httpx.Client, other_seller: httpx.Client, join: Join
):
    theirs = other_seller.post("/stores", json={"name": "別家"}).json()
    member, _ = join(seller, "scoped@example.tw")
    assert member.get("/stores").json() == []
    r = member.post(f"/stores/{theirs['storeId']}/claim-codes", json={})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "storeNotFound"


def test_field_staff_logins_are_held_by_the_login_limits(
    cloud_server: CloudServer, seller: httpx.Client, join: Join
):
    join(seller, "limited@example.tw")
    with cloud_server.client() as guesser:
        codes = [
            guesser.post(
                "/auth/login", json={"account": "limited@example.tw", "password": "wrong guess"}
            ).status_code
            for _ in range(cloud_server.settings.login_max_failures + 1)
        ]
        assert codes[:-1] == [401] * cloud_server.settings.login_max_failures
        assert codes[-1] == 429
        # Even the right password waits now, from this address.
        r = guesser.post("/auth/login", json={"account": "limited@example.tw", "password": PASSWORD})
        assert r.status_code == 429
        assert "Retry-After" in r.headers


def test_the_team_tables_come_and_go(postgres: PostgresForTests):
    """0016 adds team_members and sessions.team_member_id and takes them away again; going down ends the
    members' sessions (they would otherwise become the owner's)."""
    postgres.server.create_database("teamcheck")
    db = CloudDatabase(postgres.server.url("teamcheck"))
    try:
        migrate_to(db, "0016")
        with db.engine.begin() as conn:
            add_seller(conn, "S1")
            conn.execute(
                text(
                    "INSERT INTO team_members (team_member_id, seller_id, email, name, role, invited_at, "
                    "accepted_at) VALUES ('M1', 'S1', 'm@example.tw', 'M', 'fieldStaff', now(), now())"
                )
            )
            for token, member in (("owner", None), ("member", "M1")):
                conn.execute(
                    text(
                        "INSERT INTO sessions (token_hash, seller_id, team_member_id, created_at, expires_at) "
                        "VALUES (:token, 'S1', :member, now(), now())"
                    ),
                    {"token": token, "member": member},
                )
        migrate_to(db, "0016-1", back=True)
        with db.engine.connect() as conn:
            assert "team_members" not in inspect(conn).get_table_names()
            assert "team_member_id" not in {c["name"] for c in inspect(conn).get_columns("sessions")}
            assert conn.execute(text("SELECT token_hash FROM sessions")).scalars().all() == ["owner"]
        migrate_to(db, "0016")
        with db.engine.connect() as conn:
            assert "team_members" in inspect(conn).get_table_names()
    finally:
        db.dispose()


def test_one_name_taken_at_once_by_many_is_taken_once(cloud_server: CloudServer, seller: httpx.Client):
    """Invitations of one email by several sellers and a registration of it as an account, all at once: one
    wins, the rest are 409 accountTaken (the advisory lock on the name); eight accepts of one link: one 200."""
    owners = [seller] + [cloud_server.client() for _ in range(3)]
    try:
        for i, client in enumerate(owners[1:]):
            register_and_login(client, f"racer{i}")

        def invite_it(owner: httpx.Client) -> int:
            body = {"email": "race@example.tw", "name": "搶", "role": "fieldStaff"}
            return owner.post("/team-members", json=body).status_code

        def register_it() -> int:
            with cloud_server.client() as anyone:
                body = {"account": "RACE@example.tw", "password": PASSWORD, "name": "搶"}
                return anyone.post("/sellers", json=body).status_code

        with ThreadPoolExecutor(8) as pool:
            results = [pool.submit(invite_it, o) for o in owners] + [
                pool.submit(register_it) for _ in range(2)
            ]
            codes = sorted(f.result() for f in results)
        assert codes == [201] + [409] * 5
    finally:
        for client in owners[1:]:
            client.close()

    invited = invite(seller, "accept-race@example.tw")

    def accept_it(_: int) -> int:
        with cloud_server.client() as anyone:
            body = {"token": invited["inviteToken"], "password": PASSWORD}
            return anyone.post("/team-members/accept", json=body).status_code

    with ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(accept_it, range(8))) == [200] + [409] * 7
