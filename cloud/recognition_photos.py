"""Reference photos of a seller's variants for the store nodes' product recognition (issue 18), enrolled in
the cloud: checked like product images, kept in the blob store under a name that carries their SHA-256, and
sent to every store node of the seller, which embeds them with the model it runs.

The seller's photos form one *set* with a version (``recognition_photo_sets``), moved by every change: a
photo added or removed here, and a variant or product with photos deleted in the catalog (``forget``). A
node says in its status which version it holds; the sync service announces a newer one, as a file listing
every photo of the seller's live variants (``publish_set``, ``sync_protocol.envelope.RecognitionPhotoSet``);
the node fetches what it lacks and forgets what is gone. Photos enrolled at a node (the kiosk's staff
mode) stay at that node and never come here.

Uploads take the product images' path: a grant (``POST /products/{id}/images/uploads``, an S3 presigned
POST or the local store's equivalent), then ``attach_upload`` names the variant; the grant's ``attach``
step is claimed here as for an image, so one grant makes one photo or one image, never both.
"""

import hashlib
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from cloud import catalog
from cloud.media.blob_store import BlobStore
from cloud.media.images import ImageRejected, inspect_image
from cloud.recognition_photo_sets import bump
from cloud.tables import devices, products, recognition_photo_sets, recognition_photos, stores, variants
from cloud.uploads import EXTENSIONS, ImageNotAccepted, claimed_upload
from models.cloud_api import (
    RecognitionPhotoDevice,
    RecognitionPhotoPublic,
    RecognitionPhotoSetStatus,
)
from models.errors import InvalidInput, NotFound
from models.ids import new_id
from models.parties import DeviceKind
from sync_protocol.envelope import (
    MAX_RECOGNITION_PHOTO_BYTES,
    MAX_RECOGNITION_PHOTOS,
    RecognitionPhotoRef,
    RecognitionPhotosAnnouncement,
    RecognitionPhotoSet,
)

PREFIX = "recognition-photos"
"""Blob keys: ``recognition-photos/{sellerId}/{photoId}-{sha256}.{ext}``, and the sets the nodes fetch at
``recognition-photos/{sellerId}/sets/{storeId}-{version}-{sha256}.json``."""
MAX_PER_VARIANT = 24
"""About six photos make a variant recognisable (docs/recognition.md); more than this only slows the
search and the re-embedding when a new model arrives."""
MAX_PER_SELLER = MAX_RECOGNITION_PHOTOS
"""What one set may list (``RecognitionPhotoSet``): a seller at it enrols no more until some are removed."""


def _public(row: Any, base_url: str) -> RecognitionPhotoPublic:
    return RecognitionPhotoPublic(
        photo_id=row.photo_id,
        product_id=row.product_id,
        variant_id=row.variant_id,
        url=f"{base_url}/files/{row.blob_key}",
        sha256=row.sha256,
        size=row.size,
        width=row.width,
        height=row.height,
        content_type=row.content_type,
        created_at=row.created_at,
    )


def _live_variant(conn: Connection, seller_id: str, product_id: str, variant_id: str) -> None:
    """``NotFound`` unless the variant is of this seller's live product (another seller's is not found).
    The variant's and the product's rows stay locked to the end of the transaction: two uploads for one
    variant count its photos one after the other, and a catalog change that deletes the variant or the
    product (which locks the product first) waits for this photo to commit, then sees it and moves the set
    (``recognition_photo_sets.forget``), or comes first and this upload finds no variant."""
    found = conn.execute(
        select(variants.c.variant_id)
        .join(products, products.c.product_id == variants.c.product_id)
        .where(
            variants.c.variant_id == variant_id,
            variants.c.product_id == product_id,
            products.c.seller_id == seller_id,
            products.c.deleted_at.is_(None),
        )
        .with_for_update(of=[variants, products])
    ).first()
    if found is None:
        raise NotFound(f"product {product_id} has no variant {variant_id}", code="variantNotFound")


