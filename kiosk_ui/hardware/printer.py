"""The receipt printer: ESC/POS through python-escpos.

Taiwan's receipt printers print Chinese in Big5 in their Chinese character mode (``FS &`` on, ``FS .``
off); python-escpos's own text encoding knows only single-byte code pages, so lines are sent as Big5 bytes
in that mode. Widths count a Chinese character as two columns, as the printer draws it. The QR code of the
order is printed as an image (python-escpos renders it), which every ESC/POS printer can print.

``receipt_printer("file:/path")`` writes the same bytes to a file: the tests and the demo read what a
printer would have printed. ``network:HOST[:PORT]`` and ``usb:VID:PID`` are the shop's printers.
"""

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

CHINESE_ON = b"\x1c\x26"  # FS &
CHINESE_OFF = b"\x1c\x2e"  # FS .
WIDTH_58MM = 32  # columns of font A on 58 mm paper (80 mm paper: 48)
DOTS_PER_COLUMN = 12  # font A is 12 dots wide at 203 dpi: 32 columns are the 384 dots of 58 mm paper


@dataclass(frozen=True)
class ReceiptLine:
    text: str
    amount: str = ""  # right-aligned (already written the reader's way, e.g. "NT$1,280")


@dataclass(frozen=True)
class Receipt:
    """What a receipt says, already in the shopper's language (the kiosk's view-model writes it)."""

    title: str
    lines: Sequence[ReceiptLine]
    totals: Sequence[ReceiptLine]
    footer: Sequence[str] = ()
    qr: str = ""  # printed under the totals when given (the order's number)


class ReceiptPrinter(Protocol):
    def print_receipt(self, receipt: Receipt) -> None: ...


def columns(text: str) -> int:
    """How many columns ``text`` takes on the paper: wide (Chinese, full-width) characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` columns (a wide character is never split)."""
    out, used = [], 0
    for c in text:
        w = columns(c)
        if used + w > width:
            break
        out.append(c)
        used += w
    return "".join(out)


def row(left: str, right: str, width: int) -> str:
    """``left`` and ``right`` on one line of ``width`` columns, the right one flush right."""
    room = width - columns(right) - 1
    left = fit(left, max(room, 0))
    return left + " " * (width - columns(left) - columns(right)) + right


class EscposReceiptPrinter:
    def __init__(self, device: Any, width: int = WIDTH_58MM) -> None:
        self.device = device
        self.width = width
        # python-escpos centres images (the QR code) by the paper's width in dots, which its generic
        # profile leaves unknown.
        media = device.profile.profile_data.setdefault("media", {})
        media.setdefault("width", {})["pixels"] = width * DOTS_PER_COLUMN

    def _line(self, text: str) -> None:
        if all(ord(c) < 128 for c in text):
            self.device.textln(text)
        else:
            # Chinese mode, Big5: a character Big5 lacks prints as "?" rather than stopping the receipt.
            self.device._raw(CHINESE_ON + text.encode("big5", errors="replace") + CHINESE_OFF + b"\n")

    def print_receipt(self, receipt: Receipt) -> None:
        self.device.set(align="center", bold=True, double_height=True)
        self._line(fit(receipt.title, self.width // 2))
        self.device.set(align="left", normal_textsize=True, bold=False)
        rule = "-" * self.width
        self._line(rule)
        for line in receipt.lines:
            self._line(row(line.text, line.amount, self.width))
        self._line(rule)
        self.device.set(bold=True)
        for line in receipt.totals:
            self._line(row(line.text, line.amount, self.width))
        self.device.set(bold=False)
        for text in receipt.footer:
            self._line(fit(text, self.width))
        if receipt.qr:
            self.device.qr(receipt.qr, size=6, center=True)
        self.device.cut()


class PrinterAddressInvalid(ValueError):
    """A printer address that is none of ``file:PATH``, ``network:HOST[:PORT]``, ``usb:VID:PID``."""


def receipt_printer(address: str, width: int = WIDTH_58MM) -> EscposReceiptPrinter:
    # python-escpos takes 0.15 s and several MB to import (its printer capability database): a kiosk
    # without a printer never pays for it.
    from escpos.printer import File, Network, Usb

    kind, _, rest = address.partition(":")
    if kind == "file" and rest:
        Path(rest).parent.mkdir(parents=True, exist_ok=True)
        return EscposReceiptPrinter(File(rest), width)
    if kind == "network" and rest:
        host, _, port = rest.partition(":")
        return EscposReceiptPrinter(Network(host, int(port) if port.isdigit() else 9100), width)
    if kind == "usb" and rest.count(":") == 1:
        vendor, product = rest.split(":")
        return EscposReceiptPrinter(Usb(int(vendor, 16), int(product, 16)), width)
    raise PrinterAddressInvalid(
        f"printer address {address!r}: use file:PATH, network:HOST[:PORT] or usb:VID:PID"
    )
