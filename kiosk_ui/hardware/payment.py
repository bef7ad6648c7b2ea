"""The card / mobile-pay terminal beside the screen.

The kiosk asks the terminal to charge, and only after an approval asks the node to check out (with an
idempotency key, so a retry cannot sell twice). When the checkout fails after an approval, the kiosk voids
the charge: a shopper is never charged for a sale the node did not record.

``SimulatedTerminal`` stands in for the real one in the demo and the tests: it plays a script of outcomes
(approve, decline, time out, cancel) with a delay, and can be cancelled from the screen while it waits.
A real terminal (ECR protocols of Taiwan's acquirers) implements the same ``PaymentTerminal``.
"""

import itertools
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from models.ids import new_id


class Outcome(StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    TIMED_OUT = "timedOut"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class TerminalResult:
    outcome: Outcome
    amount: int
    reference: str | None = None  # the acquirer's reference of an approval, needed to void it

    @property
    def approved(self) -> bool:
        return self.outcome is Outcome.APPROVED


class PaymentTerminal(Protocol):
    def charge(self, amount: int) -> TerminalResult:
        """Ask the shopper to tap or insert; blocks until approved, declined, timed out or cancelled (call
        it off the UI thread)."""
        ...

    def cancel(self) -> None:
        """Stop a charge that is waiting for the shopper (the screen's cancel button)."""
        ...

    def void(self, reference: str) -> None:
        """Undo an approved charge the sale could not follow."""
        ...


@dataclass
class SimulatedTerminal:
    """Plays ``script`` in turn (then approves), each after ``delay_s``; records what it did."""

    script: Iterable[Outcome] = ()
    delay_s: float = 0.0
    charges: list[TerminalResult] = field(default_factory=list)
    voided: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._next = itertools.chain(self.script, itertools.repeat(Outcome.APPROVED))
        self._cancelled = threading.Event()

    def charge(self, amount: int) -> TerminalResult:
        if amount <= 0:
            raise ValueError(f"a terminal charges a positive amount, not {amount}")
        self._cancelled.clear()
        outcome = next(self._next)
        if self._cancelled.wait(self.delay_s):
            outcome = Outcome.CANCELLED
        result = TerminalResult(outcome, amount, f"SIM-{new_id()}" if outcome is Outcome.APPROVED else None)
        self.charges.append(result)
        return result

    def cancel(self) -> None:
        self._cancelled.set()

    def void(self, reference: str) -> None:
        self.voided.append(reference)
