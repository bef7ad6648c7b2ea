"""``edgestore demo``: the whole system on embedded defaults, on one machine.

Today that is one store node with the demo catalog (later issues add the cloud, the broker, the kiosk).
It prints what runs where and what to try, then serves until Ctrl-C.
"""

from pathlib import Path
from typing import Annotated

import typer

from edge import node_state
from edge.catalog import load_snapshot
from edge.demo_catalog import demo_catalog
from edge.node import Node
from edge.settings import EdgeSettings


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


def banner(settings: EdgeSettings, device_id: str, catalog_version: int | None) -> str:
    api = f"http://{settings.host}:{settings.port}/api/v1"
    return f"""
edgestore demo
==============
Store node (edge/)     {api}
  API docs             http://{settings.host}:{settings.port}/docs
  data                 {settings.database_path}
  device id            {device_id}
  catalog version      {catalog_version} (demo catalog: 14 products, zh-TW and English)
  cloud link           offline (the node sells without it; sync arrives with the cloud)

Try:
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
Ctrl-C stops the demo; the data stays in {settings.data_dir}.
"""


def demo(
    data_dir: Annotated[Path, typer.Option(help="Where the demo keeps its data")] = Path("./edgestore-demo"),
    port: Annotated[int, typer.Option(help="Store node HTTP port")] = 8080,
    host: Annotated[str, typer.Option(help="Bind address")] = "127.0.0.1",
) -> None:
    """Run the whole system on embedded defaults on this machine and print what to try."""
    import uvicorn

    from edge.api.app import create_app

    settings = EdgeSettings(data_dir=data_dir / "edge", port=port, host=host)
    typer.echo("preparing the store node (database, migrations, demo catalog)...")
    device_id, version = prepare_edge(settings)
    typer.echo(banner(settings, device_id, version))
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
