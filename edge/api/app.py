"""The store node's FastAPI application."""

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.exc import OperationalError

from edge.api import (
    routes_carts,
    routes_catalog,
    routes_end_of_day,
    routes_footfall,
    routes_handoffs,
    routes_orders,
    routes_receipts,
    routes_recognition,
    routes_staff,
    routes_system,
)
from edge.api.errors import install_error_handlers
from edge.node import Node
from edge.settings import EdgeSettings
from edge.sync_agent import SyncAgent, store_of
from plumbing import VERSION, Clock, RefuseControlCharacters, freeze_startup_heap, utcnow
from sync_protocol.mqtt_link import MqttSettings

API_PREFIX = "/api/v1"
STORE_POLL_S = 2.0
PRUNE_EVERY_S = 3600.0

log = logging.getLogger(__name__)
"""How often a node with sync configured but no store yet looks whether a catalog has given it one."""


async def _prune_carts(node: Node) -> None:
    """Now and every ``PRUNE_EVERY_S``: carts left unsold for a day go (a shopper who walked away, carts a
    phone made and left), so they cannot pile up on the Pi's card."""
    while True:
        try:
            await asyncio.to_thread(node.prune_carts)
        except OperationalError:  # the database busy with sales (its lock timed out): the next round prunes
            log.info("carts not pruned this round: the database was busy")
        await asyncio.sleep(PRUNE_EVERY_S)


async def _when_store_known(node: Node, start: Callable[[str], None]) -> None:
    while True:
        await asyncio.sleep(STORE_POLL_S)
        store_id = await asyncio.to_thread(store_of, node)
        if store_id:
            start(store_id)
            return


def start_recognition(node: Node) -> threading.Thread | None:
    """Give the node its recogniser and load its model in the background: the node serves at once, and
    recognition answers ``503 modelNotLoaded`` (health: ``recognition.loaded`` false) until the model is in."""
    if not node.settings.recognition_enabled:
        return None
    from edge.recognition.service import SHIPPED_BUNDLE, Recognizer  # numpy and the runtime, only here

    recognizer = Recognizer(
        node.db,
        node.now,
        threads=node.settings.recognition_threads,
        shipped_bundle=node.settings.recognition_bundle or SHIPPED_BUNDLE,
    )
    node.recognizer = recognizer
    loading = threading.Thread(target=recognizer.start, name="recognition-start", daemon=True)
    loading.start()
    return loading


def create_app(settings: EdgeSettings, clock: Clock = utcnow, *, freeze_heap: bool = False) -> FastAPI:
    """Build the app; the node (database, migrations, identity) opens in the lifespan and closes with it.

    ``freeze_heap``: once started, leave what startup made out of the garbage collector's full collections
    (``plumbing.freeze_startup_heap``): what a process that serves only this app does (``edge serve``), not
    a test or the demo, which start many apps in one process."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        node = Node.open(settings, clock)
        app.state.node = node
        loading = start_recognition(node)
        agents: list[SyncAgent] = []
        waiting: asyncio.Task[None] | None = None
        pruning = asyncio.create_task(_prune_carts(node))

        def start_agent(store_id: str) -> None:
            assert settings.mqtt_url is not None
            agent = SyncAgent(
                node,
                MqttSettings.from_url(settings.mqtt_url),
                store_id=store_id,
                status_every_s=settings.sync_status_interval_s,
                interval_s=settings.sync_interval_s,
                content_encoding=settings.sync_content_encoding,
                window=settings.sync_window,
            )
            agent.start()  # connects in the background; the node sells whether or not it gets through
            agents.append(agent)

        if settings.mqtt_url:
            store_id = store_of(node)
            if store_id:
                start_agent(store_id)
            else:
                # Sync topics name the store: a node that has none yet (no catalog, no EDGESTORE_STORE_ID)
                # starts syncing as soon as a catalog gives it one, without a restart.
                waiting = asyncio.create_task(_when_store_known(node, start_agent))
        if freeze_heap:
            freeze_startup_heap()
        try:
            yield
        finally:
            pruning.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pruning
            if waiting is not None:
                waiting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiting
            for agent in agents:
                agent.stop()
            if loading is not None:
                loading.join()
            node.close()

    app = FastAPI(
        title="edgestore store node",
        version=VERSION,
        summary="The store's offline-first API: catalog, carts, checkout, orders, staff login, end of day, "
        "product recognition.",
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    install_error_handlers(app)
    app.add_middleware(RefuseControlCharacters)
    for module in (
        routes_system,
        routes_catalog,
        routes_carts,
        routes_handoffs,
        routes_orders,
        routes_receipts,
        routes_staff,
        routes_end_of_day,
        routes_recognition,
        routes_footfall,
    ):
        app.include_router(module.router, prefix=API_PREFIX)
    return app
