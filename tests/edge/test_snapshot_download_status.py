"""``GET /sync/status`` says what a catalog snapshot download is doing while it runs, and null otherwise (a new
field: a client that predates it reads the rest as before)."""

import time
from pathlib import Path

import httpx

from edge.api.app import create_app
from edge.resumable_download import Progress
from edge.settings import EdgeSettings
from plumbing import free_port, serve_in_thread
from tests.conftest import FakeClock
from tests.edge.helpers import as_staff


def test_the_sync_status_shows_a_snapshot_download_while_it_runs(tmp_path: Path, clock: FakeClock):
    settings = EdgeSettings(data_dir=tmp_path / "node", port=free_port())
    app = create_app(settings, clock)
    served = serve_in_thread(app, settings.port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{settings.port}/api/v1", timeout=30) as client:
            staff = as_staff(client, settings)
            assert client.get("/sync/status", headers=staff).json()["snapshotDownload"] is None

            progress = Progress("catalog v7", started_at=clock(), clock=time.monotonic)
            progress.begin(held=1_000, expected=4_000)
            progress.advance(2_500)
            app.state.node.cloud.snapshot_download = progress
            shown = client.get("/sync/status", headers=staff).json()["snapshotDownload"]
            assert shown == {
                "what": "catalog v7",
                "phase": "downloading",
                "startedAt": shown["startedAt"],
                "receivedBytes": 2_500,
                "expectedBytes": 4_000,
                "resumedFrom": 1_000,
            }
            progress.set_phase("applying")
            assert client.get("/sync/status", headers=staff).json()["snapshotDownload"]["phase"] == "applying"

            app.state.node.cloud.snapshot_download = None
            assert client.get("/sync/status", headers=staff).json()["snapshotDownload"] is None
    finally:
        served.stop(timeout_s=20)