def add(
    conn: Connection,
    blobs: BlobStore,
    seller_id: str,
    product_id: str,
    variant_id: str,
    data: bytes,
    now: datetime,
    *,
    max_bytes: int,
    base_url: str,
) -> RecognitionPhotoPublic:
    """Check a photo (an image as product images are, ``inspect_image``) and enrol it for the variant."""
    _live_variant(conn, seller_id, product_id, variant_id)
    held = conn.execute(
        select(func.count()).where(recognition_photos.c.variant_id == variant_id)
    ).scalar_one()
    if held >= MAX_PER_VARIANT:
        raise InvalidInput(
            f"a variant has at most {MAX_PER_VARIANT} recognition photos", code="tooManyPhotos"
        )
    # The set moves now (its row locked to the end of the transaction): the seller's uploads count their
    # photos one after the other, and a set published meanwhile cannot carry this version without the photo.
    bump(conn, seller_id, now)
    if conn.execute(select(func.count()).where(recognition_photos.c.seller_id == seller_id)).scalar_one() >= (
        MAX_PER_SELLER
    ):
        raise InvalidInput(f"a seller has at most {MAX_PER_SELLER} recognition photos", code="tooManyPhotos")
    try:
        info = inspect_image(data, min(max_bytes, MAX_RECOGNITION_PHOTO_BYTES))
    except ImageRejected as exc:
        raise ImageNotAccepted(exc.message, code=exc.code) from None
    photo_id = new_id()
    sha = hashlib.sha256(data).hexdigest()
    key = f"{PREFIX}/{seller_id}/{photo_id}-{sha}.{EXTENSIONS[info.content_type]}"
    blobs.put(key, data, info.content_type)
    row = conn.execute(
        insert(recognition_photos)
        .values(
            photo_id=photo_id,
            seller_id=seller_id,
            product_id=product_id,
            variant_id=variant_id,
            blob_key=key,
            content_type=info.content_type,
            sha256=sha,
            size=len(data),
            width=info.width,
            height=info.height,
            created_at=now,
        )
        .returning(*recognition_photos.c)
    ).one()
    return _public(row, base_url)


def attach_upload(
    conn: Connection,
    blobs: BlobStore,
    seller_id: str,
    product_id: str,
    variant_id: str,
    upload_id: str,
    now: datetime,
    *,
    max_bytes: int,
    base_url: str,
) -> RecognitionPhotoPublic:
    """Enrol the file uploaded with a product image grant (``cloud.uploads``) as a photo of the variant."""
    _live_variant(conn, seller_id, product_id, variant_id)
    with claimed_upload(conn, blobs, seller_id, product_id, upload_id, now) as data:
        return add(
            conn, blobs, seller_id, product_id, variant_id, data, now, max_bytes=max_bytes, base_url=base_url
        )


def remove(conn: Connection, seller_id: str, product_id: str, photo_id: str, now: datetime) -> str:
    """Remove a photo from the set; the key of its file, for the caller to delete once the transaction has
    committed (deleted before, a failed commit would leave a listed photo without its file)."""
    row = conn.execute(
        delete(recognition_photos)
        .where(
            recognition_photos.c.photo_id == photo_id,
            recognition_photos.c.product_id == product_id,
            recognition_photos.c.seller_id == seller_id,
        )
        .returning(recognition_photos.c.blob_key)
    ).first()
    if row is None:
        raise NotFound(f"recognition photo {photo_id} not found", code="photoNotFound")
    bump(conn, seller_id, now)
    return str(row.blob_key)


def of_product(
    conn: Connection, seller_id: str, product_id: str, base_url: str
) -> list[RecognitionPhotoPublic]:
    """The product's recognition photos, by variant, oldest first."""
    catalog.product_metadata_id(conn, seller_id, product_id)  # NotFound unless the seller's live product
    rows = conn.execute(
        select(recognition_photos)
        .where(recognition_photos.c.product_id == product_id, recognition_photos.c.seller_id == seller_id)
        .order_by(
            recognition_photos.c.variant_id, recognition_photos.c.created_at, recognition_photos.c.photo_id
        )
    ).all()
    return [_public(r, base_url) for r in rows]


