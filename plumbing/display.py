"""Whether this machine has a screen a window can open on, and Kivy's environment set before it is
imported (Kivy reads its settings on first import). The kiosk (``kiosk_ui.kivy_setup``), the demo (which
opens the kiosk only with a display) and the door counter's calibration preview
(``edge.footfall.preview``) all ask the same questions, so they are answered here.

A desktop (X11 or Wayland) says so in ``DISPLAY`` or ``WAYLAND_DISPLAY``. A Raspberry Pi without a desktop
draws straight on the screen through KMS/DRM: SDL2's ``kmsdrm`` video driver, set here when there is no
desktop display, on a ``/dev/dri/card*`` device this process may open. Kivy is not imported here.
"""

import os
from pathlib import Path

DRI = Path("/dev/dri")


def desktop_display() -> bool:
    """An X11 or Wayland display is named in the environment."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def kms_card(dri: Path = DRI) -> Path | None:
    """The first DRM card this process may open for drawing (read and write), or None: no GPU device, or
    not in the ``video`` group. Another program holding the screen (the kiosk) is only found by trying."""
    for card in sorted(dri.glob("card*")):
        if os.access(card, os.R_OK | os.W_OK):
            return card
    return None


def sdl_video_drivers() -> str:
    """SDL's video drivers for the display the environment names: ``x11`` for ``DISPLAY``, ``wayland`` for
    ``WAYLAND_DISPLAY`` (both, in SDL's own order, when both are set), ``kmsdrm`` for neither."""
    named = [
        driver
        for driver, variable in (("x11", "DISPLAY"), ("wayland", "WAYLAND_DISPLAY"))
        if os.environ.get(variable)
    ]
    return ",".join(named) or "kmsdrm"


def prepare_kivy_environment(home: Path, *, quiet: bool = False, named_display_only: bool = False) -> None:
    """Kivy's environment, before its first import: no command-line parsing (the CLI owns the arguments),
    its settings and logs in ``home``, no console log when ``quiet``, and the KMS/DRM video driver when no
    desktop display is named (a Pi's console).

    ``named_display_only``: a window on the display the environment names or none at all. Left to itself,
    SDL falls back to drawing off screen when that display does not answer (a stale ``DISPLAY``), and Kivy
    then to its X11 window, which ends the process when there is no X server; a program that has something
    else to show instead (calibrate's annotated frame) wants Kivy to say it has no window."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_HOME", str(home))
    if quiet:
        os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    if named_display_only:
        os.environ.setdefault("SDL_VIDEODRIVER", sdl_video_drivers())
        os.environ.setdefault("KIVY_WINDOW", "sdl2")
    elif not desktop_display():
        os.environ.setdefault("SDL_VIDEODRIVER", "kmsdrm")
    home.mkdir(parents=True, exist_ok=True)
