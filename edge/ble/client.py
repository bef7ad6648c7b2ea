"""The phone's side of the protocol, over any link: a request is sent as chunks, its answer put together
from notifications; an answer that stops coming is asked for again (the same message id, so the bridge
answers from memory rather than doing the work twice), and a busy or rate-limited bridge is waited for.

A link gives no sign that the other side is gone (killing the bridge leaves the phone's connection looking
open), so every call has its own timeout: ``timeout`` seconds without a chunk of the answer.
"""

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

import cbor2

from edge.ble.protocol import (
    MAX_RESPONSE_BYTES,
    Message,
    Op,
    ProtocolError,
    Reassembler,
    Status,
    decode_message,
    encode_message,
    split,
)


class Link(Protocol):
    """A connection to the bridge's GATT service: writes to its request characteristic, notifications of
    its response characteristic handed to ``on_chunk``."""

    on_chunk: Callable[[bytes], None]

    @property
    def mtu(self) -> int: ...

    async def write(self, chunk: bytes) -> None: ...

    async def read_info(self) -> bytes: ...

    async def close(self) -> None: ...


class CallFailed(Exception):
    """The bridge answered with an error (``status``, ``code``, ``details``), or never answered."""

    def __init__(self, status: Status | None, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message, self.details = status, code, message, details


class PhoneClient:
    def __init__(
        self,
        link: Link,
        *,
        timeout: float = 5.0,
        attempts: int = 4,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.link = link
        self.timeout, self.attempts = timeout, attempts
        loop_clock = clock or asyncio.get_running_loop().time
        self._chunks = Reassembler(max_bytes=MAX_RESPONSE_BYTES, max_pending=8, timeout=60, clock=loop_clock)
        self._next_id = 1
        self._waiting: dict[int, asyncio.Queue[Message | None]] = {}
        self.sent_bytes = 0  # ATT values written, for the benchmark's bytes on the air
        self.received_bytes = 0
        link.on_chunk = self._received

    def _received(self, chunk: bytes) -> None:
        self.received_bytes += len(chunk)
        try:
            assembled = self._chunks.feed(chunk)
        except ProtocolError:
            return  # a broken answer: the call times out and asks again
        queue = self._waiting.get(assembled.message_id) if assembled else None
        if assembled is None:
            queue = self._waiting.get(int.from_bytes(chunk[1:3], "little")) if len(chunk) >= 3 else None
            if queue is not None:
                queue.put_nowait(None)  # progress: the answer is coming
            return
        if queue is None:
            return  # an answer nobody waits for (a repeat's, after the first came)
        try:
            queue.put_nowait(
                decode_message(assembled.message_id, assembled.data, max_body=MAX_RESPONSE_BYTES)
            )
        except ProtocolError:
            return

    async def call(self, op: Op | int, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """The answer's body; ``CallFailed`` when the bridge refused or never answered."""
        answer = await self.exchange(op, body or {})
        if answer.status != Status.OK:
            raise CallFailed(
                _status(answer.status),
                str(answer.body.get("code", "unknown")),
                str(answer.body.get("message", "")),
                {k: v for k, v in answer.body.items() if k not in ("code", "message")},
            )
        return answer.body

    async def exchange(self, op: Op | int, body: dict[str, Any]) -> Message:
        """Send a request and wait for its answer (any status), asking again as the answer fails to come."""
        message_id = self._next_id
        self._next_id = self._next_id % 0xFFFF + 1
        chunks = split(message_id, encode_message(int(op), 0, body), self.link.mtu)
        queue: asyncio.Queue[Message | None] = asyncio.Queue()
        self._waiting[message_id] = queue
        try:
            for attempt in range(self.attempts):
                for chunk in chunks:
                    await self.link.write(chunk)
                    self.sent_bytes += len(chunk)
                answer = await self._await(queue)
                if answer is None:
                    continue
                retry_after = _retry_after(answer)
                if retry_after is None or attempt + 1 == self.attempts:
                    return answer
                await asyncio.sleep(retry_after)
                chunks = split(message_id, encode_message(int(op), 0, body), self.link.mtu)
            raise CallFailed(None, "noAnswer", f"no answer after {self.attempts} attempts", {})
        finally:
            del self._waiting[message_id]

    async def _await(self, queue: asyncio.Queue[Message | None]) -> Message | None:
        """The answer, or None once ``timeout`` seconds pass with no chunk of it."""
        while True:
            try:
                got = await asyncio.wait_for(queue.get(), self.timeout)
            except TimeoutError:
                return None
            if got is not None:
                return got

    async def info(self) -> dict[str, Any]:
        """The info characteristic, read (not a request: it works before anything else)."""
        value = cbor2.loads(await self.link.read_info())
        if not isinstance(value, dict):
            raise CallFailed(None, "badInfo", "the info characteristic is not a CBOR map", {})
        return value


def _status(value: int) -> Status | None:
    try:
        return Status(value)
    except ValueError:
        return None


def _retry_after(answer: Message) -> float | None:
    """Seconds to wait before asking again, for an answer that says to; None for one to return."""
    if answer.status in (Status.RATE_LIMITED, Status.UNAVAILABLE):
        return min(5.0, int(answer.body.get("retryAfterMs", 500)) / 1000)
    if answer.status == Status.BAD_FRAME and answer.body.get("code") == "badChecksum":
        return 0.0  # the request was damaged on the way: send it again
    return None
