"""The seller's stores: the list, a form to create one, and an edit form under each, with the store's device
claim codes (make one, shown once as text and QR code on the page the POST answers with; withdraw one) and
a way to its Devices page (``cloud.web.pages.devices``).

Field staff (``models.team``) see this page too, without the forms that change stores: the list, the claim
codes and the devices (``WebDeviceAdmin``); creating or editing a store stays the owner's (``WebSeller``)."""

from collections.abc import Sequence

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from cloud import auth, claim_codes, sellers
from cloud.api.deps import CloudDep, NowDep
from cloud.runtime import Cloud
from cloud.web.forms import FieldError, StoreForm, validation_errors
from cloud.web.rendering import chrome, render
from cloud.web.routing import CsrfForm, WebDeviceAdmin, WebSeller, page_router, redirect
from models.cloud_api import ClaimCodeCreate, ClaimCodeCreated, StoreCreate, StoreUpdate
from models.parties import ShopType
from models.team import Capability

router = page_router()
# What the claim-code form offers, in minutes: an hour for a Pi being set up now, a day for a card prepared
# to provision its Pi on first boot (docs/field-guide.md).
CLAIM_LIFETIMES = (60, 480, 1440)


def _stores_page(
    request: Request,
    cloud: Cloud,
    who: str | auth.Caller,
    *,
    new: StoreForm | None = None,
    editing: str = "",
    edit_form: StoreForm | None = None,
    shown: ClaimCodeCreated | None = None,
    errors: Sequence[FieldError] = (),
    status_code: int = 200,
) -> HTMLResponse:
    now = request.app.state.clock()
    caller = auth.Caller(who) if isinstance(who, str) else who
    seller_id = caller.seller_id
    with cloud.db.read() as conn:
        page = chrome(conn, caller)
        stores = sellers.list_stores(conn, seller_id)
        codes = {s.store_id: claim_codes.list_active(conn, seller_id, s.store_id, now) for s in stores}
    forms = {s.store_id: StoreForm.from_store(s) for s in stores}
    if editing and edit_form is not None:
        forms[editing] = edit_form
    return render(
        request,
        "stores.html",
        status_code=status_code,
        page=page,
        errors=errors,
        stores=stores,
        forms=forms,
        new=new or StoreForm(),
        editing=editing or request.query_params.get("edit", ""),
        shop_types=[s.value for s in ShopType],
        claim_codes=codes,
        owner=caller.may(Capability.OWNER_ONLY),
        shown=shown,
        shown_qr=claim_codes.qr_data_uri(shown.qr_text) if shown else None,
        claim_lifetimes=CLAIM_LIFETIMES,
        tab="stores",
    )


@router.get("/stores")
def stores_page(request: Request, cloud: CloudDep, caller: WebDeviceAdmin) -> HTMLResponse:
    return _stores_page(request, cloud, caller)


@router.post("/stores")
def create_store(
    request: Request, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    values = StoreForm.from_form(form)
    try:
        body = StoreCreate.model_validate(values.payload())
    except ValidationError as exc:
        return _stores_page(
            request, cloud, seller_id, new=values, errors=validation_errors(exc), status_code=422
        )
    with cloud.db.transaction() as conn:
        sellers.create_store(conn, seller_id, body, now)
    return redirect("/stores?msg=storeCreated")


@router.post("/stores/{store_id}")
def update_store(
    request: Request, store_id: str, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    with cloud.db.read() as conn:
        sellers.get_store(conn, seller_id, store_id)  # another seller's store: the 404 page
    values = StoreForm.from_form(form)
    try:
        body = StoreUpdate.model_validate(values.payload())
    except ValidationError as exc:
        return _stores_page(
            request,
            cloud,
            seller_id,
            editing=store_id,
            edit_form=values,
            errors=validation_errors(exc),
            status_code=422,
        )
    with cloud.db.transaction() as conn:
        sellers.update_store(conn, seller_id, store_id, body, now)
    return redirect("/stores?msg=storeSaved")


@router.post("/stores/{store_id}/claim-codes")
def create_claim_code(
    request: Request, store_id: str, form: CsrfForm, cloud: CloudDep, now: NowDep, caller: WebDeviceAdmin
) -> HTMLResponse:
    """A new claim code, shown once on the page this POST answers with (never in a URL)."""
    seller_id = caller.seller_id
    with cloud.db.read() as conn:
        sellers.get_store(conn, seller_id, store_id)  # another seller's store: the 404 page
    try:
        lasts = str(form.get("expires_in_minutes") or "").strip()
        body = ClaimCodeCreate.model_validate(
            {
                "name": str(form.get("name") or "").strip() or None,
                # One of the form's choices; anything else is the schema's 422 (an integer from 1 to a day).
                **({"expires_in_minutes": int(lasts) if lasts.isdigit() else lasts} if lasts else {}),
            }
        )
    except ValidationError as exc:
        return _stores_page(
            request, cloud, caller, editing=store_id, errors=validation_errors(exc), status_code=422
        )
    with cloud.db.transaction() as conn:
        made = claim_codes.create(conn, seller_id, store_id, body, now, cloud.settings.base_url)
    return _stores_page(request, cloud, caller, editing=store_id, shown=made, status_code=201)


@router.post("/stores/{store_id}/claim-codes/{claim_code_id}/withdraw")
def withdraw_claim_code(
    store_id: str, claim_code_id: str, form: CsrfForm, cloud: CloudDep, caller: WebDeviceAdmin
) -> Response:
    with cloud.db.transaction() as conn:
        claim_codes.withdraw(conn, caller.seller_id, store_id, claim_code_id)
    return redirect("/stores?msg=claimCodeWithdrawn")
