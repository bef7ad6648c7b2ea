"""When the client tries a request again, and how long it waits first: pure rules, no I/O, so a sync and an
async client (should the kiosk ever need one) decide alike.

Only a request that cannot do its work twice is repeated: a read, or a POST carrying an idempotency key (the
node answers a repeat with what the first one made). A plain cart change is sent once: had the node applied
it before the answer was lost, a second one would add the item twice.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class RetryPolicy:
    """``retries`` further attempts after the first, waiting ``backoff`` seconds doubled each time (capped at
    ``max_backoff``) with jitter, so kiosks that lost the node together do not come back in step."""

    retries: int = 2
    backoff: float = 0.25
    max_backoff: float = 2.0

    def __post_init__(self) -> None:
        if self.retries < 0 or self.backoff < 0 or self.max_backoff < 0:
            raise ValueError("retries, backoff and max_backoff must not be negative")

    def delay(
        self, attempt: int, retry_after: float | None = None, *, rand: Callable[[], float] = random.random
    ) -> float:
        """Seconds to wait after failed attempt ``attempt`` (0 for the first): half the doubled backoff plus
        a random part up to the other half, and at least the node's ``Retry-After``. Everything is capped at
        ``max_backoff``: a shopper is waiting, and a node that asks for longer is better reported than
        waited for."""
        ceiling = min(self.max_backoff, self.backoff * 2.0**attempt)
        wait = ceiling / 2 + ceiling / 2 * rand()
        if retry_after is not None:
            wait = max(wait, retry_after)
        return min(wait, self.max_backoff)


def retries_failure(failure: httpx.TransportError | httpx.Response) -> bool:
    """Whether a failed attempt of a safe request is worth another: no answer (connection refused, reset or
    timed out) or a server failure (5xx, the node's ``databaseBusy`` among them). A 4xx never: the same
    request would be refused the same way."""
    if isinstance(failure, httpx.TransportError):
        return True
    return failure.status_code >= 500
