"""Claim codes (issue 19): a seller makes a one-time, expiring code for a store; a Pi claims its place with it
and gets MQTT credentials a real Mosquitto accepts. Reused, expired, unknown and withdrawn codes are refused
by name; another seller cannot make codes for my store; the dashboard shows a new code once, as text and QR."""

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError
from sqlalchemy import select

from cloud import claim_codes
from cloud.api.app import create_app
from cloud.settings import CloudSettings
from cloud.tables import claim_codes as claim_code_rows
from cloud.tables import devices
from plumbing import free_port, serve_in_thread
from sync_protocol.mqtt_link import MqttLink, MqttSettings
from tests.broker import MosquittoBroker
from tests.cloud.conftest import CloudServer, PostgresForTests, cloud_settings, register_and_login
from tests.cloud.test_dashboard_pages import browser, create_store, csrf_of, post_form, signup_and_login
from tests.conftest import FakeClock


def public_key(kind: str = "openssh") -> str:
    key = Ed25519PrivateKey.generate().public_key()
    if kind == "pem":
        return key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def claim_body(code: str, hardware_id: str = "10000000abcdef01", key: str | None = None) -> dict:
    return {"code": code, "hardwareId": hardware_id, "publicKey": key or public_key()}


@pytest.fixture
def broker_port() -> int:
    return free_port()


@pytest.fixture
def claim_cloud(
    tmp_path: Path, postgres: PostgresForTests, clock: FakeClock, broker_port: int
) -> Iterator[CloudServer]:
    """A cloud that tells claiming devices to use a broker on ``broker_port`` (started by the test)."""
    settings = cloud_settings(
        tmp_path,
        postgres.fresh_database(),
        public_broker_url=f"mqtt://127.0.0.1:{broker_port}",
        public_url="https://cloud.example.tw",
    )
    app = create_app(settings, clock)
    served = serve_in_thread(app, settings.cloud_port)
    yield CloudServer(settings, f"http://127.0.0.1:{settings.cloud_port}/api/v1", clock, app)
    served.stop(timeout_s=20)


@pytest.fixture
def owner(claim_cloud: CloudServer) -> Iterator[httpx.Client]:
    with claim_cloud.client() as client:
        register_and_login(client)
        yield client


def test_a_pi_claims_its_place_and_its_login_works_on_a_real_broker(
    claim_cloud: CloudServer, owner: httpx.Client, broker_port: int, tmp_path: Path
):
    store = owner.post("/stores", json={"name": "信義店"}).json()
    r = owner.post(f"/stores/{store['storeId']}/claim-codes", json={"name": "櫃台 Pi"})
    assert r.status_code == 201, r.text
    made = r.json()
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", made["code"])
    assert made["qrSvg"].startswith("<svg")
    assert made["qrText"].startswith("edgestore:claim?code=")
    assert "cloud.example.tw" in made["qrText"]
    listed = owner.get(f"/stores/{store['storeId']}/claim-codes").json()
    assert [c["claimCodeId"] for c in listed] == [made["claimCodeId"]]
    assert "code" not in listed[0]  # shown once
    with claim_cloud.cloud.db.read() as conn:
        stored = conn.execute(select(claim_codes.claim_codes.c.code_hash)).scalar_one()
    assert made["code"].replace("-", "") not in stored

    key = public_key("pem")
    with httpx.Client(base_url=claim_cloud.base_url, timeout=30) as pi:  # no login: the code is enough
        # typed loosely: lower case, spaces instead of dashes
        r = pi.post("/devices/claim", json=claim_body(made["code"].lower().replace("-", " "), key=key))
    assert r.status_code == 200, r.text
    claimed = r.json()
    assert claimed["storeId"] == store["storeId"]
    assert claimed["storeName"] == "信義店"
    assert claimed["cloudUrl"] == "https://cloud.example.tw"
    assert claimed["brokerUrl"] == f"mqtt://127.0.0.1:{broker_port}"
    mqtt = claimed["mqtt"]
    assert mqtt["username"] == mqtt["clientId"] == claimed["deviceId"]
    assert (mqtt["host"], mqtt["port"], mqtt["tls"]) == ("127.0.0.1", broker_port, False)

    devices_listed = owner.get(f"/stores/{store['storeId']}/devices").json()
    assert [(d["deviceId"], d["name"]) for d in devices_listed] == [(claimed["deviceId"], "櫃台 Pi")]
    assert owner.get(f"/stores/{store['storeId']}/claim-codes").json() == []  # used: no longer active
    with claim_cloud.cloud.db.read() as conn:
        row = conn.execute(select(devices).where(devices.c.device_id == claimed["deviceId"])).one()
    assert (row.hardware_id, row.public_key) == ("10000000abcdef01", key.strip())
    bell = owner.get("/notifications").json()["items"][0]
    assert bell["kind"] == "deviceProvisioned"

    # The broker the cloud's files describe lets the device in with what the claim gave it.
    cloud = claim_cloud.cloud
    broker = MosquittoBroker(
        tmp_path / "broker",
        port=broker_port,
        password_file_text=cloud.broker_password_path.read_text(),
        acl_text=cloud.broker_acl_path.read_text(),
    ).start()
    try:
        link = MqttLink(
            MqttSettings(
                host=mqtt["host"],
                port=mqtt["port"],
                client_id=mqtt["clientId"],
                username=mqtt["username"],
                password=mqtt["password"],
            )
        )
        assert link.start(wait_s=5)
        link.close()
        wrong = MqttLink(
            MqttSettings(
                host=mqtt["host"],
                port=mqtt["port"],
                client_id=mqtt["clientId"],
                username=mqtt["username"],
                password="not-the-password",
            )
        )
        assert not wrong.start(wait_s=2)
        wrong.close()
    finally:
        broker.stop()


