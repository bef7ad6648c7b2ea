"""Claim codes: a seller makes a one-time code for a store; a store node claims its place with it
(``cloud.claim_codes``)."""

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from cloud import auth, claim_codes
from cloud.api.deps import CloudDep, DeviceAdminSellerId, NowDep, StoreIdPath
from models.cloud_api import ClaimCodeCreate, ClaimCodeCreated, ClaimCodePublic, DeviceClaim, DeviceClaimed
from models.ids import ULID_PATTERN

router = APIRouter(tags=["devices"])

ClaimCodeIdPath = Annotated[str, Path(alias="claimCodeId", pattern=ULID_PATTERN)]


@router.post("/stores/{storeId}/claim-codes", status_code=status.HTTP_201_CREATED)
def create_claim_code(
    store_id: StoreIdPath, body: ClaimCodeCreate, cloud: CloudDep, now: NowDep, seller_id: DeviceAdminSellerId
) -> ClaimCodeCreated:
    """A one-time code a store node claims its place in this store with (``POST /devices/claim``). The code
    (and its QR code) is in this answer only: the cloud keeps its hash."""
    with cloud.db.transaction() as conn:
        return claim_codes.create(conn, seller_id, store_id, body, now, cloud.settings.base_url)


@router.get("/stores/{storeId}/claim-codes")
def list_claim_codes(
    store_id: StoreIdPath, cloud: CloudDep, now: NowDep, seller_id: DeviceAdminSellerId
) -> list[ClaimCodePublic]:
    """The store's codes not used and not expired (without the codes themselves)."""
    with cloud.db.read() as conn:
        return claim_codes.list_active(conn, seller_id, store_id, now)


@router.delete("/stores/{storeId}/claim-codes/{claimCodeId}", status_code=status.HTTP_204_NO_CONTENT)
def withdraw_claim_code(
    store_id: StoreIdPath, claim_code_id: ClaimCodeIdPath, cloud: CloudDep, seller_id: DeviceAdminSellerId
) -> Response:
    """Withdraw an unused code: claiming it is then 404 ``claimCodeNotFound``."""
    with cloud.db.transaction() as conn:
        claim_codes.withdraw(conn, seller_id, store_id, claim_code_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/devices/claim")
def claim_device(body: DeviceClaim, request: Request, cloud: CloudDep, now: NowDep) -> DeviceClaimed:
    """A store node claims its place with a code (no login: the code is the authorisation). 404
    ``claimCodeNotFound``, 410 ``claimCodeExpired``, 409 ``claimCodeUsed`` (also for the device that used
    it: a provisioned Pi keeps its credentials); 429 ``tooManyAttempts`` after many failed claims from one
    address. The MQTT password is in this answer only."""
    client = request.client.host if request.client else "unknown"
    attempt = auth.claim_attempt(cloud.db, cloud.settings, client, now)
    with cloud.db.transaction() as conn:
        claimed = claim_codes.claim(
            conn, body, now, cloud_url=cloud.settings.base_url, broker_url=cloud.settings.device_broker_url
        )
        auth.claim_succeeded(conn, attempt)
    cloud.refresh_broker_credentials()
    return claimed
