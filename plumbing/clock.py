"""Wall-clock time for the services: always timezone-aware UTC, and passed in as a ``Clock`` so that tests
can move it (past a discount's end, say) without patching anything."""

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)
