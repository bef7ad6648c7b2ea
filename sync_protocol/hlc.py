"""Hybrid logical clocks (Kulkarni et al., "Logical Physical Clocks", 2014).

An HLC stamp is physical time in milliseconds plus a counter that orders events within the same millisecond
(or while a remote clock ran ahead of ours), plus the node that made it. Stamps are totally ordered by
``(wall_ms, counter, node)``; a stamp made after receiving another is always greater than it, so "later by
HLC" respects causality even when the wall clocks of a Pi and the cloud disagree a little. The merge rules
break ties with it.

Nothing here reads a clock: callers pass ``now_ms`` (milliseconds since the Unix epoch), so tests drive time
and the rules stay pure. A store node persists ``HybridClock.last`` and restores it on start, so its stamps
keep increasing across restarts even if the Pi boots with a clock behind the one it had.
"""

import re
from dataclasses import dataclass

from sync_protocol.errors import ClockDriftExceeded, InvalidHLC
from sync_protocol.ids import is_ident

WALL_HEX_DIGITS = 12  # 48 bits of milliseconds, like a ULID: good until the year 10889
COUNTER_HEX_DIGITS = 4
MAX_WALL_MS = 16**WALL_HEX_DIGITS - 1
MAX_COUNTER = 16**COUNTER_HEX_DIGITS - 1
"""65,535 events per millisecond per node. When the counter would pass it, the clock borrows the next
millisecond instead (see ``HybridClock``), so the counter stays bounded and stamps stay increasing."""

DEFAULT_MAX_DRIFT_MS = 5 * 60 * 1000
"""How far ahead of our clock a remote stamp may be. Five minutes tolerates a Pi whose clock has not yet
synchronised after boot, yet keeps a clock set years ahead from dragging everyone's stamps along."""

_ENCODED_RE = re.compile(r"([0-9a-f]{12})-([0-9a-f]{4})-([A-Za-z0-9_.:-]{1,64})")


@dataclass(frozen=True, order=True, slots=True)
class HLC:
    """One hybrid logical clock stamp; compares by ``(wall_ms, counter, node)``."""

    wall_ms: int
    counter: int
    node: str

    def __post_init__(self) -> None:
        # bool is an int in Python; a stamp of True milliseconds is a bug, not a time.
        if type(self.wall_ms) is not int or not 0 <= self.wall_ms <= MAX_WALL_MS:
            raise InvalidHLC(f"wall_ms must be an int in 0..{MAX_WALL_MS}, not {self.wall_ms!r}")
        if type(self.counter) is not int or not 0 <= self.counter <= MAX_COUNTER:
            raise InvalidHLC(f"counter must be an int in 0..{MAX_COUNTER}, not {self.counter!r}")
        if not isinstance(self.node, str) or not is_ident(self.node):
            raise InvalidHLC(f"node must be an id (letters, digits, _ . : -), not {self.node!r}")

    def encode(self) -> str:
        """``<wall, 12 hex>-<counter, 4 hex>-<node>``: fixed-width lower-case hex first, so comparing two
        encoded strings gives the same answer as comparing the stamps (databases can index and sort them)."""
        return f"{self.wall_ms:012x}-{self.counter:04x}-{self.node}"

    @classmethod
    def parse(cls, text: str) -> "HLC":
        """The stamp ``encode`` wrote; anything else (upper-case hex, other widths, bad node) is refused, so
        every stamp has exactly one spelling."""
        match = _ENCODED_RE.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise InvalidHLC(f"not an encoded HLC: {text!r}")
        wall, counter, node = match.groups()
        return cls(int(wall, 16), int(counter, 16), node)

    def __str__(self) -> str:
        return self.encode()


class HybridClock:
    """One node's hybrid logical clock: ``tick`` for local events and sends, ``observe`` on receive.

    Not thread-safe: the owner serialises calls (the store node stamps inside its write transaction).
    """

    def __init__(
        self, node: str, *, last: HLC | None = None, max_drift_ms: int = DEFAULT_MAX_DRIFT_MS
    ) -> None:
        if not is_ident(node):
            raise InvalidHLC(f"node must be an id (letters, digits, _ . : -), not {node!r}")
        if max_drift_ms < 0:
            raise ValueError("max_drift_ms must not be negative")
        if last is not None and last.node != node:
            raise InvalidHLC(f"a stamp of {last.node} cannot restore the clock of {node}")
        self.node = node
        self.max_drift_ms = max_drift_ms
        self._last = last if last is not None else HLC(0, 0, node)

    @property
    def last(self) -> HLC:
        """The latest stamp this clock made (persist it to keep stamps increasing across restarts)."""
        return self._last

    def tick(self, now_ms: int) -> HLC:
        """A stamp for a local event or a message about to be sent: greater than every stamp before it."""
        now_ms = _check_now(now_ms)
        wall = max(self._last.wall_ms, now_ms)
        counter = self._last.counter + 1 if wall == self._last.wall_ms else 0
        return self._advance(wall, counter)

    def observe(self, remote: HLC, now_ms: int) -> HLC:
        """Take in a received stamp; returns a stamp greater than both it and every stamp made here before.

        Raises ``ClockDriftExceeded`` (and leaves the clock as it was) when ``remote`` is more than
        ``max_drift_ms`` ahead of ``now_ms``.
        """
        now_ms = _check_now(now_ms)
        if remote.wall_ms - now_ms > self.max_drift_ms:
            raise ClockDriftExceeded(remote, now_ms, self.max_drift_ms)
        last = self._last
        wall = max(last.wall_ms, remote.wall_ms, now_ms)
        if wall == last.wall_ms and wall == remote.wall_ms:
            counter = max(last.counter, remote.counter) + 1
        elif wall == last.wall_ms:
            counter = last.counter + 1
        elif wall == remote.wall_ms:
            counter = remote.counter + 1
        else:  # physical time moved past both: the counter starts again
            counter = 0
        return self._advance(wall, counter)

    def _advance(self, wall: int, counter: int) -> HLC:
        if counter > MAX_COUNTER:
            # Bounded counter: borrow the next millisecond. The stamp still exceeds every earlier one, and
            # physical time catches up within a millisecond per 65,536 events.
            wall, counter = wall + 1, 0
        if wall > MAX_WALL_MS:
            raise InvalidHLC("the hybrid clock ran past the largest encodable time")
        self._last = HLC(wall, counter, self.node)
        return self._last


def _check_now(now_ms: int) -> int:
    if type(now_ms) is not int or not 0 <= now_ms <= MAX_WALL_MS:
        raise ValueError(f"now_ms must be milliseconds since the epoch as an int, not {now_ms!r}")
    return now_ms
