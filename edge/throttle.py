"""Brakes on guessing short secrets: hand-off codes (six digits, node-wide) and receipt tokens (per order,
with a node-wide backstop).

Each guard counts the failed attempts of one kind in a sliding window; once ``limit`` failures fall within
``window``, further attempts are refused (``429 tooManyAttempts`` with ``Retry-After``) until the oldest
leaves the window, before the secret is looked at.

Kept in memory, in the node object, not in a table: it guards against a burst of guesses while the node
runs, and a table would put a write (SQLite's one write lock, the one checkouts need) on every failed guess,
the very traffic it is there to slow down. A restart forgets the count, which gives a guesser nothing they
could use: they cannot restart the node, and six digits that live ten minutes need about half a million
guesses at ten a minute.
"""

import threading
from collections import OrderedDict, deque
from datetime import datetime, timedelta
from math import ceil

from models.errors import TooManyAttempts

GUESS_LIMIT = 10
GUESS_WINDOW = timedelta(seconds=60)
KEYS_KEPT = 10_000


class FailureThrottle:
    """Failed attempts of one kind across the node; thread-safe (the routes run in a thread pool).

    ``check`` and ``fail`` are separate steps around the attempt, so guesses already in flight when the
    limit is reached still finish: at most the thread pool's size more, which does not change the rate."""

    def __init__(self, what: str, limit: int = GUESS_LIMIT, window: timedelta = GUESS_WINDOW) -> None:
        self.what = what
        self.limit = limit
        self.window = window
        self._failures: deque[datetime] = deque()
        self._lock = threading.Lock()

    def check(self, now: datetime) -> None:
        """``TooManyAttempts`` while ``limit`` failures lie within the window before ``now``."""
        with self._lock:
            self._forget(now)
            if len(self._failures) >= self.limit:
                wait = self._failures[0] + self.window - now
                raise TooManyAttempts(max(1, ceil(wait.total_seconds())), what=self.what)

    def fail(self, now: datetime) -> None:
        with self._lock:
            self._forget(now)
            self._failures.append(now)

    def _forget(self, now: datetime) -> None:
        while self._failures and self._failures[0] <= now - self.window:
            self._failures.popleft()


class KeyedFailureThrottle:
    """Failed attempts counted per key (a receipt's order id): one order's token guessed at cannot lock out
    the other shoppers' receipts, as one node-wide count would (a phone sending ten wrong tokens a minute
    would then refuse everyone's right ones). A node-wide ``backstop``, far higher, still bounds the work.

    At most ``keys`` keys are remembered, the least recently failed forgotten first, so ids made up by the
    thousand cannot grow the node's memory."""

    def __init__(
        self,
        what: str,
        limit: int,
        window: timedelta,
        backstop: FailureThrottle,
        keys: int = KEYS_KEPT,
    ) -> None:
        self.what, self.limit, self.window, self.backstop, self.keys = what, limit, window, backstop, keys
        self._by_key: OrderedDict[str, FailureThrottle] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, key: str, now: datetime) -> None:
        self.backstop.check(now)
        with self._lock:
            guard = self._by_key.get(key)
        if guard is not None:
            guard.check(now)

    def fail(self, key: str, now: datetime) -> None:
        self.backstop.fail(now)
        with self._lock:
            guard = self._by_key.pop(key, None) or FailureThrottle(self.what, self.limit, self.window)
            self._by_key[key] = guard  # the most recent last
            while len(self._by_key) > self.keys:
                self._by_key.popitem(last=False)
        guard.fail(now)


RECEIPT_GUESS_LIMIT = 10
RECEIPT_GUESS_WINDOW = timedelta(hours=1)
RECEIPT_BACKSTOP = 300  # failures a minute across the node


def receipt_throttle() -> KeyedFailureThrottle:
    """Ten wrong tokens for one order in an hour lock that order's receipt for the rest of the hour: at
    that rate a 40-bit token outlives the shop; 300 failures a minute across the node stop a flood."""
    return KeyedFailureThrottle(
        "receipt look-ups",
        RECEIPT_GUESS_LIMIT,
        RECEIPT_GUESS_WINDOW,
        FailureThrottle("receipt look-ups", RECEIPT_BACKSTOP, GUESS_WINDOW),
    )
