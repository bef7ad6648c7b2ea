"""Kivy reads its settings when first imported, so the kiosk sets them here before any ``kivy`` import:
the window size or full screen, no command-line parsing (the CLI owns the arguments), its own settings
folder, touch input as a kiosk wants it.

On a Raspberry Pi the kiosk runs without a desktop, straight on the display through KMS/DRM: SDL2's
``kmsdrm`` video driver (``SDL_VIDEODRIVER=kmsdrm``, set by ``plumbing.display`` when there is no
``DISPLAY`` or ``WAYLAND_DISPLAY``), full screen, with the touch panel read through mtdev / hidinput
(docs/kiosk.md).
"""

import logging
from pathlib import Path

from plumbing.display import prepare_kivy_environment


def prepare_kivy(*, size: tuple[int, int], fullscreen: bool, home: Path, quiet: bool = False) -> None:
    prepare_kivy_environment(home, quiet=quiet)  # the environment the door counter's preview sets too
    from kivy.config import Config

    width, height = size
    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "resizable", "0")
    Config.set("kivy", "exit_on_escape", "0")  # a shopper's keyboard must not close the kiosk
    Config.set("input", "mouse", "mouse,disable_multitouch")  # a mouse click is a touch, never a pinch
    Config.set("kivy", "log_level", "warning" if quiet else "info")
    # Kivy routes Python's logging to its console: every request to the node would be a line there.
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
