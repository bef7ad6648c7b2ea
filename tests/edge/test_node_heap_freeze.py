"""``edge serve`` leaves its startup objects out of the garbage collector's full collections (issue 22); an
app started in a process that runs many (a test, the demo) does not."""

import gc
from pathlib import Path

import httpx
import pytest

from edge.api.app import create_app
from edge.settings import EdgeSettings
from plumbing import free_port, serve_in_thread


@pytest.mark.parametrize("freeze", [False, True])
def test_the_node_freezes_its_heap_only_when_asked(unfrozen: None, tmp_path: Path, freeze: bool) -> None:
    settings = EdgeSettings(data_dir=tmp_path / "node", port=free_port())
    served = serve_in_thread(create_app(settings, freeze_heap=freeze), settings.port)
    try:
        assert httpx.get(f"http://127.0.0.1:{settings.port}/api/v1/health").status_code == 200
        if freeze:
            assert gc.get_freeze_count() > 100_000  # the imports, the app and its caches
        else:
            assert gc.get_freeze_count() == 0
    finally:
        served.stop()
