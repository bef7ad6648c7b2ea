"""The product list (search, filters, paging) and the product editor: variants, classification, selling
rules, photos; delete."""

from collections.abc import Sequence
from typing import Any

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import Connection
from starlette.datastructures import UploadFile

from cloud import catalog, i18n, recognition_photos, uploads
from cloud.api.deps import CloudDep, NowDep
from cloud.runtime import Cloud
from cloud.web.forms import (
    FieldError,
    ProductForm,
    form_errors,
)
from cloud.web.rendering import chrome, here, language, render
from cloud.web.routing import PAGE_SIZE, CsrfForm, WebSeller, page_router, redirect, with_params
from models.catalog import PHONE_CATEGORY_ID, Condition
from models.cloud_api import (
    BrandPublic,
    ProductCreate,
    ProductUpdate,
    ShippingMethod,
    StorageCondition,
)
from models.errors import DomainError

router = page_router()


# --- reference data in the page's language --------------------------------------------------------------


def _categories(conn: Connection, lang: str) -> list[dict[str, Any]]:
    words = i18n.translator(lang)
    return [
        {"id": c.category_id, "name": words.name(c.name, c.name_en), "parent": c.parent_id}
        for c in catalog.list_categories(conn)
    ]


def _brands(conn: Connection, seller_id: str, lang: str) -> list[dict[str, str]]:
    """The product editor's brand choices: the curated brands and the seller's own, never another's."""
    items: list[BrandPublic] = catalog.list_brands(conn, seller_id)
    words = i18n.translator(lang)
    return [{"id": b.brand_id, "name": words.name(b.name, b.name_en)} for b in items]


def _phone_categories(categories: list[dict[str, Any]]) -> list[str]:
    """Ids whose products need brand and condition: phones and whatever sits under it."""
    ids = {PHONE_CATEGORY_ID}
    rows = [(c["id"], c["parent"]) for c in categories]
    changed = True
    while changed:
        changed = False
        for cid, parent in rows:
            if parent in ids and cid not in ids:
                ids.add(cid)
                changed = True
    return sorted(ids)


# --- the list -------------------------------------------------------------------------------------------


@router.get("/products")
def products_page(request: Request, cloud: CloudDep, seller_id: WebSeller) -> HTMLResponse:
    lang = language(request)
    q = request.query_params.get("q", "").strip()[:100]
    listed_param = request.query_params.get("listed", "")
    listed = {"1": True, "0": False}.get(listed_param)
    category = request.query_params.get("category", "")[:64]
    cursor = request.query_params.get("cursor") or None
    with cloud.db.read() as conn:
        page = chrome(conn, seller_id)
        categories = _categories(conn, lang)
        items, next_cursor = catalog.list_products(
            conn,
            seller_id,
            q=q or None,
            category_id=category or None,
            listed=listed,
            cursor=cursor,
            limit=PAGE_SIZE,
        )
    return render(
        request,
        "products.html",
        page=page,
        products=items,
        q=q,
        listed=listed_param if listed is not None else "",
        category=category,
        categories=categories,
        category_names={c["id"]: c["name"] for c in categories},
        next_url=with_params(here(request), cursor=next_cursor) if next_cursor else "",
    )


# --- the editor -----------------------------------------------------------------------------------------


def _product_page(
    request: Request,
    cloud: Cloud,
    seller_id: str,
    product_id: str | None,
    *,
    form: ProductForm | None = None,
    errors: Sequence[FieldError] = (),
    status_code: int = 200,
) -> HTMLResponse:
    lang = language(request)
    with cloud.db.read() as conn:
        page = chrome(conn, seller_id)
        product = catalog.get_product(conn, cloud.metadata, seller_id, product_id) if product_id else None
        photos = (
            recognition_photos.of_product(conn, seller_id, product_id, cloud.settings.base_url)
            if product_id
            else []
        )
        categories = _categories(conn, lang)
        brands = _brands(conn, seller_id, lang)
        progress = (
            next((g for g in catalog.group_buy_progress(conn, seller_id) if g.product_id == product_id), None)
            if product and product.group_buy
            else None
        )
    if form is None:
        form = ProductForm.from_product(product) if product else ProductForm.blank()
    return render(
        request,
        "product_form.html",
        status_code=status_code,
        page=page,
        errors=errors,
        product=product,
        form=form,
        top_categories=[c for c in categories if c["parent"] is None],
        sub_categories=[c for c in categories if c["parent"] is not None],
        phone_categories=_phone_categories(categories),
        brands=brands,
        conditions=[c.value for c in Condition],
        storage_conditions=[s.value for s in StorageCondition],
        shipping_methods=[m.value for m in ShippingMethod],
        max_image_mb=cloud.settings.max_image_bytes / 1024 / 1024,
        recognition_photos={
            v.variant_id: [p for p in photos if p.variant_id == v.variant_id]
            for v in (product.variants if product else [])
        },
        photos_per_variant=recognition_photos.MAX_PER_VARIANT,
        group_buy_sold=progress.sold if progress else None,
    )


@router.get("/products/new")
def new_product_page(request: Request, cloud: CloudDep, seller_id: WebSeller) -> HTMLResponse:
    return _product_page(request, cloud, seller_id, None)


