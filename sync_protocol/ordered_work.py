"""Work run on a few threads, in order per key: a keyed serial executor.

Tasks submitted with the same key run one at a time, in the order they were submitted; tasks of different keys
run at once on the pool's threads. ``mqtt_link`` keys a message's handler by its topic: an uplink topic is one
device's stream, whose batches must apply in order, while two devices' streams need not wait for each other.

- A free thread takes the oldest task whose key is not running, so one thread runs everything in submission
  order (a single ordered worker), and a busy key never starves the others.
- A task that raises is logged; its key and the pool go on.
- At most ``capacity`` tasks wait to start: ``submit`` blocks while that many do (backpressure on the thread
  that submits, MQTT's network thread, rather than memory without bound). Size it so that this does not
  happen in normal operation (``mqtt_link`` takes the broker's in-flight window).
- ``close`` takes nothing more, runs or drops what waits, and joins the threads.

Threads wait on conditions, never poll. Like ``mqtt_link``, this module is not part of the pure core.
"""

import heapq
import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable, Hashable

log = logging.getLogger(__name__)

Task = Callable[[], object]


class OrderedWork:
    """A pool of ``threads`` threads running tasks one at a time per key, in submission order per key."""

    def __init__(self, threads: int, *, capacity: int, name: str = "ordered-work") -> None:
        if threads < 1:
            raise ValueError("OrderedWork needs at least one thread")
        if capacity < 1:
            raise ValueError("OrderedWork needs room for at least one waiting task")
        self.capacity = capacity
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # workers wait here for a task to run
        self._room = threading.Condition(self._lock)  # submitters wait here for room in the queue
        # Per key, its tasks waiting to start (with their numbers, in submission order), oldest first.
        self._lanes: dict[Hashable, deque[tuple[int, Task]]] = {}
        # The keys with a waiting task and none running, by the number of their oldest task: heads of lanes.
        self._ready: list[tuple[int, int, Hashable]] = []
        self._running: set[Hashable] = set()
        self._waiting = 0  # tasks submitted and not started
        self._numbers = itertools.count()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._serve, name=f"{name}-{n}", daemon=True) for n in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def threads(self) -> int:
        return len(self._threads)

    def submit(self, key: Hashable, task: Task) -> bool:
        """Queue ``task`` behind the earlier tasks of ``key``; blocks while ``capacity`` tasks wait to start.
        False (the task not taken) once the pool is closed, also when ``close`` came while this waited."""
        with self._lock:
            while self._waiting >= self.capacity and not self._closed:
                self._room.wait()
            if self._closed:
                return False
            number = next(self._numbers)
            lane = self._lanes.setdefault(key, deque())
            lane.append((number, task))
            self._waiting += 1
            if len(lane) == 1 and key not in self._running:
                self._make_ready(key, number)
            return True

    def close(self, *, drop_waiting: bool = False, timeout_s: float | None = None) -> int:
        """Take no more tasks, let the running ones finish and join the threads; the tasks that wait to start
        run first, unless ``drop_waiting`` (then they are dropped, and how many is returned). With
        ``timeout_s``, waits at most about that long for the threads (a task that never ends keeps its
        daemon thread)."""
        with self._lock:
            self._closed = True
            dropped = self._drop_waiting() if drop_waiting else 0
            self._work.notify_all()
            self._room.notify_all()
        for thread in self._threads:
            if thread is not threading.current_thread():  # a task may close its own pool
                thread.join(timeout_s)
        return dropped

    def drop_waiting(self) -> int:
        """Drop the tasks that wait to start and say how many; the running ones go on, and so does the pool.
        ``mqtt_link`` drops a broken connection's messages: the broker delivers them again on the next."""
        with self._lock:
            return self._drop_waiting()

    def _drop_waiting(self) -> int:
        dropped = self._waiting
        self._lanes = {key: deque() for key in self._lanes if key in self._running}
        self._ready.clear()
        self._waiting = 0
        self._room.notify_all()
        return dropped

    # -- the threads ------------------------------------------------------------------------------------

    def _make_ready(self, key: Hashable, number: int) -> None:
        # The counter breaks no ties (numbers are unique) but keeps heapq from ever comparing two keys.
        heapq.heappush(self._ready, (number, next(self._numbers), key))
        self._work.notify()

    def _next(self) -> tuple[Hashable, Task] | None:
        """The oldest task whose key is not running (and mark the key running); None when closed and done."""
        with self._lock:
            while not self._ready:
                if self._closed and self._waiting == 0:
                    return None
                self._work.wait()
            _, _, key = heapq.heappop(self._ready)
            _, task = self._lanes[key].popleft()
            self._waiting -= 1
            self._running.add(key)
            self._room.notify()
            return key, task

    def _done(self, key: Hashable) -> None:
        with self._lock:
            self._running.discard(key)
            lane = self._lanes.get(key)
            if lane:
                self._make_ready(key, lane[0][0])
            else:
                self._lanes.pop(key, None)
                if self._closed and self._waiting == 0:
                    self._work.notify_all()  # the threads waiting for this key's next task: there is none

    def _serve(self) -> None:
        while (job := self._next()) is not None:
            key, task = job
            try:
                task()
            except Exception:
                log.exception("a task for %r failed; its key and the pool go on", key)
            finally:
                self._done(key)
