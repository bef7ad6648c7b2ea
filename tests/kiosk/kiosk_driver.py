"""Drives the real kiosk app in a real Kivy window (under the Xvfb display the test started): taps the
widgets a script names, waits for the screen and the node's answers, records what is on screen, and takes
screenshots. Run as ``python -m tests.kiosk.kiosk_driver SCRIPT.json`` by tests/kiosk/test_kiosk_window.py
and by scripts/screenshots; one process per run, since Kivy keeps one window per process.

A script is JSON: {"edgeUrl", "size": [w, h], "locale", "theme", "terminal": [outcomes], "printer",
"out": folder, "steps": [...]}, each step one of
  {"tap": name}                      touch the widget with that kiosk_name (on the current screen)
  {"see": name}                      wait until the widget with that kiosk_name shows (no touch)
  {"screen": name}                   wait until that screen shows and the node has answered
  {"shot": file}                     save the window as out/file
  {"texts": label}                   record every text on screen under label
  {"mark": name} / {"await": name}   tell the test a point was reached / wait until it did its part
  {"go": screen}                     straight to a screen (one no touch reaches in the test's setup)
  {"wait": seconds}
The result, out/result.json: {"texts": {label: [...]}, "screens": [...], "error": null or a message}.
"""

import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from kiosk_ui.kivy_setup import prepare_kivy

STEP_TIMEOUT_S = 20.0


def texts_of(widget: Any) -> list[str]:
    """Every text a person can see in ``widget``'s tree, top to bottom."""
    found: list[str] = []
    for child in reversed(list(widget.walk(restrict=True))):
        text = getattr(child, "text", "")
        if isinstance(text, str) and text and child.opacity > 0:
            found.append(text)
    return found


def named(widget: Any, name: str) -> Any:
    for child in widget.walk(restrict=True):
        if getattr(child, "kiosk_name", None) == name:
            return child
    return None


class Driver:
    """Runs a script's steps one by one on Kivy's clock; a step that cannot go on yet (the node has not
    answered, the screen has not changed) is tried again next frame, until ``STEP_TIMEOUT_S``."""

    def __init__(self, app: Any, steps: list[dict[str, Any]], out: Path) -> None:
        self.app, self.steps, self.out = app, steps, out
        self.result: dict[str, Any] = {"texts": {}, "screens": [], "error": None}
        self.deadline = time.monotonic() + STEP_TIMEOUT_S
        self.until = 0.0

    def finish(self, error: str | None = None) -> None:
        self.result["error"] = error
        (self.out / "result.json").write_text(json.dumps(self.result, ensure_ascii=False, indent=1))
        self.app.stop()

    def tick(self, _dt: float) -> None:
        try:
            if not self.steps:
                self.finish()
                return
            step = self.steps[0]
            kind = next(iter(step))
            if getattr(self, f"do_{kind}")(step[kind]):
                self.steps.pop(0)
                self.deadline = time.monotonic() + STEP_TIMEOUT_S
            elif time.monotonic() > self.deadline:
                self.finish(
                    f"step {step} never happened: on {self.app.screens.current!r}, problem "
                    f"{self.app.problem!r}, showing {texts_of(self.app.screens.current_screen)}"
                )
        except Exception:
            self.finish(traceback.format_exc())

    def do_screen(self, name: str) -> bool:
        if self.app.screens.current == name and not self.app.busy:
            self.result["screens"].append(name)
            return True
        return False

    def do_tap(self, name: str) -> bool:
        from kivy.tests.common import UnitTestTouch

        widget = named(self.app.screens.current_screen, name) or named(self.app.root, name)
        if self.app.busy or widget is None:
            return False
        if not self.on_screen(widget):
            return False
        touch = UnitTestTouch(*widget.to_window(*widget.center))
        touch.touch_down()
        touch.touch_up()
        return True

    def do_see(self, name: str) -> bool:
        widget = named(self.app.screens.current_screen, name)
        return not self.app.busy and widget is not None

    def on_screen(self, widget: Any) -> bool:
        """Whether ``widget``'s centre is in the window; if not, its strip or list is scrolled to it (as a
        shopper would swipe) and the tap waits for the next frame."""
        from kivy.core.window import Window
        from kivy.uix.scrollview import ScrollView

        x, y = widget.to_window(*widget.center)
        if 0 <= x < Window.width and 0 <= y < Window.height:
            return True
        parent = widget.parent
        while parent is not None and not isinstance(parent, ScrollView):
            parent = parent.parent
        if parent is not None:
            parent.scroll_to(widget, animate=False)
        return False

    def do_shot(self, file: str) -> bool:
        if self.app.busy:
            return False
        self.app.root.export_to_png(str(self.out / file))
        return True

    def do_texts(self, label: str) -> bool:
        if self.app.busy:
            return False
        self.result["texts"][label] = texts_of(self.app.root)
        return True

    def do_mark(self, name: str) -> bool:
        """Tell the test a point was reached (``out/mark-NAME``): it does something to the world."""
        (self.out / f"mark-{name}").touch()
        return True

    def do_await(self, name: str) -> bool:
        """Wait until the test says it is done (``out/done-NAME``)."""
        return (self.out / f"done-{name}").exists()

    def do_go(self, screen: str) -> bool:
        """Straight to a screen no touch reaches in this setup."""
        self.app.go(screen)
        return True

    def do_wait(self, seconds: float) -> bool:
        self.until = self.until or time.monotonic() + seconds
        if time.monotonic() < self.until:
            return False
        self.until = 0.0
        return True


def build_app(script: dict[str, Any]) -> Any:
    from kiosk_ui.app import KioskApp
    from kiosk_ui.fonts import kiosk_fonts
    from kiosk_ui.hardware.camera import FileCamera
    from kiosk_ui.hardware.payment import Outcome, SimulatedTerminal
    from kiosk_ui.hardware.printer import receipt_printer
    from kiosk_ui.theme import ThemeName
    from kiosk_ui.viewmodels.kiosk import Kiosk
    from kiosk_ui.viewmodels.scan import NodeRecognizer
    from node_client import NodeClient
    from plumbing.clock import utcnow

    node = NodeClient(script["edgeUrl"], retries=1)
    kiosk = Kiosk(
        node=node,
        terminal=SimulatedTerminal([Outcome(o) for o in script.get("terminal", [])], delay_s=0.3),
        printer=receipt_printer(script["printer"]) if script.get("printer") else None,
        now=utcnow,
        locale=script.get("locale", "zh-TW"),
        camera=FileCamera(Path(script["camera"])) if script.get("camera") else None,
        recognizer=NodeRecognizer(node) if script.get("recognize") else None,
    )
    return KioskApp(
        kiosk, fonts=kiosk_fonts(), theme=ThemeName(script.get("theme", "dark")), size=tuple(script["size"])
    )


def main(script_path: str) -> int:
    script = json.loads(Path(script_path).read_text())
    out = Path(script["out"])
    out.mkdir(parents=True, exist_ok=True)
    prepare_kivy(size=tuple(script["size"]), fullscreen=False, home=out / "kivy-home", quiet=True)
    from kivy.clock import Clock

    app = build_app(script)
    driver = Driver(app, list(script["steps"]), out)
    Clock.schedule_interval(driver.tick, 0.05)
    app.run()
    return 0 if driver.result["error"] is None else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
