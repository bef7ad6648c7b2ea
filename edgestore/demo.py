"""``edgestore demo``: the whole system on embedded defaults, on one machine.

Today that is the cloud (embedded PostgreSQL, montydb, local files; a demo seller with history) and one
store node with the demo catalog, in one process. Later issues add the broker and sync, the kiosk.
It prints what runs where and what to try, then serves until Ctrl-C.
"""

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from cloud.settings import CloudSettings
from edge import node_state
from edge.catalog import load_snapshot
from edge.demo_catalog import demo_catalog
from edge.node import Node
from edge.settings import EdgeSettings
from edgestore.demo_cloud import DemoCloud, seed_demo_cloud


def prepare_edge(settings: EdgeSettings) -> tuple[str, int | None]:
    """Open the node's database and load the demo catalog if the node has none yet."""
    node = Node.open(settings)
    try:
        with node.db.write() as conn:
            if node_state.catalog_version(conn) is None:
                load_snapshot(conn, demo_catalog(), node.now())
            version = node_state.catalog_version(conn)
        return node.device_id, version
    finally:
        node.close()


def banner(
    settings: EdgeSettings,
    device_id: str,
    catalog_version: int | None,
    cloud: CloudSettings,
    seeded: DemoCloud,
) -> str:
    api = f"http://{settings.host}:{settings.port}/api/v1"
    web = cloud.base_url
    capi = f"{web}/api/v1"
    return f"""
edgestore demo
==============
Cloud (cloud/)         {web}/             <- sellers' dashboard (zh-TW / English)
  login                {seeded.account} / {seeded.password}
  API                  {capi}   docs {web}/docs
  data                 {cloud.cloud_data_dir} (embedded PostgreSQL, montydb, local files)
  demo seller          {seeded.products} products, stores: {", ".join(seeded.stores)}, {seeded.orders} orders of history

Store node (edge/)     {api}
  API docs             http://{settings.host}:{settings.port}/docs
  data                 {settings.database_path}
  device id            {device_id}
  catalog version      {catalog_version} (demo catalog: 14 products, zh-TW and English)
  cloud link           offline (the node sells without it; sync over MQTT is the next issue)

Try the cloud:
  open {web}/ and log in; the bell (top right) updates live
  TOKEN=$(curl -s -X POST {capi}/auth/login -H 'content-type: application/json' \\
      -d '{{"account":"{seeded.account}","password":"{seeded.password}"}}' | python3 -c 'import sys,json;print(json.load(sys.stdin)["token"])')
  curl -s -H "Authorization: Bearer $TOKEN" '{capi}/orders?limit=3'
  curl -s -H "Authorization: Bearer $TOKEN" {capi}/dashboard/summary
  curl -s -H "Authorization: Bearer $TOKEN" {capi}/notifications
  curl -sN -H "Authorization: Bearer $TOKEN" {capi}/notifications/stream   # the live bell (SSE)

Try the store node:
  curl -s {api}/health
  curl -s -G {api}/catalog/products --data-urlencode 'q=奶茶'
  curl -s '{api}/catalog/products?q=pineapple'
  CART=$(curl -s -X POST {api}/carts -H 'content-type: application/json' \\
      -d '{{"items":[{{"variantId":"pineapple-cake-1","quantity":2}}]}}' | python3 -c 'import sys,json;print(json.load(sys.stdin)["cartId"])')
  curl -s -X POST {api}/carts/$CART/checkout -H 'content-type: application/json' \\
      -d '{{"paymentMethod":"cash","couponCode":"WELCOME100","idempotencyKey":"demo-{device_id[-8:]}-1"}}'
  curl -s {api}/orders
  curl -s {api}/sync/status        # the sale's outbox messages, waiting for the cloud

Coupons: WELCOME100 (NT$100 off from NT$500), SAVE10 (10% off), ONCE50 (single use).
Ctrl-C stops the demo; the data stays in {settings.data_dir.parent}.
"""


def demo(
    data_dir: Annotated[Path, typer.Option(help="Where the demo keeps its data")] = Path("./edgestore-demo"),
    port: Annotated[int, typer.Option(help="Store node HTTP port")] = 8080,
    cloud_port: Annotated[int, typer.Option(help="Cloud HTTP port (dashboard and API)")] = 8000,
    host: Annotated[str, typer.Option(help="Bind address")] = "127.0.0.1",
) -> None:
    """Run the whole system on embedded defaults on this machine and print what to try."""
    import asyncio

    import uvicorn

    from cloud.api.app import create_app as create_cloud_app
    from cloud.runtime import Cloud
    from edge.api.app import create_app

    settings = EdgeSettings(data_dir=data_dir / "edge", port=port, host=host)
    cloud_settings = CloudSettings(
        cloud_data_dir=data_dir / "cloud", cloud_port=cloud_port, cloud_host=host, database_url=None
    )
    typer.echo("preparing the store node (database, migrations, demo catalog)...")
    device_id, version = prepare_edge(settings)
    typer.echo("preparing the cloud (embedded PostgreSQL, migrations, demo seller)...")
    cloud = Cloud.open(cloud_settings)
    try:
        seeded = seed_demo_cloud(cloud, datetime.now(UTC), progress=typer.echo)
    finally:
        cloud.close()
    typer.echo(banner(settings, device_id, version, cloud_settings, seeded))

    servers = [
        uvicorn.Server(
            uvicorn.Config(create_cloud_app(cloud_settings), host=host, port=cloud_port, log_level="warning")
        ),
        uvicorn.Server(uvicorn.Config(create_app(settings), host=host, port=port, log_level="warning")),
    ]

    async def serve_all() -> None:
        await asyncio.gather(*(server.serve() for server in servers))

    asyncio.run(serve_all())
