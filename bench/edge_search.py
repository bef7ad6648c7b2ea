"""Store node search benchmark: ``GET /catalog/products?q=`` by Zhuyin initials and by text, over a generated
10,000-product catalog, against a real ``edgestore edge serve`` on loopback.

What it does, in order:

1. generates a catalog of shop-like names (brand, word, item, pack: 「義美 經典 珍珠奶茶 6入」, variants
   such as 大杯 or 原味), writes it to a temporary dir and loads it with ``edgestore edge load-catalog``;
2. reports the search index (rows, bytes) and times its rebuild, the one a node that upgrades does at start
   (``edge.search_index.ensure_current``, in this process on the same file);
3. starts ``edgestore edge serve`` on a free port bound to 127.0.0.1 and, for each query, sends warm-up
   requests and then ``--samples`` timed ones, one after the other on one keep-alive connection: median,
   p95 and max of the whole HTTP call, and what the first page held;
4. checks every query's first page against the rule computed here (``models.zhuyin.matches``, or the text
   in the names and codes): same products, same order. It prints ``result: PASS`` or ``FAIL``.

Queries: a common item by its initials (a first page fills early), a word and an item (rarer, more of the
table is read), one initial, and initials no name has (the whole table is read: the worst case); then the
same shapes as text, for comparison.

Run from the repository root::

    .venv/bin/python bench/edge_search.py               # 10,000 products, 200 samples per query
    .venv/bin/python bench/edge_search.py --quick       # a smoke test in seconds
    .venv/bin/python bench/edge_search.py --node-code /path/to/an/older/checkout   # its node, text queries only

With ``--node-code`` the node runs that checkout's code (``PYTHONPATH``), to measure the text searches of a
version without the initials index; Zhuyin queries, the index figures and the rebuild are left out.
"""

import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from benchkit import (
    edgestore_cmd,
    filesystem_of,
    host_lines,
    log,
    percentile,
    run_main,
    stop_on_signals,
)

from edge.demo_catalog import DEMO_STORE_ID, ean13
from models.catalog import CatalogSnapshot, Category, Product, StockLevel, Variant
from models.zhuyin import matches, zhuyin_query
from plumbing import free_port, stop_process, wait_for_url

HOST = "127.0.0.1"
API = "/api/v1"
PAGE = 20
WARMUP = 10

_BRANDS = ["統一", "義美", "光泉", "味全", "黑松", "金車", "桂格", "乖乖", "華元", "舒潔", "好來", "新東陽"]
_WORDS = ["經典", "特選", "手工", "有機", "台灣", "嚴選", "限定", "家庭號", "迷你", "原味", "低糖", "濃醇"]
_ITEMS = [
    ("珍珠奶茶", "bubble milk tea"), ("烏龍茶", "oolong tea"), ("綠茶", "green tea"), ("紅茶", "black tea"),
    ("咖啡", "coffee"), ("拿鐵", "latte"), ("豆漿", "soy milk"), ("鮮奶", "fresh milk"), ("優酪乳", "yogurt"),
    ("果汁", "juice"), ("礦泉水", "mineral water"), ("鳳梨酥", "pineapple cake"), ("太陽餅", "sun cake"),
    ("牛軋糖", "nougat"), ("洋芋片", "potato chips"), ("蝦味先", "shrimp crackers"), ("蛋捲", "egg rolls"),
    ("餅乾", "cookies"), ("泡麵", "instant noodles"), ("米果", "rice crackers"), ("肉鬆", "pork floss"),
    ("醬油", "soy sauce"), ("衛生紙", "tissues"), ("牙刷", "toothbrush"), ("牙膏", "toothpaste"),
    ("洗髮精", "shampoo"), ("沐浴乳", "body wash"), ("毛巾", "towel"), ("襪子", "socks"), ("雨傘", "umbrella"),
]  # fmt: skip
_PACKS = ["", "6入", "12入", "家庭包", "300ml", "1公升", "禮盒"]
_VARIANTS = [
    ("大杯", "Large"),
    ("中杯", "Medium"),
    ("原味", "Original"),
    ("辣味", "Spicy"),
    ("黑色", "Black"),
]


def generated_catalog(products: int, seed: int) -> CatalogSnapshot:
    """Shop-like names, 6-14 Chinese characters with their variants', some with Latin and digits."""
    rng = random.Random(seed)
    items: list[Product] = []
    stock: list[StockLevel] = []
    for n in range(products):
        brand, word, (item, item_en), pack = (
            rng.choice(_BRANDS), rng.choice(_WORDS), rng.choice(_ITEMS), rng.choice(_PACKS)
        )  # fmt: skip
        pid = f"p{n:06d}"
        variants = []
        for m, (vname, vname_en) in enumerate(rng.sample(_VARIANTS, rng.randint(1, 3))):
            vid = f"{pid}-{m + 1}"
            variants.append(
                Variant(
                    variant_id=vid,
                    name=vname,
                    name_en=vname_en,
                    price=rng.randrange(20, 2000),
                    barcode=ean13(f"471{n:06d}{m:03d}"),
                    sku=vid.upper(),
                    is_default=m == 0,
                )
            )
            stock.append(StockLevel(variant_id=vid, quantity=100))
        items.append(
            Product(
                product_id=pid,
                name=" ".join(p for p in (brand, word, item, pack) if p),
                name_en=f"{item_en.title()} {n}",
                category_id="all",
                variants=variants,
            )
        )
    return CatalogSnapshot(
        version=1,
        store_id=DEMO_STORE_ID,
        categories=[Category(category_id="all", name="全部", name_en="All")],
        products=items,
        stock=stock,
    )


