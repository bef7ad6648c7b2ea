"""The HTTP floor under the node's checkout: the same two calls a checkout makes, with nothing behind them.

``bench/edge_checkout.py`` times ``POST /api/v1/carts`` then ``POST /api/v1/carts/{cartId}/checkout``
against the real node. This runs the same pair through edge_checkout's own client code (its ``run_level``:
one ``httpx.Client`` per thread, closed loop, the same timing and CPU accounting; the client's heap frozen
after the warm-up as edge_checkout's is), with carts of one line, against a FastAPI app served by
``uvicorn.run`` with the node's settings (``plumbing.serving.HTTP_PARSER``, access log on, startup heap
frozen). Its two endpoints only validate the body with pydantic and answer 201 with a new id: no SQLite, no
middleware, no sync agent. What it costs is what any checkout through this stack costs before the node does
any work.

Run from the repository root::

    .venv/bin/python bench/http_floor.py                      # 2,000 pairs at 1 and 8 clients
    .venv/bin/python bench/http_floor.py --concurrency 8 --pairs 3000

The server runs in its own process (``--serve PORT``, started by the bench, its log in a temporary file),
the clients in this one, both on this machine: on a small machine they share the CPU, as the node and its
client do in edge_checkout.
"""

import argparse
import importlib.util
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from benchkit import bench_env, host_lines, log, run_main, served, stop_on_signals
from edge_checkout import API, HOST, RunningNode, run_level

from plumbing import free_port, freeze_startup_heap
from plumbing.serving import HTTP_PARSER

WARMUP_PAIRS = 50


def serve(port: int) -> None:
    """The server side: the two endpoints, nothing behind them, served as ``edgestore edge serve`` is."""
    import uvicorn
    from fastapi import APIRouter, FastAPI
    from pydantic import BaseModel, ConfigDict, Field

    class Line(BaseModel):
        model_config = ConfigDict(extra="forbid")
        variantId: str = Field(max_length=64)  # the node's JSON is camelCase
        quantity: int = Field(ge=1)

    class NewCart(BaseModel):
        model_config = ConfigDict(extra="forbid")
        items: list[Line]

    class Pay(BaseModel):
        model_config = ConfigDict(extra="forbid")
        paymentMethod: str
        idempotencyKey: str

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        freeze_startup_heap()  # as the node's app does once started
        yield

    app = FastAPI(lifespan=lifespan)
    api = APIRouter(prefix=API)

    @api.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @api.post("/carts", status_code=201)
    def create_cart(body: NewCart) -> dict[str, object]:
        return {"cartId": uuid.uuid4().hex, "lines": len(body.items)}

    @api.post("/carts/{cart_id}/checkout", status_code=201)
    def checkout(cart_id: str, body: Pay) -> dict[str, str]:
        return {"orderId": uuid.uuid4().hex, "cartId": cart_id, "status": "paid"}

    app.include_router(api)

    uvicorn.run(app, host=HOST, port=port, log_level="info", http=HTTP_PARSER)  # edge/cli.py's call


def run_floor_level(floor: RunningNode, concurrency: int, pairs: int) -> dict[str, Any]:
    """A level as ``edge_checkout`` runs one (its ``run_level``: the same client, timing and CPU accounting),
    after as many warm-up pairs, each cart of one line."""
    carts = [[f"p{i:06d}-1"] for i in range(pairs)]
    run_level(floor, concurrency, carts[:WARMUP_PAIRS], "warmup")  # code warm
    freeze_startup_heap()  # the load generator's pauses are not the server's (as in edge_checkout)
    return run_level(floor, concurrency, carts, "floor").row()


def print_level(row: dict[str, Any]) -> None:
    print(
        f"| {row['concurrency']} | {row['checkouts']} | {row['per_s']:,.1f} | {row['tot_p50']:.1f} "
        f"| {row['tot_p99']:.1f} | {row['node_cpu_ms']:.2f} | {row['client_cpu_ms']:.2f} | {row['errors']} |",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[1, 8], help="client threads, per level"
    )
    parser.add_argument("--pairs", type=int, default=2000, help="cart + checkout pairs per level")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)  # the server process
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    if args.pairs < 1:
        parser.error("--pairs must be at least 1")
    stop_on_signals()
    port = free_port()
    api = f"http://{HOST}:{port}{API}"
    with tempfile.TemporaryDirectory(prefix="edgestore-http-floor-") as work:
        argv = [sys.executable, str(Path(__file__).resolve()), "--serve", str(port)]
        with served(
            argv,
            bench_env(),
            what="the floor's server",
            health_url=f"{api}/health",
            log_path=Path(work) / "server.log",
            cwd=Path(work),
        ) as server:
            for line in host_lines():
                print(line)
            # uvicorn's loop "auto" takes uvloop when the interpreter (the same one, run again) can import it.
            loop = "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"
            print(f"server:        FastAPI on uvicorn, HTTP parser {HTTP_PARSER}, event loop {loop}")
            print()
            print(
                "| clients | pairs | pairs/s | p50 (ms) | p99 (ms) | server CPU / pair (ms) "
                "| client CPU / pair (ms) | errors |"
            )
            print("|---:|---:|---:|---:|---:|---:|---:|---:|")
            for concurrency in args.concurrency:
                log(f"  {concurrency} client(s): {args.pairs} pairs")
                print_level(run_floor_level(RunningNode(api, server.pid), concurrency, args.pairs))
    return 0


if __name__ == "__main__":
    run_main(main, "the floor's server stopped")
