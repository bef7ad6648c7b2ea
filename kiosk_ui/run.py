"""Starting the kiosk: Kivy set up first (``kivy_setup``), then the app on the node's client, the payment
terminal, the printer and the fonts. ``edgestore kiosk`` calls ``run_kiosk``."""

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk_ui.fonts import kiosk_fonts
from kiosk_ui.hardware.payment import PaymentTerminal, SimulatedTerminal
from kiosk_ui.hardware.printer import receipt_printer
from kiosk_ui.kivy_setup import prepare_kivy
from kiosk_ui.theme import ThemeName
from plumbing import sizes
from plumbing.clock import utcnow
from plumbing.i18n import LOCALES

if TYPE_CHECKING:
    from kiosk_ui.app import KioskApp


@dataclass(frozen=True)
class KioskOptions:
    edge_url: str
    size: tuple[int, int] = (800, 480)
    fullscreen: bool = False
    locale: str = "zh-TW"
    theme: ThemeName = ThemeName.DARK
    printer: str | None = None  # file:PATH, network:HOST[:PORT], usb:VID:PID
    camera: str | None = None  # pi, v4l2:INDEX, v4l2:/dev/videoN, files:FOLDER (kiosk_ui.hardware.camera)
    home: Path = Path.home() / ".edgestore" / "kiosk"


def parse_size(text: str) -> tuple[int, int]:
    """The window's size: ``800x480`` -> (800, 480), at least 320x240; ``ValueError`` else."""
    return sizes.parse_size(text, minimum=(320, 240), example="800x480 or 1280x800")


def build_app(options: KioskOptions, terminal: PaymentTerminal | None = None) -> "KioskApp":
    """The app, ready to ``run()``; Kivy must already be set up (``prepare_kivy``)."""
    from kiosk_ui.app import KioskApp
    from kiosk_ui.hardware.camera import camera_from
    from kiosk_ui.viewmodels.kiosk import Kiosk
    from kiosk_ui.viewmodels.scan import NodeRecognizer
    from node_client import NodeClient

    if options.locale not in LOCALES:
        raise ValueError(f"language {options.locale!r}: one of {', '.join(LOCALES)}")
    node = NodeClient(options.edge_url)
    kiosk = Kiosk(
        node=node,
        terminal=terminal or SimulatedTerminal(delay_s=2.0),
        printer=receipt_printer(options.printer) if options.printer else None,
        now=utcnow,
        locale=options.locale,
        camera=camera_from(options.camera) if options.camera else None,
        recognizer=NodeRecognizer(node),
    )
    return KioskApp(kiosk, fonts=kiosk_fonts(), theme=options.theme, size=options.size)


def run_kiosk(options: KioskOptions) -> None:
    prepare_kivy(size=options.size, fullscreen=options.fullscreen, home=options.home)
    app = build_app(options)
    app.run()
