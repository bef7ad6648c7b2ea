"""What ``edgestore footfall calibrate`` shows the technician: the camera's frames with the door line drawn on
them, live in a window when this machine has a screen, else one such frame saved as a PNG.

- ``annotate``: a frame with the door line (yellow), an arrow into the in side (green, labelled ``in``) and
  a text; the PNG and the window draw the same picture.
- ``LiveView``: the hand-over between calibrate's watch loop (in a thread of its own while the window is
  open) and the window (Kivy's main thread): the newest frame with the pipeline's counts, the loop's end,
  and the window's closing. The window only shows what the loop offers: the counting is the loop's
  (``DoorCounter``), never done again here.
- ``unavailable``: why no window can open here, or None. ``show_while``: the window, open while the watch
  runs.

Kivy is the kiosk's (the ``kiosk`` extra) and is imported only inside ``show_while``: a node with only the
door counter never needs it, and OpenCV here is headless (no ``imshow``). The window follows the kiosk's
way of finding a screen (``plumbing.display``): a desktop's ``DISPLAY`` or ``WAYLAND_DISPLAY``, else a Pi's
KMS console, full screen. No frame is kept: each is drawn into the window's texture and dropped.
"""

import importlib.util
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from plumbing.display import desktop_display, kms_card, prepare_kivy_environment

R = TypeVar("R")

TITLE = "edgestore footfall calibrate"
WINDOW_SIZE = (960, 720)
"""On a desktop: the 4:3 frame at three times 320x240, with room below it for the counts."""
REFRESH_S = 1 / 30
"""How often the window takes the newest frame; the loop may read faster (a file) or slower (a camera)."""
LINGER_S = 0.6
"""The last frame and the final counts stay this long after the watch ends, so they are seen drawn."""
LINE_COLOUR = (0, 220, 255)  # BGR yellow
IN_COLOUR = (0, 200, 0)  # BGR green
OK_MARKUP, BAD_MARKUP, WAIT_MARKUP = "5fd35f", "ff5f5f", "ffd75f"


class PreviewUnavailable(RuntimeError):
    """Kivy is there but opened no window (no screen it can use, or the screen is someone else's)."""


