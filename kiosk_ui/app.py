"""The Kivy app that shows the kiosk (``kiosk_ui.viewmodels.kiosk.Kiosk``: its view-models and hardware).

Calls to the node run on one worker thread, never on the UI thread, and their results come back to it
through Kivy's clock: a slow or missing node never freezes the screen. The app polls the node's health
(the offline banner, the scan button) and ends an idle session.
"""

import importlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

from kivy.app import App
from kivy.clock import Clock
from kivy.core.text import DEFAULT_FONT, LabelBase
from kivy.core.window import Window
from kivy.metrics import dp
from kivy.uix.screenmanager import NoTransition, ScreenManager

from kiosk_ui.fonts import KioskFonts
from kiosk_ui.garbage import QuietCollector
from kiosk_ui.routes import HOME, ROUTES
from kiosk_ui.theme import PALETTES, Palette, Sizes, ThemeName, sizes_for
from kiosk_ui.viewmodels.kiosk import Kiosk
from kiosk_ui.viewmodels.problems import explain
from kiosk_ui.widgets import Panel, Text

T = TypeVar("T")
HEALTH_EVERY_S = 5.0


class KioskApp(App):
    def __init__(
        self,
        kiosk: Kiosk,
        *,
        fonts: KioskFonts,
        theme: ThemeName = ThemeName.DARK,
        size: tuple[int, int] = (800, 480),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.kiosk = kiosk
        self.fonts = fonts
        self.palette: Palette = PALETTES[theme]
        self.sizes: Sizes = sizes_for(*size)
        self.title = "edgestore kiosk"
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-node")
        self.problem = ""
        self.busy = False
        self.collector = QuietCollector()
        self._touched_at = time.monotonic()

    # --- building -------------------------------------------------------------------------------------

    def build(self) -> Panel:
        # Every widget draws with the Traditional Chinese face unless told otherwise.
        LabelBase.register(DEFAULT_FONT, fn_regular=str(self.fonts.regular), fn_bold=str(self.fonts.bold))
        root = Panel(self.palette.background, orientation="vertical")
        self.banner = Text(
            "",
            size=self.sizes.body,
            colour=self.palette.on_banner,
            size_hint_y=None,
            height=0,
            halign="center",
        )
        self.banner_panel = Panel(self.palette.banner, size_hint_y=None, height=0)
        self.banner_panel.add_widget(self.banner)
        root.add_widget(self.banner_panel)
        self.screens = ScreenManager(transition=NoTransition())
        for route in ROUTES:
            module, _, name = route.screen.partition(":")
            screen_class = getattr(importlib.import_module(f"kiosk_ui.screens.{module}"), name)
            self.screens.add_widget(screen_class(self, name=route.name))
        root.add_widget(self.screens)
        Window.bind(on_touch_down=lambda *_: self.on_touch())
        self.kiosk.session.watch(self._show_banner)
        Clock.schedule_interval(lambda _dt: self.check_health(), HEALTH_EVERY_S)
        Clock.schedule_interval(lambda _dt: self._end_if_idle(), 1.0)
        Clock.schedule_once(lambda _dt: self.check_health(), 0)
        return root

    def on_start(self) -> None:
        self.collector.start()
        # After the frame is on the screen (on_flip), on the clock's next tick: not inside a frame.
        Window.bind(on_flip=lambda *_: self._after_frame())
        Clock.schedule_interval(
            lambda _dt: self.collector.sweep(time.monotonic() - self._touched_at), HEALTH_EVERY_S
        )

    def _after_frame(self) -> None:
        if self.collector.due and not self.busy:
            Clock.schedule_once(lambda _dt: self.collector.frame_drawn(busy=self.busy), 0)

    def on_stop(self) -> None:
        self.collector.stop()
        self._worker.shutdown(wait=False, cancel_futures=True)

    # --- moving between screens -----------------------------------------------------------------------

    def go(self, name: str) -> None:
        self.problem = ""
        if self.screens.current == name:
            self.screens.current_screen.render()
        else:
            self.screens.current = name

    def redraw(self) -> None:
        self.screens.current_screen.render()

    def toggle_language(self) -> None:
        self.kiosk.session.toggle_language()
        self.redraw()

    def on_touch(self) -> None:
        self._touched_at = time.monotonic()
        self.kiosk.session.touched(self.kiosk.now())

    def _end_if_idle(self) -> None:
        if self.screens.current != HOME and self.kiosk.session.idle_expired(self.kiosk.now()):
            self.kiosk.end_session()
            self.go(HOME)

    # --- the node, off the UI thread ------------------------------------------------------------------

    def call_node(self, work: Callable[[], T], then: Callable[[T], object], *, redraw: bool = True) -> None:
        """Call the node on the worker; ``then`` on the UI thread with the result, or the screen shows what
        went wrong in words a shopper understands."""
        self.busy = True

        def finished(future: Any) -> None:
            error = future.exception()

            def on_ui(_dt: float) -> None:
                self.busy = False
                if error is not None:
                    self.problem = explain(self.kiosk.session.words, error)
                    if redraw:
                        self.redraw()
                    return
                self.problem = ""
                then(future.result())

            Clock.schedule_once(on_ui, 0)

        self._worker.submit(work).add_done_callback(finished)

    def check_health(self) -> None:
        session = self.kiosk.session

        def done(health: Any) -> None:
            session.node_answered(health)

        def work() -> Any:
            try:
                return self.kiosk.node.health()
            except Exception:
                return None

        self.call_node(work, lambda h: done(h) if h is not None else session.node_silent(), redraw=False)

    def _show_banner(self) -> None:
        text = self.kiosk.session.banner
        height = dp(self.sizes.touch * 0.6) if text else 0
        self.banner.text = text
        self.banner.height = self.banner_panel.height = height

    def when(self) -> datetime:
        return self.kiosk.now()
