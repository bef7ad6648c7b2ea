"""The garbage collector and a long-running service: what a server does once it has started."""

import gc
import logging

log = logging.getLogger(__name__)


def freeze_startup_heap() -> int:
    """Move every object alive now (the imported modules, the app, its caches) out of the collector's reach
    and return how many there were.

    CPython's full (generation 2) collection walks every tracked object. In a started store node that is
    some 600,000 objects (FastAPI, pydantic, SQLAlchemy, NumPy, LiteRT), and each full collection stopped
    the process for about 80 ms on the 2-core test machine: a checkout caught by one took four times its
    usual time, and those pauses were most of the node's p99 (docs/performance.md). Objects made at startup
    live as long as the process, so walking them finds nothing; frozen (``gc.freeze``), they are left out
    and a full collection walks only what requests and syncs made since. Call it once, when startup is done:
    ``edge serve``, ``cloud serve`` and ``cloud ingest`` do (the cloud's ingest threads and acks would stall
    alike).
    """
    gc.collect()  # what startup already dropped is freed, not frozen
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.debug("froze %d startup objects out of the garbage collector's full collections", frozen)
    return frozen
