"""The radio, through Google's bumble: the bridge's GATT server, and a client for ``edgestore ble``.

bumble is a whole Bluetooth host in Python, so the same code runs on a Pi's adapter (``hci-socket:0``,
BlueZ's kernel HCI socket, with bluetoothd kept off that adapter) and, with no radio at all, against
bumble's virtual controllers (``python -m bumble.apps.controllers tcp-server:_:P1 tcp-server:_:P2``: the
bridge on ``tcp-client:127.0.0.1:P1``, a client on ``...:P2``), which is how the tests and the demo run.

Advertisements carry the service's UUID and the device name (``edgestore`` unless set), nothing of a
shopper or the store's staff.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import cbor2
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device, Peer
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.hci import Address
from bumble.transport import open_transport

from edge.ble import operations
from edge.ble.bridge import PhoneBridge, PhoneSession, Request
from edge.ble.protocol import INFO_UUID, MAX_MTU, MTU_HINT, REQUEST_UUID, RESPONSE_UUID, SERVICE_UUID, Message

log = logging.getLogger(__name__)

SERVICE = UUID(str(SERVICE_UUID))
REQUEST = UUID(str(REQUEST_UUID))
RESPONSE = UUID(str(RESPONSE_UUID))
INFO = UUID(str(INFO_UUID))

MAX_PHONES = 8
"""Phones connected at once; the ninth is let go at once (a Pi's controller holds a handful of links)."""
IDLE_S = 300.0
"""A phone silent this long is let go: a link gives no sign of a phone that walked out or died."""
INFO_REFRESH_S = 10.0
QUEUED_ANSWERS = 8
DRAIN_S = 30.0
"""A phone whose link takes no packet for this long is let go (a slow link takes a page in well under a
second)."""
ADVERTISING_INTERVAL_MS = 100.0
"""A phone in the aisle finds the store within a few advertisements: 100 ms (bumble's default is 1 s), the
power of a mains-powered Pi being no concern."""


def advertising_data() -> bytes:
    return bytes(
        AdvertisingData(
            [
                (AdvertisingData.FLAGS, bytes([0x06])),  # LE general discoverable, no BR/EDR
                (AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS, bytes(SERVICE)),
            ]
        )
    )


def scan_response_data(name: str) -> bytes:
    return bytes(AdvertisingData([(AdvertisingData.COMPLETE_LOCAL_NAME, name.encode()[:29])]))


def static_address(seed: bytes) -> Address:
    """A random static address (the two top bits set, as the Core spec asks) made from ``seed``: the same
    on every start of the bridge, so a phone or ``edgestore ble call --address`` finds it again."""
    octets = bytearray(seed[:6])
    octets[0] |= 0xC0
    return Address(":".join(f"{b:02X}" for b in octets))


class _Phone:
    """One connected phone: its session, and a worker answering its requests one at a time."""

    def __init__(self, server: "BridgeServer", connection: Connection, session: PhoneSession) -> None:
        self.server, self.connection, self.session = server, connection, session
        # Bounded: the session already refuses a phone's fifth waiting request, so a full queue means a
        # phone flooding with repeats and bad chunks, whose extra answers are dropped.
        self.queue: asyncio.Queue[Request | Message] = asyncio.Queue(QUEUED_ANSWERS)
        self.task = asyncio.get_running_loop().create_task(self._work())

    def put(self, item: Request | Message) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            if isinstance(item, Request):
                self.session.abandon(item)

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                item = await asyncio.wait_for(self.queue.get(), IDLE_S)
            except TimeoutError:
                log.info("letting go of an idle phone")
                await self._let_go()
                return
            if isinstance(item, Request):
                item = await loop.run_in_executor(self.server.executor, self.session.answer, item)
            try:
                for chunk in self.session.frames(item, self.connection.att_mtu):
                    await self.server.device.notify_subscriber(self.connection, self.server.response, chunk)
                # Wait for the controller to take this answer's packets before the next: bumble queues
                # notifications without limit, in one queue for every phone, so a phone that reads slowly
                # (or not at all) would hold up the others' answers and grow the bridge's memory.
                await asyncio.wait_for(self._drained(), DRAIN_S)
            except TimeoutError:
                log.info("letting go of a phone that does not take its answers")
                await self._let_go()
                return
            except Exception:  # the link went away mid-answer: the phone asks again when it is back
                log.info("an answer was not delivered", exc_info=True)

    async def _drained(self) -> None:
        queue = self.server.device.host.get_data_packet_queue(self.connection.handle)
        if queue is not None:
            with contextlib.suppress(ValueError):  # the connection is gone: nothing left to wait for
                await queue.drain(self.connection.handle)

    async def _let_go(self) -> None:
        with contextlib.suppress(Exception):  # already gone: nothing to let go of
            await self.connection.disconnect()


class BridgeServer:
    """The GATT service on a bumble device; :meth:`run` serves until cancelled."""

    def __init__(
        self, bridge: PhoneBridge, transport: str, *, name: str = "edgestore", address: Address | None = None
    ) -> None:
        self.bridge, self.transport, self.name = bridge, transport, name
        self.address = address or Address.generate_static_address()
        self.executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ble-answer")
        self.phones: dict[int, _Phone] = {}
        self.info_value = cbor2.dumps({"protocol": 1})
        self.response: Characteristic[bytes] = Characteristic(
            RESPONSE, Characteristic.Properties.NOTIFY, Characteristic.READABLE, b""
        )
        self.request: Characteristic[bytes] = Characteristic(
            REQUEST,
            Characteristic.Properties.WRITE | Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
            Characteristic.WRITEABLE,
            CharacteristicValue(write=self._on_write),
        )
        self.info: Characteristic[bytes] = Characteristic(
            INFO,
            Characteristic.Properties.READ,
            Characteristic.READABLE,
            CharacteristicValue(read=lambda _connection: self.info_value),
        )
        self.device: Device
        self._tasks: set[asyncio.Task[None]] = set()

    def _spawn(self, work: Any) -> None:
        """Run ``work`` on the loop, holding the task so it is not collected half-way."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_write(self, connection: Connection, value: bytes) -> None:
        phone = self.phones.get(connection.handle)
        if phone is None:
            return
        got = phone.session.receive(bytes(value))
        if got is not None:
            phone.put(got)

    def _on_connection(self, connection: Connection) -> None:
        if len(self.phones) >= MAX_PHONES:
            self._spawn(connection.disconnect())
            return
        self.phones[connection.handle] = _Phone(self, connection, self.bridge.connect())
        connection.on(connection.EVENT_DISCONNECTION, lambda _reason: self._on_disconnection(connection))
        # Advertising stops when a phone connects: start it again so the next phone finds the store too,
        # unless the bridge is full (a phone would connect only to be let go).
        if len(self.phones) < MAX_PHONES:
            self._spawn(self._advertise())

    def _on_disconnection(self, connection: Connection) -> None:
        phone = self.phones.pop(connection.handle, None)
        if phone is not None:
            phone.task.cancel()
        self._spawn(self._advertise())

    async def _advertise(self) -> None:
        if not self.device.is_advertising:
            try:
                await self.device.start_advertising(
                    auto_restart=False,
                    advertising_interval_min=ADVERTISING_INTERVAL_MS,
                    advertising_interval_max=ADVERTISING_INTERVAL_MS,
                )
            except Exception:  # the controller may refuse while it sets up a link: the next event retries
                log.debug("advertising not restarted", exc_info=True)

    async def _refresh_info(self) -> None:
        try:
            info = await asyncio.get_running_loop().run_in_executor(
                self.executor, operations.store_info, self.bridge.node
            )
            self.info_value = cbor2.dumps(info)
        except Exception:  # the node is away: the last info stands, and phones' requests say so
            log.debug("store info not refreshed", exc_info=True)

    async def _keep_info_fresh(self) -> None:
        while True:
            await asyncio.sleep(INFO_REFRESH_S)
            await self._refresh_info()

    async def run(self, ready: Callable[[str], None] | None = None) -> None:
        async with await open_transport(self.transport) as hci:
            self.device = Device.with_hci(self.name, self.address, hci.source, hci.sink)
            self.device.gatt_server.max_mtu = MAX_MTU
            self.device.add_service(Service(SERVICE, [self.request, self.response, self.info]))
            self.device.advertising_data = advertising_data()
            self.device.scan_response_data = scan_response_data(self.name)
            self.device.on(self.device.EVENT_CONNECTION, self._on_connection)
            await self.device.power_on()
            await (
                self._refresh_info()
            )  # the info characteristic is the store's before the first phone reads it
            refresh = asyncio.get_running_loop().create_task(self._keep_info_fresh())
            await self._advertise()
            if ready is not None:
                ready(
                    str(
                        self.device.public_address
                        if self.device.public_address != Address.ANY
                        else self.device.random_address
                    )
                )
            try:
                await asyncio.get_running_loop().create_future()
            finally:
                refresh.cancel()
                self.executor.shutdown(wait=False, cancel_futures=True)


# the client side


@dataclass(frozen=True)
class Found:
    address: str
    name: str | None
    rssi: int


async def scan(transport: str, seconds: float = 3.0, *, first: bool = False) -> list[Found]:
    """Store nodes advertising the service within ``seconds`` (only the first with ``first``)."""
    async with await open_transport(transport) as hci:
        device = Device.with_hci("edgestore-scan", Address.generate_static_address(), hci.source, hci.sink)
        await device.power_on()
        return await _scan(device, seconds, first=first)


async def _scan(device: Device, seconds: float, *, first: bool) -> list[Found]:
    found: dict[str, Found] = {}
    done = asyncio.Event()

    def on_advertisement(advertisement: Any) -> None:
        services = advertisement.data.get(AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS) or []
        address = str(advertisement.address)
        name = advertisement.data.get(AdvertisingData.COMPLETE_LOCAL_NAME)
        if SERVICE in services or (address in found and name):
            known = found.get(address)
            found[address] = Found(address, name or (known.name if known else None), advertisement.rssi)
            if first:
                done.set()

    device.on(device.EVENT_ADVERTISEMENT, on_advertisement)
    await device.start_scanning(filter_duplicates=False)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), seconds)
    await device.stop_scanning()
    return sorted(found.values(), key=lambda f: -f.rssi)


class BumbleLink:
    """A client's connection to a bridge, on its own bumble device (``client.Link``)."""

    def __init__(self, device: Device, connection: Connection, peer: Peer, request: Any, info: Any) -> None:
        self.device, self.connection, self.peer = device, connection, peer
        self._request, self._info = request, info
        self.on_chunk: Callable[[bytes], None] = lambda _chunk: None

    @property
    def mtu(self) -> int:
        return int(self.connection.att_mtu)

    async def write(self, chunk: bytes) -> None:
        # Without response: the link layer already acknowledges each packet, and the protocol's own
        # checksums and retries cover the rest, at twice the rate of writes that wait for a response.
        await self.peer.write_value(self._request, chunk, with_response=False)

    async def read_info(self) -> bytes:
        return bytes(await self.peer.read_value(self._info))

    async def close(self) -> None:
        try:
            await self.connection.disconnect()
        except Exception:
            log.debug("disconnect failed", exc_info=True)


async def connect(
    device: Device, address: str | None = None, *, mtu: int = MTU_HINT, seconds: float = 5.0
) -> BumbleLink:
    """Connect to the bridge at ``address`` (or the first one advertising), ask for ``mtu``, find the
    service and subscribe to its answers."""
    if address is None:
        nearest = await _scan(device, seconds, first=True)
        if not nearest:
            raise TimeoutError(f"no store node advertising within {seconds} s")
        address = nearest[0].address
    connection = await asyncio.wait_for(device.connect(Address(address)), seconds)
    peer = Peer(connection)
    await peer.request_mtu(mtu)
    await peer.discover_services([SERVICE])
    await peer.discover_characteristics()
    request = peer.get_characteristics_by_uuid(REQUEST)[0]
    response = peer.get_characteristics_by_uuid(RESPONSE)[0]
    info = peer.get_characteristics_by_uuid(INFO)[0]
    link = BumbleLink(device, connection, peer, request, info)
    await peer.subscribe(response, lambda value: link.on_chunk(bytes(value)))
    return link