def test_used_expired_unknown_and_withdrawn_codes_are_refused_by_name(
    claim_cloud: CloudServer, owner: httpx.Client
):
    store = owner.post("/stores", json={"name": "x"}).json()["storeId"]
    pi = owner  # the claim route ignores the login; any client will do
    used = owner.post(f"/stores/{store}/claim-codes", json={}).json()
    key = public_key()
    assert pi.post("/devices/claim", json=claim_body(used["code"], key=key)).status_code == 200
    # Again, even by the same Pi with the same key: it keeps its credentials, a re-run does not claim.
    again = pi.post("/devices/claim", json=claim_body(used["code"], key=key))
    assert (again.status_code, again.json()["error"]["code"]) == (409, "claimCodeUsed")

    short = owner.post(f"/stores/{store}/claim-codes", json={"expiresInMinutes": 5}).json()
    claim_cloud.clock.advance(minutes=5, seconds=1)
    expired = pi.post("/devices/claim", json=claim_body(short["code"]))
    assert (expired.status_code, expired.json()["error"]["code"]) == (410, "claimCodeExpired")

    for code in ("2222-3333-4444", "not a code", "7KQ4-M2XP-9RT"):
        unknown = pi.post("/devices/claim", json=claim_body(code))
        assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "claimCodeNotFound"), code

    withdrawn = owner.post(f"/stores/{store}/claim-codes", json={}).json()
    r = owner.delete(f"/stores/{store}/claim-codes/{withdrawn['claimCodeId']}")
    assert r.status_code == 204
    assert owner.get(f"/stores/{store}/claim-codes").json() == []
    gone = pi.post("/devices/claim", json=claim_body(withdrawn["code"]))
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "claimCodeNotFound")
    r = owner.delete(f"/stores/{store}/claim-codes/{withdrawn['claimCodeId']}")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "claimCodeNotFound")
    assert len(owner.get(f"/stores/{store}/devices").json()) == 1