@router.post("/products/new")
def create_product(
    request: Request, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    values = ProductForm.from_form(form)
    with form_errors() as errors:
        body = ProductCreate.model_validate(values.payload())
        with cloud.db.transaction() as conn:
            product = catalog.create_product(conn, cloud.metadata, seller_id, body, now)
        return redirect(f"/products/{product.product_id}?msg=productCreated")
    return _product_page(request, cloud, seller_id, None, form=values, errors=errors, status_code=422)


@router.get("/products/{product_id}")
def product_page(request: Request, product_id: str, cloud: CloudDep, seller_id: WebSeller) -> HTMLResponse:
    return _product_page(request, cloud, seller_id, product_id)


@router.post("/products/{product_id}")
def update_product(
    request: Request, product_id: str, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    with cloud.db.read() as conn:
        current = catalog.get_product(conn, cloud.metadata, seller_id, product_id)
    values = ProductForm.from_form(form)
    with form_errors() as errors:
        body = ProductUpdate.model_validate(values.payload(current.variants))
        with cloud.db.transaction() as conn:
            catalog.update_product(conn, cloud.metadata, seller_id, product_id, body, now)
        return redirect(f"/products/{product_id}?msg=productSaved")
    return _product_page(request, cloud, seller_id, product_id, form=values, errors=errors, status_code=422)


@router.post("/products/{product_id}/delete")
def delete_product(
    request: Request, product_id: str, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> RedirectResponse:
    with cloud.db.transaction() as conn:
        catalog.delete_product(conn, seller_id, product_id, now)
    return redirect("/products?msg=productDeleted")


# --- photos ---------------------------------------------------------------------------------------------


@router.post("/products/{product_id}/images")
def upload_image(
    request: Request, product_id: str, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    """A photo from the product page, through the same check, thumbnail and storage as the API's uploads
    (``cloud.uploads.add_image``: ``inspect_image``, ``make_thumbnail``, the file store, the metadata
    document, ``catalog.set_images``). The bytes come in the form, read up to ``max_image_bytes`` + 1."""
    with cloud.db.read() as conn:
        catalog.product_metadata_id(conn, seller_id, product_id)  # another seller's product: the 404 page
    upload = form.get("image")
    limit = cloud.settings.max_image_bytes
    data = upload.file.read(limit + 1) if isinstance(upload, UploadFile) else b""
    try:
        with cloud.db.transaction() as conn:
            uploads.add_image(conn, cloud.blobs, cloud.metadata, seller_id, product_id, data, now, limit)
    except DomainError as exc:
        error = FieldError("image", "err.code." + exc.code, text=exc.message)
        return _product_page(request, cloud, seller_id, product_id, errors=[error], status_code=422)
    return redirect(f"/products/{product_id}?msg=imageAdded#images")


@router.post("/products/{product_id}/images/{image_id}/delete")
def delete_image(
    request: Request,
    product_id: str,
    image_id: str,
    form: CsrfForm,
    cloud: CloudDep,
    now: NowDep,
    seller_id: WebSeller,
) -> RedirectResponse:
    with cloud.db.transaction() as conn:
        uploads.remove_image(conn, cloud.blobs, cloud.metadata, seller_id, product_id, image_id, now)
    return redirect(f"/products/{product_id}?msg=imageRemoved#images")


# --- recognition photos ---------------------------------------------------------------------------------


@router.post("/products/{product_id}/recognition-photos")
def upload_recognition_photos(
    request: Request, product_id: str, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    """Reference photos of one variant for the store nodes' recognition (``cloud.recognition_photos.add``),
    several files in one form: all are enrolled or, when one is refused, none (one transaction)."""
    with cloud.db.read() as conn:
        catalog.product_metadata_id(conn, seller_id, product_id)  # another seller's product: the 404 page
    variant_id = str(form.get("variant") or "")
    files = [f for f in form.getlist("photos") if isinstance(f, UploadFile)]
    limit = cloud.settings.max_image_bytes
    if len(files) > recognition_photos.MAX_PER_VARIANT:  # refused before a byte of them is read
        error = FieldError(
            "photos", "err.code.tooManyPhotos", text=f"at most {recognition_photos.MAX_PER_VARIANT} photos"
        )
        return _product_page(request, cloud, seller_id, product_id, errors=[error], status_code=422)
    try:
        with cloud.db.transaction() as conn:
            # No file at all reads as one empty one: refused as ``emptyImage``, like the images' form.
            sent: list[UploadFile | None] = [*files] or [None]
            for upload in sent:
                data = upload.file.read(limit + 1) if upload is not None else b""
                recognition_photos.add(
                    conn,
                    cloud.blobs,
                    seller_id,
                    product_id,
                    variant_id,
                    data,
                    now,
                    max_bytes=limit,
                    base_url=cloud.settings.base_url,
                )
    except DomainError as exc:
        error = FieldError("photos", "err.code." + exc.code, text=exc.message)
        return _product_page(request, cloud, seller_id, product_id, errors=[error], status_code=422)
    return redirect(f"/products/{product_id}?msg=recognitionPhotosAdded#recognition-photos")


@router.post("/products/{product_id}/recognition-photos/{photo_id}/delete")
def delete_recognition_photo(
    request: Request,
    product_id: str,
    photo_id: str,
    form: CsrfForm,
    cloud: CloudDep,
    now: NowDep,
    seller_id: WebSeller,
) -> RedirectResponse:
    with cloud.db.transaction() as conn:
        blob_key = recognition_photos.remove(conn, seller_id, product_id, photo_id, now)
    cloud.blobs.delete(blob_key)  # once the removal has committed
    return redirect(f"/products/{product_id}?msg=recognitionPhotoRemoved#recognition-photos")
