"""Product images: upload grants, attaching an uploaded file, removing; the local file store's routes."""

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status
from fastapi.responses import FileResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from cloud import uploads
from cloud.api.deps import CloudDep, NowDep, ProductIdPath, SellerId
from cloud.media.blob_store import (
    BlobNotFound,
    InvalidUploadToken,
    LocalBlobStore,
    S3BlobStore,
    UploadRejected,
)
from cloud.model_files import PREFIX as MODEL_PREFIX
from cloud.recognition_photos import PREFIX as PHOTO_PREFIX
from cloud.runtime import Cloud
from cloud.store_catalog import SNAPSHOT_PREFIX
from models.cloud_api import ImageAttach, ImagePublic, UploadGrant, UploadRequest
from models.errors import DomainError, NotFound
from models.ids import ULID_PATTERN

router = APIRouter(tags=["images"])

ImageIdPath = Annotated[str, Path(alias="imageId", pattern=ULID_PATTERN)]


class UploadRefused(DomainError):
    status = 422
    code = "uploadRejected"


class UploadForbidden(DomainError):
    status = 403
    code = "invalidUploadToken"


@router.post("/products/{productId}/images/uploads", status_code=status.HTTP_201_CREATED)
def grant_upload(
    product_id: ProductIdPath, body: UploadRequest, cloud: CloudDep, now: NowDep, seller_id: SellerId
) -> UploadGrant:
    """A 15-minute grant to send one image (JPEG, PNG or WebP, at most ``maxImageBytes``) to the store."""
    with cloud.db.read() as conn:
        return uploads.grant_upload(
            conn, cloud.blobs, seller_id, product_id, body, now, cloud.settings.max_image_bytes
        )


@router.post("/products/{productId}/images", status_code=status.HTTP_201_CREATED)
def attach_image(
    product_id: ProductIdPath, body: ImageAttach, cloud: CloudDep, now: NowDep, seller_id: SellerId
) -> ImagePublic:
    """Check the uploaded file's content (type, size, pixels), make its thumbnail and add it to the product."""
    with cloud.db.transaction() as conn:
        return uploads.complete_upload(
            conn,
            cloud.blobs,
            cloud.metadata,
            seller_id,
            product_id,
            body.upload_id,
            now,
            cloud.settings.max_image_bytes,
        )


@router.delete("/products/{productId}/images/{imageId}", status_code=status.HTTP_204_NO_CONTENT)
def remove_image(
    product_id: ProductIdPath, image_id: ImageIdPath, cloud: CloudDep, now: NowDep, seller_id: SellerId
) -> Response:
    with cloud.db.transaction() as conn:
        uploads.remove_image(conn, cloud.blobs, cloud.metadata, seller_id, product_id, image_id, now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/uploads/local/{token}", status_code=status.HTTP_204_NO_CONTENT, include_in_schema=False)
async def local_upload(
    token: Annotated[str, Path(max_length=2000)], request: Request, cloud: CloudDep, now: NowDep
) -> Response:
    """The local file store's stand-in for an S3 presigned upload: the signed token is the authorisation,
    good for one upload (a second is 409 ``uploadGrantUsed``)."""
    store = cloud.blobs
    if not isinstance(store, LocalBlobStore):
        raise NotFound("uploads go to S3 on this cloud", code="notFound")
    try:
        _key, _type, max_bytes = store.verify_upload_token(token)
    except InvalidUploadToken as exc:
        raise UploadForbidden(str(exc), reason=exc.reason) from None
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > max_bytes:  # stop reading: never buffer more than the grant allows
            raise UploadRefused(f"the upload is over {max_bytes} bytes", code="uploadTooLarge")
    content_type = request.headers.get("content-type", "")

    def accept() -> None:  # the grant's single use is claimed in the transaction that stores the bytes
        with cloud.db.transaction() as conn:
            uploads.accept_local_upload(conn, store, token, bytes(data), content_type, now)

    try:
        await run_in_threadpool(accept)
    except InvalidUploadToken as exc:
        raise UploadForbidden(str(exc), reason=exc.reason) from None
    except UploadRejected as exc:
        raise UploadRefused(str(exc), code=exc.code) from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)


files_router = APIRouter(include_in_schema=False)


@files_router.get("/files/images/{key:path}")
def image_file(key: str, cloud: CloudDep) -> Response:
    """Product images at stable URLs: bytes from the local store, or a redirect to a fresh presigned URL
    for a private S3 bucket (so a stored URL never expires). Staging uploads are never served."""
    return _serve_blob(cloud, f"images/{key}")


@files_router.get(f"/files/{SNAPSHOT_PREFIX}/{{key:path}}")
def catalog_snapshot_file(key: str, cloud: CloudDep) -> Response:
    """Published store catalog snapshots, named by their SHA-256 (the link a node gets over MQTT)."""
    return _serve_blob(cloud, f"{SNAPSHOT_PREFIX}/{key}")


@files_router.get(f"/files/{MODEL_PREFIX}/{{key:path}}")
def model_file(key: str, cloud: CloudDep) -> Response:
    """Model files, named by their SHA-256 (the link a node gets over MQTT)."""
    return _serve_blob(cloud, f"{MODEL_PREFIX}/{key}")


@files_router.get(f"/files/{PHOTO_PREFIX}/{{key:path}}")
def recognition_photo_file(key: str, cloud: CloudDep) -> Response:
    """Recognition photos and the sets listing them, named by their SHA-256 (what store nodes fetch)."""
    return _serve_blob(cloud, f"{PHOTO_PREFIX}/{key}")


def _serve_blob(cloud: Cloud, full: str) -> Response:
    store = cloud.blobs
    if isinstance(store, S3BlobStore):
        try:
            return RedirectResponse(store.presigned_get(full), status_code=307)
        except ValueError:
            raise NotFound("no such file") from None
    if not isinstance(store, LocalBlobStore):
        raise NotFound("no such file")
    try:
        path = store.path_for(full)
        content_type = store.content_type(full)
    except (BlobNotFound, ValueError):
        raise NotFound("no such file") from None
    headers = {"Cache-Control": "public, max-age=31536000, immutable"}
    coding = store.content_encoding(full)
    if coding is not None:
        # Stored coded (a gzip catalog snapshot): said so, so any HTTP client decodes it; a Range request
        # then counts in the coded bytes, as S3 does for such an object.
        headers["Content-Encoding"] = coding
    # A file response streams from disk and answers Range (single or multiple) with If-Range against its
    # ETag and Last-Modified: a node resumes a cut download where it stopped, as it does from S3.
    return FileResponse(path, media_type=content_type, headers=headers)
