"""A store's devices (a tab of the shop area, and linked from each store): each with what its last status said
(online, last seen, sync lag, software and model versions, address, uptime, hardware id), renamed with a form
and revoked with a confirmed POST; revoked ones listed apart, greyed.

Revoking rewrites the broker's password file and ACL and reloads it (``Cloud.refresh_broker_credentials``), so
the broker drops the device's connection at once (docs/cloud.md, "Devices and the broker")."""

from collections.abc import Sequence
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from cloud import auth, devices, sellers
from cloud.api.deps import CloudDep, NowDep
from cloud.runtime import Cloud
from cloud.web.forms import FieldError, text, validation_errors
from cloud.web.rendering import chrome, render
from cloud.web.routing import CsrfForm, WebDeviceAdmin, page_router, redirect
from models.cloud_api import DeviceUpdate
from models.team import Capability

router = page_router()


def _devices_page(
    request: Request,
    cloud: Cloud,
    caller: auth.Caller,
    store_id: str | None,
    *,
    editing: str = "",
    edit_name: str = "",
    errors: Sequence[FieldError] = (),
    status_code: int = 200,
) -> HTMLResponse:
    now = request.app.state.clock()
    seller_id = caller.seller_id
    with cloud.db.read() as conn:
        page = chrome(conn, caller)
        stores = sellers.list_stores(conn, seller_id)
        # The store asked for (another seller's: the 404 page), else the first one.
        store = sellers.get_store(conn, seller_id, store_id) if store_id else (stores[0] if stores else None)
        listed = devices.list_devices(conn, seller_id, store.store_id, now) if store else []
    names = {d.device_id: d.name or "" for d in listed}
    if editing:
        names[editing] = edit_name
    return render(
        request,
        "devices.html",
        status_code=status_code,
        page=page,
        errors=errors,
        stores=stores,
        store=store,
        live=[d for d in listed if d.revoked_at is None],
        revoked=[d for d in listed if d.revoked_at is not None],
        names=names,
        editing=editing,
        now=now,
        owner=caller.may(Capability.OWNER_ONLY),  # field staff see no shop tabs (their pages are 403)
        tab="devices",
    )


def _back(store_id: str, msg: str) -> Response:
    return redirect(f"/stores/{store_id}/devices?" + urlencode({"msg": msg}))


@router.get("/devices")
def devices_tab(request: Request, cloud: CloudDep, caller: WebDeviceAdmin) -> HTMLResponse:
    return _devices_page(request, cloud, caller, request.query_params.get("store") or None)


@router.get("/stores/{store_id}/devices")
def devices_page(request: Request, store_id: str, cloud: CloudDep, caller: WebDeviceAdmin) -> HTMLResponse:
    return _devices_page(request, cloud, caller, store_id)


@router.post("/stores/{store_id}/devices/{device_id}")
def rename_device(
    request: Request,
    store_id: str,
    device_id: str,
    form: CsrfForm,
    cloud: CloudDep,
    now: NowDep,
    caller: WebDeviceAdmin,
) -> Response:
    seller_id = caller.seller_id
    with cloud.db.read() as conn:
        devices.get(conn, seller_id, store_id, device_id, now)  # another seller's (or store's): the 404 page
    name = text(form, "name")
    try:
        body = DeviceUpdate.model_validate({"name": name})
    except ValidationError as exc:
        return _devices_page(
            request,
            cloud,
            caller,
            store_id,
            editing=device_id,
            edit_name=name,
            errors=validation_errors(exc),
            status_code=422,
        )
    with cloud.db.transaction() as conn:
        devices.rename(conn, seller_id, store_id, device_id, body, now)
    return _back(store_id, "deviceRenamed")


@router.post("/stores/{store_id}/devices/{device_id}/revoke")
def revoke_device(
    store_id: str, device_id: str, form: CsrfForm, cloud: CloudDep, now: NowDep, caller: WebDeviceAdmin
) -> Response:
    with cloud.db.transaction() as conn:
        devices.revoke(conn, caller.seller_id, store_id, device_id, now)
    cloud.refresh_broker_credentials()  # the broker drops its connection now
    return _back(store_id, "deviceRevoked")
