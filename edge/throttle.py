"""A node-wide brake on guessing short secrets: hand-off codes (six digits) and receipt tokens.

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
from collections import deque
from datetime import datetime, timedelta
from math import ceil

from models.errors import TooManyAttempts

GUESS_LIMIT = 10
GUESS_WINDOW = timedelta(seconds=60)


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
