"""One phone's connection to the bridge, transport-independent: chunks in, requests answered, chunks out.

The GATT server (``bumble_link``) feeds each write to :meth:`PhoneSession.receive` and notifies the chunks
of each answer; tests drive the same class with chunks in memory. Answering calls the node (blocking, over
HTTP): the link runs :meth:`PhoneSession.answer` off its event loop, one request of a phone at a time.

What a phone can do is bounded here: the operations of ``operations.HANDLERS`` and nothing else; a request
of at most ``MAX_REQUEST_BYTES`` (``MAX_REQUEST_BODY`` once inflated); ``rate`` answers a second with
bursts of ``burst``; ``max_waiting`` requests waiting for an answer; writes at the node bounded across all
phones. Input that breaks any of it is answered
with an error message and the connection goes on.
"""

import logging
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from edge.ble import operations
from edge.ble.cart_tokens import CartTokens
from edge.ble.node_api import BridgeNodeApi
from edge.ble.protocol import (
    MAX_CHUNKS,
    MAX_REQUEST_BODY,
    MAX_REQUEST_BYTES,
    Message,
    Op,
    ProtocolError,
    Reassembler,
    Status,
    decode_message,
    error_message,
    frames,
)
from node_client import (
    Busy,
    Conflict,
    Invalid,
    NodeClientError,
    NodeError,
    NodeUnreachable,
    NotFound,
    TooLarge,
    TooMany,
)

log = logging.getLogger(__name__)

REMEMBERED_ANSWERS: Final = 16
"""Answers kept per phone for repeats: a phone that lost an answer asks again with the same message id and
gets it from here, so creating a cart or a hand-off code is done once however often it asks."""


@dataclass(frozen=True)
class Limits:
    max_request_bytes: int = MAX_REQUEST_BYTES
    max_request_body: int = MAX_REQUEST_BODY
    rate: float = 10.0  # answers a second per phone, sustained: requests, repeats and error messages alike
    burst: int = 30
    max_waiting: int = 4
    reassembly_timeout: float = 10.0
    # Writes at the node (a cart made or changed, a hand-off) across all phones: a phone reconnecting for a
    # fresh burst, or eight phones together, cannot crowd the kiosks' checkouts off SQLite's write lock.
    write_rate: float = 20.0
    write_burst: int = 40


@dataclass(frozen=True)
class Request:
    """A whole request, to be answered by :meth:`PhoneSession.answer`."""

    message: Message
    key: tuple[int, int]  # (messageId, CRC-32 of its bytes): a repeat has the same


class _Bucket:
    """A token bucket: ``rate`` a second, at most ``burst`` saved up."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate, self.burst, self.tokens, self.at = rate, burst, float(burst), now

    def take(self, now: float) -> float:
        """0 if one more may go now (and it is counted), else the seconds until one may."""
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class PhoneBridge:
    """What every connection shares: the node, the cart tokens' key, the limits and the clock."""

    node: BridgeNodeApi
    carts: CartTokens
    clock: Callable[[], float]
    limits: Limits = field(default_factory=Limits)
    writes: _Bucket = field(init=False)

    def __post_init__(self) -> None:
        self.writes = _Bucket(self.limits.write_rate, self.limits.write_burst, self.clock())

    def connect(self) -> "PhoneSession":
        return PhoneSession(self)


