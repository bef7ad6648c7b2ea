"""The shared service plumbing on its own: its public surface, where settings come from, the error shape and
the control-character guard on a real server, waiting, and running Mosquitto."""

import getpass
import subprocess
import sys
import threading
import tomllib
from datetime import UTC
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import Field

import plumbing
from models.errors import DomainError, NotFound
from plumbing import (
    VERSION,
    EdgestoreSettings,
    Mosquitto,
    RefuseControlCharacters,
    free_port,
    install_error_handlers,
    serve_in_thread,
    utcnow,
    wait_for_port,
    wait_until,
)
from plumbing.serving import port_answers
from tests.conftest import REPO


def test_every_public_name_loads_from_its_module():
    for name in plumbing.__all__:
        assert getattr(plumbing, name) is not None
    with pytest.raises(AttributeError):
        _ = plumbing.no_such_thing  # type: ignore[attr-defined]


def test_importing_the_clock_does_not_import_the_web_stack():
    code = "import sys; from plumbing import utcnow, EdgestoreSettings; print('uvicorn' in sys.modules, 'httpx' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert done.stdout.split() == ["False", "False"]


def test_the_version_is_the_one_in_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["version"] == VERSION


def test_utcnow_is_aware_utc():
    assert utcnow().tzinfo is UTC


class _Settings(EdgestoreSettings):
    port: int = Field(default=1)
    name: str = "default"


def test_settings_flags_beat_the_environment_which_beats_the_file(monkeypatch, tmp_path):
    config = tmp_path / "edgestore.toml"
    config.write_text('port = 3\nname = "from-file"\nother_service_setting = 1\n')
    monkeypatch.setenv("EDGESTORE_CONFIG_FILE", str(config))
    monkeypatch.setenv("EDGESTORE_PORT", "2")
    settings = _Settings()
    assert (settings.port, settings.name) == (2, "from-file")  # another service's key is ignored
    assert _Settings(port=1).port == 1
    monkeypatch.setenv("EDGESTORE_CONFIG_FILE", str(tmp_path / "absent.toml"))
    assert _Settings().name == "default"


class _Limited(DomainError):
    status = 429
    code = "tooManyTries"


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(RefuseControlCharacters)

    @app.get("/things/{thing}")
    def thing(thing: str, q: str = "") -> dict[str, str]:
        if thing == "missing":
            raise NotFound("no such thing", code="thingNotFound")
        if thing == "limited":
            raise _Limited("wait a little", retry_after_s=30)
        return {"thing": thing, "q": q}

    return app


def test_errors_and_control_characters_on_a_served_app():
    port = free_port()
    served = serve_in_thread(_app(), port, name="the test app")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            assert client.get("/things/tea", params={"q": "奶茶"}).json() == {"thing": "tea", "q": "奶茶"}
            missing = client.get("/things/missing")
            assert missing.status_code == 404
            assert missing.json() == {"error": {"code": "thingNotFound", "message": "no such thing"}}
            limited = client.get("/things/limited")
            assert limited.status_code == 429
            assert limited.headers["retry-after"] == "30"
            assert client.get("/nowhere").json()["error"]["code"] == "notFound"
            assert client.post("/things/tea").json()["error"]["code"] == "methodNotAllowed"
            for bad in ("/things/tea?q=a%00b", "/things/a%07b"):
                refused = client.get(bad)
                assert refused.status_code == 422
                assert refused.json()["error"]["code"] == "validationError"
    finally:
        served.stop(timeout_s=20)
    assert not served.running
    assert not port_answers("127.0.0.1", port)


def test_waiting_fails_at_once_when_what_should_get_ready_has_ended(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    proc.wait()
    with pytest.raises(RuntimeError, match="the server exited with status 3:\nits log"):
        wait_until(lambda: False, what="the server", timeout_s=60, watch=proc, details=lambda: "its log")
    thread = threading.Thread(target=lambda: None)
    thread.start()
    thread.join()
    with pytest.raises(RuntimeError, match="stopped before it was ready"):
        wait_until(lambda: False, what="the server", timeout_s=60, watch=thread)
    with pytest.raises(RuntimeError, match="was not ready within 0 s"):
        wait_for_port("127.0.0.1", free_port(), what="nothing", timeout_s=0.2)


def _broker_config(folder: Path, port: int, *extra: str) -> Mosquitto:
    folder.mkdir()
    lines = [f"user {getpass.getuser()}", f"listener {port} 127.0.0.1", "allow_anonymous true", *extra]
    (folder / "mosquitto.conf").write_text("\n".join(lines) + "\n")
    return Mosquitto(folder, port=port)


def test_mosquitto_starts_reloads_and_stops(tmp_path):
    port = free_port()
    broker = _broker_config(tmp_path / "broker", port).start()
    try:
        assert broker.running
        assert port_answers("127.0.0.1", port)
        broker.reload()
        assert broker.running
    finally:
        broker.stop()
    assert not broker.running
    assert broker.process is None
    assert not port_answers("127.0.0.1", port)
    assert broker.restart().running  # the same folder again
    broker.kill()
    assert not broker.running


def test_a_broker_that_cannot_start_says_why(tmp_path):
    broker = _broker_config(tmp_path / "broker", free_port(), "no_such_option true")
    with pytest.raises(RuntimeError, match=r"mosquitto exited with status \d+:\n.*no_such_option"):
        broker.start()
    assert broker.process is None