def annotate(
    frame: np.ndarray, line: tuple[float, float, float, float], in_side: int, text: str
) -> np.ndarray:
    """The frame with the door line (yellow), an arrow into the in side (green), and ``text``."""
    import cv2

    image = frame if frame.ndim == 3 else cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    image = image.copy()
    height, width = image.shape[:2]
    x1, y1, x2, y2 = line
    p1 = (round(x1 * width), round(y1 * height))
    p2 = (round(x2 * width), round(y2 * height))
    cv2.line(image, p1, p2, LINE_COLOUR, 2)
    # The in side: the side (-dy, dx) points to for in_side +1 (in pixels; y grows downwards).
    dx, dy = p2[0] - p1[0], p2[1] - p1[1]
    norm = max(1.0, (dx * dx + dy * dy) ** 0.5)
    reach = 0.15 * min(width, height)
    mid = ((p1[0] + p2[0]) // 2, (p1[1] + p2[1]) // 2)
    tip = (round(mid[0] - in_side * dy / norm * reach), round(mid[1] + in_side * dx / norm * reach))
    cv2.arrowedLine(image, mid, tip, IN_COLOUR, 2, tipLength=0.3)
    cv2.putText(image, "in", (tip[0] + 4, tip[1] + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.5, IN_COLOUR, 1)
    if text:
        cv2.putText(image, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1)
    return image


@dataclass(frozen=True)
class LiveFrame:
    """One frame the watch loop fed its pipeline, as the camera gave it, and where the loop stood after it."""

    frame: np.ndarray
    ins: int
    outs: int
    frames: int
    fps: float


class LiveView:
    """The newest ``LiveFrame`` from the watch loop's thread to the window's; a frame the window had no time
    for is skipped (the loop never waits for the window). ``end`` is the loop's: it is done; ``close`` the
    window's: the technician closed it, the loop stops."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._newest: LiveFrame | None = None
        self._ended = threading.Event()
        self._closed = threading.Event()

    def offer(self, live: LiveFrame) -> None:
        with self._lock:
            self._newest = live

    def take(self) -> LiveFrame | None:
        """The newest frame not taken yet, or None."""
        with self._lock:
            live, self._newest = self._newest, None
        return live

    def end(self) -> None:
        self._ended.set()

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    def close(self) -> None:
        self._closed.set()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()


@dataclass
class Shown:
    """What the window shows now: for a test's observer (and nothing else) to look at."""

    root: Any = None  # the window's root widget (Kivy)
    frames_shown: int = 0
    last: LiveFrame | None = None
    texts: list[str] = field(default_factory=list)


class PreviewObserver(Protocol):
    """Told, on the window's thread, after each frame it shows and once as it closes."""

    def shown(self, now: Shown) -> None: ...

    def closing(self, now: Shown) -> None: ...


def unavailable() -> str | None:
    """Why no preview window can open on this machine, or None when it may: a screen (a desktop display,
    or a KMS device on a Pi's console) and Kivy."""
    if not desktop_display() and kms_card() is None:
        return "no display (DISPLAY and WAYLAND_DISPLAY are unset and there is no KMS screen)"
    if importlib.util.find_spec("kivy") is None:
        return "Kivy is not installed (the kiosk extra)"
    return None


def show_while(
    watch: Callable[[LiveView], R],
    *,
    line_check: tuple[bool, str],
    min_fps: float,
    draw: Callable[[np.ndarray], np.ndarray],
    observer: PreviewObserver | None = None,
) -> R:
    """Open the preview window, run ``watch`` in a thread with a ``LiveView`` to offer its frames on, show
    each newest frame (``draw`` annotates it) with the counts and the self-test so far, and close on Esc or
    q (``watch`` then sees ``closed`` and stops) or when ``watch`` returns; ``watch``'s result, or its
    exception raised here. ``PreviewUnavailable`` before ``watch`` starts if Kivy opens no window."""
    with tempfile.TemporaryDirectory(prefix="edgestore-preview-") as home:
        window = _open_window(Path(home))
        return _run(window, watch, line_check=line_check, min_fps=min_fps, draw=draw, observer=observer)


def _open_window(home: Path) -> Any:
    """Kivy set up (before its first import, as the kiosk does) and its window open, or PreviewUnavailable."""
    import os

    prepare_kivy_environment(home, quiet=True, named_display_only=True)
    os.environ.setdefault("KIVY_NO_FILELOG", "1")  # its settings folder is a temporary one
    try:
        from kivy.config import Config

        kms = not desktop_display()
        Config.set("graphics", "width", str(WINDOW_SIZE[0]))
        Config.set("graphics", "height", str(WINDOW_SIZE[1]))
        Config.set("graphics", "fullscreen", "auto" if kms else "0")  # a Pi's console: the whole screen
        Config.set("kivy", "exit_on_escape", "0")  # Esc is handled below, so the watch is told first
        Config.set("input", "mouse", "mouse,disable_multitouch")
        from kivy.core.window import Window
    except Exception as exc:  # Kivy's own start-up failures (no SDL2, a broken GL): no window, PNG instead
        raise PreviewUnavailable(f"Kivy did not start: {exc}") from exc
    if Window is None:  # Kivy tried every window provider it has
        raise PreviewUnavailable("Kivy could not open a window on this display")
    return Window


def _markup(ok: bool | None, text: str) -> str:
    """``text`` in green (ok), red (not ok) or amber (not known yet), in Kivy's label markup."""
    hex_colour = WAIT_MARKUP if ok is None else OK_MARKUP if ok else BAD_MARKUP
    return f"[color={hex_colour}]{text}[/color]"


class _PreviewScreen:
    """The window's content and behaviour; Kivy's ``App`` (made in ``_run``) only hosts it."""

    def __init__(
        self,
        window: Any,
        view: LiveView,
        *,
        line_check: tuple[bool, str],
        min_fps: float,
        draw: Callable[[np.ndarray], np.ndarray],
        observer: PreviewObserver | None,
        stop: Callable[[], None],
    ) -> None:
        self.window, self.view, self.line_check, self.min_fps = window, view, line_check, min_fps
        self.draw, self.observer, self.stop = draw, observer, stop
        self.now = Shown()
        self.texture: Any = None
        self.closing = False  # the watch ended: closing after LINGER_S
        self.finished = False

    @staticmethod
    def _label(size: float, **kwargs: Any) -> Any:
        from kivy.metrics import sp
        from kivy.uix.label import Label

        made = Label(font_size=sp(size), markup=True, halign="left", valign="middle", **kwargs)
        made.bind(size=lambda widget, value: setattr(widget, "text_size", value))
        return made

    def build(self) -> Any:
        from kivy.clock import Clock
        from kivy.metrics import dp, sp
        from kivy.uix.boxlayout import BoxLayout
        from kivy.uix.image import Image

        root = BoxLayout(orientation="vertical", padding=dp(8), spacing=dp(6))
        self.picture = Image(fit_mode="contain")
        root.add_widget(self.picture)
        bar = BoxLayout(size_hint_y=None, height=sp(150), spacing=dp(16))
        self.counts = self._label(56, bold=True, size_hint_x=0.45, text="in 0   out 0")
        column = BoxLayout(orientation="vertical")
        ok, detail = self.line_check
        self.line = self._label(22, text=_markup(ok, f"{'OK' if ok else 'FAIL'}  line {detail}"))
        self.camera = self._label(22, text=_markup(None, "camera: waiting for the first frame"))
        keys = self._label(18, text="Esc or q: close (the checklist follows in the terminal)")
        for widget in (self.line, self.camera, keys):
            column.add_widget(widget)
        bar.add_widget(self.counts)
        bar.add_widget(column)
        root.add_widget(bar)
        self.now.root = root
        self.window.bind(on_key_down=self.key, on_request_close=self.request_close)
        Clock.schedule_interval(self.tick, REFRESH_S)
        return root

    def key(self, _window: Any, key: int, _scancode: int, codepoint: str | None, _modifiers: Any) -> bool:
        if key == 27 or codepoint in ("q", "Q"):  # Esc, q
            self.finish()
            return True
        return False

    def request_close(self, *_args: Any, **_kwargs: Any) -> bool:
        self.finish()
        return True  # the window is closed by finish, once the watch is told

    def tick(self, _dt: float) -> None:
        from kivy.clock import Clock

        ended = self.view.ended  # before take: the loop offered its last frame before it ended
        live = self.view.take()
        if live is not None:
            self.show(live)
        if ended and not self.closing:
            self.closing = True
            Clock.schedule_once(lambda _dt: self.finish(), LINGER_S)

    def show(self, live: LiveFrame) -> None:
        from kivy.graphics.texture import Texture

        image = np.ascontiguousarray(self.draw(live.frame))
        height, width = image.shape[:2]
        if self.texture is None or tuple(self.texture.size) != (width, height):
            self.texture = Texture.create(size=(width, height), colorfmt="bgr")
            self.texture.flip_vertical()  # numpy's rows go down, OpenGL's up
            self.picture.texture = self.texture
        self.texture.blit_buffer(image.tobytes(), colorfmt="bgr", bufferfmt="ubyte")
        self.picture.canvas.ask_update()
        self.counts.text = f"in {live.ins}   out {live.outs}"
        rate_ok = live.fps >= self.min_fps
        self.camera.text = _markup(
            rate_ok,
            f"{'OK' if rate_ok else 'SLOW'}  camera {live.fps:.1f} fps (needs {self.min_fps:g}), "
            f"{live.frames} frames of {width}x{height}",
        )
        self.now.frames_shown += 1
        self.now.last = live
        self.now.texts = [self.counts.text, self.line.text, self.camera.text]
        if self.observer is not None:
            self.observer.shown(self.now)

    def finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        self.view.close()
        if self.observer is not None:
            self.observer.closing(self.now)
        self.stop()


def _run(
    window: Any,
    watch: Callable[[LiveView], R],
    *,
    line_check: tuple[bool, str],
    min_fps: float,
    draw: Callable[[np.ndarray], np.ndarray],
    observer: PreviewObserver | None,
) -> R:
    from kivy.app import App

    view = LiveView()
    outcome: dict[str, Any] = {}

    def watching() -> None:
        try:
            outcome["result"] = watch(view)
        except BaseException as exc:  # raised again on the main thread, after the window closed
            outcome["error"] = exc
        finally:
            view.end()

    watcher = threading.Thread(target=watching, name="calibrate-watch", daemon=True)

    class PreviewApp(App):  # type: ignore[misc]  # Kivy's classes carry no types
        title = TITLE

        def build(self) -> Any:
            return screen.build()

        def on_start(self) -> None:
            watcher.start()  # the window is up: the frames the watch offers can be shown

    app = PreviewApp()
    screen = _PreviewScreen(
        window, view, line_check=line_check, min_fps=min_fps, draw=draw, observer=observer, stop=app.stop
    )
    try:
        app.run()
    finally:
        view.close()  # the technician closed it, or Kivy stopped: the watch stops at its next frame
        if watcher.ident is not None:
            watcher.join()  # within a frame's read (a camera's: well under a second)
    if watcher.ident is None:  # the window went before it ever started
        raise PreviewUnavailable("the window closed before it showed anything")
    if "error" in outcome:
        raise outcome["error"]
    result: R = outcome["result"]
    return result
