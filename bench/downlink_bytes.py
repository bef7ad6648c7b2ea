"""The downlink on the wire: each kind of message as JSON and as ``json+zstd``, what the cloud sends a node.

The messages are built as the cloud builds them: a catalog delta of N products changed, each product whole
(``cloud.store_catalog``'s upserts: the product's ``to_json_dict``, products from
``edge.demo_catalog.synthetic_catalog``, the generator ``edgestore edge demo-catalog`` uses); a stock change
made elsewhere (``StockAdjustment``: a sale at another till of the store, ids as the cloud makes them); an
order refunded in the dashboard (``OrderStatusUpdate``). Each goes through ``encode_downlink``, the function
the cloud's sync service calls, and back through ``decode_downlink``, the node's: the figures are its bytes
and the CPU each side spends (best of several rounds, this process; decoding includes validating every
product). A delta over the 1 MiB a node takes in one message is never sent: the cloud announces a snapshot.

Run from the repository root::

    .venv/bin/python bench/downlink_bytes.py
    .venv/bin/python bench/downlink_bytes.py --products 1 10 100 1000 4000
"""

import argparse
import sys
import time
from collections.abc import Callable
from datetime import timedelta

from benchkit import host_lines, run_main

from edge.demo_catalog import synthetic_catalog
from models.ids import new_id
from models.order_states import Actor, OrderStatus
from models.stock import StockDelta, StockReason
from plumbing import utcnow
from sync_protocol.encoding import (
    DEFAULT_MAX_DOWNLINK_BYTES,
    ContentEncoding,
    decode_downlink,
    encode_downlink,
)
from sync_protocol.envelope import (
    CLOUD_ORIGIN,
    CatalogChange,
    CatalogDelta,
    CatalogEntity,
    ChangeOp,
    DownlinkMessage,
    OrderStatusUpdate,
    OrderTransition,
    StockAdjustment,
)
from sync_protocol.hlc import HLC
from sync_protocol.streams import DownlinkKind

ROUNDS = 5


def catalog_delta(store_id: str, products: int) -> CatalogDelta:
    catalog = synthetic_catalog(products, version=2)
    changes = tuple(
        CatalogChange(
            entity=CatalogEntity.PRODUCT, op=ChangeOp.UPSERT, entity_id=p.product_id, data=p.to_json_dict()
        )
        for p in catalog.products
    )
    return CatalogDelta(store_id=store_id, from_version=1, to_version=2, changes=changes)


def stock_change(store_id: str) -> StockAdjustment:
    delta = StockDelta(
        delta_id=new_id(),
        store_id=store_id,
        variant_id=new_id(),
        quantity=-2,
        reason=StockReason.SALE,
        ref_id=new_id(),
        created_at=utcnow(),
    )
    return StockAdjustment(store_id=store_id, seq=41, latest_seq=41, delta=delta)


def refund(store_id: str) -> OrderStatusUpdate:
    now = utcnow()
    transition = OrderTransition(
        order_id=new_id(),
        from_status=OrderStatus.COMPLETED,
        to_status=OrderStatus.REFUNDED,
        actor=Actor.SELLER,
        hlc=HLC(int((now + timedelta(seconds=1)).timestamp() * 1000), 0, CLOUD_ORIGIN).encode(),
        device_id=CLOUD_ORIGIN,
        note="顧客退貨",
    )
    return OrderStatusUpdate(store_id=store_id, seq=42, latest_seq=42, transition=transition)


def best_ms(work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best * 1000


def row(what: str, kind: DownlinkKind, message: DownlinkMessage) -> str:
    plain = encode_downlink(message, ContentEncoding.JSON)
    if len(plain) > DEFAULT_MAX_DOWNLINK_BYTES:
        # More than a node takes in one message, so the cloud never sends it (cloud.sync_service).
        return f"{what:<28} {len(plain):>10,}  over 1 MiB as JSON: the cloud announces a snapshot instead"
    packed = encode_downlink(message, ContentEncoding.JSON_ZSTD)
    assert decode_downlink(packed, kind) == message, "the node reads back what the cloud sent"
    encode_ms = best_ms(lambda: encode_downlink(message, ContentEncoding.JSON_ZSTD))
    decode_ms = best_ms(lambda: decode_downlink(packed, kind))
    sent_as = "json+zstd" if packed.startswith(b"#") else "json"
    return (
        f"{what:<28} {len(plain):>10,} {len(packed):>10,} {len(plain) / len(packed):>6.1f}x  {sent_as:<9} "
        f"{encode_ms:>8.2f} {decode_ms:>8.2f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--products", type=int, nargs="+", default=[1, 10, 100, 1000], help="catalog delta sizes, in products"
    )
    args = parser.parse_args()
    if any(n < 1 for n in args.products):
        parser.error("--products must be at least 1")
    for line in host_lines():
        print(line)
    store_id = new_id()
    print(f"messages as the cloud sends them; CPU best of {ROUNDS} rounds, this process")
    print(
        f"{'message':<28} {'JSON B':>10} {'sent B':>10} {'ratio':>7}  {'as':<9} {'enc ms':>8} {'dec ms':>8}"
    )
    print(row("stock change (a sale)", DownlinkKind.STOCK, stock_change(store_id)))
    print(row("order refunded", DownlinkKind.ORDER_STATUS, refund(store_id)))
    for n in args.products:
        print(f"  building a delta of {n:,} products...", file=sys.stderr, flush=True)
        print(row(f"catalog delta, {n:,} products", DownlinkKind.CATALOG_DELTA, catalog_delta(store_id, n)))
    return 0


if __name__ == "__main__":
    run_main(main)