# --- the set the nodes take -------------------------------------------------------------------------------


def versions(conn: Connection, seller_ids: Collection[str]) -> dict[str, int]:
    """seller -> the version of its photo set (absent: it never had a photo), in one query."""
    rows = conn.execute(
        select(recognition_photo_sets.c.seller_id, recognition_photo_sets.c.version).where(
            recognition_photo_sets.c.seller_id.in_(list(seller_ids))
        )
    )
    return {r.seller_id: int(r.version) for r in rows}


def photo_set(conn: Connection, seller_id: str, store_id: str, base_url: str) -> RecognitionPhotoSet:
    version = versions(conn, [seller_id]).get(seller_id, 0)
    rows = conn.execute(
        select(recognition_photos)
        .join(products, products.c.product_id == recognition_photos.c.product_id)
        .where(recognition_photos.c.seller_id == seller_id, products.c.deleted_at.is_(None))
        .order_by(recognition_photos.c.photo_id)
        .limit(MAX_RECOGNITION_PHOTOS)
    ).all()
    return RecognitionPhotoSet(
        store_id=store_id,
        version=max(version, 1),
        photos=tuple(
            RecognitionPhotoRef(
                photo_id=r.photo_id,
                variant_id=r.variant_id,
                url=f"{base_url}/files/{r.blob_key}",
                sha256=r.sha256,
                size=r.size,
            )
            for r in rows
        ),
    )


def publish_set(
    conn: Connection, blobs: BlobStore, seller_id: str, store_id: str, base_url: str
) -> RecognitionPhotosAnnouncement:
    """Write the store's photo set to the blob store (once per content) and announce it."""
    listed = photo_set(conn, seller_id, store_id, base_url)
    data = listed.model_dump_json(by_alias=True).encode()
    sha = hashlib.sha256(data).hexdigest()
    key = f"{PREFIX}/{seller_id}/sets/{store_id}-{listed.version}-{sha}.json"
    if not blobs.exists(key):
        blobs.put(key, data, "application/json")
    return RecognitionPhotosAnnouncement(
        store_id=store_id, version=listed.version, url=f"{base_url}/files/{key}", sha256=sha, size=len(data)
    )


def record_held(conn: Connection, device_id: str, version: int | None) -> None:
    """The set version a device's status says it holds (None: it takes no cloud photos)."""
    conn.execute(update(devices).where(devices.c.device_id == device_id).values(recognition_photos=version))


def status(conn: Connection, seller_id: str) -> RecognitionPhotoSetStatus:
    """The set's version and size, and which of the seller's store nodes hold it (the dashboard's view)."""
    version = versions(conn, [seller_id]).get(seller_id, 0)
    counts = conn.execute(
        select(func.count(), func.count(func.distinct(recognition_photos.c.variant_id)))
        .select_from(recognition_photos)
        .join(products, products.c.product_id == recognition_photos.c.product_id)
        .where(recognition_photos.c.seller_id == seller_id, products.c.deleted_at.is_(None))
    ).one()
    nodes: Sequence[Any] = conn.execute(
        select(
            devices.c.device_id,
            devices.c.name,
            devices.c.recognition_photos,
            devices.c.last_seen_at,
            stores.c.store_id,
            stores.c.name.label("store"),
        )
        .join(stores, stores.c.store_id == devices.c.store_id)
        .where(
            devices.c.seller_id == seller_id,
            devices.c.revoked_at.is_(None),
            devices.c.kind == DeviceKind.STORE_NODE.value,
        )
        .order_by(stores.c.name, devices.c.device_id)
    ).all()
    return RecognitionPhotoSetStatus(
        version=version,
        photos=int(counts[0]),
        variants=int(counts[1]),
        devices=[
            RecognitionPhotoDevice(
                device_id=n.device_id,
                device_name=n.name,
                store_id=n.store_id,
                store_name=n.store,
                held=n.recognition_photos,
                up_to_date=n.recognition_photos is not None and n.recognition_photos >= version,
            )
            for n in nodes
        ],
    )
