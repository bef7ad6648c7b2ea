"""A node killed with SIGKILL in the middle of a checkout loop loses nothing it acknowledged and leaves a
consistent database: every committed order with its items, payment, stock deltas and outbox messages."""

import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from plumbing import free_port, wait_for_url
from tests.conftest import EDGESTORE
from tests.edge.invariants import check_node_database

ROUNDS = 3
CLIENTS = 4


def _start_node(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = os.environ | {"EDGESTORE_DATA_DIR": str(data_dir), "EDGESTORE_PORT": str(port)}
    with open(data_dir.parent / "node.log", "ab") as log:
        proc = subprocess.Popen([*EDGESTORE, "edge", "serve"], env=env, stdout=log, stderr=log)
    try:
        wait_for_url(
            f"http://127.0.0.1:{port}/api/v1/health",
            what="the node",
            timeout_s=30,
            watch=proc,
            details=lambda: (data_dir.parent / "node.log").read_text(),
        )
    except RuntimeError:
        proc.kill()
        raise
    return proc


@pytest.mark.slow
def test_sigkill_mid_checkout_loop_leaves_a_consistent_database(tmp_path):
    data_dir = tmp_path / "node"
    catalog = tmp_path / "catalog.json"
    subprocess.run([*EDGESTORE, "edge", "demo-catalog", "--products", "50", "-o", str(catalog)], check=True)
    subprocess.run(
        [*EDGESTORE, "edge", "load-catalog", str(catalog), "--data-dir", str(data_dir)], check=True
    )
    acknowledged: set[str] = set()
    rng = random.Random(1)

    for _round in range(ROUNDS):
        port = free_port()
        node = _start_node(data_dir, port)
        stop = threading.Event()
        lock = threading.Lock()

        def shopper(
            seed: int, port: int = port, stop: threading.Event = stop, lock: threading.Lock = lock
        ) -> None:
            local = random.Random(seed)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=5) as client:
                while not stop.is_set():
                    try:
                        items = [
                            {"variantId": f"p{local.randrange(50):06d}-1", "quantity": local.randint(1, 2)}
                            for _ in range(local.randint(1, 3))
                        ]
                        cart = client.post("/carts", json={"items": items})
                        if cart.status_code != 201:
                            continue
                        sale = client.post(
                            f"/carts/{cart.json()['cartId']}/checkout", json={"paymentMethod": "cash"}
                        )
                        if sale.status_code == 201:
                            with lock:
                                acknowledged.add(sale.json()["orderId"])
                    except httpx.TransportError:
                        return  # the node is gone

        threads = [threading.Thread(target=shopper, args=(rng.random(),)) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        before = len(acknowledged)
        deadline = time.monotonic() + 30
        while len(acknowledged) < before + 40 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.random() * 0.2)  # land the kill at a random point of the loop
        node.send_signal(signal.SIGKILL)
        node.wait()
        stop.set()
        for t in threads:
            t.join()
        assert len(acknowledged) > before, "no checkout completed before the kill"
        counts = check_node_database(data_dir / "edge.sqlite3")
        assert counts["negativeLevels"] == 0

    import sqlite3

    with sqlite3.connect(data_dir / "edge.sqlite3") as conn:
        stored = {r[0] for r in conn.execute("SELECT order_id FROM orders")}
    # Durability: every sale the kiosk was told about is there (synchronous=FULL, WAL).
    assert acknowledged <= stored
    # A final restart migrates and serves the same file.
    port = free_port()
    node = _start_node(data_dir, port)
    try:
        health = httpx.get(f"http://127.0.0.1:{port}/api/v1/health").json()
        assert health["databaseOk"] is True
        assert health["pendingOutbox"] == check_node_database(data_dir / "edge.sqlite3")["outbox"]
    finally:
        node.terminate()
        node.wait(timeout=20)
