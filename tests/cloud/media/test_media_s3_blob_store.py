"""S3BlobStore against moto's S3 in server mode: real HTTP for boto3, for presigned GETs and for browser-style
multipart POST uploads."""

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from botocore.exceptions import EndpointConnectionError

from cloud.media.blob_store import BlobNotFound, BlobStore, S3BlobStore
from plumbing import free_port
from tests.cloud.media.conftest import FAKE_ACCESS_KEY, FAKE_SECRET_KEY, S3_REGION


def post_form(grant: dict, data: bytes, filename: str = "upload.bin") -> httpx.Response:
    """What the dashboard's browser does with a presigned POST: the fields, then the file, as multipart."""
    assert grant["method"] == "POST"
    return httpx.post(
        grant["url"],
        data=grant["fields"],
        files={"file": (filename, data, grant["fields"]["Content-Type"])},
        headers=grant["headers"],
        timeout=10,
    )


def test_the_factory_made_the_bucket_and_the_store_satisfies_the_protocol(s3_store: S3BlobStore) -> None:
    assert isinstance(s3_store, BlobStore)
    s3_store._s3.head_bucket(Bucket=s3_store.bucket)
    location = s3_store._s3.get_bucket_location(Bucket=s3_store.bucket)["LocationConstraint"]
    assert location == S3_REGION
    s3_store.ensure_bucket()  # a second cloud process starting: no error


def test_ensure_bucket_in_us_east_1_sends_no_location_constraint(moto_endpoint: str) -> None:
    store = S3BlobStore(
        moto_endpoint, f"edgestore-{uuid.uuid4().hex[:12]}", FAKE_ACCESS_KEY, FAKE_SECRET_KEY, "us-east-1"
    )
    store.ensure_bucket()
    store.put("a.txt", b"x", "text/plain")
    assert store.get("a.txt") == b"x"


def test_put_get_exists_delete(s3_store: S3BlobStore) -> None:
    key = "products/01HXYZ/images/img-1.jpg"
    assert s3_store.exists(key) is False

    s3_store.put(key, b"\xff\xd8 first", "image/jpeg")
    s3_store.put(key, b"\xff\xd8 second", "image/jpeg")

    assert s3_store.exists(key) is True
    assert s3_store.get(key) == b"\xff\xd8 second"
    head = s3_store._s3.head_object(Bucket=s3_store.bucket, Key=key)
    assert head["ContentType"] == "image/jpeg"

    s3_store.delete(key)
    s3_store.delete(key)  # absent is fine

    assert s3_store.exists(key) is False
    with pytest.raises(BlobNotFound):
        s3_store.get(key)


def test_bad_keys_are_refused_before_any_request(s3_store: S3BlobStore) -> None:
    for key in ("../x", "/abs", "a//b", ".hidden", "a b"):
        with pytest.raises(ValueError, match="invalid blob key"):
            s3_store.put(key, b"x", "text/plain")
        with pytest.raises(ValueError, match="invalid blob key"):
            s3_store.url_for(key)
        with pytest.raises(ValueError, match="invalid blob key"):
            s3_store.presign_upload(key, "image/png", 10)


def test_url_for_is_a_presigned_get_a_browser_can_fetch(s3_store: S3BlobStore) -> None:
    payload = bytes(range(256)) * 40
    s3_store.put("thumbs/p1.webp", payload, "image/webp")

    url = s3_store.url_for("thumbs/p1.webp")

    assert "X-Amz-Signature=" in url
    assert "X-Amz-Expires=3600" in url
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200
    assert response.content == payload
    assert response.headers["content-type"] == "image/webp"


def test_url_for_with_a_public_base_url_is_that_url_plus_the_key(moto_endpoint: str) -> None:
    store = S3BlobStore(
        moto_endpoint,
        "bucket",
        FAKE_ACCESS_KEY,
        FAKE_SECRET_KEY,
        S3_REGION,
        public_base_url="https://cdn.example.com/edgestore/",
    )
    assert store.url_for("products/p1/a.webp") == "https://cdn.example.com/edgestore/products/p1/a.webp"


def test_presign_upload_lets_a_browser_post_the_file_straight_to_s3(s3_store: S3BlobStore) -> None:
    image = b"\x89PNG\r\n\x1a\n" + b"\x00" * 500
    grant = s3_store.presign_upload("uploads/seller-1/img-9.png", "image/png", 1000, expires_s=300)

    assert grant["headers"] == {}
    assert grant["fields"]["key"] == "uploads/seller-1/img-9.png"
    assert grant["fields"]["Content-Type"] == "image/png"

    response = post_form(grant, image, filename="whatever-the-user-named-it.png")

    assert response.status_code == 204, response.text
    assert s3_store.get("uploads/seller-1/img-9.png") == image
    head = s3_store._s3.head_object(Bucket=s3_store.bucket, Key="uploads/seller-1/img-9.png")
    assert head["ContentType"] == "image/png"


def test_the_upload_policy_bounds_the_size_pins_key_and_type_and_is_signed(s3_store: S3BlobStore) -> None:
    """moto 5.2.5 does not enforce POST policies: its ``_bucket_response_post`` stores any body without
    checking ``content-length-range``, the other conditions or the signature (checked: an oversized file
    and a forged signature both get 204). So this asserts on the policy document S3 would enforce, and
    recomputes its SigV4 signature to show the policy cannot be altered by the browser."""
    before = datetime.now(UTC).replace(microsecond=0)
    grant = s3_store.presign_upload("uploads/img.png", "image/png", 2_000_000, expires_s=600)
    fields = grant["fields"]

    policy = json.loads(base64.b64decode(fields["policy"]))

    conditions = policy["conditions"]
    assert ["content-length-range", 1, 2_000_000] in conditions
    assert {"Content-Type": "image/png"} in conditions
    assert {"key": "uploads/img.png"} in conditions
    assert {"bucket": s3_store.bucket} in conditions
    expiration = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before + timedelta(seconds=599) <= expiration <= datetime.now(UTC) + timedelta(seconds=601)

    access_key, date, region, service, terminal = fields["x-amz-credential"].split("/")
    assert (access_key, region, service, terminal) == (FAKE_ACCESS_KEY, S3_REGION, "s3", "aws4_request")
    signing_key = f"AWS4{FAKE_SECRET_KEY}".encode()
    for part in (date, region, service, terminal):
        signing_key = hmac.new(signing_key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(signing_key, fields["policy"].encode(), hashlib.sha256).hexdigest()
    assert fields["x-amz-signature"] == expected
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"


@pytest.mark.parametrize(("max_bytes", "expires_s"), [(0, 60), (10, 0)])
def test_presign_upload_needs_positive_limits(s3_store: S3BlobStore, max_bytes: int, expires_s: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        s3_store.presign_upload("a.png", "image/png", max_bytes, expires_s=expires_s)


def test_an_unreachable_endpoint_fails_instead_of_hanging() -> None:
    store = S3BlobStore(
        f"http://127.0.0.1:{free_port()}", "bucket", FAKE_ACCESS_KEY, FAKE_SECRET_KEY, S3_REGION
    )
    started = datetime.now(UTC)
    with pytest.raises(EndpointConnectionError):
        store.exists("a.png")
    assert datetime.now(UTC) - started < timedelta(seconds=20)