class PhoneSession:
    def __init__(self, bridge: PhoneBridge) -> None:
        self.bridge = bridge
        limits = bridge.limits
        self._context = operations.Context(bridge.node, bridge.carts)
        self._chunks = Reassembler(
            max_bytes=limits.max_request_bytes, timeout=limits.reassembly_timeout, clock=bridge.clock
        )
        self._bucket = _Bucket(limits.rate, limits.burst, bridge.clock())
        self._answers: OrderedDict[tuple[int, int], Message] = OrderedDict()
        self._waiting: set[tuple[int, int]] = set()
        self._told = False  # the phone was told it is over its rate and has not been answered since

    def receive(self, chunk: bytes) -> Message | Request | None:
        """Take one chunk: an answer to send at once (an error, or a repeat answered from memory), a request
        to answer, or None (more chunks to come, a repeat of a request being answered, or a phone over its
        rate that was told so already).

        Everything that gets an answer, errors and repeats included, is paid for from the phone's bucket
        first: a write of a few bytes can ask for a page of notifications, and a phone must not turn that
        into a flood."""
        try:
            assembled = self._chunks.feed(chunk)
        except ProtocolError as error:
            paid, limited = self._pay(error.message_id or 0, 0)
            return error_message(error.message_id or 0, 0, error) if paid else limited
        if assembled is None:
            return None
        key = (assembled.message_id, zlib.crc32(assembled.data))
        if key in self._waiting:
            return None
        op = assembled.data[0] if assembled.data else 0
        paid, limited = self._pay(assembled.message_id, op)
        if not paid:
            return limited
        if (answer := self._answers.get(key)) is not None:
            return answer
        try:
            message = decode_message(
                assembled.message_id, assembled.data, max_body=self.bridge.limits.max_request_body
            )
            self._admit(message)
        except ProtocolError as error:
            return error_message(assembled.message_id, op, error)
        self._waiting.add(key)
        return Request(message, key)

    def _pay(self, message_id: int, op: int) -> tuple[bool, Message | None]:
        """Whether the phone's bucket pays for one more answer; if not, ``RATE_LIMITED`` to send the first
        time, and nothing after that until the bucket pays again."""
        wait = self._bucket.take(self.bridge.clock())
        if not wait:
            self._told = False
            return True, None
        if self._told:
            return False, None
        self._told = True
        limited = ProtocolError(
            Status.RATE_LIMITED,
            "tooManyRequests",
            "too many requests on this connection",
            retryAfterMs=max(1, round(wait * 1000)),
        )
        return False, error_message(message_id, op, limited)

    def _admit(self, message: Message) -> None:
        if message.op not in operations.HANDLERS:
            raise ProtocolError(
                Status.UNKNOWN_OPERATION, "unknownOperation", f"no operation 0x{message.op:02x}"
            )
        if len(self._waiting) >= self.bridge.limits.max_waiting:
            raise ProtocolError(
                Status.RATE_LIMITED,
                "tooManyWaiting",
                f"at most {self.bridge.limits.max_waiting} requests may wait for an answer",
                retryAfterMs=500,
            )
        if message.op in operations.WRITES and (wait := self.bridge.writes.take(self.bridge.clock())):
            raise ProtocolError(
                Status.RATE_LIMITED,
                "tooManyWrites",
                "the store is busy: try again in a moment",
                retryAfterMs=max(1, round(wait * 1000)),
            )

    def answer(self, request: Request) -> Message:
        """Do what the request asks (calling the node: blocking) and remember the answer for repeats."""
        message = request.message
        try:
            body = operations.HANDLERS[Op(message.op)](self._context, message.body)
            answer = Message(message.message_id, message.op, Status.OK, body)
        except ProtocolError as error:
            answer = error_message(message.message_id, message.op, error)
        except NodeClientError as refused:
            answer = error_message(message.message_id, message.op, _from_node(refused))
        except Exception:  # a bug must not end the phone's session: it gets an error and can go on
            log.exception("operation %s failed", message.op)
            answer = error_message(
                message.message_id,
                message.op,
                ProtocolError(Status.INTERNAL, "internalError", "the bridge failed to answer"),
            )
        # Remembered before it stops waiting (this runs on a worker thread, ``receive`` on the link's): a
        # repeat arriving in between finds one or the other, never neither, so it is never done twice.
        if answer.status not in _TRY_AGAIN:  # those are not remembered: asked again, tried again
            self._answers[request.key] = answer
            while len(self._answers) > REMEMBERED_ANSWERS:
                self._answers.popitem(last=False)
        self._waiting.discard(request.key)
        return answer

    def abandon(self, request: Request) -> None:
        """The request will not be answered (the link dropped it): a repeat of it is a new request."""
        self._waiting.discard(request.key)

    def frames(self, message: Message, mtu: int) -> list[bytes]:
        """The answer's chunks at the link's MTU; an answer too big for the chunk count at this MTU is
        ``answerTooLarge`` instead (the phone asks for less: a smaller page)."""
        try:
            return frames(message, mtu)
        except ValueError:
            too_large = ProtocolError(
                Status.TOO_LARGE,
                "answerTooLarge",
                f"the answer needs more than {MAX_CHUNKS} chunks at MTU {mtu}",
            )
            return frames(error_message(message.message_id, message.op, too_large), mtu)


_TRY_AGAIN: Final = frozenset({Status.UNAVAILABLE, Status.RATE_LIMITED})

_FAMILIES: Final[tuple[tuple[type[NodeError], Status], ...]] = (
    (NotFound, Status.NOT_FOUND),
    (Conflict, Status.CONFLICT),
    (Invalid, Status.BAD_REQUEST),
    (TooLarge, Status.TOO_LARGE),
    (TooMany, Status.RATE_LIMITED),
    (Busy, Status.UNAVAILABLE),
)


def _from_node(refused: NodeClientError) -> ProtocolError:
    """The node's refusal in the protocol's terms: its family as the status, its code and details kept (a
    shopper's app shows ``insufficientStock`` with ``available`` as the kiosk does)."""
    if isinstance(refused, NodeUnreachable):
        return ProtocolError(Status.UNAVAILABLE, "nodeUnreachable", "the store node does not answer")
    if isinstance(refused, NodeError):
        for family, status in _FAMILIES:
            if isinstance(refused, family):
                details = dict(refused.details)
                if refused.retry_after is not None:
                    details["retryAfterMs"] = round(refused.retry_after * 1000)
                return ProtocolError(status, refused.code, refused.message, **details)
    log.warning("the node answered the bridge unexpectedly: %s", refused)
    return ProtocolError(Status.INTERNAL, "nodeError", "the store node answered unexpectedly")
