"""Login limits measured from outside, through real uvicorn started the way ``edgestore cloud serve`` starts
it (``CloudSettings.uvicorn_proxy_options``), on a real Postgres: concurrent guesses, forged
``X-Forwarded-For``, strangers locking owners out, and the growing wait (on the app's injectable clock).

Addresses other than 127.0.0.1 come from ``X-Forwarded-For`` with the test client configured as a trusted
proxy, which is how a deployment behind a reverse proxy sees its clients."""

import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from cloud import auth
from cloud.api.app import create_app
from cloud.settings import CloudSettings
from cloud.tables import login_failures
from models.errors import TooManyAttempts
from plumbing import serve_in_thread
from tests.cloud.conftest import CloudServer, PostgresForTests, cloud_settings
from tests.conftest import FakeClock

RIGHT = "the-right-one"
WRONG = "a-wrong-guess"

Serve = Callable[..., CloudServer]


@contextmanager
def _served(settings: CloudSettings, clock: FakeClock) -> Iterator[CloudServer]:
    app = create_app(settings, clock)
    # Served with the proxy options cloud/cli.py and the demo use, so X-Forwarded-For is judged for real.
    served = serve_in_thread(app, settings.cloud_port, **settings.uvicorn_proxy_options())
    try:
        yield CloudServer(settings, f"http://127.0.0.1:{settings.cloud_port}/api/v1", clock, app)
    finally:
        served.stop(timeout_s=20)


@pytest.fixture
def serve(tmp_path: Path, postgres: PostgresForTests, clock: FakeClock) -> Iterator[Serve]:
    """Start a cloud with the given settings; stopped at the end of the test."""
    with ExitStack() as stack:

        def start(**overrides: object) -> CloudServer:
            settings = cloud_settings(tmp_path, postgres.fresh_database(), **overrides)
            return stack.enter_context(_served(settings, clock))

        yield start


def register(server: CloudServer, account: str) -> None:
    with server.client() as c:
        r = c.post("/sellers", json={"account": account, "password": RIGHT, "name": f"{account} 小舖"})
        assert r.status_code == 201, r.text


def api_login(
    server: CloudServer, account: str, password: str, forwarded_for: str | None = None
) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    with server.client() as c:
        return c.post("/auth/login", json={"account": account, "password": password}, headers=headers)


def failures(server: CloudServer, **where: str) -> list[tuple[str, str]]:
    """The (account, client) rows of the failures recorded, filtered by column values."""
    query = select(login_failures.c.account, login_failures.c.client)
    for column, value in where.items():
        query = query.where(login_failures.c[column] == value)
    with server.cloud.db.read() as conn:
        return [(r.account, r.client) for r in conn.execute(query)]


def browser(server: CloudServer, address: str | None = None, **headers: str) -> httpx.Client:
    """A browser without script: cookies kept, redirects not followed; ``address`` is what the (trusted)
    proxy in front of the cloud says about it."""
    if address:
        headers["X-Forwarded-For"] = address
    return httpx.Client(
        base_url=f"http://127.0.0.1:{server.settings.cloud_port}", timeout=30, headers=headers
    )


def page_login(c: httpx.Client, account: str, password: str) -> httpx.Response:
    page = c.get("/login")
    match = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
    assert match, page.text
    return c.post("/login", data={"csrf": match.group(1), "account": account, "password": password})


# --- (a) concurrency ---------------------------------------------------------------------------------------


def test_parallel_wrong_passwords_are_tried_only_as_often_as_allowed(serve: Serve):
    server = serve()
    register(server, "parallel")
    allowed = server.settings.login_max_failures
    start = threading.Barrier(30)

    def guess(_: int) -> int:
        with server.client() as c:
            start.wait()  # all 30 at once, as the outside measurement did
            return c.post("/auth/login", json={"account": "parallel", "password": WRONG}).status_code

    with ThreadPoolExecutor(30) as pool:
        codes = list(pool.map(guess, range(30)))

    assert codes.count(401) == allowed, codes
    assert codes.count(429) == 30 - allowed, codes
    assert len(failures(server, account="parallel")) == allowed


# --- (b) X-Forwarded-For ------------------------------------------------------------------------------------


def test_forwarded_for_from_an_untrusted_client_does_not_reset_the_address_limit(serve: Serve):
    server = serve(login_address_max_failures=3)  # no proxy configured: the default
    codes = [
        api_login(server, f"nobody{i}", WRONG, forwarded_for=f"198.51.100.{i}").status_code for i in range(6)
    ]
    # Different accounts (no per-account wait), a new forged address each time: still one address, ours.
    assert codes == [401, 401, 401, 429, 429, 429]
    assert {client for _, client in failures(server)} == {"127.0.0.1"}


