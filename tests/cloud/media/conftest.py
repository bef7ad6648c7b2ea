"""Fixtures for the media adapters: montydb on disk, a real S3 API (moto's server on a free port), a local
file store with a clock the tests can move."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloud.media.blob_store import LocalBlobStore, S3BlobStore, open_blob_store
from cloud.media.metadata_store import MetadataStore, open_metadata_store
from tests.conftest import FakeClock

FAKE_ACCESS_KEY = "testing-access-key"
FAKE_SECRET_KEY = "testing-secret-key"
S3_REGION = "ap-northeast-1"
LOCAL_SECRET = b"0123456789abcdef0123456789abcdef"
LOCAL_BASE_URL = "http://cloud.test:8000"


@pytest.fixture
def metadata_store(tmp_path: Path) -> Iterator[MetadataStore]:
    store = open_metadata_store(None, tmp_path)
    yield store
    store.close()


@pytest.fixture
def s3_store(moto_endpoint: str, tmp_path: Path) -> S3BlobStore:
    """A fresh bucket per test, made through the factory (which creates it)."""
    store = open_blob_store(
        moto_endpoint,
        f"edgestore-{uuid.uuid4().hex[:12]}",
        FAKE_ACCESS_KEY,
        FAKE_SECRET_KEY,
        S3_REGION,
        tmp_path / "unused",
        LOCAL_BASE_URL,
        LOCAL_SECRET,
    )
    assert isinstance(store, S3BlobStore)
    return store


@pytest.fixture
def local_store(tmp_path: Path, clock: FakeClock) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "files", LOCAL_BASE_URL, LOCAL_SECRET, clock=clock)
