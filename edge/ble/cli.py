"""``edgestore ble``: the phone bridge (``serve``), and a phone's side for field staff and laptops
(``scan``, ``call``): bumble with ``--transport``, else bleak on this machine's adapter."""

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from edge.ble.protocol import OPS_BY_NAME, Op

app = typer.Typer(help="Shoppers' phones over Bluetooth LE (docs/ble-protocol.md).", no_args_is_help=True)

Transport = Annotated[
    str | None,
    typer.Option(
        help="bumble's HCI transport: hci-socket:0 (a Pi's adapter), usb:0, tcp-client:HOST:PORT (a virtual "
        "controller); without it, scan and call use bleak on this machine's adapter"
    ),
]


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"edgestore ble: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def serve(
    transport: Transport = None,
    edge_url: Annotated[
        str | None, typer.Option(help="The store node's API [default http://127.0.0.1:8080]")
    ] = None,
    name: Annotated[str | None, typer.Option(help="The name phones see [default edgestore]")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Where the cart tokens' key is kept")] = None,
) -> None:
    """The GATT server: phones browse, make a cart, hand it to the kiosk and fetch receipts; every answer
    comes from the node's API."""
    from edge.ble.bridge import PhoneBridge
    from edge.ble.bumble_link import BridgeServer, static_address
    from edge.ble.cart_tokens import CartTokens
    from edge.ble.settings import BleSettings
    from node_client import NodeClient

    given = {"ble_transport": transport, "ble_edge_url": edge_url, "ble_name": name, "data_dir": data_dir}
    settings = BleSettings(**{k: v for k, v in given.items() if v is not None})  # type: ignore[arg-type]
    with NodeClient(settings.ble_edge_url) as node:
        tokens = CartTokens.from_file(settings.key_file)
        bridge = PhoneBridge(node, tokens, time.monotonic)
        server = BridgeServer(
            bridge,
            settings.ble_transport,
            name=settings.ble_name,
            address=static_address(tokens.derive("address")),
        )

        def ready(address: str) -> None:
            typer.echo(
                f"edgestore ble: serving {settings.ble_edge_url} to phones as {settings.ble_name!r} "
                f"({address}) on {settings.ble_transport}",
                err=True,
            )

        try:
            asyncio.run(server.run(ready))
        except KeyboardInterrupt:
            pass
        except OSError as exc:
            _fail(f"cannot open {settings.ble_transport}: {exc}")


@app.command()
def scan(
    transport: Transport = None,
    seconds: Annotated[float, typer.Option(help="How long to listen")] = 3.0,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document")] = False,
) -> None:
    """Store nodes in reach: address, name, signal."""
    if transport:
        from edge.ble.bumble_link import scan as bumble_scan

        found = [(f.address, f.name, f.rssi) for f in asyncio.run(bumble_scan(transport, seconds))]
    else:
        from edge.ble.bleak_link import scan as bleak_scan

        found = asyncio.run(bleak_scan(seconds))
    if as_json:
        typer.echo(
            json.dumps([{"address": a, "name": n, "rssi": r} for a, n, r in found], ensure_ascii=False)
        )
        return
    if not found:
        typer.echo("no store node in reach")
        raise typer.Exit(1)
    for address, found_name, rssi in found:
        typer.echo(f"{address}  {found_name or '-'}  {rssi} dBm")


@app.command()
def call(
    operation: Annotated[str, typer.Argument(help=f"One of: {', '.join(OPS_BY_NAME)}")],
    body: Annotated[
        str, typer.Option(help='The request as JSON, e.g. \'{"productId": "p1"}\'; bytes (cartToken) as hex')
    ] = "{}",
    transport: Transport = None,
    address: Annotated[
        str | None, typer.Option(help="The node's Bluetooth address [default: the nearest]")
    ] = None,
    mtu: Annotated[int, typer.Option(min=23, max=517, help="The ATT MTU to ask for")] = 247,
    timeout: Annotated[float, typer.Option(help="Seconds without an answer before asking again")] = 5.0,
) -> None:
    """Send one request and print the answer as JSON (a hand-off's QR drawn in the terminal)."""
    op = OPS_BY_NAME.get(operation)
    if op is None:
        _fail(f"no operation {operation!r}; one of: {', '.join(OPS_BY_NAME)}")
    try:
        request = _from_json(json.loads(body))
    except ValueError as exc:
        _fail(f"--body is not a JSON object: {exc}")
    if not isinstance(request, dict):
        _fail("--body is not a JSON object")
    from edge.ble.client import CallFailed

    try:
        answer = asyncio.run(_call(op, request, transport, address, mtu, timeout))
    except CallFailed as refused:
        typer.echo(
            json.dumps(
                {"error": {"code": refused.code, "message": refused.message, **_to_json(refused.details)}},
                ensure_ascii=False,
            )
        )
        raise typer.Exit(1) from None
    except TimeoutError as exc:
        _fail(str(exc) or "no answer")
    typer.echo(json.dumps(_to_json(answer), ensure_ascii=False, indent=2))
    if op is Op.HANDOFF and sys.stdout.isatty():
        _draw_qr(str(answer.get("qr", "")))


async def _call(
    op: Op, request: dict[str, Any], transport: str | None, address: str | None, mtu: int, timeout: float
) -> dict[str, Any]:
    from edge.ble.client import PhoneClient

    if transport:
        from bumble.device import Device
        from bumble.hci import Address
        from bumble.transport import open_transport

        from edge.ble.bumble_link import connect

        async with await open_transport(transport) as hci:
            device = Device.with_hci(
                "edgestore-call", Address.generate_static_address(), hci.source, hci.sink
            )
            await device.power_on()
            link = await connect(device, address, mtu=mtu)
            try:
                return await PhoneClient(link, timeout=timeout).call(op, request)
            finally:
                await link.close()
    from edge.ble.bleak_link import connect as bleak_connect

    on_adapter = await bleak_connect(address, seconds=timeout)
    try:
        return await PhoneClient(on_adapter, timeout=timeout).call(op, request)
    finally:
        await on_adapter.close()


def _from_json(value: Any) -> Any:
    """JSON to a request body: ``cartToken`` given as hex becomes the bytes it is on the wire."""
    if isinstance(value, dict):
        return {
            k: bytes.fromhex(v) if k == "cartToken" and isinstance(v, str) else _from_json(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


def _to_json(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_json(v) for v in value]
    return value


def _draw_qr(text: str) -> None:
    try:
        import segno
    except ImportError:  # the ble extra brings it; without it the code above is enough
        return
    segno.make(text, error="m").terminal(compact=True)
