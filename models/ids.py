"""Globally unique, time-sortable identifiers.

Records created at the edge (orders, items, payments, stock deltas, footfall events, carts) get their id on
the Pi, so creation never conflicts with another store or with the cloud. ULIDs sort by creation time (to
the millisecond) as plain strings, which is what cursor paging and "recent first" lists rely on. Ids made in
the same millisecond by one process are monotonic, so they still sort in creation order.
"""

import re
import threading
import time
from typing import Annotated

from pydantic import Field
from ulid import ULID

ULID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"
IDENT_PATTERN = r"^[A-Za-z0-9_.:-]+$"
Ident = Annotated[str, Field(min_length=1, max_length=64, pattern=IDENT_PATTERN)]
"""Any id a record may carry: ULIDs made here, and ids chosen by the catalog or a device's provisioning
(letters, digits and ``_ . : -``, up to 64 characters)."""
_ULID_RE = re.compile(ULID_PATTERN)
_lock = threading.Lock()
_last: ULID | None = None


def new_id() -> str:
    """A new ULID string, strictly greater than any id this process made before."""
    global _last
    with _lock:
        candidate = ULID.from_timestamp(time.time())
        if _last is not None and candidate.bytes <= _last.bytes:
            # Same millisecond (or the clock stepped back): increment the previous id instead, so ids made by
            # one process keep their order.
            candidate = ULID.from_int(int(_last) + 1)
        _last = candidate
        return str(candidate)


def is_id(value: str) -> bool:
    """True when ``value`` looks like an id this system makes (a canonical ULID string)."""
    return _ULID_RE.fullmatch(value) is not None
