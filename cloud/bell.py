"""Live bell: one Postgres LISTEN per cloud process, fanned out to every open dashboard of the seller.

``cloud.notifications`` does ``pg_notify`` in the transaction that raises (or reads) a notification;
Postgres delivers it at commit, to every process listening, so a dashboard served by one process sees an
order ingested by another. Each open stream gets an asyncio queue; the listener thread wakes them.
"""

import asyncio
import logging
import threading
from collections import defaultdict

import psycopg

from cloud.notifications import CHANNEL

log = logging.getLogger(__name__)


class BellHub:
    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._subscribers: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[None]]]] = (
            defaultdict(set)
        )
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bell-listener", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def subscribe(self, seller_id: str) -> asyncio.Queue[None]:
        queue: asyncio.Queue[None] = asyncio.Queue(maxsize=1)
        with self._lock:
            self._subscribers[seller_id].add((asyncio.get_running_loop(), queue))
        return queue

    def unsubscribe(self, seller_id: str, queue: asyncio.Queue[None]) -> None:
        with self._lock:
            self._subscribers[seller_id] = {s for s in self._subscribers[seller_id] if s[1] is not queue}

    def _wake(self, seller_id: str) -> None:
        with self._lock:
            targets = list(self._subscribers.get(seller_id, ()))
        for loop, queue in targets:
            loop.call_soon_threadsafe(_offer, queue)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.5):
                            self._wake(note.payload)
            except psycopg.Error:
                log.warning("bell listener lost its connection; reconnecting", exc_info=True)
                self._stop.wait(1.0)


def _offer(queue: asyncio.Queue[None]) -> None:
    # A full queue already holds a wake-up: the stream will read the latest state anyway.
    if not queue.full():
        queue.put_nowait(None)
