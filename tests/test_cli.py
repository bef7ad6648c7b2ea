"""The ``edgestore`` command as a person runs it: real subprocesses, real files."""

import json
import subprocess
import sys

import pytest

from tests.conftest import EDGESTORE


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


def test_a_command_imports_only_its_own_part():
    """``edgestore kiosk`` on a kiosk's board loads neither the node nor the cloud (a second and ~100 MB)."""
    probe = (
        "import sys\n"
        "from edgestore.cli import app\n"
        "app(['kiosk', '--help'], standalone_mode=False)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'edge', 'cloud', 'fastapi', 'sqlalchemy', 'pypinyin', 'escpos'}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.splitlines()[-1] == "[]"
    assert "Usage:" in out.stdout


def test_an_unknown_command_is_refused():
    result = run("no-such-command")
    assert result.returncode == 2
    assert "No such command 'no-such-command'" in result.stderr
