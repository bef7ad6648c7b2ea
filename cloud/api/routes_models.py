"""Model files a seller ships to its store nodes (e.g. the product recognition model)."""

from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.concurrency import run_in_threadpool

from cloud import model_files
from cloud.api.deps import CloudDep, NowDep, SellerId
from models.cloud_api import ModelFilePublic, ModelFileVersion, ModelRollback
from models.errors import InvalidInput
from sync_protocol.envelope import MAX_MODEL_BYTES

router = APIRouter(tags=["models"])

ModelNamePath = Annotated[str, Path(alias="name", pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=40)]


@router.put("/models/{name}")
async def publish_model(
    name: ModelNamePath, request: Request, cloud: CloudDep, now: NowDep, seller_id: SellerId
) -> ModelFilePublic:
    """Upload a new version of a model file (the raw bytes as the body). Every store node of the seller
    fetches it, checks its SHA-256 and installs it; the same bytes again are not a new version."""
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_MODEL_BYTES:  # stop reading: never buffer more than a model may be
            raise InvalidInput(f"a model file is at most {MAX_MODEL_BYTES} bytes", field="body")

    def store() -> ModelFilePublic:
        with cloud.db.transaction() as conn:
            return model_files.publish(
                conn, cloud.blobs, seller_id, name, bytes(data), now, cloud.settings.base_url
            )

    return await run_in_threadpool(store)


@router.get("/models")
def list_models(cloud: CloudDep, seller_id: SellerId) -> list[ModelFilePublic]:
    """The newest version of each of the seller's model files."""
    with cloud.db.read() as conn:
        return model_files.newest(conn, seller_id, cloud.settings.base_url)


@router.get("/models/{name}/versions")
def model_versions(name: ModelNamePath, cloud: CloudDep, seller_id: SellerId) -> list[ModelFileVersion]:
    """Every version of a model file, the newest first: the store nodes serving each (as their last status
    said) and those that refused it (the bell rang for each)."""
    with cloud.db.read() as conn:
        return model_files.versions(conn, seller_id, name, cloud.settings.base_url)


@router.post("/models/{name}/rollback")
def rollback_model(
    name: ModelNamePath, body: ModelRollback, cloud: CloudDep, now: NowDep, seller_id: SellerId
) -> ModelFilePublic:
    """Serve an older version again: its file is published as the next version, which every store node
    installs (`409 alreadyNewest` when it is the newest already)."""
    with cloud.db.transaction() as conn:
        return model_files.rollback(conn, seller_id, name, body.to_version, now, cloud.settings.base_url)
