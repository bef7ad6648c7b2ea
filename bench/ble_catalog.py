"""Bluetooth LE catalog benchmark: a shopper's phone fetches a whole catalog page by page from the phone bridge
(``edgestore ble serve``) over bumble's virtual controllers, at ATT MTU 23, 185 and 247: time and bytes on
the air, next to the same catalog as the node's JSON over HTTP. The issue's goal: at MTU 247, at most 3 s of
link time and 30 kB for 500 products (names zh-TW + English, prices, stock, no photos).

What it does, for three catalogs of ``--products`` products: the node's synthetic one (ids such as
``p000123``), and the same catalog with ULID product and variant ids (26 characters, as the cloud makes
them), once made with ``models.ids.new_id`` in one burst (consecutive ids, nearly the same string) and once
each with its own random part (as ids made at different moments are; deflate cannot shorten those):

1. writes the catalog (``edgestore edge demo-catalog``; the ULID ones here, from
   ``edge.demo_catalog.synthetic_catalog`` with the ids rewritten), loads it with ``edgestore edge
   load-catalog``, starts ``edgestore edge serve`` on a free port of 127.0.0.1 (all ``EDGESTORE_*`` variables dropped) and sums the
   response bodies of ``GET /api/v1/catalog/products?limit=100`` to the last page;
2. starts bumble's two virtual controllers (``edge.ble.virtual_radio.VirtualRadio``) and the bridge on one
   of them (``edgestore ble serve --transport ...``);
3. for each fetch, a fresh connection of the phone, in this process, on the other controller:
   ``edge.ble.bumble_link.connect(device, None, mtu=M)`` (scan, connect, MTU exchange, discovery,
   subscription), then ``Op.CATALOG_PAGE`` with ``limit`` and the last ``next`` until ``next`` is None,
   then ``link.close()``. The link is wrapped to count every ATT value written and notified (the chunks);
   ``PhoneClient.sent_bytes`` / ``received_bytes`` are checked against the counts;
4. at the largest MTU fetches once per ``--page-sizes`` value and keeps the best (the lowest estimated radio
   time, ``est2`` below, then the fewest bytes on the air) for the other MTUs;
5. prints progress to stderr, then the machine, a table per catalog, the connection phases, the estimate for
   a real radio and the goal check, and Markdown for ``docs/performance.md``. It exits 0 when every fetch
   got every product (whether or not the goal is met), 1 otherwise, 130 when interrupted.

Run from the repository root::

    .venv/bin/python bench/ble_catalog.py             # 500 products, MTU 23, 185 and 247 (about 40 s)
    .venv/bin/python bench/ble_catalog.py --quick     # smoke test: 100 products, MTU 23 and 247

The virtual link moves packets between two processes over TCP as fast as Python goes, with none of a
radio's connection events: its wall time is the software's (phone, bridge, node), not the air's. The
estimate for a real radio is a stated model computed from the counted packets.
"""

import argparse
import asyncio
import gzip
import json
import math
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from benchkit import (
    code_line,
    edgestore_cmd,
    host_lines,
    log,
    run_main,
    stop_on_signals,
)
from bumble.core import AdvertisingData
from bumble.device import Device
from bumble.hci import Address
from bumble.transport import open_transport
from ulid import ULID

from edge.ble.bumble_link import ADVERTISING_INTERVAL_MS, SERVICE, BumbleLink, connect
from edge.ble.client import PhoneClient
from edge.ble.operations import CATALOG_COLUMNS, MAX_PAGE
from edge.ble.protocol import ATT_HEADER, Op
from edge.ble.virtual_radio import VirtualRadio
from edge.demo_catalog import synthetic_catalog
from models.catalog import CatalogSnapshot
from models.ids import new_id
from plumbing import free_port, stop_process, wait_for_url

HOST = "127.0.0.1"
API = "/api/v1"
ROOT = Path(__file__).resolve().parent.parent

