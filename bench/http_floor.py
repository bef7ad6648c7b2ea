"""The HTTP floor under the node's checkout: the same two calls a checkout makes, with nothing behind them.

``bench/edge_checkout.py`` times ``POST /api/v1/carts`` then ``POST /api/v1/carts/{cartId}/checkout``
against the real node. This runs the same pair, with bodies of the same shape (a cart of one line; a payment
method and an idempotency key), from the same kind of client (one ``httpx.Client`` per thread, closed loop,
its heap frozen after the warm-up as edge_checkout's is), against a FastAPI app served by ``uvicorn.run``
with the node's settings (``plumbing.serving.HTTP_PARSER``, access log on, startup heap frozen). Its two
endpoints only validate the body with pydantic and answer 201 with a new id: no SQLite, no middleware, no
sync agent. What it costs is what any checkout through this stack costs before the node does any work.

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
import threading
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from benchkit import bench_env, cpu_seconds, host_lines, log, percentile, run_main, served, stop_on_signals

from plumbing import free_port, freeze_startup_heap
from plumbing.serving import HTTP_PARSER

HOST = "127.0.0.1"
WARMUP_PAIRS = 50


def serve(port: int) -> None:
    """The server side: the two endpoints, nothing behind them, served as ``edgestore edge serve`` is."""
    import uvicorn
    from fastapi import FastAPI
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

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/carts", status_code=201)
    def create_cart(body: NewCart) -> dict[str, object]:
        return {"cartId": uuid.uuid4().hex, "lines": len(body.items)}

    @app.post("/carts/{cart_id}/checkout", status_code=201)
    def checkout(cart_id: str, body: Pay) -> dict[str, str]:
        return {"orderId": uuid.uuid4().hex, "cartId": cart_id, "status": "paid"}

    uvicorn.run(app, host=HOST, port=port, log_level="info", http=HTTP_PARSER)  # edge/cli.py's call


@dataclass
class Level:
    concurrency: int
    pairs: int
    wall_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    errors: int = 0


def server_cpu(pid: int) -> float:
    seconds = cpu_seconds(pid)
    if seconds is None:
        raise RuntimeError(f"the floor's server (pid {pid}) is gone: its CPU cannot be read")
    return seconds


def run_level(base_url: str, server_pid: int, concurrency: int, pairs: int) -> Level:
    local = threading.local()
    clients: list[httpx.Client] = []
    lock = threading.Lock()
    level = Level(concurrency, pairs)

    def pair(i: int) -> None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=base_url, timeout=30)
            with lock:
                clients.append(client)
        t0 = time.perf_counter()
        ok = False
        try:
            cart = client.post("/carts", json={"items": [{"variantId": f"p{i:06d}-1", "quantity": 1}]})
            if cart.status_code == 201:
                sale = client.post(
                    f"/carts/{cart.json()['cartId']}/checkout",
                    json={"paymentMethod": "cash", "idempotencyKey": uuid.uuid4().hex},
                )
                ok = sale.status_code == 201
        except (httpx.HTTPError, ValueError, KeyError):
            pass  # no answer, or not the JSON a cart is: counted as an error below
        took = (time.perf_counter() - t0) * 1000
        with lock:
            if ok:
                level.latencies_ms.append(took)
            else:
                level.errors += 1

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(pair, range(WARMUP_PAIRS)))  # connections open, code warm
        freeze_startup_heap()  # the load generator's pauses are not the server's (as in edge_checkout)
        level.latencies_ms.clear()
        level.errors = 0
        server_before, client_before = server_cpu(server_pid), time.process_time()
        t0 = time.perf_counter()
        list(pool.map(pair, range(pairs)))
        level.wall_s = time.perf_counter() - t0
        level.server_cpu_s = server_cpu(server_pid) - server_before
        level.client_cpu_s = time.process_time() - client_before
    for client in clients:
        client.close()
    return level


def print_level(level: Level) -> None:
    done = len(level.latencies_ms)
    lat = sorted(level.latencies_ms)
    # CPU per pair attempted, as edge_checkout divides it.
    print(
        f"| {level.concurrency} | {done} | {done / level.wall_s:,.1f} | {percentile(lat, 50):.1f} "
        f"| {percentile(lat, 99):.1f} | {level.server_cpu_s / level.pairs * 1000:.2f} "
        f"| {level.client_cpu_s / level.pairs * 1000:.2f} | {level.errors} |",
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
    base_url = f"http://{HOST}:{port}"
    with tempfile.TemporaryDirectory(prefix="edgestore-http-floor-") as work:
        argv = [sys.executable, str(Path(__file__).resolve()), "--serve", str(port)]
        with served(
            argv,
            bench_env(),
            what="the floor's server",
            health_url=f"{base_url}/health",
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
                print_level(run_level(base_url, server.pid, concurrency, args.pairs))
    return 0


if __name__ == "__main__":
    run_main(main, "the floor's server stopped")
