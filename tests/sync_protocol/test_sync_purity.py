"""The core of sync_protocol stays pure: it imports only models, pydantic and the standard library, and nothing
in it opens a socket or a file, reads a clock or makes an id (ids and time come in as arguments).

import-linter keeps the project's parts apart; this keeps I/O out of the core, which a forbidden-modules
contract on the whole package could not (its transport module, mqtt_link, is meant to do I/O).
"""

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "sync_protocol"
TRANSPORT = {"mqtt_link.py", "ordered_work.py"}  # the transport and its handler threads
CORE = sorted(p for p in PACKAGE.glob("*.py") if p.name not in TRANSPORT)

ALLOWED_ROOTS = {"models", "sync_protocol", "pydantic", "pydantic_core", "zstandard"}  # zstd: bytes to bytes
IO_MODULES = {
    "asyncio", "http", "io", "os", "pathlib", "random", "secrets", "select", "selectors", "shutil", "socket",
    "sqlite3", "ssl", "subprocess", "tempfile", "threading", "time", "urllib", "uuid",
}  # fmt: skip
CLOCK_AND_ID_CALLS = {"now", "utcnow", "today", "time", "time_ns", "monotonic", "new_id", "open"}


def imported_modules(tree: ast.Module) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_the_core_is_all_of_the_package_but_the_transport():
    names = {p.name for p in CORE}
    assert {"hlc.py", "envelope.py", "encoding.py", "topics.py", "sequence.py", "rules.py"} <= names


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_a_core_module_imports_only_models_pydantic_and_the_standard_library(path: Path):
    modules = imported_modules(ast.parse(path.read_text()))
    for module in modules:
        root = module.split(".")[0]
        assert root in ALLOWED_ROOTS or root in sys.stdlib_module_names, f"{path.name} imports {module}"
        assert root not in IO_MODULES, f"{path.name} imports {module}, which does I/O or reads the clock"
    assert "models.ids.new_id" not in modules, f"{path.name} makes ids (that reads the clock)"


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_a_core_module_calls_no_clock_and_opens_nothing(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            name = (
                func.attr
                if isinstance(func, ast.Attribute)
                else func.id
                if isinstance(func, ast.Name)
                else ""
            )
            assert name not in CLOCK_AND_ID_CALLS, f"{path.name}:{node.lineno} calls {name}()"
