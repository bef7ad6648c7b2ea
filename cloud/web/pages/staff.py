"""A store's staff (a tab of the shop area): who logs in at the store's node, with what role; add one, rename
them, change their role or PIN, remove them. Every change reaches the store's node through its feed.

A PIN the cloud makes is shown once, on the page the form's POST answers with (not after a redirect: a
PIN must not travel in a URL, where history and logs keep it); reloading that page asks the browser to
post again, which the browser warns about."""

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from cloud import sellers, staff
from cloud.api.deps import CloudDep, NowDep
from cloud.runtime import Cloud
from cloud.web.forms import FieldError, checked, form_errors, text
from cloud.web.rendering import chrome, render
from cloud.web.routing import CsrfForm, WebSeller, page_router, redirect
from models.cloud_api import StaffCreate, StaffPublic, StaffSaved, StaffUpdate
from models.staff import StaffRole

router = page_router()


@dataclass(frozen=True)
class StaffForm:
    """A staff form as shown: a member's values, or what was typed. The PIN is never shown back."""

    name: str = ""
    role: str = StaffRole.CASHIER.value

    @classmethod
    def of(cls, member: StaffPublic) -> "StaffForm":
        return cls(member.name, member.role.value)

    @classmethod
    def from_form(cls, form: FormData) -> "StaffForm":
        return cls(text(form, "name"), text(form, "role"))


def _pin(form: FormData) -> str | None:
    """The PIN typed, or None when left empty (a new member: the cloud makes one; an edit: unchanged)."""
    return text(form, "pin") or None


def _staff_page(
    request: Request,
    cloud: Cloud,
    seller_id: str,
    store_id: str | None,
    *,
    new: StaffForm | None = None,
    editing: str = "",
    edit_form: StaffForm | None = None,
    shown: StaffSaved | None = None,
    errors: Sequence[FieldError] = (),
    status_code: int = 200,
) -> HTMLResponse:
    with cloud.db.read() as conn:
        page = chrome(conn, seller_id)
        stores = sellers.list_stores(conn, seller_id)
        # The store asked for (another seller's: the 404 page), else the first one.
        store = sellers.get_store(conn, seller_id, store_id) if store_id else (stores[0] if stores else None)
        members = staff.list_staff(conn, seller_id, store.store_id) if store else []
    forms = {m.staff_id: StaffForm.of(m) for m in members}
    if editing and edit_form is not None:
        forms[editing] = edit_form
    return render(
        request,
        "staff.html",
        status_code=status_code,
        page=page,
        errors=errors,
        stores=stores,
        store=store,
        members=members,
        forms=forms,
        new=new or StaffForm(),
        editing=editing,
        shown=shown,
        roles=[r.value for r in StaffRole],
        tab="staff",
    )


def _back(store_id: str, msg: str) -> Response:
    return redirect("/staff?" + urlencode({"store": store_id, "msg": msg}))


@router.get("/staff")
def staff_page(request: Request, cloud: CloudDep, seller_id: WebSeller) -> HTMLResponse:
    return _staff_page(request, cloud, seller_id, request.query_params.get("store") or None)


@router.post("/staff/{store_id}")
def add_staff(
    request: Request, store_id: str, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    with cloud.db.read() as conn:
        sellers.get_store(conn, seller_id, store_id)  # another seller's store: the 404 page
    values = StaffForm.from_form(form)
    with form_errors() as errors:
        body = StaffCreate.model_validate({"name": values.name, "role": values.role, "pin": _pin(form)})
        with cloud.db.transaction() as conn:
            saved = staff.create(conn, seller_id, store_id, body, now)
        if saved.pin is None:
            return _back(store_id, "staffAdded")
        return _staff_page(request, cloud, seller_id, store_id, shown=saved, status_code=201)
    return _staff_page(request, cloud, seller_id, store_id, new=values, errors=errors, status_code=422)


@router.post("/staff/{store_id}/{staff_id}")
def update_staff(
    request: Request,
    store_id: str,
    staff_id: str,
    form: CsrfForm,
    cloud: CloudDep,
    now: NowDep,
    seller_id: WebSeller,
) -> Response:
    with cloud.db.read() as conn:
        staff.get(conn, seller_id, store_id, staff_id)  # another seller's (or store's): the 404 page
    values = StaffForm.from_form(form)
    with form_errors() as errors:
        pin = _pin(form)
        body = StaffUpdate.model_validate(
            {"name": values.name, "role": values.role, "new_pin": checked(form, "new_pin")}
            | ({"pin": pin} if pin else {})  # left empty: unchanged (a PATCH's null would be refused)
        )
        with cloud.db.transaction() as conn:
            saved = staff.update_staff(conn, seller_id, store_id, staff_id, body, now)
        if saved.pin is None:
            return _back(store_id, "staffSaved")
        return _staff_page(request, cloud, seller_id, store_id, shown=saved)
    return _staff_page(
        request,
        cloud,
        seller_id,
        store_id,
        editing=staff_id,
        edit_form=values,
        errors=errors,
        status_code=422,
    )


@router.post("/staff/{store_id}/{staff_id}/delete")
def remove_staff(
    store_id: str, staff_id: str, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    with cloud.db.transaction() as conn:
        staff.remove(conn, seller_id, store_id, staff_id, now)
    return _back(store_id, "staffRemoved")
