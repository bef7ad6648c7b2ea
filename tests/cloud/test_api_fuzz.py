"""Schemathesis over the cloud's OpenAPI schema, logged in as a seller with real data: no input it can
generate may cause a 5xx. Runs the real CLI against the real server (slow: a few thousand requests)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.cloud.conftest import CloudServer, ingest, sale
from tests.cloud.test_cloud_catalog import make_product

pytestmark = pytest.mark.slow


def test_no_generated_request_causes_a_server_error(
    cloud_server: CloudServer, seller: httpx.Client, tmp_path: Path
):
    store = seller.post("/stores", json={"name": "fuzz 店"}).json()
    product = make_product(seller)
    ingest(cloud_server, sale(store["storeId"], product, [(0, 1)], cloud_server.clock()))
    token = seller.headers["Authorization"]
    schemathesis = Path(sys.executable).with_name("schemathesis")
    result = subprocess.run(
        [
            str(schemathesis),
            "run",
            f"{cloud_server.base_url}/openapi.json",
            "--url",
            cloud_server.base_url.removesuffix("/api/v1"),
            "--checks",
            "not_a_server_error",
            "--header",
            f"Authorization:{token}",
            "--max-examples",
            os.environ.get("EDGESTORE_FUZZ_EXAMPLES", "25"),
            "--seed",
            "2026",
            "--exclude-path",
            "/api/v1/auth/logout",  # would end the session the rest of the run uses
            "--exclude-path",
            "/api/v1/notifications/stream",  # a stream that never ends by design
            "--request-timeout",
            "20",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        cwd=tmp_path,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    # Every operation was exercised and every generated case passed the check.
    tested = re.search(r"Tested: (\d+)", output)
    cases = re.search(r"(\d+) generated, (\d+) passed", output)
    assert tested, output[-3000:]
    assert int(tested.group(1)) >= 30, output[-3000:]
    assert cases, output[-3000:]
    assert cases.group(1) == cases.group(2), output[-3000:]
