"""A fresh store node taking a large catalog snapshot from a real cloud, end to end.

What it does (every server a real process on loopback, in a temporary dir):

1. builds a synthetic catalog of N products (``edge.demo_catalog.synthetic_catalog``, the one
   ``edgestore edge demo-catalog --products N`` writes) and publishes it the way the cloud does
   (``cloud.store_catalog.store_snapshot``: the JSON's size and SHA-256 for the announcement, the bytes
   gzip-coded into the cloud's local file store);
2. starts ``edgestore cloud serve`` on that data dir (embedded PostgreSQL) and waits until it answers;
3. with ``--cut-at BYTES``, puts a proxy in front of it (``tests.cutting_proxy``) that closes the
   connection after that many body bytes of the first request;
4. runs a fresh node in a child process (its own peak RSS, no GIL shared with the rest): an empty data
   dir, ``edge.sync_downlink.take_snapshot`` with the announcement, again after a cut (as the sync agent
   does when the cloud announces again); progress on stderr;
5. prints the machine, the load, and per phase: download (bytes on the wire, rate), gzip decode (size and
   SHA-256 checked as it inflates), verify (the head: store, version, small tables), apply (products and
   stock validated and written a chunk at a time, one SQLite transaction), total; the node's own peak RSS
   (``VmHWM``) and CPU; then checks
   the node holds the catalog's version and every product.

Run from the repository root::

    .venv/bin/python bench/catalog_snapshot.py                  # 100,000 products
    .venv/bin/python bench/catalog_snapshot.py --cut-at 2000000 # cut once after 2 MB, then resumed
    .venv/bin/python bench/catalog_snapshot.py --products 2000  # a quick look
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchkit import (
    HOST,
    bench_env,
    cloud_argv,
    code_line,
    host_lines,
    log,
    run_main,
    served,
    stop_on_signals,
)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.cutting_proxy, when run as bench/catalog_snapshot.py


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--cut-at", type=int, default=0, help="close the first download after N body bytes")
    parser.add_argument("--tmp-parent", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the temporary dir")
    # The node's side, run as a child of the benchmark.
    parser.add_argument("--node", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--announcement", default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


# --- the node: a child process ----------------------------------------------------------------------------


def node_side(data_dir: Path, announcement_json: str) -> int:
    """Take the snapshot into a fresh node; print one JSON line of figures on stdout."""
    import logging

    import httpx
    from sqlalchemy import func, select

    from edge import node_state
    from edge.node import Node
    from edge.resumable_download import Progress
    from edge.settings import EdgeSettings
    from edge.sync_downlink import take_snapshot
    from edge.tables import products
    from sync_protocol.envelope import CatalogAnnouncement

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="  node: %(message)s")
    for noisy in ("alembic", "httpx"):  # migrations of the fresh database, one line per request
        logging.getLogger(noisy).setLevel(logging.WARNING)
    announcement = CatalogAnnouncement.model_validate_json(announcement_json)
    node = Node.open(EdgeSettings(data_dir=data_dir, device_id="bench-node"))
    attempts: list[dict[str, Any]] = []
    cpu0 = time.process_time()
    started = time.perf_counter()
    try:
        for attempt in range(3):
            progress = Progress(
                f"catalog v{announcement.version}", started_at=node.now(), clock=time.perf_counter
            )
            try:
                take_snapshot(node, announcement, progress=progress)
            except httpx.HTTPError as exc:
                log(f"  node: attempt {attempt + 1} cut: {exc!r}; the agent would try again")
                attempts.append(
                    {"cut": True, "received": progress.received_bytes, "phases": progress.phase_started}
                )
                continue
            ended = time.perf_counter()
            attempts.append(
                {
                    "cut": False,
                    "received": progress.received_bytes,
                    "resumedFrom": progress.resumed_from,
                    "phases": progress.phase_started,
                    "ended": ended,
                }
            )
            break
        with node.db.read() as conn:
            version = node_state.catalog_version(conn)
            count = int(conn.execute(select(func.count()).select_from(products)).scalar_one())
    finally:
        node.close()
    print(
        json.dumps(
            {
                "attempts": attempts,
                "started": started,
                "version": version,
                "products": count,
                "cpuS": time.process_time() - cpu0,
                "peakRssMb": peak_rss_mb(),
            }
        )
    )
    return 0


def peak_rss_mb() -> float:
    """This process's own peak RSS. Not ``ru_maxrss``: Linux carries it across exec from the forked copy of
    the parent, which had built the whole synthetic catalog (about 900 MB), so it reported the parent's
    memory whenever the node's own was less. ``VmHWM`` is the peak of this program's own memory."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: the best there is