def test_one_code_claimed_at_once_by_many_makes_one_device(claim_cloud: CloudServer, owner: httpx.Client):
    store = owner.post("/stores", json={"name": "x"}).json()["storeId"]
    code = owner.post(f"/stores/{store}/claim-codes", json={}).json()["code"]

    def claim(i: int) -> int:
        with httpx.Client(base_url=claim_cloud.base_url, timeout=30) as pi:
            return pi.post("/devices/claim", json=claim_body(code, hardware_id=f"pi-{i}")).status_code

    with ThreadPoolExecutor(8) as pool:
        answers = sorted(pool.map(claim, range(8)))
    assert answers == [200] + [409] * 7
    assert len(owner.get(f"/stores/{store}/devices").json()) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"expiresInMinutes": 0}, "expiresInMinutes"),
        ({"expiresInMinutes": 24 * 60 + 1}, "expiresInMinutes"),
        ({"expiresInMinutes": "60"}, "expiresInMinutes"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_claim_code_bodies(owner: httpx.Client, body: dict, field: str):
    store = owner.post("/stores", json={"name": "x"}).json()["storeId"]
    r = owner.post(f"/stores/{store}/claim-codes", json=body)
    assert r.status_code == 422, r.text


def test_a_code_lasts_a_day_at_most(claim_cloud: CloudServer, owner: httpx.Client):
    store = owner.post("/stores", json={"name": "x"}).json()["storeId"]
    made = owner.post(f"/stores/{store}/claim-codes", json={"expiresInMinutes": 24 * 60}).json()
    claim_cloud.clock.advance(hours=23, minutes=59)
    assert owner.post("/devices/claim", json=claim_body(made["code"])).status_code == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"publicKey": "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ== pi"}, "publicKey"),
        (
            {"publicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GK"},
            "publicKey",
        ),
        ({"publicKey": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}, "publicKey"),
        ({"publicKey": "x" * 5000}, "publicKey"),
        ({"hardwareId": ""}, "hardwareId"),
        ({"hardwareId": "a" * 129}, "hardwareId"),
        ({"hardwareId": "serial with spaces"}, "hardwareId"),
    ],
)
def test_bad_public_keys_and_hardware_ids_are_422(
    claim_cloud: CloudServer, owner: httpx.Client, change: dict, field: str
):
    store = owner.post("/stores", json={"name": "x"}).json()["storeId"]
    made = owner.post(f"/stores/{store}/claim-codes", json={}).json()
    r = owner.post("/devices/claim", json={**claim_body(made["code"]), **change})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field
    assert owner.get(f"/stores/{store}/claim-codes").json() != []  # the code is still good


def test_another_seller_can_neither_make_nor_see_nor_withdraw_my_codes(
    claim_cloud: CloudServer, owner: httpx.Client
):
    store = owner.post("/stores", json={"name": "mine"}).json()["storeId"]
    made = owner.post(f"/stores/{store}/claim-codes", json={}).json()
    with claim_cloud.client() as other:
        register_and_login(other)
        for r in (
            other.post(f"/stores/{store}/claim-codes", json={}),
            other.get(f"/stores/{store}/claim-codes"),
        ):
            assert (r.status_code, r.json()["error"]["code"]) == (404, "storeNotFound")
        r = other.delete(f"/stores/{store}/claim-codes/{made['claimCodeId']}")
        assert (r.status_code, r.json()["error"]["code"]) == (404, "claimCodeNotFound")
    assert [c["claimCodeId"] for c in owner.get(f"/stores/{store}/claim-codes").json()] == [
        made["claimCodeId"]
    ]


def test_many_failed_claims_from_one_address_are_slowed(claim_cloud: CloudServer, owner: httpx.Client):
    limit = claim_cloud.settings.login_address_max_failures
    for _ in range(limit):
        assert owner.post("/devices/claim", json=claim_body("2222-3333-4444")).status_code == 404
    r = owner.post("/devices/claim", json=claim_body("2222-3333-4444"))
    assert (r.status_code, r.json()["error"]["code"]) == (429, "tooManyAttempts")
    assert int(r.headers["Retry-After"]) > 0
    # Logins from that address are not held by failed claims.
    assert owner.post("/auth/login", json={"account": "nobody", "password": "whatever1"}).status_code == 401
    claim_cloud.clock.advance(seconds=claim_cloud.settings.login_window_s + 1)
    assert owner.post("/devices/claim", json=claim_body("2222-3333-4444")).status_code == 404