def test_forwarded_for_from_a_configured_proxy_is_the_client_address(serve: Serve):
    server = serve(login_address_max_failures=3, cloud_forwarded_allow_ips="127.0.0.1")
    codes = [
        api_login(server, f"nobody{i}", WRONG, forwarded_for=f"198.51.100.{i}").status_code for i in range(6)
    ]
    assert codes == [401] * 6
    assert {client for _, client in failures(server)} == {f"198.51.100.{i}" for i in range(6)}
    # The proxy's own view still counts per address: one client behind it hits the address limit.
    codes = [api_login(server, f"other{i}", WRONG, forwarded_for="203.0.113.5").status_code for i in range(4)]
    assert codes == [401, 401, 401, 429]


def test_the_proxy_setting_is_checked_and_off_by_default():
    assert CloudSettings().uvicorn_proxy_options() == {"proxy_headers": False, "forwarded_allow_ips": []}
    options = CloudSettings(cloud_forwarded_allow_ips="10.0.0.2, 10.1.0.0/16,::1").uvicorn_proxy_options()
    assert options == {"proxy_headers": True, "forwarded_allow_ips": ["10.0.0.2", "10.1.0.0/16", "::1"]}
    for bad in ("proxy.internal", "10.0.0.1/8", "10.0.0.300"):
        with pytest.raises(ValidationError):
            CloudSettings(cloud_forwarded_allow_ips=bad)


# --- (c) strangers and the owner ----------------------------------------------------------------------------


def test_a_strangers_failures_do_not_stop_the_owner_logging_in(serve: Serve):
    server = serve(cloud_forwarded_allow_ips="127.0.0.1")
    register(server, "shop")
    stranger = [api_login(server, "shop", WRONG, forwarded_for="203.0.113.9") for _ in range(8)]
    assert [r.status_code for r in stranger].count(429) == 8 - server.settings.login_max_failures
    r = api_login(server, "shop", RIGHT, forwarded_for="198.51.100.7")  # the owner, from their address
    assert r.status_code == 200, r.text
    # ...and the owner's success does not wipe the stranger's failures: the stranger still waits.
    assert api_login(server, "shop", RIGHT, forwarded_for="203.0.113.9").status_code == 429


def test_the_known_device_cookie_lets_the_owner_in_past_the_account_limit(serve: Serve):
    server = serve(cloud_forwarded_allow_ips="127.0.0.1", login_account_max_failures=8)
    register(server, "owner")
    register(server, "neighbour")
    with browser(server, "198.51.100.7") as usual:
        r = page_login(usual, "owner", RIGHT)
        assert r.status_code == 303, r.text
        set_cookie = next(v for v in r.headers.get_list("set-cookie") if v.startswith(auth.DEVICE_COOKIE))
        assert "HttpOnly" in set_cookie
        assert "SameSite=strict" in set_cookie
        usual.cookies.delete(auth.SESSION_COOKIE)  # logged out (the device cookie stays)
        device = usual.cookies[auth.DEVICE_COOKIE]

        # A distributed guesser: one try from each of many addresses, until the account's limit holds.
        for i in range(8):
            assert api_login(server, "owner", WRONG, forwarded_for=f"203.0.113.{i}").status_code == 401
        assert api_login(server, "owner", RIGHT, forwarded_for="203.0.113.100").status_code == 429
        with browser(server, "198.51.100.8") as new_browser:  # the owner on a new browser waits too
            assert page_login(new_browser, "owner", RIGHT).status_code == 429

        r = page_login(usual, "owner", RIGHT)  # the usual browser is let in
        assert r.status_code == 303, r.text
        assert r.headers["location"] == "/dashboard"
        assert usual.get("/dashboard").status_code == 200
        assert usual.cookies[auth.DEVICE_COOKIE] == device  # the same device, renewed

    # The cookie is bound to its account and to our secret: elsewhere or altered it exempts nothing.
    for i in range(8):
        api_login(server, "neighbour", WRONG, forwarded_for=f"203.0.114.{i}")
    seller_id, device_id, mac = device.split(".")
    altered = f"{seller_id}.{device_id[:-1]}{'A' if device_id[-1] != 'A' else 'B'}.{mac}"
    for account, cookie in (("neighbour", device), ("owner", altered)):
        with browser(server, "198.51.100.7") as other:
            other.cookies.set(auth.DEVICE_COOKIE, cookie)
            assert page_login(other, account, RIGHT).status_code == 429, account


def test_a_known_device_is_not_held_by_a_shared_address(serve: Serve):
    """Behind one carrier-grade NAT address, a stranger's failures must not hold the owner's usual phone."""
    server = serve(cloud_forwarded_allow_ips="127.0.0.1", login_address_max_failures=4)
    register(server, "phone")
    shared = "100.64.0.1"
    with browser(server, shared) as usual:
        assert page_login(usual, "phone", RIGHT).status_code == 303
        usual.cookies.delete(auth.SESSION_COOKIE)
        for _ in range(6):  # the stranger on the same address: its own wait and the address limit
            api_login(server, "phone", WRONG, forwarded_for=shared)
        assert api_login(server, "phone", RIGHT, forwarded_for=shared).status_code == 429
        assert page_login(usual, "phone", RIGHT).status_code == 303


# --- (d) the growing wait -----------------------------------------------------------------------------------


