"""A store's staff, who log in at its store node: the seller manages them here (the dashboard's Staff page
calls the same functions). Every change reaches the store's nodes through its feed."""

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from cloud import staff
from cloud.api.deps import CloudDep, NowDep, SellerId, StoreIdPath
from models.cloud_api import StaffCreate, StaffPublic, StaffSaved, StaffUpdate
from models.ids import ULID_PATTERN

router = APIRouter(tags=["staff"])

StaffIdPath = Annotated[str, Path(alias="staffId", pattern=ULID_PATTERN, description="A staff id (ULID)")]


@router.get("/stores/{storeId}/staff")
def list_staff(store_id: StoreIdPath, cloud: CloudDep, seller_id: SellerId) -> list[StaffPublic]:
    """The store's staff, by name (never their PINs)."""
    with cloud.db.read() as conn:
        return staff.list_staff(conn, seller_id, store_id)


@router.post("/stores/{storeId}/staff", status_code=status.HTTP_201_CREATED)
def create_staff(
    store_id: StoreIdPath, body: StaffCreate, cloud: CloudDep, now: NowDep, seller_id: SellerId
) -> StaffSaved:
    """Add a staff member. Without ``pin`` the cloud makes a 6-digit one and returns it in ``pin``, this
    once. 409 ``staffNameTaken`` when the store has someone of that name (any case)."""
    with cloud.db.transaction() as conn:
        return staff.create(conn, seller_id, store_id, body, now)


@router.get("/stores/{storeId}/staff/{staffId}")
def get_staff(
    store_id: StoreIdPath, staff_id: StaffIdPath, cloud: CloudDep, seller_id: SellerId
) -> StaffPublic:
    with cloud.db.read() as conn:
        return staff.get(conn, seller_id, store_id, staff_id)


@router.patch("/stores/{storeId}/staff/{staffId}")
def update_staff(
    store_id: StoreIdPath,
    staff_id: StaffIdPath,
    body: StaffUpdate,
    cloud: CloudDep,
    now: NowDep,
    seller_id: SellerId,
) -> StaffSaved:
    """Rename, change the role, set a PIN (``pin``) or have the cloud make one (``newPin: true``, returned
    in ``pin`` this once). A new PIN ends the person's logins at the node."""
    with cloud.db.transaction() as conn:
        return staff.update_staff(conn, seller_id, store_id, staff_id, body, now)


@router.delete("/stores/{storeId}/staff/{staffId}", status_code=status.HTTP_204_NO_CONTENT)
def remove_staff(
    store_id: StoreIdPath, staff_id: StaffIdPath, cloud: CloudDep, now: NowDep, seller_id: SellerId
) -> Response:
    """Remove a staff member: the store's nodes end their logins when the feed brings the removal."""
    with cloud.db.transaction() as conn:
        staff.remove(conn, seller_id, store_id, staff_id, now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
