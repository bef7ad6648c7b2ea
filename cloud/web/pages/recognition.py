"""Product recognition (商品辨識, a tab of the shop area): the recognition model the seller's store nodes run.
Every version with the nodes serving it and those that refused it (the bell rang for each); upload a new
version; serve an older one again (a rollback publishes its file as the next version: nodes only move
forward). Beside it, the reference photos enrolled on the product pages as one set, and which nodes hold
its newest version. The same as the API's ``/models/product-recognizer`` routes, through ``cloud.model_files``."""

import contextlib

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from starlette.datastructures import UploadFile

from cloud import model_files, recognition_photos
from cloud.api.deps import CloudDep, NowDep
from cloud.runtime import Cloud
from cloud.web.forms import FieldError
from cloud.web.rendering import chrome, render
from cloud.web.routing import CsrfForm, WebSeller, page_router, redirect
from models.cloud_api import ModelFileVersion
from models.errors import Conflict, DomainError, NotFound
from plumbing.i18n import N_
from sync_protocol.envelope import MAX_MODEL_BYTES

router = page_router()
MODEL = "product-recognizer"


def _page(
    request: Request,
    cloud: Cloud,
    seller_id: str,
    *,
    errors: list[FieldError] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with cloud.db.read() as conn:
        page = chrome(conn, seller_id)
        versions: list[ModelFileVersion] = []  # none published yet
        with contextlib.suppress(NotFound):
            versions = model_files.versions(conn, seller_id, MODEL, cloud.settings.base_url)
        photos = recognition_photos.status(conn, seller_id)
    return render(
        request,
        "recognition.html",
        status_code=status_code,
        page=page,
        errors=errors or [],
        versions=versions,
        photos=photos,
        model=MODEL,
        max_mb=f"{_form_limit(cloud) / 1_000_000:g}",
        tab="recognition",
    )


def _form_limit(cloud: Cloud) -> int:
    """A form carries at most what a photo may be (``csrf_form``'s limit); the API's PUT takes larger models."""
    return min(MAX_MODEL_BYTES, cloud.settings.max_image_bytes)


@router.get("/recognition")
def recognition_page(request: Request, cloud: CloudDep, seller_id: WebSeller) -> HTMLResponse:
    return _page(request, cloud, seller_id)


@router.post("/recognition/models")
def publish_model(
    request: Request, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    """A model bundle from the page (``edgestore train-recognizer`` makes one), read up to the limit + 1."""
    upload = form.get("bundle")
    limit = _form_limit(cloud)
    data = upload.file.read(limit + 1) if isinstance(upload, UploadFile) else b""
    if len(data) > limit:
        error = FieldError("bundle", N_("recognition.tooLarge"))
        return _page(request, cloud, seller_id, errors=[error], status_code=413)
    try:
        with cloud.db.transaction() as conn:
            model_files.publish(conn, cloud.blobs, seller_id, MODEL, data, now, cloud.settings.base_url)
    except DomainError as exc:
        error = FieldError("bundle", "err.code." + exc.code, text=exc.message)
        return _page(request, cloud, seller_id, errors=[error], status_code=422)
    return redirect("/recognition?msg=modelPublished")


@router.post("/recognition/models/{version}/rollback")
def rollback_model(
    request: Request, version: int, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    try:
        with cloud.db.transaction() as conn:
            model_files.rollback(conn, seller_id, MODEL, version, now, cloud.settings.base_url)
    except Conflict as exc:  # already the newest (no such version: NotFound, the 404 page)
        error = FieldError("version", "err.code." + exc.code, text=exc.message)
        return _page(request, cloud, seller_id, errors=[error], status_code=409)
    return redirect("/recognition?msg=modelRolledBack")
