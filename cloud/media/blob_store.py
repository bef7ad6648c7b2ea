"""Files (product images, thumbnails, recognition models) in S3, or in a local folder when there is no S3.

Both stores answer the same ``BlobStore`` protocol so the rest of the cloud never asks which one it has. Two
operations exist for browsers rather than for the server:

* ``url_for(key)``: a URL a browser can GET (an S3 presigned GET, a public bucket URL, or the cloud's own
  ``/files/`` route for the local store);
* ``presign_upload(...)``: lets the dashboard send an image straight to the store instead of through a
  request thread of the cloud. S3 gets a presigned POST whose policy fixes the key and content type and bounds
  the size; the local store gets an HMAC-signed token for the cloud's upload route, carrying the same limits.

Keys are checked identically by both stores (``validate_key``), so a key that works on one backend works on
the other and can never climb out of the local root.
"""

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from plumbing import Clock, utcnow

PRESIGNED_GET_SECONDS = 3600
DEFAULT_UPLOAD_EXPIRES_S = 900
MAX_KEY_LENGTH = 1024  # S3's limit, in UTF-8 bytes; our keys are ASCII
# File systems allow 255 bytes per name; the local store's temporary sidecar adds 19 (".", ".meta.", 8, ".tmp").
MAX_SEGMENT_LENGTH = 200
META_SUFFIX = ".meta"
DEFAULT_CONTENT_TYPE = "application/octet-stream"
# Codings every HTTP client we serve decodes (httpx, browsers): gzip only, so a node not upgraded still reads.
CONTENT_ENCODINGS = frozenset({"gzip"})

# Segments may not start with a dot: no "." or ".." segments, no hidden files, and the local store's temporary
# files (".name.xxxx.tmp") can never collide with a key.
_KEY_RE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*")
# RFC 6838 restricted names, no parameters: keeps header injection out of Content-Type.
_CONTENT_TYPE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*")
_TOKEN_CONTEXT = b"edgestore.upload.v1:"
_MIN_SECRET_BYTES = 16
_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket"})


class BlobNotFound(LookupError):
    """No object under that key."""


class InvalidUploadToken(ValueError):
    """An upload token that is malformed, not signed by us, or expired; ``reason`` says which."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class UploadRejected(ValueError):
    """A correctly signed upload whose body breaks the token's limits; ``code`` is camelCase for the API."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def validate_key(key: str) -> str:
    """Return ``key`` when it is safe on every backend, else raise ValueError.

    Allowed: ``[A-Za-z0-9/_.-]``, segments separated by single slashes, no leading or trailing slash, no
    segment starting with a dot (so no ``..``), segments of at most ``MAX_SEGMENT_LENGTH`` characters (a
    file name each in the local store), not ending in ``.meta`` (the local store's sidecars).
    """
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"invalid blob key {key!r}: empty or longer than {MAX_KEY_LENGTH}")
    if ".." in key or not _KEY_RE.fullmatch(key):
        raise ValueError(f"invalid blob key {key!r}: only [A-Za-z0-9/_.-], no '..', no leading '/' or '.'")
    if max(len(segment) for segment in key.split("/")) > MAX_SEGMENT_LENGTH:
        raise ValueError(f"invalid blob key {key!r}: a path segment is longer than {MAX_SEGMENT_LENGTH}")
    if key.endswith(META_SUFFIX):
        raise ValueError(f"invalid blob key {key!r}: '{META_SUFFIX}' names the local store's sidecar files")
    return key


def validate_content_type(content_type: str) -> str:
    """Return ``content_type`` when it is a bare ``type/subtype``, else raise ValueError."""
    if not isinstance(content_type, str) or not _CONTENT_TYPE_RE.fullmatch(content_type):
        raise ValueError(f"invalid content type {content_type!r}: expected type/subtype")
    return content_type


def validate_content_encoding(content_encoding: str) -> str:
    """Return ``content_encoding`` when it is one the stores serve (``CONTENT_ENCODINGS``), else ValueError."""
    if content_encoding not in CONTENT_ENCODINGS:
        raise ValueError(f"invalid content encoding {content_encoding!r}: one of {sorted(CONTENT_ENCODINGS)}")
    return content_encoding


def _check_upload_limits(max_bytes: int, expires_s: int) -> None:
    if max_bytes < 1:
        raise ValueError(f"max_bytes must be at least 1, got {max_bytes}")
    if expires_s < 1:
        raise ValueError(f"expires_s must be at least 1, got {expires_s}")


