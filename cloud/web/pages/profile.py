"""The seller's profile (the name buyers see, phone, address: ``PATCH /api/v1/me``'s fields) and, under it,
the shop settings: each store's name, type, address and hours, edited on the stores page."""

from collections.abc import Sequence

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from cloud import sellers
from cloud.api.deps import CloudDep
from cloud.runtime import Cloud
from cloud.web.forms import FieldError, ProfileForm, validation_errors
from cloud.web.rendering import chrome, render
from cloud.web.routing import CsrfForm, WebSeller, page_router, redirect
from models.cloud_api import SellerUpdate

router = page_router()


def _profile_page(
    request: Request,
    cloud: Cloud,
    seller_id: str,
    *,
    form: ProfileForm | None = None,
    errors: Sequence[FieldError] = (),
    status_code: int = 200,
) -> HTMLResponse:
    with cloud.db.read() as conn:
        page = chrome(conn, seller_id)
        seller = sellers.get_seller(conn, seller_id)
        stores = sellers.list_stores(conn, seller_id)
    return render(
        request,
        "profile.html",
        status_code=status_code,
        page=page,
        errors=errors,
        tab="profile",
        form=form or ProfileForm.from_seller(seller),
        stores=stores,
    )


@router.get("/profile")
def profile_page(request: Request, cloud: CloudDep, seller_id: WebSeller) -> HTMLResponse:
    return _profile_page(request, cloud, seller_id)


@router.post("/profile")
def update_profile(request: Request, form: CsrfForm, cloud: CloudDep, seller_id: WebSeller) -> Response:
    values = ProfileForm.from_form(form)
    try:
        body = SellerUpdate.model_validate(values.payload())
    except ValidationError as exc:
        return _profile_page(
            request, cloud, seller_id, form=values, errors=validation_errors(exc), status_code=422
        )
    with cloud.db.transaction() as conn:
        sellers.update_seller(conn, seller_id, body)
    return redirect("/profile?msg=profileSaved")