@dataclass(frozen=True)
class Query:
    label: str
    q: str


ZHUYIN_QUERIES = [
    Query("an item (珍珠奶茶)", "ㄓㄓㄋㄔ"),
    Query("word + item (有機 綠茶)", "ㄧㄐㄌㄔ"),
    Query("one initial", "ㄓ"),
    Query("no name has them", "ㄅㄆㄇㄈ"),
]
TEXT_QUERIES = [
    Query("text: an item", "珍珠奶茶"),
    Query("text: word + item", "有機 綠茶"),
    Query("text: a barcode", ean13("471000123000")),
    Query("text: nothing has it", "不存在的商品"),
]


def expected_first_page(snapshot: CatalogSnapshot, q: str) -> list[str]:
    """The rule, computed here: the ids of the first page ``q`` should return."""
    symbols = zhuyin_query(q)
    hits = []
    for p in sorted(snapshot.products, key=lambda p: p.product_id):
        names = [p.name, p.name_en, *(n for v in p.variants for n in (v.name, v.name_en))]
        if symbols is not None:
            hit = any(matches(symbols, name) for name in names)
        else:
            codes = [c for v in p.variants for c in (v.sku or "", v.barcode or "")]
            # The names in variant id order, as edge.search_index writes them; a text query may span two.
            text = " ".join(n for n in [*names, *codes] if n).casefold()
            hit = q.strip().casefold() in text
        if hit:
            hits.append(p.product_id)
            if len(hits) == PAGE:
                break
    return hits


# ---------------------------------------------------------------------------------------------- the node


