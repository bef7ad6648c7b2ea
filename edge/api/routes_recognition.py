"""Product recognition at the node: shoppers' recognize (open on the store's network, like the catalog), and
staff's enrolment of reference photos and their deletion (docs/edge-api.md)."""

import time
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile
from sqlalchemy import Connection, select

from edge import model_files, node_state
from edge.api.deps import CATALOG_ID_PATTERN, NodeDep, StaffDep, VariantIdPath
from edge.node import Node
from edge.recognition import cloud_photos, references
from edge.recognition.bundle import MODEL_NAME
from edge.recognition.errors import ImageTooLarge, ModelNotLoaded
from edge.tables import products, variants
from models.errors import InvalidInput
from models.node_api import (
    EnrollmentResult,
    RecognitionCandidate,
    RecognitionHealth,
    RecognitionResult,
    RecognitionStatus,
    ReferencesDeleted,
)
from models.paging import PlainInt

if TYPE_CHECKING:
    from edge.recognition.service import Recognizer

router = APIRouter(tags=["recognition"])

MAX_ENROLL_IMAGES = 24
VariantIdForm = Annotated[str, Form(alias="variantId", pattern=CATALOG_ID_PATTERN, max_length=64)]
_NO_MODEL: dict[int | str, dict[str, Any]] = {
    503: {"description": "modelNotLoaded: no recognition model serves at this node (Retry-After)"}
}
_IMAGE_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"description": "imageTooLarge: a photo over the node's limit (recognitionMaxImageBytes)"},
    422: {"description": "notAnImage: not a JPEG, PNG, WebP or BMP the node can read; validationError"},
}


def _recognizer(node: Node) -> "Recognizer":
    if node.recognizer is None:
        raise ModelNotLoaded("product recognition is off at this node", retry_after_s=30)
    return node.recognizer


def _read(upload: UploadFile, limit: int) -> bytes:
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise ImageTooLarge(f"a photo of over {limit} bytes", limit=limit)
    return data


def _names(conn: Connection, variant_ids: list[str]) -> dict[str, tuple[str, str, str]]:
    """variant id -> (product id, name, English name) of the variants still in the catalog."""
    rows = conn.execute(
        select(
            variants.c.variant_id,
            variants.c.product_id,
            variants.c.name.label("variant_name"),
            variants.c.name_en.label("variant_name_en"),
            variants.c.is_default,
            products.c.name,
            products.c.name_en,
        )
        .join(products, products.c.product_id == variants.c.product_id)
        .where(variants.c.variant_id.in_(variant_ids))
    )
    names = {}
    for row in rows:
        name, name_en = row.name, row.name_en
        if not row.is_default and row.variant_name and row.variant_name != row.name:
            name = f"{row.name} {row.variant_name}"
            name_en = f"{row.name_en} {row.variant_name_en}".strip() if row.name_en else ""
        names[row.variant_id] = (row.product_id, name, name_en)
    return names


@router.post("/recognize", responses={**_IMAGE_ERRORS, **_NO_MODEL})
def recognize(
    node: NodeDep,
    image: Annotated[
        UploadFile,
        File(
            description="A photo of the product (JPEG, PNG, WebP, or BMP: the kiosk's lossless query frame)"
        ),
    ],
    k: Annotated[int, Query(ge=1, le=10, description="How many candidates at most"), PlainInt] = 3,
) -> RecognitionResult:
    """What product the photo shows: up to ``k`` of this store's enrolled variants, most likely first, each
    with a calibrated confidence; ``unknown`` (and no candidates) when none is close enough."""
    started = time.perf_counter()
    recognizer = _recognizer(node)
    seen = recognizer.recognize(_read(image, node.settings.recognition_max_image_bytes), k)
    with node.db.read() as conn:
        names = _names(conn, [m.variant_id for m in seen.result.matches])
    candidates = [
        RecognitionCandidate(
            variant_id=m.variant_id,
            product_id=names[m.variant_id][0],
            name=names[m.variant_id][1],
            name_en=names[m.variant_id][2],
            confidence=m.confidence,
        )
        for m in seen.result.matches
        if m.variant_id in names  # a variant the catalog no longer has is not offered
    ]
    return RecognitionResult(
        candidates=candidates,
        unknown=seen.result.unknown or not candidates,
        model_version=seen.model_version,
        latency_ms=round((time.perf_counter() - started) * 1000, 1),
    )


