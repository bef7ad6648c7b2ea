"""The camera view of "scan": what the camera sees, refreshed twice a second, the recogniser's top three
with a tap to open one, and "not this" back to browsing."""

import io
from functools import partial

from kivy.clock import Clock
from kivy.core.image import Image as CoreImage
from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.image import Image

from kiosk_ui.screens.base import KioskScreen
from kiosk_ui.viewmodels.scan import Candidate, Scan
from kiosk_ui.widgets import Text, button

PREVIEW_EVERY_S = 0.5


class ScanScreen(KioskScreen):
    scan: Scan | None = None

    def on_pre_enter(self, *_: object) -> None:
        kiosk = self.app.kiosk
        if kiosk.camera is not None:
            self.scan = Scan(kiosk.camera, kiosk.recognizer, lambda: kiosk.session.query_side)
            self.scan.start()
            self._preview = Clock.schedule_interval(lambda _dt: self._refresh(), PREVIEW_EVERY_S)
        super().on_pre_enter()

    def on_leave(self, *_: object) -> None:
        if self.scan is not None:
            self._preview.cancel()
            self.scan.stop()
            self.scan = None

    def _refresh(self) -> None:
        scan = self.scan
        if scan is not None and not self.app.busy:
            self.app.call_node(scan.capture, self._show, redraw=False)

    def _show(self, frame: bytes) -> None:
        texture = CoreImage(io.BytesIO(frame), ext="jpg").texture
        self.preview.texture = texture

    def build(self, body: BoxLayout) -> None:
        app, words = self.app, self.words
        body.add_widget(self.header(words("scan.title"), back="browse"))
        row = BoxLayout(spacing=dp(app.sizes.gap))
        self.preview = Image(fit_mode="contain")
        row.add_widget(self.preview)
        side = BoxLayout(orientation="vertical", spacing=dp(app.sizes.gap), size_hint_x=0.45)
        scan = self.scan
        if scan is None:
            side.add_widget(
                Text(words("scan.noCamera"), size=app.sizes.body, colour=app.palette.muted, lines=3)
            )
        elif not scan.ready:
            side.add_widget(
                Text(words("scan.notReady"), size=app.sizes.body, colour=app.palette.muted, lines=3)
            )
        else:
            side.add_widget(Text(words("scan.hold"), size=app.sizes.body, colour=app.palette.text, lines=2))
            side.add_widget(
                button(words("scan.look"), self.look, app.palette, app.sizes, accent=True, name="look")
            )
            if scan.unknown:
                side.add_widget(
                    Text(words("scan.unknown"), size=app.sizes.body, colour=app.palette.muted, lines=2)
                )
            for candidate in scan.candidates:
                side.add_widget(
                    button(
                        words.name(candidate.name, candidate.name_en),
                        partial(self.choose, candidate),
                        app.palette,
                        app.sizes,
                        name=f"candidate:{candidate.product_id}",
                    )
                )
        side.add_widget(BoxLayout())
        side.add_widget(
            button(words("scan.notThis"), lambda: app.go("browse"), app.palette, app.sizes, name="notThis")
        )
        row.add_widget(side)
        body.add_widget(row)

    def look(self) -> None:
        scan = self.scan
        if scan is not None:
            self.app.call_node(scan.look, lambda _: self.render())

    def choose(self, candidate: Candidate) -> None:
        self.app.kiosk.product_id = candidate.product_id
        self.app.go("product")
