"""The store node's FastAPI application."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from edge.api import routes_carts, routes_catalog, routes_orders, routes_system
from edge.api.errors import install_error_handlers
from edge.node import Node
from edge.settings import EdgeSettings
from edge.sync_agent import SyncAgent, store_of
from plumbing import VERSION, Clock, RefuseControlCharacters, utcnow
from sync_protocol.mqtt_link import MqttSettings

API_PREFIX = "/api/v1"


def create_app(settings: EdgeSettings, clock: Clock = utcnow) -> FastAPI:
    """Build the app; the node (database, migrations, identity) opens in the lifespan and closes with it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        node = Node.open(settings, clock)
        app.state.node = node
        agent = None
        store_id = store_of(node)
        if settings.mqtt_url and store_id:
            agent = SyncAgent(
                node,
                MqttSettings.from_url(settings.mqtt_url),
                store_id=store_id,
                status_every_s=settings.sync_status_interval_s,
            )
            agent.start()  # connects in the background; the node sells whether or not it gets through
        try:
            yield
        finally:
            if agent is not None:
                agent.stop()
            node.close()

    app = FastAPI(
        title="edgestore store node",
        version=VERSION,
        summary="The store's offline-first API: catalog, carts, checkout, orders.",
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    install_error_handlers(app)
    app.add_middleware(RefuseControlCharacters)
    for module in (routes_system, routes_catalog, routes_carts, routes_orders):
        app.include_router(module.router, prefix=API_PREFIX)
    return app