def test_the_broker_handed_out_defaults_to_the_clouds_own_without_its_login(tmp_path: Path):
    base = {"cloud_data_dir": tmp_path}
    assert CloudSettings(**base).device_broker_url is None  # type: ignore[arg-type]
    linked = CloudSettings(cloud_mqtt_url="mqtts://edgestore-cloud:s3cret@broker.example.tw:8884", **base)  # type: ignore[arg-type]
    assert linked.device_broker_url == "mqtts://broker.example.tw:8884"
    public = CloudSettings(
        cloud_mqtt_url="mqtt://edgestore-cloud:s3cret@10.0.0.5:1883",
        public_broker_url="mqtts://mqtt.example.tw",
        **base,  # type: ignore[arg-type]
    )
    assert public.device_broker_url == "mqtts://mqtt.example.tw"
    for bad in ("mqtt://user:pass@mqtt.example.tw", "http://mqtt.example.tw", "mqtt://"):
        with pytest.raises(ValidationError):
            CloudSettings(public_broker_url=bad, **base)  # type: ignore[arg-type]


def test_codes_are_typeable_and_normalised():
    code = claim_codes.new_code()
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", code)
    assert not set(code) & set("01ILO")
    assert claim_codes.normalised(code.lower().replace("-", " ")) == code.replace("-", "")
    assert claim_codes.normalised("OOOO-1111-IIII") is None


def test_the_store_page_makes_a_code_shows_it_once_with_its_qr_and_withdraws_one(cloud_server: CloudServer):
    with browser(cloud_server) as c:
        signup_and_login(c, "claimer")
        store_id = create_store(c)
        page = c.get("/stores").text
        assert "裝置認領碼" in page
        assert "新增裝置認領碼" in page
        made = post_form(c, "/stores", f"/stores/{store_id}/claim-codes", {"name": "櫃台 Pi"})
        assert made.status_code == 201, made.text
        code = re.search(r'id="shown-claim-code">([0-9A-Z-]{14})<', made.text)
        assert code, made.text
        assert re.search(r'id="shown-claim-qr" src="data:image/svg\+xml', made.text)
        assert "只顯示這一次" in made.text
        listing = c.get("/stores").text
        assert code.group(1) not in listing  # shown once
        assert "櫃台 Pi" in listing
        withdraw = re.search(rf'action="(/stores/{store_id}/claim-codes/[0-9A-Z]{{26}}/withdraw)"', listing)
        assert withdraw, listing
        r = c.post(withdraw.group(1), data={"csrf": csrf_of(listing)})
        assert r.status_code == 303
        assert r.headers["location"] == "/stores?msg=claimCodeWithdrawn"
        after = c.get(r.headers["location"]).text
        assert "認領碼已撤回" in after
        assert "目前沒有可用的認領碼" in after

        for bad in ("x" * 201, "櫃台\x00Pi"):
            refused = post_form(c, "/stores", f"/stores/{store_id}/claim-codes", {"name": bad})
            assert refused.status_code == 422, refused.text
            assert "shown-claim-code" not in refused.text

        # A day, for a card prepared to provision its Pi on first boot; what the form does not offer is 422.
        assert 'name="expires_in_minutes"' in listing
        day = post_form(
            c, "/stores", f"/stores/{store_id}/claim-codes", {"name": "卡片", "expires_in_minutes": "1440"}
        )
        assert day.status_code == 201, day.text
        with cloud_server.cloud.db.read() as conn:
            lasts = conn.execute(
                select(claim_code_rows.c.expires_at - claim_code_rows.c.created_at).where(
                    claim_code_rows.c.name == "卡片"
                )
            ).scalar_one()
        assert lasts == timedelta(days=1)
        for bad in ("1441", "0", "abc", "-5"):
            refused = post_form(c, "/stores", f"/stores/{store_id}/claim-codes", {"expires_in_minutes": bad})
            assert refused.status_code == 422, bad

        c.get("/lang/en", params={"next": "/"})
        english = post_form(c, "/stores", f"/stores/{store_id}/claim-codes", {"name": ""})
        assert "Claim code for" in english.text
        assert "shown only this once" in english.text
        assert "New claim code" in english.text

    with browser(cloud_server) as other:
        signup_and_login(other, "claimsnoop")
        token = csrf_of(other.get("/stores").text)
        assert other.post(f"/stores/{store_id}/claim-codes", data={"csrf": token}).status_code == 404
