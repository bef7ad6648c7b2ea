"""A lock that hands itself to its waiters in the order they came (first in, first out).

CPython's ``threading.Lock`` promises no order: on release, whichever thread the OS wakes (or a thread that
was not even waiting yet) may take it, so under load one writer can lose the race many times in a row. For
the node's writers that is a long tail of checkout latency; a FIFO bounds every writer's wait by the work
queued ahead of it.
"""

import threading
from collections import deque
from types import TracebackType


class FifoLock:
    """Not reentrant. ``with lock:`` or ``acquire()``/``release()``."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Lock] = deque()

    def acquire(self) -> None:
        with self._guard:
            if not self._held and not self._waiters:
                self._held = True
                return
            baton = threading.Lock()
            baton.acquire()
            self._waiters.append(baton)
        try:
            baton.acquire()  # released by the holder's release(), which hands the lock over (``_held`` stays)
        except BaseException:  # interrupted while waiting (Ctrl-C in a CLI's main thread)
            with self._guard:
                if baton in self._waiters:  # still queued: leave the queue, or a release would hand to no one
                    self._waiters.remove(baton)
                    raise
            self.release()  # handed over meanwhile: pass it on
            raise

    def release(self) -> None:
        with self._guard:
            if not self._held:
                raise RuntimeError("release of an unheld FifoLock")
            if self._waiters:
                self._waiters.popleft().release()  # straight to the first waiter: no newcomer can cut in
            else:
                self._held = False

    def waiting(self) -> int:
        """How many threads wait for the lock now."""
        with self._guard:
            return len(self._waiters)

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(
        self, _type: type[BaseException] | None, _value: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.release()
