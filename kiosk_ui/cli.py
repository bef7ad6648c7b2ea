"""``edgestore kiosk``: the self-checkout on this machine's display, against a store node's API."""

from typing import Annotated

import typer

from kiosk_ui.fonts import FontMissing
from kiosk_ui.run import KioskOptions, parse_size, run_kiosk
from kiosk_ui.theme import ThemeName
from plumbing.i18n import LOCALES


def kiosk(
    edge_url: Annotated[str, typer.Option(help="The store node's API")] = "http://127.0.0.1:8080/api/v1",
    fullscreen: Annotated[bool, typer.Option(help="Full screen (on a Pi: straight on KMS/DRM)")] = False,
    size: Annotated[
        str, typer.Option(help="Window size: 800x480 (7-inch) or 1280x800 (10-inch)")
    ] = "800x480",
    lang: Annotated[str, typer.Option(help=f"The kiosk's own language: {', '.join(LOCALES)}")] = "zh-TW",
    theme: Annotated[ThemeName, typer.Option(help="dark or light")] = ThemeName.DARK,
    printer: Annotated[
        str | None, typer.Option(help="Receipt printer: file:PATH, network:HOST[:PORT] or usb:VID:PID")
    ] = None,
    camera: Annotated[
        str | None,
        typer.Option(help="The scan camera: pi (picamera2), v4l2:0 (OpenCV) or files:FOLDER (stills)"),
    ] = None,
) -> None:
    """The touchscreen self-checkout (a thin client of the node: it keeps selling while the store is offline)."""
    try:
        options = KioskOptions(edge_url, parse_size(size), fullscreen, lang, theme, printer, camera)
        if lang not in LOCALES:
            raise ValueError(f"--lang {lang!r}: one of {', '.join(LOCALES)}")
        run_kiosk(options)
    except (ValueError, FontMissing) as problem:
        typer.echo(f"edgestore kiosk: {problem}", err=True)
        raise typer.Exit(2) from problem
