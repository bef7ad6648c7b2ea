"""The cloud's FastAPI application: the sellers' API under /api/v1 and the dashboard pages."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from cloud import orders, uploads
from cloud.api import (
    routes_auth,
    routes_catalog,
    routes_claim_codes,
    routes_devices,
    routes_models,
    routes_notifications,
    routes_orders,
    routes_recognition_photos,
    routes_staff,
    routes_stores,
    routes_sync,
    routes_team,
    routes_uploads,
    routes_z_reports,
)
from cloud.runtime import Cloud
from cloud.settings import CloudSettings
from cloud.web import routes as web_routes
from plumbing import (
    VERSION,
    Clock,
    RefuseControlCharacters,
    freeze_startup_heap,
    install_error_handlers,
    utcnow,
)

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
HOUSEKEEPING_INTERVAL_S = 60


async def _housekeeping(cloud: Cloud, clock: Clock, stop: asyncio.Event) -> None:
    """Work no request triggers: bells for group buys whose deadline passed, and forgetting the uses of
    upload grants that have all expired. Runs every minute; a failure is logged and retried at the next
    tick, never allowed to stop the server. Stopping waits for a tick in progress, so no database connection
    is left in a worker thread when the pool closes."""

    def tick() -> None:
        with cloud.db.transaction() as conn:
            orders.check_group_buy_deadlines(conn, clock())
            uploads.forget_expired_grant_uses(conn, clock())

    while not stop.is_set():
        try:
            await asyncio.to_thread(tick)
        except Exception:
            log.exception("housekeeping failed; retrying at the next tick")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), HOUSEKEEPING_INTERVAL_S)


def create_app(settings: CloudSettings, clock: Clock = utcnow, *, freeze_heap: bool = False) -> FastAPI:
    """Build the app; Postgres (embedded or not), Mongo and the file store open in the lifespan.

    ``freeze_heap``: once started, leave what startup made out of the garbage collector's full collections
    (``plumbing.freeze_startup_heap``), as ``cloud serve`` does; not a test or the demo, which start many
    apps in one process."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        cloud = Cloud.open(settings)
        app.state.cloud = cloud
        stop = asyncio.Event()
        housekeeping = asyncio.create_task(_housekeeping(cloud, clock, stop))
        sync = None
        if settings.cloud_mqtt_url:
            from cloud.sync_service import SyncService
            from sync_protocol.mqtt_link import MqttSettings

            sync = SyncService(
                cloud,
                MqttSettings.from_url(settings.cloud_mqtt_url),
                clock,
                partition=settings.partition,
                ingest_threads=settings.ingest_threads,
            )
            sync.start(wait_s=None)  # connects (and reconnects) in the background: the API serves meanwhile
        if freeze_heap:
            freeze_startup_heap()
        try:
            yield
        finally:
            if sync is not None:
                sync.close()
            stop.set()
            await housekeeping
            cloud.close()

    app = FastAPI(
        title="edgestore cloud",
        version=VERSION,
        summary="Sellers, stores, catalog, stock, orders and the notification bell.",
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    app.state.clock = clock
    install_error_handlers(app)
    app.add_middleware(RefuseControlCharacters)
    for module in (
        routes_auth,
        routes_stores,
        routes_devices,
        routes_claim_codes,
        routes_staff,
        routes_team,
        routes_z_reports,
        routes_catalog,
        routes_uploads,
        routes_orders,
        routes_notifications,
        routes_models,
        routes_recognition_photos,
        routes_sync,
    ):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(routes_uploads.files_router)
    app.include_router(web_routes.router)
    app.mount("/static", web_routes.static_files(), name="static")
    return app
