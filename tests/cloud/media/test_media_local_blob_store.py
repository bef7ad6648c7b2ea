"""LocalBlobStore: files under a root folder, atomic writes, strict keys, HMAC-signed upload tokens."""

import base64
import json
import os
from datetime import timedelta
from pathlib import Path

import pytest

from cloud.media.blob_store import (
    BlobNotFound,
    BlobStore,
    InvalidUploadToken,
    LocalBlobStore,
    UploadRejected,
    open_blob_store,
)
from tests.cloud.media.conftest import LOCAL_BASE_URL, LOCAL_SECRET
from tests.conftest import FakeClock

BAD_KEYS = [
    "",
    "/etc/passwd",
    "../outside",
    "a/../../b",
    "a/..",
    "..",
    ".hidden",
    "a/.b",
    "a//b",
    "a/",
    "a b",
    "a\\b",
    "ünicode",
    "a?b",
    "a%2fb",
    "x.meta",
    "k" * 201,
    "/".join(["k" * 200] * 5) + "/" + "k" * 20,  # 1025 characters
]


def token_of(grant: dict) -> str:
    return grant["url"].rsplit("/", 1)[1]


def test_it_satisfies_the_protocol_and_the_factory_picks_it_without_an_endpoint(tmp_path: Path) -> None:
    store = open_blob_store(
        None, "bucket", None, None, "ap-northeast-1", tmp_path / "files", LOCAL_BASE_URL + "/", LOCAL_SECRET
    )
    assert isinstance(store, LocalBlobStore)
    assert isinstance(store, BlobStore)
    assert (tmp_path / "files").is_dir()
    assert store.url_for("a.png") == f"{LOCAL_BASE_URL}/files/a.png"  # trailing slash of base_url dropped


def test_round_trip(local_store: LocalBlobStore) -> None:
    key = "products/01HXYZ/images/img-1.jpg"
    assert local_store.exists(key) is False

    local_store.put(key, b"\xff\xd8 jpeg bytes", "image/jpeg")

    assert local_store.exists(key) is True
    assert local_store.get(key) == b"\xff\xd8 jpeg bytes"
    assert local_store.content_type(key) == "image/jpeg"
    assert local_store.url_for(key) == f"{LOCAL_BASE_URL}/files/{key}"
    assert local_store.path_for(key) == local_store.root / key
    assert json.loads((local_store.root / (key + ".meta")).read_text()) == {"contentType": "image/jpeg"}

    local_store.delete(key)
    local_store.delete(key)  # absent is fine

    assert local_store.exists(key) is False
    assert not (local_store.root / (key + ".meta")).exists()
    with pytest.raises(BlobNotFound):
        local_store.get(key)
    with pytest.raises(BlobNotFound):
        local_store.content_type(key)


def test_get_of_a_folder_or_below_a_file_is_not_found(local_store: LocalBlobStore) -> None:
    local_store.put("a/b", b"x", "text/plain")
    with pytest.raises(BlobNotFound):
        local_store.get("a")
    with pytest.raises(BlobNotFound):
        local_store.get("a/b/c")
    assert local_store.exists("a") is False


def test_empty_objects_are_stored(local_store: LocalBlobStore) -> None:
    local_store.put("empty.bin", b"", "application/octet-stream")
    assert local_store.get("empty.bin") == b""


def test_overwrite_replaces_bytes_and_type_and_leaves_no_temp_files(local_store: LocalBlobStore) -> None:
    local_store.put("models/model.tflite", b"v1" * 1000, "application/octet-stream")
    local_store.put("models/model.tflite", b"v2", "application/x-tflite")

    assert local_store.get("models/model.tflite") == b"v2"
    assert local_store.content_type("models/model.tflite") == "application/x-tflite"
    assert sorted(p.name for p in (local_store.root / "models").iterdir()) == [
        "model.tflite",
        "model.tflite.meta",
    ]
    assert (local_store.root / "models" / "model.tflite").stat().st_mode & 0o777 == 0o644


