"""The ``edgestore`` command as a person runs it: real subprocesses, real files."""

import json
import os
import signal
import subprocess
import time

import httpx
import pytest

from tests.conftest import EDGESTORE, free_port


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EDGESTORE, *args], capture_output=True, text=True, env=env, timeout=120)


def test_help_lists_the_commands():
    out = run("--help").stdout
    assert "demo" in out
    assert "edge" in out
    assert "serve" in run("edge", "--help").stdout


def test_load_catalog_then_refuse_an_older_version(tmp_path):
    catalog = tmp_path / "catalog.json"
    assert run("edge", "demo-catalog", "-o", str(catalog), "--version", "3").returncode == 0
    data = json.loads(catalog.read_text())
    assert data["version"] == 3
    assert data["products"][0]["variants"][0]["variantId"]
    loaded = run("edge", "load-catalog", str(catalog), "--data-dir", str(tmp_path / "node"))
    assert loaded.returncode == 0, loaded.stderr
    assert "loaded catalog version 3: 14 products" in loaded.stdout
    again = run("edge", "load-catalog", str(catalog), "--data-dir", str(tmp_path / "node"))
    assert again.returncode == 2
    assert "not newer than the loaded version 3 (staleCatalog)" in again.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{not json", "is not a valid catalog"),
        ('{"version": 0}', "version"),
        (
            '{"version": 1, "products": [{"productId": "a", "name": "A", "variants": []}]}',
            "products.0.variants",
        ),
        (
            '{"version": 1, "products": [{"productId": "a", "name": "A", "categoryId": "nope",'
            ' "variants": [{"variantId": "a1", "name": "A", "price": 1}]}]}',
            "unknown categoryId nope",
        ),
    ],
)
def test_bad_catalog_files_get_a_clear_message_and_change_nothing(tmp_path, content, message):
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content)
    result = run("edge", "load-catalog", str(path), "--data-dir", str(tmp_path / "node"))
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "node" / "edge.sqlite3").exists()


@pytest.mark.slow
def test_demo_serves_the_cloud_and_a_node_and_prints_what_to_try(reachable_tmp):
    port, cloud_port = free_port(), free_port()
    data_dir = reachable_tmp / "demo"
    proc = subprocess.Popen(
        [
            *EDGESTORE,
            "demo",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--cloud-port",
            str(cloud_port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 240
        health = None
        while time.monotonic() < deadline and health is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).json()
            except httpx.TransportError:
                time.sleep(0.2)
        assert health is not None
        assert health["catalogVersion"] == 1
        search = httpx.get(f"http://127.0.0.1:{port}/api/v1/catalog/products", params={"q": "鳳梨"}).json()
        assert search["items"][0]["productId"] == "pineapple-cake"
        capi = f"http://127.0.0.1:{cloud_port}/api/v1"
        login = httpx.post(
            f"{capi}/auth/login", json={"account": "demo", "password": "edgestore-demo"}, timeout=10
        )
        assert login.status_code == 200
        auth = {"Authorization": f"Bearer {login.json()['token']}"}
        assert httpx.get(f"{capi}/orders", headers=auth, timeout=10).json()["totals"]["orders"] > 100
        assert len(httpx.get(f"{capi}/products", headers=auth, timeout=10).json()["items"]) == 14
        assert httpx.get(f"{capi}/dashboard/summary", headers=auth, timeout=10).json()["conversion"]
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode is not None
    assert f"http://127.0.0.1:{port}/api/v1" in out
    assert f"http://127.0.0.1:{port}/docs" in out
    assert f"http://127.0.0.1:{cloud_port}/" in out
    assert "demo / edgestore-demo" in out
    assert "WELCOME100" in out
    assert "Traceback" not in out
