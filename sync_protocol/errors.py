"""Every exception the sync protocol's pure core raises, in one place.

Callers catch ``SyncProtocolError`` to handle them all. ``MessageRejected`` is the one the cloud and the
store node meet most: its ``reason`` is what a dead-letter record stores, so it is a closed set of codes.
"""

from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only for annotations: envelope imports this module
    from sync_protocol.envelope import Batch
    from sync_protocol.hlc import HLC


class SyncProtocolError(Exception):
    """Base of every error raised by ``sync_protocol``."""


class InvalidHLC(SyncProtocolError, ValueError):
    """A hybrid logical clock value that is out of range, or a string that is not an encoded one.

    A ``ValueError`` too, so pydantic reports it as a validation error when a model field holds an HLC.
    """


class ClockDriftExceeded(SyncProtocolError):
    """A remote clock is further ahead of ours than we tolerate.

    Taking such a timestamp would drag our hybrid clock (and every stamp we make afterwards) into the future,
    where it would win every tie against honest clocks; refusing it keeps one bad clock from doing that.
    """

    def __init__(self, remote: "HLC", now_ms: int, max_drift_ms: int) -> None:
        ahead = remote.wall_ms - now_ms
        super().__init__(
            f"remote clock of {remote.node} is {ahead} ms ahead of ours (at most {max_drift_ms} ms allowed)"
        )
        self.remote = remote
        self.now_ms = now_ms
        self.max_drift_ms = max_drift_ms
        self.ahead_ms = ahead


class InvalidTopic(SyncProtocolError, ValueError):
    """A topic name (or an id meant for one) that is not one of ours: wrong shape, wildcard, bad id."""


class RejectReason(StrEnum):
    """Why a message was refused; stored with the dead-letter record, so the values never change."""

    OVERSIZED = "oversized"  # more bytes than allowed; nothing was parsed
    MALFORMED = "malformed"  # not UTF-8 JSON, nested too deep, or not the message's schema
    UNKNOWN_VERSION = "unknownVersion"  # a schemaVersion this code does not speak
    INCONSISTENT = "inconsistent"  # a batch that mixes stores/devices/streams or whose seqs do not follow
    BAD_PAYLOAD = "badPayload"  # the envelope is fine but its payload is not what its stream carries
    UNAUTHORISED = "unauthorised"  # the message claims a store or device other than the topic it came on
    FOREIGN_REFERENCE = "foreignReference"  # a record names what is not the sender's: another store's order,
    # another seller's variant, a child id of another order (``sync_protocol.record_checks``)
    BAD_AMOUNTS = "badAmounts"  # a record whose money or units do not add up (total, payments, sign)
    APPLY_FAILED = "applyFailed"  # a record the receiver could not apply for a reason no retry will change


class MessageRejected(SyncProtocolError):
    """A message the receiver will not apply. The cloud dead-letters it with ``reason``.

    ``seqs`` names the offending messages when they could be read (a bad payload), and ``batch`` is the
    decoded batch when the envelope itself was sound, so the receiver can still dead-letter per message.
    """

    def __init__(
        self,
        reason: RejectReason,
        detail: str,
        *,
        seqs: tuple[int, ...] = (),
        batch: "Batch | None" = None,
    ) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.seqs = seqs
        self.batch = batch