def test_the_wait_grows_and_retry_after_says_so(serve: Serve):
    server = serve()
    settings = server.settings
    register(server, "slow")
    for _ in range(settings.login_max_failures):
        assert api_login(server, "slow", WRONG).status_code == 401

    waits = []
    while True:
        r = api_login(server, "slow", RIGHT)  # even the right password: this source must wait
        assert r.status_code == 429
        body = r.json()["error"]
        assert body["code"] == "tooManyAttempts"
        wait = int(r.headers["Retry-After"])
        assert body["retryAfterS"] == wait
        waits.append(wait)
        if wait == settings.login_window_s:
            break
        server.clock.advance(seconds=wait - 1)
        assert int(api_login(server, "slow", WRONG).headers["Retry-After"]) == 1  # not a second early
        server.clock.advance(seconds=1)
        assert api_login(server, "slow", WRONG).status_code == 401  # tried, and failed once more
    assert waits == [30, 60, 120, 240, 480, 900]  # doubling, up to the window (15 minutes)

    server.clock.advance(seconds=settings.login_window_s)
    assert api_login(server, "slow", WRONG).status_code == 401
    assert int(api_login(server, "slow", WRONG).headers["Retry-After"]) == 900  # capped
    server.clock.advance(seconds=settings.login_window_s)
    assert api_login(server, "slow", RIGHT).status_code == 200
    # A success clears this source's failures: the next mistake is a plain 401 again.
    assert api_login(server, "slow", WRONG).status_code == 401


def test_the_login_page_says_how_long_to_wait(serve: Serve):
    server = serve()
    register(server, "waiting")
    with browser(server) as zh, browser(server, **{"Accept-Language": "en"}) as en:
        for _ in range(server.settings.login_max_failures):
            assert page_login(zh, "waiting", WRONG).status_code == 401
        r = page_login(zh, "waiting", RIGHT)
        assert r.status_code == 429
        assert r.headers["Retry-After"] == "30"
        assert "登入失敗次數過多" in r.text
        assert "請在 30 秒後再試" in r.text
        r = page_login(en, "waiting", RIGHT)
        assert r.headers["Retry-After"] == "30"
        assert "try again in 30 s." in r.text

        server.clock.advance(seconds=30)
        assert page_login(zh, "waiting", WRONG).status_code == 401
        r = page_login(zh, "waiting", RIGHT)
        assert r.headers["Retry-After"] == "60"
        assert "請在 1 分鐘後再試" in r.text
        server.clock.advance(seconds=60)
        assert page_login(zh, "waiting", WRONG).status_code == 401
        server.clock.advance(seconds=30)
        r = page_login(en, "waiting", RIGHT)
        assert r.headers["Retry-After"] == "90"
        assert "try again in 1 min 30 s." in r.text


def test_failures_are_counted_where_every_cloud_process_sees_them(serve: Serve):
    """The counts live in Postgres: what one process recorded holds in another (here: the service layer)."""
    server = serve()
    register(server, "shared")
    for _ in range(server.settings.login_max_failures):
        api_login(server, "shared", WRONG)
    with pytest.raises(TooManyAttempts) as refused:
        auth.login(server.cloud.db, server.settings, "SHARED", RIGHT, "127.0.0.1", server.clock())
    assert refused.value.retry_after_s == 30
    with server.cloud.db.read() as conn:
        count = conn.execute(select(func.count()).select_from(login_failures)).scalar_one()
    assert count == server.settings.login_max_failures


def test_an_api_client_that_logged_in_before_is_a_known_device_too(serve: Serve):
    """POST /api/v1/auth/login sets the same known-device cookie as the login page and honours it, so an
    app or script the owner uses is not locked out by a distributed guesser either."""
    server = serve(cloud_forwarded_allow_ips="127.0.0.1", login_account_max_failures=8)
    register(server, "owner")
    with server.client() as app:
        app.headers["X-Forwarded-For"] = "198.51.100.9"
        r = app.post("/auth/login", json={"account": "owner", "password": RIGHT})
        assert r.status_code == 200, r.text
        assert app.cookies.get(auth.DEVICE_COOKIE)
        app.cookies.delete(auth.SESSION_COOKIE)
        for i in range(8):
            assert api_login(server, "owner", WRONG, forwarded_for=f"203.0.113.{i}").status_code == 401
        assert api_login(server, "owner", RIGHT, forwarded_for="198.51.100.10").status_code == 429
        r = app.post("/auth/login", json={"account": "owner", "password": RIGHT})
        assert r.status_code == 200, r.text


def test_a_control_character_in_the_login_form_is_a_wrong_account_not_a_500(serve: Serve):
    """The login page's form reaches cloud.auth without a schema: a NUL (which Postgres text cannot hold)
    is answered like any wrong account, and nothing is written."""
    server = serve()
    register(server, "owner")
    with browser(server) as page:
        assert page_login(page, "ow\x00ner", RIGHT).status_code == 401
        assert page_login(page, "owner\x07", RIGHT).status_code == 401
    assert api_login(server, "owner", RIGHT).status_code == 200
    assert failures(server) == []
