"""The client side on this machine's own Bluetooth adapter, through bleak (BlueZ over D-Bus on Linux,
CoreBluetooth on a Mac, WinRT on Windows): what ``edgestore ble scan`` and ``call`` use without
``--transport``. Not run here (this machine has no adapter): the same ``PhoneClient`` runs over bumble in
the tests, and this module only moves chunks."""

import contextlib
from collections.abc import Callable

from bleak import BleakClient, BleakScanner

from edge.ble.protocol import INFO_UUID, REQUEST_UUID, RESPONSE_UUID, SERVICE_UUID


async def scan(seconds: float) -> list[tuple[str, str | None, int]]:
    """Store nodes advertising the service: (address, name, RSSI), the strongest first."""
    found = await BleakScanner.discover(seconds, return_adv=True, service_uuids=[str(SERVICE_UUID)])
    nodes = [(device.address, adv.local_name, adv.rssi) for device, adv in found.values()]
    return sorted(nodes, key=lambda node: -node[2])


class BleakLink:
    def __init__(self, client: BleakClient) -> None:
        self.client = client
        self.on_chunk: Callable[[bytes], None] = lambda _chunk: None

    @property
    def mtu(self) -> int:
        return int(self.client.mtu_size)

    async def write(self, chunk: bytes) -> None:
        await self.client.write_gatt_char(str(REQUEST_UUID), chunk, response=False)

    async def read_info(self) -> bytes:
        return bytes(await self.client.read_gatt_char(str(INFO_UUID)))

    async def close(self) -> None:
        await self.client.disconnect()


async def connect(address: str | None, *, seconds: float = 5.0) -> BleakLink:
    """Connect to ``address``, or the nearest store node, and subscribe to its answers."""
    if address is None:
        nearest = await scan(seconds)
        if not nearest:
            raise TimeoutError(f"no store node advertising within {seconds} s")
        address = nearest[0][0]
    client = BleakClient(address, timeout=seconds)
    await client.connect()
    # On BlueZ, bleak reports the minimum MTU (23) until it asks for the negotiated one: ask, so chunks use
    # the link's real size. (Other platforms know it from the start; the method is BlueZ's alone.)
    acquire = getattr(getattr(client, "_backend", None), "_acquire_mtu", None)
    if acquire is not None:
        with contextlib.suppress(Exception):
            await acquire()
    link = BleakLink(client)
    await client.start_notify(str(RESPONSE_UUID), lambda _sender, data: link.on_chunk(bytes(data)))
    return link
