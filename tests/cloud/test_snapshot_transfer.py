"""A catalog snapshot from the cloud to a fresh store node as it travels now: gzip-coded on the wire (from the
cloud's own file route and from S3, moto's server), its size and SHA-256 still the JSON's; resumed with a
Range request after a cut; started over when the object changed or the server ignores the Range; a
decompression bomb refused without the memory; and a node that predates all this still takes it."""

import gzip
import hashlib
import logging
import os
import tracemalloc
from pathlib import Path

import httpx
import pytest

from cloud import store_catalog
from edge import node_state, resumable_download
from edge.node import Node
from edge.settings import EdgeSettings
from edge.sync_downlink import DOWNLOADS_DIR, download, read_snapshot, take_snapshot
from sync_protocol.envelope import CatalogAnnouncement
from tests.cloud.conftest import CloudServer, register_and_login
from tests.cloud.test_cloud_catalog import make_product
from tests.cutting_proxy import CuttingProxy


def published(server: CloudServer, products: int = 40) -> tuple[CatalogAnnouncement, str]:
    """A store with ``products`` products, its snapshot published as the sync service does; and its key."""
    with server.client() as client:
        session = register_and_login(client)
        store_id = client.post("/stores", json={"name": "信義店"}).json()["storeId"]
        for n in range(products):
            make_product(client, name=f"凍頂烏龍茶 {n}")
    cloud = server.cloud
    with cloud.db.transaction() as conn:
        announcement = store_catalog.publish_snapshot(
            conn,
            cloud.metadata,
            cloud.blobs,
            session["seller"]["sellerId"],
            store_id,
            cloud.settings.base_url,
        )
    key = str(announcement.snapshot_url).split("/files/", 1)[1]
    return announcement, key


def via(announcement: CatalogAnnouncement, proxy: CuttingProxy, server: CloudServer) -> CatalogAnnouncement:
    url = str(announcement.snapshot_url).replace(server.cloud.settings.base_url.rstrip("/"), proxy.url)
    return announcement.model_copy(update={"snapshot_url": url})


@pytest.fixture
def node(tmp_path: Path):
    opened = Node.open(EdgeSettings(data_dir=tmp_path / "node", device_id="node-1"))
    yield opened
    opened.close()


@pytest.fixture
def proxy_for(request):
    made: list[CuttingProxy] = []

    def start(upstream: str, **kwargs) -> CuttingProxy:
        proxy = CuttingProxy(upstream.rstrip("/"), **kwargs).start()
        made.append(proxy)
        return proxy

    yield start
    for proxy in made:
        proxy.stop()


def held_version(node: Node) -> int | None:
    with node.db.read() as conn:
        return node_state.catalog_version(conn)


def parts(node: Node) -> list[Path]:
    folder = node.settings.data_dir / DOWNLOADS_DIR
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_the_snapshot_travels_gzip_coded_and_checks_against_the_jsons_sha(
    cloud_server: CloudServer, node: Node
):
    announcement, _key = published(cloud_server)
    url = str(announcement.snapshot_url)
    with httpx.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as r:
        assert r.status_code == 200
        assert r.headers["content-encoding"] == "gzip"
        assert r.headers["accept-ranges"] == "bytes"
        raw = b"".join(r.iter_raw())
    identity = gzip.decompress(raw)
    assert len(identity) == announcement.size
    assert hashlib.sha256(identity).hexdigest() == announcement.sha256
    assert len(raw) * 4 < announcement.size  # JSON compresses well

    assert take_snapshot(node, announcement)
    assert held_version(node) == announcement.version
    assert parts(node) == []  # the partial file is gone after success


def test_a_node_that_predates_the_coding_still_takes_it(cloud_server: CloudServer):
    """The old node's fetch: ``httpx.stream`` and ``iter_bytes`` (httpx decodes gzip), then the old checks."""
    announcement, _key = published(cloud_server)
    data = download(str(announcement.snapshot_url), timeout_s=30, max_bytes=announcement.size)
    assert len(data) == announcement.size
    assert read_snapshot(announcement, data).version == announcement.version