@runtime_checkable
class BlobStore(Protocol):
    """What the cloud needs from a file store; ``S3BlobStore`` and ``LocalBlobStore`` implement it."""

    def put(self, key: str, data: bytes, content_type: str, *, content_encoding: str | None = None) -> None:
        """Store ``data`` under ``key``, replacing any previous object whole. ``content_encoding`` (``gzip``):
        the bytes are that coding of the object, and every GET says so (``Content-Encoding``), so an HTTP
        client decodes them and a Range request counts in the coded bytes."""
        ...

    def get(self, key: str) -> bytes:
        """The object's bytes; raises ``BlobNotFound`` when absent."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; absent is not an error."""
        ...

    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""
        ...

    def url_for(self, key: str) -> str:
        """A URL a browser can GET the object from."""
        ...

    def presign_upload(
        self, key: str, content_type: str, max_bytes: int, expires_s: int = DEFAULT_UPLOAD_EXPIRES_S
    ) -> dict[str, Any]:
        """``{"url", "method", "fields", "headers"}`` for a browser to upload one object of that type and size."""
        ...


class S3BlobStore:
    """Objects in one S3 bucket (AWS, MinIO, or moto in the tests)."""

    def __init__(
        self,
        endpoint_url: str | None,
        bucket: str,
        access_key: str | None,
        secret_key: str | None,
        region: str,
        *,
        public_base_url: str | None = None,
    ) -> None:
        """Credentials left None fall back to boto3's usual chain (environment, instance role).

        With an explicit endpoint (MinIO, moto) path-style addressing is used: such servers rarely have the
        wildcard DNS that virtual-host style needs. Timeouts are short so a dead store fails a request
        instead of holding its thread for boto3's default minute.
        """
        self.bucket = bucket
        self.region = region
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path" if endpoint_url else "auto"},
            connect_timeout=5,
            read_timeout=30,
            retries={"max_attempts": 3, "mode": "standard"},
        )
        self._s3: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
            config=config,
        )

    def ensure_bucket(self) -> None:
        """Create the bucket when it does not exist yet, so a fresh MinIO works without a manual step."""
        try:
            self._s3.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if _error_code(exc) not in _NOT_FOUND_CODES:
                raise
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        if self.region != "us-east-1":  # S3 refuses us-east-1 as an explicit location constraint
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self._s3.create_bucket(**kwargs)
        except ClientError as exc:  # another cloud process created it between our two calls
            if _error_code(exc) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise

    def put(self, key: str, data: bytes, content_type: str, *, content_encoding: str | None = None) -> None:
        """Store ``data``; S3 replaces an object atomically, readers see the old or the new bytes. S3 keeps
        ``content_encoding`` as the object's metadata and returns it on every GET, presigned ones too."""
        extra: dict[str, str] = {}
        if content_encoding is not None:
            extra["ContentEncoding"] = validate_content_encoding(content_encoding)
        self._s3.put_object(
            Bucket=self.bucket,
            Key=validate_key(key),
            Body=bytes(data),
            ContentType=validate_content_type(content_type),
            **extra,
        )

    def get(self, key: str) -> bytes:
        """The object's bytes; ``BlobNotFound`` when absent."""
        try:
            response = self._s3.get_object(Bucket=self.bucket, Key=validate_key(key))
        except ClientError as exc:
            if _error_code(exc) in _NOT_FOUND_CODES:
                raise BlobNotFound(key) from exc
            raise
        return bytes(response["Body"].read())

    def delete(self, key: str) -> None:
        """Remove the object; S3 answers deletes of absent keys with success too."""
        self._s3.delete_object(Bucket=self.bucket, Key=validate_key(key))

    def exists(self, key: str) -> bool:
        """A HEAD request: no body is transferred."""
        try:
            self._s3.head_object(Bucket=self.bucket, Key=validate_key(key))
        except ClientError as exc:
            if _error_code(exc) in _NOT_FOUND_CODES:
                return False
            raise
        return True

    def url_for(self, key: str) -> str:
        """``public_base_url/key`` for a public bucket, a CDN or the cloud's own redirecting file route,
        else a presigned GET valid for an hour."""
        validate_key(key)
        if self.public_base_url:
            return f"{self.public_base_url}/{quote(key)}"
        return self.presigned_get(key)

    def presigned_get(self, key: str) -> str:
        """A GET URL for a private object, valid for an hour."""
        validate_key(key)
        return str(
            self._s3.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": key},
                ExpiresIn=PRESIGNED_GET_SECONDS,
            )
        )

    def presign_upload(
        self, key: str, content_type: str, max_bytes: int, expires_s: int = DEFAULT_UPLOAD_EXPIRES_S
    ) -> dict[str, Any]:
        """A presigned POST form: the policy pins the key and Content-Type and bounds the size to
        [1, max_bytes], so S3 itself refuses anything else and the cloud never relays the bytes.

        The browser sends ``fields`` first and the file last, as a multipart form field named ``file``.
        """
        validate_key(key)
        validate_content_type(content_type)
        _check_upload_limits(max_bytes, expires_s)
        post = self._s3.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=expires_s,
        )
        return {"url": str(post["url"]), "method": "POST", "fields": dict(post["fields"]), "headers": {}}


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LocalBlobStore:
    """Objects as files under ``root``, served by the cloud at ``{base_url}/files/{key}``.

    For a one-machine install without S3. Each object is ``root/key`` plus a ``root/key.meta`` JSON sidecar
    holding its content type. Every file is written to a temporary file in the same folder, fsynced, then
    renamed over the old one, so a reader or a power cut sees the old object or the new one, never half.
    The two files are renamed one after the other: a crash between them leaves new bytes with the old
    content type, which the next ``put`` of that key repairs.

    A key cannot be both an object and a folder here (``a`` and ``a/b``), unlike S3; our keys never do that.
    """

    def __init__(self, root: Path, base_url: str, secret: bytes, *, clock: Clock = utcnow) -> None:
        """``secret`` signs upload tokens (at least 16 bytes); ``clock`` dates them (tests move it)."""
        if len(secret) < _MIN_SECRET_BYTES:
            raise ValueError(f"the upload secret must be at least {_MIN_SECRET_BYTES} bytes")
        self.root = root
        self.base_url = base_url.rstrip("/")
        self._secret = bytes(secret)
        self._clock = clock
        root.mkdir(parents=True, exist_ok=True)

    def path_for(self, key: str) -> Path:
        """The file holding ``key``'s bytes (for the route that serves ``/files/``); the key is validated."""
        return self.root / validate_key(key)

    def _meta_path(self, key: str) -> Path:
        return self.root / (validate_key(key) + META_SUFFIX)

    def put(self, key: str, data: bytes, content_type: str, *, content_encoding: str | None = None) -> None:
        """Write the bytes, then the sidecar, each atomically (see the class docstring)."""
        path = self.path_for(key)
        fields = {"contentType": validate_content_type(content_type)}
        if content_encoding is not None:
            fields["contentEncoding"] = validate_content_encoding(content_encoding)
        meta = json.dumps(fields).encode("utf-8")
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(path, bytes(data))
        _atomic_write(self._meta_path(key), meta)

    def get(self, key: str) -> bytes:
        """The object's bytes; ``BlobNotFound`` when absent."""
        try:
            return self.path_for(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise BlobNotFound(key) from exc

    def content_type(self, key: str) -> str:
        """The content type given to ``put``; ``BlobNotFound`` when the object is absent."""
        if not self.exists(key):
            raise BlobNotFound(key)
        try:
            meta = json.loads(self._meta_path(key).read_text("utf-8"))
        except (OSError, ValueError):
            return DEFAULT_CONTENT_TYPE
        value = meta.get("contentType") if isinstance(meta, dict) else None
        return value if isinstance(value, str) and _CONTENT_TYPE_RE.fullmatch(value) else DEFAULT_CONTENT_TYPE

    def content_encoding(self, key: str) -> str | None:
        """The content coding given to ``put`` (``gzip``), None for bytes stored as they are."""
        try:
            meta = json.loads(self._meta_path(key).read_text("utf-8"))
        except (OSError, ValueError):
            return None
        value = meta.get("contentEncoding") if isinstance(meta, dict) else None
        return value if isinstance(value, str) and value in CONTENT_ENCODINGS else None

    def delete(self, key: str) -> None:
        """Remove the bytes and the sidecar; absent is not an error."""
        self.path_for(key).unlink(missing_ok=True)
        self._meta_path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        """Whether the object's file is there."""
        return self.path_for(key).is_file()

    def url_for(self, key: str) -> str:
        """The cloud's own file route; keys need no quoting (validated to URL-safe characters)."""
        return f"{self.base_url}/files/{validate_key(key)}"

    def presign_upload(
        self, key: str, content_type: str, max_bytes: int, expires_s: int = DEFAULT_UPLOAD_EXPIRES_S
    ) -> dict[str, Any]:
        """A PUT to the cloud's upload route, authorised by a signed token instead of a session: the same
        shape of grant an S3 presigned POST gives, so the dashboard handles both alike."""
        validate_key(key)
        validate_content_type(content_type)
        _check_upload_limits(max_bytes, expires_s)
        expires_at = int(self._clock().timestamp()) + expires_s
        token = self.sign_upload_token(key, content_type, max_bytes, expires_at)
        return {
            "url": f"{self.base_url}/api/v1/uploads/local/{token}",
            "method": "PUT",
            "fields": {},
            "headers": {"Content-Type": content_type},
        }

    def sign_upload_token(self, key: str, content_type: str, max_bytes: int, expires_at: int) -> str:
        """``payload.signature``, both url-safe base64: the payload is compact JSON of the grant, the
        signature HMAC-SHA256 over the encoded payload. Not encrypted: the grant is no secret."""
        payload = json.dumps(
            {"k": key, "ct": content_type, "max": max_bytes, "exp": expires_at},
            separators=(",", ":"),
            sort_keys=True,
        ).encode("utf-8")
        encoded = _b64encode(payload)
        return f"{encoded}.{self._signature(encoded)}"

    def _signature(self, encoded_payload: str) -> str:
        mac = hmac.new(self._secret, _TOKEN_CONTEXT + encoded_payload.encode("ascii"), hashlib.sha256)
        return _b64encode(mac.digest())

    def verify_upload_token(self, token: str, now: datetime | None = None) -> tuple[str, str, int]:
        """``(key, content_type, max_bytes)`` from a token this store signed; ``InvalidUploadToken`` when it
        is malformed (``reason="malformed"``), altered or signed with another secret (``"badSignature"``),
        or past its expiry (``"expired"``). The signature is checked before the payload is parsed."""
        if not isinstance(token, str) or not token.isascii() or token.count(".") != 1:
            raise InvalidUploadToken("malformed", "the upload token is malformed")
        encoded, signature = token.split(".")
        if not hmac.compare_digest(signature.encode("ascii"), self._signature(encoded).encode("ascii")):
            raise InvalidUploadToken("badSignature", "the upload token's signature does not match")
        try:
            grant = json.loads(_b64decode(encoded))
            key, content_type = grant["k"], grant["ct"]
            max_bytes, expires_at = grant["max"], grant["exp"]
        except (ValueError, binascii.Error, KeyError, TypeError) as exc:
            raise InvalidUploadToken("malformed", "the upload token's payload is unreadable") from exc
        if not (
            isinstance(key, str)
            and isinstance(content_type, str)
            and type(max_bytes) is int
            and type(expires_at) is int
        ):
            raise InvalidUploadToken("malformed", "the upload token's payload has wrong types")
        moment = self._clock() if now is None else now
        if moment.timestamp() >= expires_at:
            raise InvalidUploadToken("expired", "the upload token has expired")
        return validate_key(key), content_type, max_bytes

    def accept_upload(self, token: str, data: bytes, content_type: str, now: datetime | None = None) -> str:
        """Check an upload against its token and store it; returns the key.

        Enforces what S3 enforces for a presigned POST: the token's content type and a size in
        [1, max_bytes]. Raises ``InvalidUploadToken`` or ``UploadRejected`` (``contentTypeMismatch``,
        ``emptyUpload``, ``uploadTooLarge``).
        """
        key, granted_type, max_bytes = self.verify_upload_token(token, now)
        if content_type.strip().lower() != granted_type.lower():
            raise UploadRejected(
                "contentTypeMismatch", f"this upload must be {granted_type}, got {content_type!r}"
            )
        if not data:
            raise UploadRejected("emptyUpload", "the upload is empty")
        if len(data) > max_bytes:
            raise UploadRejected("uploadTooLarge", f"the upload is over {max_bytes} bytes")
        self.put(key, data, granted_type)
        return key


def _atomic_write(path: Path, data: bytes) -> None:
    """Temp file in the same folder, fsync, rename over ``path``, fsync the folder (so the rename lasts)."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as tmp:
            os.fchmod(tmp.fileno(), 0o644)  # mkstemp makes 0600; a front web server may serve these files
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def open_blob_store(
    s3_endpoint: str | None,
    bucket: str,
    access_key: str | None,
    secret_key: str | None,
    region: str,
    local_root: Path,
    base_url: str,
    secret: bytes,
    *,
    public_base_url: str | None = None,
) -> BlobStore:
    """S3 at ``s3_endpoint`` (bucket created when missing), or, without an endpoint, files in ``local_root``
    served by the cloud at ``base_url``: the same rule the settings document for ``EDGESTORE_S3_ENDPOINT``."""
    if s3_endpoint:
        store = S3BlobStore(
            s3_endpoint, bucket, access_key, secret_key, region, public_base_url=public_base_url
        )
        store.ensure_bucket()
        return store
    return LocalBlobStore(local_root, base_url, secret)