def node_env(data_dir: Path, node_code: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGESTORE_")}
    env["EDGESTORE_DATA_DIR"] = str(data_dir)
    if node_code is not None:
        env["PYTHONPATH"] = str(node_code)
    return env


def load(work: Path, data_dir: Path, snapshot: CatalogSnapshot, node_code: Path | None) -> float:
    path = work / "catalog.json"
    path.write_text(json.dumps(snapshot.to_json_dict(), ensure_ascii=False), encoding="utf-8")
    started = time.perf_counter()
    done = subprocess.run(
        [*edgestore_cmd(), "edge", "load-catalog", str(path), "--data-dir", str(data_dir)],
        env=node_env(data_dir, node_code),
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"load-catalog failed:\n{done.stdout}{done.stderr}")
    log(f"  {done.stdout.strip()}")
    return time.perf_counter() - started


def index_figures(database: Path) -> tuple[int, int]:
    with sqlite3.connect(database) as raw:
        rows, size = raw.execute(
            "SELECT count(*), sum(length(CAST(text AS BLOB))) FROM product_search"
        ).fetchone()
    return int(rows), int(size or 0)


def time_rebuild(database: Path) -> float:
    """What a node that upgrades does once at start, on this file: every row rebuilt."""
    from edge import node_state, search_index
    from edge.db import Database

    db = Database(database)
    try:
        with db.write() as conn:
            node_state.put(conn, node_state.SEARCH_INDEX_VERSION, None)
            started = time.perf_counter()
            assert search_index.ensure_current(conn)
            return time.perf_counter() - started
    finally:
        db.dispose()


@contextmanager
def running_node(work: Path, data_dir: Path, node_code: Path | None) -> Iterator[str]:
    port = free_port(HOST)
    log_path = work / "node.log"
    with log_path.open("wb") as node_log:
        proc = subprocess.Popen(
            [*edgestore_cmd(), "edge", "serve", "--data-dir", str(data_dir), "--port", str(port)],
            env=node_env(data_dir, node_code),
            cwd=work,
            stdout=node_log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://{HOST}:{port}{API}"
    try:
        wait_for_url(
            f"{base_url}/health",
            what="the node",
            timeout_s=60,
            watch=proc,
            details=lambda: log_path.read_text(errors="replace"),
        )
        yield base_url
    finally:
        stop_process(proc, 20)


# ---------------------------------------------------------------------------------------------- measuring


@dataclass
class Result:
    query: Query
    times_ms: list[float]
    first_page: list[str]
    more: bool
    expected: list[str]

    @property
    def ok(self) -> bool:
        return self.first_page == self.expected


def measure(client: httpx.Client, query: Query, samples: int, expected: list[str]) -> Result:
    params: dict[str, str | int] = {"q": query.q, "limit": PAGE}
    for _ in range(WARMUP):
        client.get("/catalog/products", params=params).raise_for_status()
    times: list[float] = []
    body: dict[str, object] = {}
    for _ in range(samples):
        started = time.perf_counter()
        response = client.get("/catalog/products", params=params)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        body = response.json()
    items = body.get("items", [])
    assert isinstance(items, list)
    first_page = [str(item["productId"]) for item in items]
    return Result(query, sorted(times), first_page, body.get("nextCursor") is not None, expected)


def print_results(results: list[Result]) -> None:
    header = f"{'query':<28}  {'q':<14}  {'median':>9}  {'p95':>9}  {'max':>9}  {'page':>5}  check"
    print(header)
    print("-" * len(header))
    for r in results:
        page = f"{len(r.first_page)}{'+' if r.more else ''}"
        print(
            f"{r.query.label:<28}  {r.query.q:<14}  {percentile(r.times_ms, 50):>6.2f} ms  "
            f"{percentile(r.times_ms, 95):>6.2f} ms  {r.times_ms[-1]:>6.2f} ms  {page:>5}  "
            f"{'ok' if r.ok else 'MISMATCH'}"
        )
    print("(page: products on the first page of 20; + when there are more)")
    print()
    print("Markdown:")
    print()
    print("| query | q | median (ms) | p95 (ms) | max (ms) | first page |")
    print("|---|---|---:|---:|---:|---:|")
    for r in results:
        page = f"{len(r.first_page)}{'+' if r.more else ''}"
        print(
            f"| {r.query.label} | `{r.query.q}` | {percentile(r.times_ms, 50):.2f} "
            f"| {percentile(r.times_ms, 95):.2f} | {r.times_ms[-1]:.2f} | {page} |"
        )


def machine_lines(work: Path) -> list[str]:
    return [
        *host_lines(),
        f"sqlite:        {sqlite3.sqlite_version}",
        f"data dir fs:   {filesystem_of(work)}",
    ]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark catalog search by Zhuyin initials and by text against a store node.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--products", type=int, default=10_000, help="generated catalog size")
    parser.add_argument("--samples", type=int, default=200, help="timed requests per query")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--node-code", type=Path, default=None, help="run the node from this checkout")
    parser.add_argument("--tmp-parent", type=Path, default=None, help="where to make the temp data dir")
    parser.add_argument("--quick", action="store_true", help="500 products, 20 samples per query")
    args = parser.parse_args(argv)
    if args.quick:
        args.products, args.samples = 500, 20
    if args.products < 1 or args.samples < 1:
        parser.error("--products and --samples must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_signals()
    work = Path(tempfile.mkdtemp(prefix="edgestore-bench-", dir=args.tmp_parent))
    data_dir = work / "node"
    queries = TEXT_QUERIES if args.node_code else [*ZHUYIN_QUERIES, *TEXT_QUERIES]
    try:
        log(f"edge search benchmark: temp dir {work}")
        snapshot = generated_catalog(args.products, args.seed)
        load_s = load(work, data_dir, snapshot, args.node_code)
        database = data_dir / "edge.sqlite3"
        rows, size = index_figures(database)
        rebuild_s = None if args.node_code else time_rebuild(database)
        results = []
        with (
            running_node(work, data_dir, args.node_code) as base_url,
            httpx.Client(base_url=base_url, timeout=30) as client,
        ):
            for query in queries:
                log(f"  {query.label}: {args.samples} samples")
                results.append(measure(client, query, args.samples, expected_first_page(snapshot, query.q)))

        print("Store node search benchmark (bench/edge_search.py)")
        print(f"date:          {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}")
        for line in machine_lines(work):
            print(line)
        print(f"node code:     {args.node_code or 'this checkout'}")
        print(
            f"run:           {args.products} generated products (seed {args.seed}), {args.samples} sequential "
            f"requests per query after {WARMUP} warm-up, one keep-alive connection over loopback, limit {PAGE}"
        )
        print(f"catalog load:  {load_s:.1f} s (edgestore edge load-catalog, the index written with it)")
        print(f"search index:  {rows} rows, {size / 1e6:.1f} MB of text")
        if rebuild_s is not None:
            print(f"index rebuild: {rebuild_s:.2f} s (what an upgraded node does once at start)")
        print()
        print_results(results)
        print()
        all_ok = all(r.ok for r in results)
        for r in results:
            if not r.ok:
                print(f"  {r.query.label}: got {r.first_page}, expected {r.expected}")
        print(f"  result: {'PASS' if all_ok else 'FAIL'} (each first page equals the rule's)")
        return 0 if all_ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
        log(f"removed {work}")


if __name__ == "__main__":
    run_main(main, "node stopped, temp dir removed")
