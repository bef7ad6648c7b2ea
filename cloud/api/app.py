"""The cloud's FastAPI application: the sellers' API under /api/v1 and the dashboard pages."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI

from cloud.api import (
    routes_auth,
    routes_catalog,
    routes_notifications,
    routes_orders,
    routes_stores,
    routes_uploads,
)
from cloud.api.errors import install_error_handlers
from cloud.runtime import Cloud
from cloud.settings import CloudSettings

API_PREFIX = "/api/v1"
VERSION = "0.1.0"


def utcnow() -> datetime:
    return datetime.now(UTC)


def create_app(settings: CloudSettings, clock: Callable[[], datetime] = utcnow) -> FastAPI:
    """Build the app; Postgres (embedded or not), Mongo and the file store open in the lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        cloud = Cloud.open(settings)
        app.state.cloud = cloud
        try:
            yield
        finally:
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
    for module in (
        routes_auth,
        routes_stores,
        routes_catalog,
        routes_uploads,
        routes_orders,
        routes_notifications,
    ):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(routes_uploads.files_router)
    return app