L2CAP_HEADER = 4
"""Bytes of L2CAP basic header (length, channel id) before each ATT PDU."""
PDU_OVERHEAD = ATT_HEADER + L2CAP_HEADER
"""Counted per ATT PDU on top of its value: opcode + handle (3) and the L2CAP header (4)."""

# The real-radio model (an estimate, stated with the figure).
LL_PAYLOAD = 251
"""LE data length extension: up to 251 bytes of L2CAP in one link-layer packet."""
CONN_INTERVAL_S = 0.030
PACKETS_PER_EVENT = 4
"""Link-layer data packets per connection event: a conservative phone figure."""

GOAL_S = 3.0
GOAL_BYTES = 30_000


# ---------------------------------------------------------------------------------------------- catalogs


def with_ulids(snapshot: CatalogSnapshot, make_id: Callable[[], str]) -> CatalogSnapshot:
    """The same catalog with ULID product and variant ids (as the cloud makes them); stock levels follow."""
    variant_ids: dict[str, str] = {}
    products = []
    for product in snapshot.products:
        variants = []
        for variant in product.variants:
            variant_ids[variant.variant_id] = make_id()
            variants.append(variant.model_copy(update={"variant_id": variant_ids[variant.variant_id]}))
        products.append(product.model_copy(update={"product_id": make_id(), "variants": variants}))
    stock = [
        level.model_copy(update={"variant_id": variant_ids[level.variant_id]}) for level in snapshot.stock
    ]
    assert not snapshot.discounts, "the synthetic catalog has no discounts to re-point"
    return snapshot.model_copy(update={"products": products, "stock": stock})


def random_ulid() -> str:
    """A ULID with its own 80 random bits, as ids made at different moments have. ``new_id`` (and python-ulid's
    ``ULID()``) made in one burst are consecutive numbers: nearly the same string, which deflate shortens."""
    return str(ULID.from_bytes(int(time.time() * 1000).to_bytes(6, "big") + os.urandom(10)))


@dataclass(frozen=True)
class Catalog:
    label: str
    slug: str
    ids: str  # how its product ids look
    make_id: Callable[[], str] | None  # None: the CLI's synthetic ids


CATALOGS = [
    Catalog("synthetic ids", "synthetic", "p000123 (edgestore edge demo-catalog)", None),
    Catalog(
        "ULID ids, new_id",
        "new-id",
        "26-character ULIDs from models.ids.new_id in one burst: consecutive, differing in the last characters",
        new_id,
    ),
    Catalog(
        "ULID ids, random",
        "random",
        "26-character ULIDs, each with its own 80 random bits (os.urandom)",
        random_ulid,
    ),
]