def test_a_cut_download_resumes_with_a_range_request(cloud_server: CloudServer, node: Node, proxy_for):
    announcement, _key = published(cloud_server)
    proxy = proxy_for(cloud_server.cloud.settings.base_url, cut_after=[300])
    through = via(announcement, proxy, cloud_server)

    with pytest.raises(httpx.HTTPError):
        take_snapshot(node, through)
    assert held_version(node) is None  # nothing applied
    (part,) = [p for p in parts(node) if p.suffix == ".part"]
    assert part.stat().st_size == 300  # what came before the cut is kept

    assert take_snapshot(node, through)
    assert held_version(node) == announcement.version
    first, second = proxy.seen
    assert first.range is None
    assert first.status == 200
    assert second.range == "bytes=300-"
    assert second.if_range is not None
    assert second.if_range.startswith('"')
    assert second.status == 206
    assert parts(node) == []


def test_a_changed_object_starts_over(cloud_server: CloudServer, node: Node, proxy_for):
    announcement, key = published(cloud_server)
    proxy = proxy_for(cloud_server.cloud.settings.base_url, cut_after=[300])
    through = via(announcement, proxy, cloud_server)
    with pytest.raises(httpx.HTTPError):
        take_snapshot(node, through)
    # The object is written again (same bytes, a new modification time: a new ETag and Last-Modified).
    path = cloud_server.cloud.blobs.path_for(key)
    stat = path.stat()
    os.utime(path, (stat.st_atime + 100, stat.st_mtime + 100))

    assert take_snapshot(node, through)
    assert held_version(node) == announcement.version
    assert [s.status for s in proxy.seen] == [200, 200]  # If-Range failed: the whole again, not a 206
    assert proxy.seen[1].range == "bytes=300-"


def test_a_server_that_ignores_the_range_gets_a_clean_start(cloud_server: CloudServer, node: Node, proxy_for):
    announcement, _key = published(cloud_server)
    proxy = proxy_for(cloud_server.cloud.settings.base_url, cut_after=[300], drop_range=[False, True])
    through = via(announcement, proxy, cloud_server)
    with pytest.raises(httpx.HTTPError):
        take_snapshot(node, through)
    assert take_snapshot(node, through)  # the 200's bytes replace the 300 held, not appended to them
    assert held_version(node) == announcement.version
    assert [s.status for s in proxy.seen] == [200, 200]


def test_bytes_that_are_not_the_announced_ones_are_refused_and_forgotten(
    cloud_server: CloudServer, node: Node
):
    announcement, _key = published(cloud_server)
    wrong = announcement.model_copy(update={"sha256": "0" * 64})
    with pytest.raises(ValueError, match="SHA-256"):
        take_snapshot(node, wrong)
    assert held_version(node) is None
    assert parts(node) == []  # the next attempt starts over


def test_a_decompression_bomb_is_refused_without_the_memory(cloud_server: CloudServer, node: Node):
    bomb = gzip.compress(b"\0" * (200 * 1024 * 1024), compresslevel=9)  # 200 MB in about 200 kB
    key = f"{store_catalog.SNAPSHOT_PREFIX}/s/9-{'a' * 64}.json.gz"
    cloud_server.cloud.blobs.put(key, bomb, "application/json", content_encoding="gzip")
    announcement = CatalogAnnouncement(
        store_id="s",
        version=9,
        snapshot_url=f"{cloud_server.cloud.settings.base_url}/files/{key}",
        sha256="a" * 64,
        size=1_000_000,
    )
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="inflates past the 1000000 bytes"):
            take_snapshot(node, announcement)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024
    assert held_version(node) is None
    assert parts(node) == []


def test_progress_is_logged_as_the_bytes_come(cloud_server: CloudServer, node: Node, caplog):
    announcement, _key = published(cloud_server, products=60)
    caplog.set_level(logging.INFO, logger="edge")
    assert take_snapshot(node, announcement)
    lines = [r.getMessage() for r in caplog.records if r.name == "edge.resumable_download"]
    assert any("downloading" in line and "from the start" in line for line in lines)
    assert any(line.endswith("MB/s") and "(100 %)" in line for line in lines)
    assert any(line.startswith(f"catalog v{announcement.version}: applying") for line in lines)
    assert node.cloud.snapshot_download is None  # the status shows none once done


