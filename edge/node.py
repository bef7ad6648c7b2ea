"""The running node: its database, settings and identity, built once at start and handed to the routes."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from edge import carts, node_state, product_revisions, search_index
from edge.db import Database
from edge.resumable_download import Progress
from edge.settings import EdgeSettings
from edge.throttle import FailureThrottle, KeyedFailureThrottle, receipt_throttle
from plumbing import Clock, utcnow

if TYPE_CHECKING:  # numpy and the TFLite runtime load only where the app starts recognition
    from edge.recognition.service import Recognizer


@dataclass
class CloudLinkState:
    """What the node knows of its link to the cloud. Nothing sets it until sync runs: the node is offline."""

    connected: bool = False
    last_contact_at: datetime | None = None
    # Sent and not acknowledged: since when the oldest such batch waits, and how often batches were sent
    # again for want of an ack since the last one came (the cloud is slow, or its database is failing).
    waiting_for_ack_since: datetime | None = None
    resends: int = 0
    # A catalog snapshot being fetched and applied (``edge.sync_downlink.take_snapshot``): its progress.
    snapshot_download: Progress | None = None
    # Set by the sync agent while it runs: a change that queued something for the cloud (a sale, a return)
    # calls it, so the outbox drains now rather than at the agent's next tick.
    nudge: Callable[[], None] = field(default=lambda: None, repr=False)


@dataclass
class Node:
    settings: EdgeSettings
    db: Database
    device_id: str
    clock: Clock = utcnow
    cloud: CloudLinkState = field(default_factory=CloudLinkState)
    # Product recognition, started by the app's lifespan (``edge.recognition.service``); None elsewhere (the
    # CLI's short-lived nodes) or when recognition is off.
    recognizer: "Recognizer | None" = None
    # When this process opened the node (``time.monotonic``): its status tells the cloud the uptime.
    started: float = field(default_factory=time.monotonic)
    # Failed claims of hand-off codes and fetches of receipts with a wrong token, across the node: each
    # kind is refused for a while after a burst of failures (edge.throttle says why in memory).
    handoff_guesses: FailureThrottle = field(default_factory=lambda: FailureThrottle("hand-off claims"))
    receipt_guesses: KeyedFailureThrottle = field(default_factory=lambda: receipt_throttle())

    @classmethod
    def open(cls, settings: EdgeSettings, clock: Clock = utcnow) -> "Node":
        """Open (creating if needed) the node's database, migrate it, make sure the node has an id, and bring
        its search index up to date (rebuilt once after an upgrade changed how it is built), and its products'
        revisions kept (stamped once on a node upgraded to keep them)."""
        db = Database(
            settings.database_path,
            busy_timeout_ms=settings.sqlite_busy_timeout_ms,
            synchronous=settings.sqlite_synchronous,
        )
        db.migrate()
        with db.write() as conn:
            device_id, _ = node_state.ensure_identity(conn, settings.store_id, settings.device_id)
            search_index.ensure_current(conn)
            product_revisions.ensure_current(conn)
        return cls(settings=settings, db=db, device_id=device_id, clock=clock)

    def now(self) -> datetime:
        return self.clock()

    def prune_carts(self) -> int:
        """Delete carts left unsold longer than ``cart_idle_hours`` (``edge.carts.prune_idle``)."""
        with self.db.write() as conn:
            return carts.prune_idle(conn, self.now() - timedelta(hours=self.settings.cart_idle_hours))

    def uptime_s(self) -> int:
        """Whole seconds since the node was opened (monotonic: a clock set by NTP does not move it)."""
        return max(0, int(time.monotonic() - self.started))

    def close(self) -> None:
        self.db.dispose()