# --- the benchmark --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.node is not None:
        return node_side(args.node, args.announcement)
    stop_on_signals()
    from cloud.media.blob_store import LocalBlobStore
    from cloud.store_catalog import store_snapshot
    from edge.demo_catalog import synthetic_catalog
    from plumbing import free_port
    from tests.cutting_proxy import CuttingProxy

    work = Path(tempfile.mkdtemp(prefix="edgestore-snapshot-bench-", dir=args.tmp_parent))
    load_before = load_average()
    try:
        log(f"catalog snapshot benchmark: {args.products} products, temp dir {work}")
        port = free_port(HOST)
        base_url = f"http://{HOST}:{port}"

        log("1. the catalog, published as the cloud does (JSON, SHA-256, gzip, the cloud's file store)")
        t0 = time.perf_counter()
        snapshot = synthetic_catalog(args.products)
        t1 = time.perf_counter()
        blobs = LocalBlobStore(work / "cloud" / "files", base_url, b"bench-secret-0123456789")
        announcement = store_snapshot(blobs, snapshot, base_url)
        t2 = time.perf_counter()
        key = str(announcement.snapshot_url).split("/files/", 1)[1]
        coded = blobs.path_for(key).stat().st_size
        del snapshot
        log(
            f"  built in {t1 - t0:.1f} s; serialised, hashed, gzip-coded and stored in {t2 - t1:.1f} s: "
            f"{announcement.size:,} bytes of JSON, {coded:,} gzip-coded"
        )

        log("2. the cloud: edgestore cloud serve")
        env = bench_env(
            EDGESTORE_CLOUD_DATA_DIR=str(work / "cloud"),
            EDGESTORE_CLOUD_HOST=HOST,
            EDGESTORE_CLOUD_PORT=str(port),
        )
        with served(
            cloud_argv(port),
            env,
            what="the cloud",
            health_url=f"{base_url}/api/v1/openapi.json",
            log_path=work / "cloud.log",
            cwd=work,
        ):
            proxy = None
            if args.cut_at:
                proxy = CuttingProxy(base_url, cut_after=[args.cut_at]).start()
                announcement = announcement.model_copy(
                    update={"snapshot_url": str(announcement.snapshot_url).replace(base_url, proxy.url)}
                )
                log(f"3. a proxy that cuts the first download after {args.cut_at:,} bytes: {proxy.url}")
            log("4. a fresh node takes it (a child process)")
            load_during = load_average()
            child = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--node",
                    str(work / "node"),
                    "--announcement",
                    announcement.model_dump_json(by_alias=True),
                ],
                stdout=subprocess.PIPE,
                text=True,
                check=False,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            seen = list(proxy.seen) if proxy else []
            if proxy:
                proxy.stop()
        if child.returncode != 0:
            log(f"the node failed (exit status {child.returncode})")
            return 1
        result = json.loads(child.stdout.strip().splitlines()[-1])
        report(args, announcement.size, coded, t1 - t0, t2 - t1, result, seen, load_before, load_during)
        ok = result["version"] == announcement.version and result["products"] == args.products
        log("check: " + ("the node holds the version and every product" if ok else f"FAILED: {result}"))
        return 0 if ok else 1
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def report(
    args: argparse.Namespace,
    identity: int,
    coded: int,
    build_s: float,
    publish_s: float,
    result: dict[str, Any],
    seen: list[Any],
    load_before: str,
    load_during: str,
) -> None:
    final = result["attempts"][-1]
    phases = final["phases"]
    download = phases["decoding"] - phases["downloading"]
    decode = phases["verifying"] - phases["decoding"]
    verify = phases["applying"] - phases["verifying"]
    apply_s = final["ended"] - phases["applying"]
    total = final["ended"] - result["started"]
    wire = sum(a["received"] - a.get("resumedFrom", 0) for a in result["attempts"])
    lines = [
        *host_lines(),
        code_line(ROOT),
        f"load average:  {load_before} before, {load_during} as the node started (1, 5, 15 min)",
        "",
        f"products:      {args.products:,} ({result['products']:,} at the node, version {result['version']})",
        f"snapshot:      {identity:,} bytes of JSON; {coded:,} gzip-coded ({coded / identity:.1%})",
        f"cloud publish: build {build_s:.1f} s (synthetic), serialise + SHA-256 + gzip + store {publish_s:.1f} s",
        f"wire:          {wire:,} body bytes received in {len(result['attempts'])} attempt(s)",
    ]
    if seen:
        lines.append(
            "requests:      " + "; ".join(f"{s.status} range={s.range} if-range={s.if_range}" for s in seen)
        )
    if args.cut_at:
        lines.append(f"resumed at:    byte {final.get('resumedFrom', 0):,}")
    rate = (final["received"] - final.get("resumedFrom", 0)) / max(download, 1e-9) / 1e6
    lines += [
        "",
        "| phase (last attempt) | s |",
        "|---|---|",
        f"| download ({rate:.1f} MB/s on loopback) | {download:.2f} |",
        f"| gzip decode, size and SHA-256 checked as it inflates | {decode:.2f} |",
        f"| verify: the head (store, version, small tables) | {verify:.2f} |",
        f"| apply: products and stock validated and written in chunks (one SQLite transaction) | {apply_s:.2f} |",
        f"| **total, node start to catalog held{' (all attempts)' if args.cut_at else ''}** | **{total:.2f}** |",
        "",
        f"node:          CPU {result['cpuS']:.1f} s, peak RSS {result['peakRssMb']:.0f} MB",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    run_main(main)