@router.post("/recognition/enroll", status_code=201, responses={**_IMAGE_ERRORS, **_NO_MODEL})
def enroll(
    node: NodeDep,
    member: StaffDep,
    variant_id: VariantIdForm,
    images: Annotated[list[UploadFile], File(description=f"1-{MAX_ENROLL_IMAGES} photos of the variant")],
) -> EnrollmentResult:
    """Keep photos of a variant as its references (about six, from a few sides): it is recognised at once,
    with no retraining. 404 ``variantNotFound`` when the store's catalog has no such variant."""
    if not 1 <= len(images) <= MAX_ENROLL_IMAGES:
        raise InvalidInput(f"send 1-{MAX_ENROLL_IMAGES} images", code="validationError", field="images")
    limit = node.settings.recognition_max_image_bytes
    data = [_read(upload, limit) for upload in images]
    total = _recognizer(node).enroll(variant_id, data, by=member.staff_id)
    return EnrollmentResult(variant_id=variant_id, added=len(data), references=total)


@router.delete("/recognition/references/{variantId}")
def delete_references(node: NodeDep, _member: StaffDep, variant_id: VariantIdPath) -> ReferencesDeleted:
    """Forget the reference photos of a variant enrolled at this node (``deleted`` 0 when it had none). Those
    from the seller's cloud set stay (``GET /recognition/status`` counts them): the seller removes them in
    the cloud's dashboard, and every node forgets them with the set's next version."""
    return ReferencesDeleted(variant_id=variant_id, deleted=_recognizer(node).delete_references(variant_id))


@router.get("/recognition/status")
def recognition_status(node: NodeDep) -> RecognitionStatus:
    """The serving model, what is enrolled (from the cloud's photo set, at the node), the threshold, the
    latest model file refused, the cloud photo set version held and the cloud photos refused."""
    with node.db.read() as conn:
        variants_enrolled, _ = references.counts(conn)
        origins = cloud_photos.origins(conn)
        photos_version = node_state.recognition_photos_version(conn)
        health = recognition_health(node, conn)
    serving = node.recognizer.serving if node.recognizer is not None else None
    spec = serving.embedder.spec if serving is not None else None
    return RecognitionStatus(
        loaded=health.loaded,
        model_version=health.model_version,
        model_file_version=health.model_file_version,
        input_size=health.input_size,
        embedding_dim=spec.embedding_dim if spec else None,
        threshold=spec.unknown_threshold if spec else None,
        enrolled_variants=variants_enrolled,
        reference_count=len(serving.index) if serving is not None else 0,
        rejected=health.rejected,
        cloud_photos_version=photos_version,
        cloud_references=origins.cloud,
        node_references=origins.node,
        refused_cloud_photos=origins.refused,
    )


def recognition_health(node: Node, conn: Connection) -> RecognitionHealth:
    """What /health and /recognition/status say of recognition (in the caller's read)."""
    serving = node.recognizer.serving if node.recognizer is not None else None
    rejected = model_files.rejections(conn).get(MODEL_NAME)
    version = serving.version if serving is not None else None
    # Against the version serving (not installed): after a refusal at start the shipped model serves.
    shown = rejected if rejected is not None and (version is None or rejected.version > version) else None
    return RecognitionHealth(
        loaded=serving is not None,
        model_version=serving.embedder.spec.model_version if serving is not None else None,
        model_file_version=version,
        rejected=shown,
        input_size=serving.embedder.spec.input_size if serving is not None else None,
    )