def test_progress_logs_at_most_once_a_second_and_at_each_tenth(caplog):
    now = [0.0]
    caplog.set_level(logging.INFO, logger="edge.resumable_download")
    from datetime import UTC, datetime

    progress = resumable_download.Progress("catalog v1", datetime.now(UTC), clock=lambda: now[0])
    progress.begin(held=0, expected=1000)
    caplog.clear()
    for received in range(0, 1001, 10):  # 100 updates over 10 s
        now[0] += 0.1
        progress.advance(received)
    lines = [r.getMessage() for r in caplog.records]
    assert 8 <= len(lines) <= 11
    assert lines[-1].startswith("catalog v1: 0.0 of 0.0 MB (100 %)")


def test_from_s3_gzip_coded_and_resumed(s3_cloud: CloudServer, node: Node, proxy_for):
    """The cloud's file route redirects to a presigned S3 URL; S3 (moto) serves the object with its
    Content-Encoding and answers the Range itself."""
    announcement, _key = published(s3_cloud)
    url = str(announcement.snapshot_url)
    r = httpx.get(url, follow_redirects=False)
    assert r.status_code == 307
    presigned = r.headers["location"]
    with httpx.stream("GET", presigned) as answer:
        assert answer.headers["content-encoding"] == "gzip"
        raw = b"".join(answer.iter_raw())
    assert hashlib.sha256(gzip.decompress(raw)).hexdigest() == announcement.sha256

    # Cut on the way from S3: a proxy in front of moto (the presigned URL signs moto's host, which the
    # proxy forwards to).
    endpoint = s3_cloud.cloud.settings.s3_endpoint
    proxy = proxy_for(endpoint, cut_after=[300])
    through = announcement.model_copy(update={"snapshot_url": presigned.replace(endpoint, proxy.url)})
    with pytest.raises(httpx.HTTPError):
        take_snapshot(node, through)
    assert take_snapshot(node, through)
    assert held_version(node) == announcement.version
    assert [(s.range, s.status) for s in proxy.seen] == [(None, 200), ("bytes=300-", 206)]
    assert proxy.seen[1].if_range is not None

    # A Range straight to S3, as a resumed node sends it.
    with httpx.stream("GET", presigned, headers={"Range": "bytes=100-"}) as answer:
        assert answer.status_code == 206
        assert answer.headers["content-range"].startswith("bytes 100-")
        assert b"".join(answer.iter_raw()) == raw[100:]
    # An old node through the redirect.
    data = download(url, timeout_s=30, max_bytes=announcement.size)
    assert read_snapshot(announcement, data).version == announcement.version


def test_a_download_held_whole_before_a_restart_is_used_as_it_is(
    cloud_server: CloudServer, node: Node, proxy_for
):
    """The node stopped after the last byte and before decoding: the server has nothing past the bytes held
    (416, the whole's size), so those are decoded and checked, not fetched again."""
    from datetime import UTC, datetime

    announcement, _key = published(cloud_server)
    proxy = proxy_for(cloud_server.cloud.settings.base_url)
    through = via(announcement, proxy, cloud_server)
    partial = node.settings.data_dir / DOWNLOADS_DIR / f"catalog-{announcement.sha256}.part"
    progress = resumable_download.Progress("catalog", datetime.now(UTC))
    whole = resumable_download.fetch(
        str(through.snapshot_url), partial, max_raw_bytes=10**7, progress=progress
    )

    assert take_snapshot(node, through)
    assert held_version(node) == announcement.version
    assert [(s.range, s.status) for s in proxy.seen] == [(None, 200), (f"bytes={whole.raw_bytes}-", 416)]
    assert parts(node) == []


def test_a_new_node_takes_an_old_clouds_identity_snapshot(cloud_server: CloudServer, node: Node):
    """A cloud that predates the coding stored ``.json`` as it is: no Content-Encoding, the same checks."""
    announcement, key = published(cloud_server)
    blobs = cloud_server.cloud.blobs
    old_key = key.removesuffix(".gz")
    blobs.put(old_key, gzip.decompress(blobs.get(key)), "application/json")
    old = announcement.model_copy(
        update={"snapshot_url": f"{cloud_server.cloud.settings.base_url}/files/{old_key}"}
    )
    with httpx.stream("GET", str(old.snapshot_url)) as r:
        assert "content-encoding" not in r.headers
    assert take_snapshot(node, old)
    assert held_version(node) == announcement.version
