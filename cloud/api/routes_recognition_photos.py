"""Recognition photos: reference photos of a seller's variants, enrolled in the cloud and sent to every store
node of the seller (``cloud.recognition_photos``). Uploads take the product images' grant."""

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from cloud import recognition_photos
from cloud.api.deps import CloudDep, NowDep, ProductIdPath, SellerId
from models.cloud_api import ImageAttach, RecognitionPhotoPublic, RecognitionPhotoSetStatus
from models.ids import IDENT_PATTERN, ULID_PATTERN

router = APIRouter(tags=["recognition photos"])

# A variant's id is a ULID when the cloud made it, or one the catalog chose (the demo's "latte-1"): an Ident.
VariantIdPath = Annotated[str, Path(alias="variantId", min_length=1, max_length=64, pattern=IDENT_PATTERN)]
PhotoIdPath = Annotated[str, Path(alias="photoId", pattern=ULID_PATTERN)]


@router.get("/products/{productId}/recognition-photos")
def list_photos(
    product_id: ProductIdPath, cloud: CloudDep, seller_id: SellerId
) -> list[RecognitionPhotoPublic]:
    """The product's recognition photos, by variant."""
    with cloud.db.read() as conn:
        return recognition_photos.of_product(conn, seller_id, product_id, cloud.settings.base_url)


@router.post(
    "/products/{productId}/variants/{variantId}/recognition-photos", status_code=status.HTTP_201_CREATED
)
def attach_photo(
    product_id: ProductIdPath,
    variant_id: VariantIdPath,
    body: ImageAttach,
    cloud: CloudDep,
    now: NowDep,
    seller_id: SellerId,
) -> RecognitionPhotoPublic:
    """Enrol a file uploaded with a product image grant (``POST /products/{productId}/images/uploads``) as a
    reference photo of the variant: checked like an image, then sent to the seller's store nodes, which
    recognise the variant from it. About six photos from a few sides make a variant recognisable; at most
    24 per variant (`422 tooManyPhotos`)."""
    with cloud.db.transaction() as conn:
        return recognition_photos.attach_upload(
            conn,
            cloud.blobs,
            seller_id,
            product_id,
            variant_id,
            body.upload_id,
            now,
            max_bytes=cloud.settings.max_image_bytes,
            base_url=cloud.settings.base_url,
        )


@router.delete("/products/{productId}/recognition-photos/{photoId}", status_code=status.HTTP_204_NO_CONTENT)
def remove_photo(
    product_id: ProductIdPath, photo_id: PhotoIdPath, cloud: CloudDep, now: NowDep, seller_id: SellerId
) -> Response:
    """The store nodes forget the photo's references at their next sync."""
    with cloud.db.transaction() as conn:
        blob_key = recognition_photos.remove(conn, seller_id, product_id, photo_id, now)
    cloud.blobs.delete(blob_key)  # once the removal has committed
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/recognition-photos/status")
def photo_set_status(cloud: CloudDep, seller_id: SellerId) -> RecognitionPhotoSetStatus:
    """The seller's recognition photos as one set (its version moves with every change) and which store
    nodes hold its newest version."""
    with cloud.db.read() as conn:
        return recognition_photos.status(conn, seller_id)
