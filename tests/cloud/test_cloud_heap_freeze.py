"""``cloud serve`` leaves its startup objects out of the garbage collector's full collections (issue 22), so a
full collection does not stall every ingest thread and request for tens of milliseconds; an app started in
a process that runs many (a test, the demo) does not."""

import gc
from pathlib import Path

import httpx
import pytest

from cloud.api.app import create_app
from plumbing import serve_in_thread
from tests.cloud.conftest import PostgresForTests, cloud_settings


@pytest.mark.parametrize("freeze", [False, True])
def test_the_cloud_freezes_its_heap_only_when_asked(
    unfrozen: None, tmp_path: Path, postgres: PostgresForTests, freeze: bool
) -> None:
    settings = cloud_settings(tmp_path, postgres.fresh_database())
    served = serve_in_thread(create_app(settings, freeze_heap=freeze), settings.cloud_port)
    try:
        assert httpx.get(f"http://127.0.0.1:{settings.cloud_port}/login").status_code == 200  # the dashboard
        if freeze:
            assert gc.get_freeze_count() > 100_000  # the imports, the app and its caches
        else:
            assert gc.get_freeze_count() == 0
    finally:
        served.stop(timeout_s=20)