def write_catalog(catalog: Catalog, products: int, path: Path, env: dict[str, str]) -> None:
    if catalog.make_id is None:  # as a shop would make it: the CLI
        run_cli(["edge", "demo-catalog", "--products", str(products), "-o", str(path)], env, path.parent)
        return
    snapshot = with_ulids(synthetic_catalog(products), catalog.make_id)
    # As ``edgestore edge demo-catalog`` writes a catalog; load-catalog validates it again.
    path.write_text(
        json.dumps(snapshot.to_json_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    CatalogSnapshot.model_validate_json(path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------- processes


def clean_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGESTORE_")}
    env["EDGESTORE_DATA_DIR"] = str(data_dir)
    return env


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(
        [*edgestore_cmd(), *args], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"edgestore {' '.join(args[:2])} failed:\n{done.stdout}{done.stderr}")
    return done.stdout.strip()


@contextmanager
def running_node(work: Path, data_dir: Path) -> Iterator[str]:
    port = free_port(HOST)
    log_path = work / "node.log"
    with log_path.open("wb") as node_log:
        proc = subprocess.Popen(
            [*edgestore_cmd(), "edge", "serve", "--data-dir", str(data_dir), "--port", str(port)],
            env=clean_env(data_dir),
            cwd=work,
            stdout=node_log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://{HOST}:{port}"
    try:
        wait_for_url(
            f"{base_url}{API}/health",
            what="the node",
            timeout_s=60,
            watch=proc,
            details=lambda: log_path.read_text(errors="replace"),
        )
        yield base_url
    finally:
        stop_process(proc)


class Radio:
    """bumble's virtual controllers and the bridge on one of them; :meth:`restart` makes both afresh."""

    def __init__(self, work: Path, edge_url: str, data_dir: Path) -> None:
        self.work, self.edge_url, self.data_dir = work, edge_url, data_dir
        self.radio: VirtualRadio | None = None
        self.bridge: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def phone_transport(self) -> str:
        assert self.radio is not None
        return self.radio.phone_transport

    def start(self) -> None:
        self.starts += 1
        self.radio = VirtualRadio().start()
        log_path = self.work / f"bridge-{self.starts}.log"
        with log_path.open("wb") as bridge_log:
            self.bridge = subprocess.Popen(
                [
                    *edgestore_cmd(),
                    "ble",
                    "serve",
                    "--transport",
                    self.radio.bridge_transport,
                    "--edge-url",
                    self.edge_url,
                    "--data-dir",
                    str(self.data_dir),
                ],
                env=clean_env(self.data_dir),
                cwd=self.work,
                stdout=bridge_log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while "serving" not in log_path.read_text(errors="replace"):  # "serving ... to phones as ..."
            if self.bridge.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the bridge did not start:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.bridge is not None:
            stop_process(self.bridge)
            self.bridge = None
        if self.radio is not None:
            self.radio.stop()
            self.radio = None

    def restart(self) -> None:
        self.stop()
        self.start()


# ---------------------------------------------------------------------------------------------- the phone


class CountingLink:
    """A ``client.Link`` around the bumble link that notes every ATT value written and notified."""

    def __init__(self, link: BumbleLink) -> None:
        self.link = link
        self.on_chunk: Callable[[bytes], None] = lambda _chunk: None
        self.up: list[int] = []  # value lengths of the phone's writes (one ATT write command each)
        self.down: list[int] = []  # of the bridge's notifications
        link.on_chunk = self._received

    @property
    def mtu(self) -> int:
        return self.link.mtu

    async def write(self, chunk: bytes) -> None:
        self.up.append(len(chunk))
        await self.link.write(chunk)

    def _received(self, chunk: bytes) -> None:
        self.down.append(len(chunk))
        self.on_chunk(chunk)

    async def read_info(self) -> bytes:
        return await self.link.read_info()

    async def close(self) -> None:
        await self.link.close()


def packets(values: list[int]) -> int:
    """Link-layer packets for these ATT values with data length extension (one each up to MTU 247)."""
    return sum(math.ceil((v + PDU_OVERHEAD) / LL_PAYLOAD) for v in values)


def events_s(n: int) -> float:
    return math.ceil(n / PACKETS_PER_EVENT) * CONN_INTERVAL_S


@dataclass
class Fetch:
    catalog: str
    mtu: int
    limit: int
    wall_s: float
    products: int
    unique: int
    pages: list[tuple[list[int], list[int]]]  # per page: the request's values, the answer's values
    client_sent: int
    client_received: int
    phases: dict[str, float]

    @property
    def up(self) -> list[int]:
        return [v for u, _ in self.pages for v in u]

    @property
    def down(self) -> list[int]:
        return [v for _, d in self.pages for v in d]

    def air(self, values: list[int]) -> int:
        return sum(values) + PDU_OVERHEAD * len(values)

    @property
    def air_total(self) -> int:
        return self.air(self.up) + self.air(self.down)

    @property
    def estimate_s(self) -> float:
        """The model as stated: every packet, 4 to a connection event."""
        return events_s(packets(self.up) + packets(self.down))

    @property
    def estimate_turns_s(self) -> float:
        """The same model, each request and each answer starting its own connection event."""
        return sum(events_s(packets(u)) + events_s(packets(d)) for u, d in self.pages)

    @property
    def counts_agree(self) -> bool:
        return (self.client_sent, self.client_received) == (sum(self.up), sum(self.down))


async def fetch_catalog(transport: str, catalog: str, mtu: int, limit: int, timeout: float) -> Fetch:
    """One phone connection: connect (timed by phase), fetch every page, close cleanly."""
    async with await open_transport(transport) as hci:
        device = Device.with_hci("bench-phone", Address.generate_static_address(), hci.source, hci.sink)
        await device.power_on()
        marks: dict[str, float] = {}

        def on_advertisement(advertisement: Any) -> None:
            services = (
                advertisement.data.get(AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS) or []
            )
            if SERVICE in services:
                marks.setdefault("found", time.perf_counter())

        device.on(device.EVENT_ADVERTISEMENT, on_advertisement)
        device.on(device.EVENT_CONNECTION, lambda _c: marks.setdefault("connected", time.perf_counter()))
        started = time.perf_counter()
        link = await connect(device, None, mtu=mtu)
        ready = time.perf_counter()
        phases = {
            "scan": marks["found"] - started,
            "connect": marks["connected"] - marks["found"],
            "mtu+discovery": ready - marks["connected"],
        }
        try:
            if link.mtu != mtu:
                raise RuntimeError(f"asked for MTU {mtu}, got {link.mtu}")
            counting = CountingLink(link)
            client = PhoneClient(counting, timeout=timeout)
            pages: list[tuple[list[int], list[int]]] = []
            ids: list[str] = []
            cursor: str | None = None
            began = time.perf_counter()
            while True:
                up, down = len(counting.up), len(counting.down)
                page = await client.call(
                    Op.CATALOG_PAGE, {"limit": limit} | ({"cursor": cursor} if cursor else {})
                )
                pages.append((counting.up[up:], counting.down[down:]))
                assert all(len(line) == len(CATALOG_COLUMNS) for line in page["items"])
                ids += [line[0] for line in page["items"]]
                if (cursor := page["next"]) is None:
                    break
            wall = time.perf_counter() - began
        finally:
            await link.close()
        return Fetch(
            catalog,
            mtu,
            limit,
            wall,
            len(ids),
            len(set(ids)),
            pages,
            client.sent_bytes,
            client.received_bytes,
            phases,
        )


def fetch(radio: Radio, catalog: str, mtu: int, limit: int, timeout: float) -> Fetch:
    """A fetch on a fresh connection; if connecting again on the same controllers fails, once more on fresh
    ones (a new radio and bridge)."""
    for attempt in (1, 2):
        try:
            return asyncio.run(
                asyncio.wait_for(fetch_catalog(radio.phone_transport, catalog, mtu, limit, timeout), 120)
            )
        except Exception as exc:
            if attempt == 2:
                raise
            log(f"    fetch failed ({type(exc).__name__}: {exc}); again on fresh controllers and bridge")
            radio.restart()
    raise AssertionError("unreachable")


def http_catalog(base_url: str) -> tuple[int, int, int, int]:
    """Pages, products, body bytes and gzip-compressed body bytes of ``GET /catalog/products?limit=100``."""
    pages = products = raw = packed = 0
    cursor = None
    with httpx.Client(base_url=f"{base_url}{API}", timeout=30) as client:
        while True:
            response = client.get(
                "/catalog/products", params={"limit": 100} | ({"cursor": cursor} if cursor else {})
            )
            response.raise_for_status()
            pages += 1
            raw += len(response.content)
            packed += len(gzip.compress(response.content, 6))
            body = response.json()
            products += len(body["items"])
            if not (cursor := body.get("nextCursor")):
                return pages, products, raw, packed


# ---------------------------------------------------------------------------------------------- a run


@dataclass
class CatalogRun:
    catalog: Catalog
    http: tuple[int, int, int, int] = (0, 0, 0, 0)
    trials: list[Fetch] = field(default_factory=list)  # at the largest MTU, one per page size
    rows: list[Fetch] = field(default_factory=list)  # per MTU, at the chosen page size
    chosen: int = 0
    radio_starts: int = 0


def better(a: Fetch, b: Fetch) -> Fetch:
    return min(a, b, key=lambda f: (f.estimate_turns_s, f.air_total, f.wall_s))


def progress(f: Fetch) -> None:
    log(
        f"    MTU {f.mtu:>3}, limit {f.limit:>3}: {len(f.pages)} pages, {f.products} products in {f.wall_s:.2f} s, "
        f"{f.air_total:,} B on the air"
    )


def run_catalog(work: Path, catalog: Catalog, args: argparse.Namespace) -> CatalogRun:
    out = CatalogRun(catalog)
    slug = catalog.slug
    data_dir = work / f"node-{slug}"
    bridge_dir = work / f"bridge-{slug}"
    bridge_dir.mkdir()
    path = work / f"catalog-{slug}.json"
    write_catalog(catalog, args.products, path, clean_env(data_dir))
    log(
        f"  {run_cli(['edge', 'load-catalog', str(path), '--data-dir', str(data_dir)], clean_env(data_dir), work)}"
    )
    with running_node(work, data_dir) as base_url:
        out.http = http_catalog(base_url)
        log(f"  HTTP: {out.http[0]} pages, {out.http[1]} products, {out.http[2]:,} B of JSON")
        radio = Radio(work, base_url, bridge_dir)
        try:
            radio.start()
            top = max(args.mtus)
            for limit in args.page_sizes:
                out.trials.append(fetch(radio, catalog.label, top, limit, args.timeout))
                progress(out.trials[-1])
            best = out.trials[0]
            for trial in out.trials[1:]:
                best = better(best, trial)
            out.chosen = best.limit
            log(f"  page size {out.chosen} kept for the other MTUs")
            for mtu in args.mtus:
                if mtu == top:
                    out.rows.append(best)
                    continue
                out.rows.append(fetch(radio, catalog.label, mtu, out.chosen, args.timeout))
                progress(out.rows[-1])
        finally:
            out.radio_starts = radio.starts
            radio.stop()
    out.rows.sort(key=lambda f: f.mtu)
    return out


# ---------------------------------------------------------------------------------------------- printing


def row_line(f: Fetch) -> str:
    up, down = f.up, f.down
    return (
        f"{f.mtu:>4}  {f.limit:>4}  {len(f.pages):>5}  {f.products:>8}  {f.wall_s:>7.2f}  "
        f"{len(down):>5}/{len(up):<4}  {sum(down):>7,}/{sum(up):<6,}  {f.air_total:>8,}  "
        f"{f.air_total / max(1, f.products):>6.1f}  {f.estimate_s:>6.2f}  {f.estimate_turns_s:>6.2f}"
    )


HEADER = (
    f"{'MTU':>4}  {'page':>4}  {'pages':>5}  {'products':>8}  {'wall s':>7}  {'PDUs dn/up':<10}  "
    f"{'values dn/up (B)':<14}  {'air (B)':>8}  {'B/prod':>6}  {'est s':>6}  {'est2 s':>6}"
)


def print_catalog(run: CatalogRun, products: int) -> None:
    pages, count, raw, packed = run.http
    print(f"{run.catalog.label} (product ids: {run.catalog.ids}):")
    print(HEADER)
    print("-" * len(HEADER))
    for f in run.rows:
        print(row_line(f))
    print(
        f"  HTTP, same catalog: GET {API}/catalog/products?limit=100, {pages} pages, {count} products: "
        f"{raw:,} B of JSON bodies ({raw / max(1, count):.1f} B/product; {packed:,} B if each were gzipped), "
        f"headers and TCP not counted"
    )
    top = max(run.trials, key=lambda f: f.limit)
    print(f"  page size at MTU {top.mtu}:")
    for f in sorted(run.trials, key=lambda f: f.limit):
        mark = "  <- kept" if f.limit == run.chosen else ""
        print(
            f"    limit {f.limit:>3}: {len(f.pages):>2} pages, {f.wall_s:.2f} s wall, {f.air_total:,} B on the air, "
            f"est {f.estimate_s:.2f} s / est2 {f.estimate_turns_s:.2f} s{mark}"
        )
    bad = [f for f in [*run.trials, *run.rows] if f.products != products or f.unique != products]
    if bad:
        print(f"  MISSING PRODUCTS: {[(f.mtu, f.limit, f.products, f.unique) for f in bad]}")
    if not all(f.counts_agree for f in [*run.trials, *run.rows]):
        print("  NOTE: PhoneClient.sent_bytes/received_bytes differ from the link's own counts")
    if run.radio_starts > 1:
        print(
            f"  NOTE: the controllers and bridge were started {run.radio_starts} times (a reconnect failed)"
        )
    print()


def print_phases(runs: list[CatalogRun]) -> None:
    every = [f for r in runs for f in [*r.trials, *r.rows]]
    first = every[0].phases
    print("connection (the first connection of the run; min-max over all connections in brackets):")
    for name in ("scan", "connect", "mtu+discovery"):
        values = [f.phases[name] for f in every]
        print(
            f"  {name:<14} {first[name] * 1000:>7.0f} ms   [{min(values) * 1000:.0f}-{max(values) * 1000:.0f} ms]"
        )
    print(
        "  scan: from starting to scan to the bridge's first advertisement; connect: from there to the link up "
        "(stopping the scan included); mtu+discovery: MTU exchange, service and characteristic discovery, "
        "subscription. The virtual controllers' advertising interval dominates scan and connect: the bridge "
        f"advertises every {ADVERTISING_INTERVAL_MS:.0f} ms, a scan waits for the next advertisement, and the "
        "virtual controller makes the connection only when the one after arrives (so connect is about one "
        "interval). A phone and a real radio differ; these are not a radio's figures."
    )
    print()


def print_goal(runs: list[CatalogRun]) -> None:
    print("estimate on a real radio (est s), a model, not a measurement:")
    print(
        f"  LE 1M PHY, data length extension ({LL_PAYLOAD}-byte LL payloads: one ATT PDU per packet up to MTU "
        f"247), connection interval {CONN_INTERVAL_S * 1000:.0f} ms, {PACKETS_PER_EVENT} packets per connection "
        f"event (a conservative phone figure), no retransmissions, the bridge and node answering at once:"
    )
    print(
        f"  est s  = ceil(packets / {PACKETS_PER_EVENT}) x {CONN_INTERVAL_S * 1000:.0f} ms over all packets, both ways"
    )
    print(
        "  est2 s = the same per message: each request and each answer starts its own connection event "
        "(the page-by-page round trips)"
    )
    print()
    print("goal at the largest MTU (<= 3 s of link time, <= 30 kB for the catalog):")
    for run in runs:
        f = max(run.rows, key=lambda r: r.mtu)
        verdicts = [
            ("bytes on the air", f"{f.air_total:,} B", f.air_total <= GOAL_BYTES),
            ("virtual link wall", f"{f.wall_s:.2f} s", f.wall_s <= GOAL_S),
            ("real radio est2", f"{f.estimate_turns_s:.2f} s", f.estimate_turns_s <= GOAL_S),
        ]
        text = ", ".join(f"{what} {value} {'meets' if ok else 'MISSES'}" for what, value, ok in verdicts)
        print(f"  {run.catalog.label}, MTU {f.mtu}, page {f.limit}: {text}")
    print()


def print_markdown(runs: list[CatalogRun]) -> None:
    print("Markdown:")
    print()
    print(
        "| catalog | ATT MTU | page | pages | products | wall (s, virtual link) | ATT values down / up (B) "
        "| on the air (B) | B/product | est. radio (s) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for run in runs:
        for f in run.rows:
            print(
                f"| {run.catalog.label} | {f.mtu} | {f.limit} | {len(f.pages)} | {f.products} | {f.wall_s:.2f} "
                f"| {sum(f.down):,} / {sum(f.up):,} | {f.air_total:,} | {f.air_total / max(1, f.products):.1f} "
                f"| {f.estimate_turns_s:.2f} |"
            )
        print(
            f"| {run.catalog.label}, HTTP JSON | - | 100 | {run.http[0]} | {run.http[1]} | - | {run.http[2]:,} / - | - | "
            f"{run.http[2] / max(1, run.http[1]):.1f} | - |"
        )


def machine_lines() -> list[str]:
    import bumble

    return [
        *host_lines(),
        f"bumble:        {getattr(bumble, '__version__', '?')}",
        f"code:          {code_line(ROOT)}",
    ]


def parse_list(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark a phone fetching the catalog over Bluetooth LE (bumble's virtual controllers).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--products", type=int, default=500, help="catalog size")
    parser.add_argument("--mtus", type=parse_list, default=[23, 185, 247], help="ATT MTUs, comma-separated")
    parser.add_argument(
        "--page-sizes", type=parse_list, default=[50, 100], help="page sizes tried at the largest MTU"
    )
    parser.add_argument("--timeout", type=float, default=5.0, help="PhoneClient's seconds without a chunk")
    parser.add_argument("--tmp-parent", type=Path, default=None, help="where to make the temp dir")
    parser.add_argument("--quick", action="store_true", help="100 products, MTU 23 and 247")
    args = parser.parse_args(argv)
    if args.quick:
        args.products, args.mtus = 100, [23, 247]
    if args.products < 1 or not args.mtus or not args.page_sizes:
        parser.error("--products, --mtus and --page-sizes need at least one")
    if any(not 23 <= m <= 517 for m in args.mtus) or any(not 1 <= p <= MAX_PAGE for p in args.page_sizes):
        parser.error(f"MTUs are 23..517 and page sizes 1..{MAX_PAGE}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_signals()
    work = Path(tempfile.mkdtemp(prefix="edgestore-bench-", dir=args.tmp_parent))
    try:
        log(f"BLE catalog benchmark: temp dir {work}")
        runs = []
        for catalog in CATALOGS:
            log(f"{catalog.label}: {args.products} products")
            runs.append(run_catalog(work, catalog, args))

        print("Bluetooth LE catalog benchmark (bench/ble_catalog.py)")
        print(f"date:          {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}")
        for line in machine_lines():
            print(line)
        print(
            f"run:           {args.products} products (edge.demo_catalog.synthetic_catalog: zh-TW + English names, "
            f"price, final price, stock, category; no photos; names from a small vocabulary with a running number, "
            f"which deflate shortens more than real names), MTU {','.join(map(str, args.mtus))}, page sizes "
            f"{','.join(map(str, args.page_sizes))} tried at MTU {max(args.mtus)}; a fresh connection per fetch"
        )
        print(
            "link:          bumble's virtual controllers (two processes over TCP on loopback): the bridge "
            "(edgestore ble serve) on one, the phone (this process) on the other, the node over HTTP behind the bridge"
        )
        print(
            f"counted:       ATT values (the protocol's chunks) + {ATT_HEADER} B ATT header + {L2CAP_HEADER} B L2CAP "
            "header per ATT PDU, both ways; link-layer headers, MIC, empty packets and the connection setup "
            "(MTU exchange, discovery, subscription) are not counted"
        )
        print(
            "wall s:        the whole fetch, first request to last answer, over the virtual link (the software's "
            "time: the virtual link has no connection events)"
        )
        print()
        for run in runs:
            print_catalog(run, args.products)
        print_phases(runs)
        print_goal(runs)
        print_markdown(runs)
        complete = all(
            f.products == args.products and f.unique == args.products
            for r in runs
            for f in [*r.trials, *r.rows]
        )
        print()
        print(
            f"  result: {'PASS' if complete else 'FAIL'} (every fetch got all {args.products} products once)"
        )
        return 0 if complete else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
        log(f"removed {work}")


if __name__ == "__main__":
    run_main(main, "node, bridge and controllers stopped, temp dir removed")