def test_a_failed_write_keeps_the_old_object_whole(
    local_store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    local_store.put("img.png", b"old bytes", "image/png")

    def power_cut(src: str, dst: str) -> None:
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(os, "replace", power_cut)
    with pytest.raises(OSError, match="simulated crash"):
        local_store.put("img.png", b"new bytes that never land", "image/png")
    monkeypatch.undo()

    assert local_store.get("img.png") == b"old bytes"
    assert sorted(p.name for p in local_store.root.iterdir()) == ["img.png", "img.png.meta"]


def test_a_missing_or_broken_sidecar_falls_back_to_octet_stream(local_store: LocalBlobStore) -> None:
    local_store.put("a.png", b"x", "image/png")
    (local_store.root / "a.png.meta").write_text("{not json")
    assert local_store.content_type("a.png") == "application/octet-stream"
    (local_store.root / "a.png.meta").unlink()
    assert local_store.content_type("a.png") == "application/octet-stream"


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_are_refused_by_every_operation(local_store: LocalBlobStore, key: str) -> None:
    with pytest.raises(ValueError, match="invalid blob key"):
        local_store.put(key, b"x", "text/plain")
    for operation in (local_store.get, local_store.exists, local_store.delete, local_store.url_for):
        with pytest.raises(ValueError, match="invalid blob key"):
            operation(key)
    with pytest.raises(ValueError, match="invalid blob key"):
        local_store.presign_upload(key, "image/png", 100)
    assert [p for p in local_store.root.parent.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize(
    "key",
    [
        "a",
        "A-Z_0.9",
        "products/01J0/images/a.b.c.webp",
        "x" * 200,
        "/".join(["k" * 200] * 5) + "/" + "k" * 19,
    ],
)
def test_good_keys_work(local_store: LocalBlobStore, key: str) -> None:
    local_store.put(key, b"ok", "text/plain")
    assert local_store.get(key) == b"ok"


@pytest.mark.parametrize(
    "content_type", ["", "image", "image/png\r\nX-Evil: 1", "image/png; charset=x", " /x"]
)
def test_bad_content_types_are_refused(local_store: LocalBlobStore, content_type: str) -> None:
    with pytest.raises(ValueError, match="content type"):
        local_store.put("a.png", b"x", content_type)
    with pytest.raises(ValueError, match="content type"):
        local_store.presign_upload("a.png", content_type, 100)


def test_a_short_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        LocalBlobStore(tmp_path, LOCAL_BASE_URL, b"short")


def test_presign_upload_grants_a_put_with_a_token_that_verifies(local_store: LocalBlobStore) -> None:
    grant = local_store.presign_upload("products/p1/img-1.webp", "image/webp", 5_000_000)

    assert grant["method"] == "PUT"
    assert grant["fields"] == {}
    assert grant["headers"] == {"Content-Type": "image/webp"}
    assert grant["url"].startswith(f"{LOCAL_BASE_URL}/api/v1/uploads/local/")
    token = token_of(grant)
    assert all(c.isalnum() or c in "-_." for c in token)  # safe as one URL path segment
    assert local_store.verify_upload_token(token) == ("products/p1/img-1.webp", "image/webp", 5_000_000)


def test_a_token_expires(local_store: LocalBlobStore, clock: FakeClock) -> None:
    issued = clock.now
    token = token_of(local_store.presign_upload("a.png", "image/png", 100, expires_s=60))

    assert local_store.verify_upload_token(token, issued + timedelta(seconds=59))[0] == "a.png"
    clock.advance(seconds=61)
    with pytest.raises(InvalidUploadToken) as info:
        local_store.verify_upload_token(token)
    assert info.value.reason == "expired"
    with pytest.raises(InvalidUploadToken, match="expired"):
        local_store.verify_upload_token(token, issued + timedelta(hours=1))


def test_a_tampered_payload_is_refused(local_store: LocalBlobStore) -> None:
    token = token_of(local_store.presign_upload("a.png", "image/png", 100))
    payload, signature = token.split(".")
    grant = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    grant["max"] = 10**12  # try to lift the size limit
    forged = base64.urlsafe_b64encode(json.dumps(grant).encode()).rstrip(b"=").decode()

    with pytest.raises(InvalidUploadToken) as info:
        local_store.verify_upload_token(f"{forged}.{signature}")
    assert info.value.reason == "badSignature"


def test_a_tampered_signature_is_refused(local_store: LocalBlobStore) -> None:
    token = token_of(local_store.presign_upload("a.png", "image/png", 100))
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(InvalidUploadToken, match="signature"):
        local_store.verify_upload_token(flipped)


def test_a_token_from_another_installation_is_refused(local_store: LocalBlobStore, tmp_path: Path) -> None:
    other = LocalBlobStore(tmp_path / "other", LOCAL_BASE_URL, b"another secret of 32 bytes......")
    token = token_of(other.presign_upload("a.png", "image/png", 100))
    with pytest.raises(InvalidUploadToken, match="signature"):
        local_store.verify_upload_token(token)


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "é.x", ".", "x."])
def test_malformed_tokens_are_refused(local_store: LocalBlobStore, token: str) -> None:
    with pytest.raises(InvalidUploadToken):
        local_store.verify_upload_token(token)


def test_a_signed_but_unreadable_payload_is_malformed(local_store: LocalBlobStore) -> None:
    payload = base64.urlsafe_b64encode(b'{"k": "a.png"}').rstrip(b"=").decode()
    token = f"{payload}.{local_store._signature(payload)}"
    with pytest.raises(InvalidUploadToken) as info:
        local_store.verify_upload_token(token)
    assert info.value.reason == "malformed"


def test_accept_upload_enforces_type_and_size_like_s3(local_store: LocalBlobStore) -> None:
    token = token_of(local_store.presign_upload("uploads/x.png", "image/png", 10))

    with pytest.raises(UploadRejected) as info:
        local_store.accept_upload(token, b"12345", "image/jpeg")
    assert info.value.code == "contentTypeMismatch"
    with pytest.raises(UploadRejected) as info:
        local_store.accept_upload(token, b"", "image/png")
    assert info.value.code == "emptyUpload"
    with pytest.raises(UploadRejected) as info:
        local_store.accept_upload(token, b"x" * 11, "image/png")
    assert info.value.code == "uploadTooLarge"
    assert local_store.exists("uploads/x.png") is False

    assert local_store.accept_upload(token, b"x" * 10, "Image/PNG") == "uploads/x.png"
    assert local_store.get("uploads/x.png") == b"x" * 10
    assert local_store.content_type("uploads/x.png") == "image/png"


def test_accept_upload_refuses_an_expired_token(local_store: LocalBlobStore, clock: FakeClock) -> None:
    token = token_of(local_store.presign_upload("x.png", "image/png", 10, expires_s=5))
    clock.advance(seconds=5)
    with pytest.raises(InvalidUploadToken, match="expired"):
        local_store.accept_upload(token, b"x", "image/png")


@pytest.mark.parametrize(("max_bytes", "expires_s"), [(0, 60), (10, 0)])
def test_presign_upload_needs_positive_limits(
    local_store: LocalBlobStore, max_bytes: int, expires_s: int
) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        local_store.presign_upload("a.png", "image/png", max_bytes, expires_s=expires_s)
