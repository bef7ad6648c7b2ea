"""How the cloud's uplink ingest is doing, in this process: shown by ``GET /api/v1/sync/status`` and on the
dashboard, so a database outage that holds the stores' sales back is seen rather than only logged.

Written by the sync service's MQTT thread, read by request handlers: each field is replaced whole, so a
reader sees an old or a new value, never half of one.
"""

import threading
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class IngestSnapshot:
    retrying: bool
    failing_since: datetime | None
    failures: int  # transient failures since the last message that applied
    last_error: str | None
    last_applied_at: datetime | None


@dataclass
class IngestHealth:
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _failing_since: datetime | None = None
    _failures: int = 0
    _last_error: str | None = None
    _last_applied_at: datetime | None = None

    def failed(self, error: BaseException, now: datetime) -> None:
        with self._lock:
            self._failing_since = self._failing_since or now
            self._failures += 1
            self._last_error = type(error).__name__  # the class only: messages may hold connection details

    def applied(self, now: datetime) -> None:
        with self._lock:
            self._failing_since, self._failures, self._last_applied_at = None, 0, now

    def snapshot(self) -> IngestSnapshot:
        with self._lock:
            return IngestSnapshot(
                retrying=self._failing_since is not None,
                failing_since=self._failing_since,
                failures=self._failures,
                last_error=self._last_error,
                last_applied_at=self._last_applied_at,
            )
