"""The demo's phones over Bluetooth LE: bumble's virtual controllers and the phone bridge
(``edgestore ble serve``) against the demo's node, each a process of its own, so ``edgestore ble`` on this
machine plays the shopper's phone with no radio. Only when the ``ble`` extra (bumble) is installed."""

import importlib.util
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from edge.ble.virtual_radio import VirtualRadio
from plumbing import stop_process

START_S = 30.0


@dataclass
class DemoPhoneBridge:
    radio: VirtualRadio
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        stop_process(self.process)
        self.radio.stop()


def start_phone_bridge(edge_url: str, data_dir: Path) -> "DemoPhoneBridge | str":
    """The running bridge, or why it is not running."""
    if importlib.util.find_spec("bumble") is None or importlib.util.find_spec("cbor2") is None:
        return "not started: install the ble extra (pip install 'edgestore[ble]'; scripts/bootstrap does)"
    folder = data_dir / "ble"
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "bridge.log"
    radio = VirtualRadio().start()
    command = [sys.executable, "-m", "edgestore", "ble", "serve", "--transport", radio.bridge_transport]
    command += ["--edge-url", edge_url, "--data-dir", str(folder)]
    try:
        with log.open("wb") as out:
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=out)  # noqa: S603
    except OSError as problem:
        radio.stop()
        return f"did not start: {problem}"
    bridge = DemoPhoneBridge(radio, process, log)
    try:
        deadline = time.monotonic() + START_S
        while b"serving" not in log.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                bridge.stop()
                return f"did not start: see {log}"
            time.sleep(0.1)
    except BaseException:  # Ctrl-C while it starts: the caller never gets it to stop, so stop it here
        bridge.stop()
        raise
    return bridge


def ble_banner(started: DemoPhoneBridge | str, product_id: str, variant_id: str) -> str:
    if isinstance(started, str):
        return f"Phones (edge/ble/)     {started}\n"
    phone = f"--transport {started.radio.phone_transport}"

    def call(operation: str, body: str) -> str:
        return f"edgestore ble call {operation} {phone} --body '{body}'"

    cart = f'{{"items": [{{"variantId": "{variant_id}", "quantity": 2}}]}}'
    ref = '{"cartId": "<cartId>", "cartToken": "<cartToken>"}'
    receipt = '{"orderId": "<orderId>", "receiptToken": "<收據代碼 on the receipt>"}'
    return f"""Phones (edge/ble/)     the phone bridge over Bluetooth LE, on bumble's virtual controllers (no radio needed);
                       this machine plays the shopper's phone: edgestore ble ... {phone}
  find the store       edgestore ble scan {phone}
  browse               {call("catalogPage", '{"limit": 5}')}
  a product            {call("product", f'{{"productId": "{product_id}"}}')}
  a cart               {call("cartCreate", cart)}
                       (prints cartId and cartToken: give both to cartSet, cartGet and handoff)
  hand it off          {call("handoff", ref)}
                       prints a 6-digit code and draws its QR; at the kiosk: 從手機取購物車/Take my cart from my
                       phone, type the code (or hold the QR up to a kiosk's camera), pay
  the receipt          {call("receipt", receipt)}
  bridge log           {started.log}; the protocol: docs/ble-protocol.md
"""
