"""A link in memory between a ``PhoneClient`` and a ``PhoneSession``, which can lose, repeat and reorder
chunks in both directions (seeded): the protocol's core under a bad link, with no radio. The session's
answers call the real node, off the event loop as the GATT server runs them."""

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from edge.ble.bridge import PhoneSession, Request
from edge.ble.protocol import Message


@dataclass
class Weather:
    loss: float = 0.0
    duplication: float = 0.0
    jitter_s: float = 0.0  # chunks delayed up to this long, so they overtake one another
    seed: int = 0
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def copies(self) -> int:
        if self.rng.random() < self.loss:
            return 0
        return 2 if self.rng.random() < self.duplication else 1


class MemoryLink:
    def __init__(self, session: PhoneSession, *, mtu: int = 247, weather: Weather | None = None) -> None:
        self.session, self._mtu, self.weather = session, mtu, weather or Weather()
        self.on_chunk: Callable[[bytes], None] = lambda _chunk: None
        self._tasks: set[asyncio.Task[None]] = set()
        self.info = b""

    @property
    def mtu(self) -> int:
        return self._mtu

    def _later(self, action: Callable[[], None]) -> None:
        delay = self.weather.rng.uniform(0, self.weather.jitter_s) if self.weather.jitter_s else 0
        asyncio.get_running_loop().call_later(delay, action)

    async def write(self, chunk: bytes) -> None:
        for _ in range(self.weather.copies()):
            self._later(lambda: self._to_bridge(chunk))

    def _to_bridge(self, chunk: bytes) -> None:
        got = self.session.receive(chunk)
        if isinstance(got, Message):
            self._to_phone(got)
        elif isinstance(got, Request):
            task = asyncio.get_running_loop().create_task(self._answer(got))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _answer(self, request: Request) -> None:
        self._to_phone(await asyncio.to_thread(self.session.answer, request))

    def _to_phone(self, message: Message) -> None:
        for chunk in self.session.frames(message, self._mtu):
            for _ in range(self.weather.copies()):
                self._later(lambda c=chunk: self.on_chunk(c))

    async def read_info(self) -> bytes:
        return self.info

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
