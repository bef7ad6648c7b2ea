"""Product images: an upload grant (S3 presigned POST, or the local equivalent), then checking the bytes,
making the thumbnail and recording both in the product's metadata document.

The browser sends the file straight to the object store with the grant, so large files never pass
through the API process on S3. The grant's key is ``uploads/{sellerId}/{productId}/{uploadId}``: the
completing call can only name an upload of its own product. Accepted images are copied to
``images/{productId}/{imageId}.{ext}`` with a ``-thumb`` beside it, and the staging object is deleted.

A grant is used once. Each step the cloud sees claims a row of ``upload_grant_uses`` (staging key, step)
with INSERT ... ON CONFLICT DO NOTHING in the transaction that does the step; a second use finds the row,
a concurrent one waits for the first to commit and then finds it, and both get 409 ``uploadGrantUsed``. A
step that fails rolls its claim back with it (a PUT refused for its type can be sent again, right). The
steps are:

* ``put``: the local store's upload route (the cloud receives the bytes itself);
* ``attach``: ``POST .../images`` with the ``uploadId``, on both stores. With S3 the browser POSTs the file
  to S3 directly and S3 accepts a presigned POST as often as it is sent until it expires: the cloud never
  sees those uploads, so the attach is where S3 grants are made single use (one image per grant).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert

from cloud import catalog
from cloud.media.blob_store import BlobNotFound, BlobStore, LocalBlobStore
from cloud.media.images import THUMBNAIL_CONTENT_TYPE, ImageRejected, inspect_image, make_thumbnail
from cloud.media.metadata_store import MetadataStore
from cloud.tables import upload_grant_uses
from models.cloud_api import ImagePublic, UploadGrant, UploadRequest
from models.errors import Conflict, DomainError, InvalidInput, NotFound
from models.ids import new_id

GRANT_SECONDS = 900
ACCEPTED_TYPES = ("image/jpeg", "image/png", "image/webp")
MAX_IMAGES = 12
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


class ImageNotAccepted(DomainError):
    status = 422
    code = "imageRejected"


class UploadGrantUsed(Conflict):
    """The grant already did this step (upload, or attach): a grant is good for one image."""

    code = "uploadGrantUsed"


def _staging_key(seller_id: str, product_id: str, upload_id: str) -> str:
    return f"uploads/{seller_id}/{product_id}/{upload_id}"


def _claim(conn: Connection, key: str, step: str, now: datetime) -> None:
    """Record that the grant for ``key`` did ``step``, or raise ``UploadGrantUsed`` if it already did. The
    primary key makes a concurrent claim wait for this transaction, then find the row (see the docstring)."""
    claimed = conn.execute(
        pg_insert(upload_grant_uses)
        .values(blob_key=key, step=step, used_at=now)
        .on_conflict_do_nothing(index_elements=["blob_key", "step"])
        .returning(upload_grant_uses.c.blob_key)
    ).first()
    if claimed is None:
        what = "uploaded" if step == "put" else "attached"
        raise UploadGrantUsed(f"this upload grant was already {what}: ask for a new grant", step=step)


def accept_local_upload(
    conn: Connection, store: LocalBlobStore, token: str, data: bytes, content_type: str, now: datetime
) -> str:
    """The local store's upload route: check the token, claim its ``put`` step, store the bytes; returns
    the key. Raises ``InvalidUploadToken``, ``UploadRejected`` (the claim then rolls back with the
    transaction) or ``UploadGrantUsed``."""
    key, _type, _max_bytes = store.verify_upload_token(token)
    _claim(conn, key, "put", now)
    return store.accept_upload(token, data, content_type)


def grant_upload(
    conn: Connection,
    blobs: BlobStore,
    seller_id: str,
    product_id: str,
    body: UploadRequest,
    now: datetime,
    max_bytes: int,
) -> UploadGrant:
    catalog.product_metadata_id(conn, seller_id, product_id)  # 404 unless it is the caller's product
    if body.content_type not in ACCEPTED_TYPES:
        raise InvalidInput(
            f"images must be one of {', '.join(ACCEPTED_TYPES)}",
            code="unsupportedImageType",
            field="contentType",
        )
    if body.size > max_bytes:
        raise InvalidInput(f"images are at most {max_bytes} bytes", code="imageTooLarge", field="size")
    upload_id = new_id()
    grant = blobs.presign_upload(
        _staging_key(seller_id, product_id, upload_id), body.content_type, max_bytes, GRANT_SECONDS
    )
    return UploadGrant(
        upload_id=upload_id,
        url=grant["url"],
        method=grant["method"],
        fields=grant["fields"],
        headers=grant["headers"],
        expires_at=now + timedelta(seconds=GRANT_SECONDS),
    )


def claim_attach(conn: Connection, seller_id: str, product_id: str, upload_id: str, now: datetime) -> str:
    """Claim a grant's ``attach`` step; the staging key of its file. Before the file is read: a replay is
    refused without touching the store, and a concurrent attach of the same upload waits here until this
    one commits. One image (or recognition photo, ``cloud.recognition_photos``) per grant, however often the
    browser replayed an S3 POST."""
    key = _staging_key(seller_id, product_id, upload_id)
    _claim(conn, key, "attach", now)
    return key


@contextmanager
def claimed_upload(
    conn: Connection, blobs: BlobStore, seller_id: str, product_id: str, upload_id: str, now: datetime
) -> Iterator[bytes]:
    """The file uploaded with a grant, its ``attach`` step claimed (``claim_attach``); the staging file is
    deleted afterwards, whether what was made of it was kept or refused."""
    key = claim_attach(conn, seller_id, product_id, upload_id, now)
    try:
        data = blobs.get(key)
    except BlobNotFound:
        raise NotFound(
            f"upload {upload_id} has no file (not uploaded, or already used)", code="uploadNotFound"
        ) from None
    try:
        yield data
    finally:
        blobs.delete(key)  # a rejected file is not kept either


def complete_upload(
    conn: Connection,
    blobs: BlobStore,
    meta: MetadataStore,
    seller_id: str,
    product_id: str,
    upload_id: str,
    now: datetime,
    max_bytes: int,
) -> ImagePublic:
    catalog.product_metadata_id(conn, seller_id, product_id)
    with claimed_upload(conn, blobs, seller_id, product_id, upload_id, now) as data:
        return add_image(conn, blobs, meta, seller_id, product_id, data, now, max_bytes)


def add_image(
    conn: Connection,
    blobs: BlobStore,
    meta: MetadataStore,
    seller_id: str,
    product_id: str,
    data: bytes,
    now: datetime,
    max_bytes: int,
) -> ImagePublic:
    """Check, thumbnail and attach an image's bytes to the product (also used by the dashboard's form)."""
    metadata_id = catalog.product_metadata_id(conn, seller_id, product_id)
    doc = meta.get(metadata_id) or {}
    if len(doc.get("images", [])) >= MAX_IMAGES:
        raise InvalidInput(f"a product has at most {MAX_IMAGES} images", code="tooManyImages")
    try:
        info = inspect_image(data, max_bytes)
        thumb = make_thumbnail(data)
    except ImageRejected as exc:
        raise ImageNotAccepted(exc.message, code=exc.code) from None
    image_id = new_id()
    key = f"images/{product_id}/{image_id}.{EXTENSIONS[info.content_type]}"
    thumb_key = f"images/{product_id}/{image_id}-thumb.{EXTENSIONS[THUMBNAIL_CONTENT_TYPE]}"
    blobs.put(key, data, info.content_type)
    blobs.put(thumb_key, thumb, THUMBNAIL_CONTENT_TYPE)
    image = ImagePublic(
        image_id=image_id,
        url=blobs.url_for(key),
        thumb_url=blobs.url_for(thumb_key),
        width=info.width,
        height=info.height,
        content_type=info.content_type,
    )
    meta.add_image(metadata_id, image.to_json_dict() | {"key": key, "thumbKey": thumb_key})
    catalog.set_images(conn, meta, seller_id, product_id, now)
    return image


def remove_image(
    conn: Connection,
    blobs: BlobStore,
    meta: MetadataStore,
    seller_id: str,
    product_id: str,
    image_id: str,
    now: datetime,
) -> None:
    metadata_id = catalog.product_metadata_id(conn, seller_id, product_id)
    doc = meta.get(metadata_id) or {}
    image = next((i for i in doc.get("images", []) if i.get("imageId") == image_id), None)
    if image is None:
        raise NotFound(f"image {image_id} not found", code="imageNotFound")
    meta.remove_image(metadata_id, image_id)
    catalog.set_images(conn, meta, seller_id, product_id, now)
    for key in (image.get("key"), image.get("thumbKey")):
        if key:
            blobs.delete(key)


def forget_expired_grant_uses(conn: Connection, now: datetime) -> int:
    """Drop the records of grant uses once every grant they could guard has expired (a grant lives
    ``GRANT_SECONDS``; a day is far past that), so the table holds only the last day's uploads."""
    cutoff = now - max(timedelta(days=1), timedelta(seconds=2 * GRANT_SECONDS))
    return conn.execute(delete(upload_grant_uses).where(upload_grant_uses.c.used_at < cutoff)).rowcount
