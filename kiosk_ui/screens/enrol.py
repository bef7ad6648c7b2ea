"""Staff mode's "teach a product": find the product (the shopper's search, on the on-screen keyboard) and
choose its variant, then the camera: "start" takes a photo every half second while the product is turned in
front of it (the count and the photos shown as they come), "save" sends them to the node, which says how
many reference photos the variant has now; "retake", "cancel", and "forget" its photos at the node.

The camera's stills are drawn into the widgets already on screen (the preview, the count, the thumbnails):
the screen is rebuilt only when the step changes."""

import io
from functools import partial
from typing import Any

from kivy.clock import Clock
from kivy.core.image import Image as CoreImage
from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.image import Image
from kivy.uix.scrollview import ScrollView

from kiosk_ui.screens.base import KioskScreen
from kiosk_ui.screens.keypad import keypad
from kiosk_ui.theme import SMALL
from kiosk_ui.viewmodels.enrolment import EVERY_S, Enrolment, Step
from kiosk_ui.viewmodels.keyboard import Keyboard
from kiosk_ui.widgets import Panel, Text, button


def texture_of(jpeg: bytes) -> Any:
    return CoreImage(io.BytesIO(jpeg), ext="jpg").texture


class EnrolScreen(KioskScreen):
    enrolment: Enrolment | None = None

    def on_pre_enter(self, *_: object) -> None:
        kiosk = self.app.kiosk
        self.keys = Keyboard()
        self.keyboard_open = False
        self.confirm_forget = False
        self.enrolment = None
        self._tick: Any = None
        if kiosk.camera is not None and kiosk.staff.logged_in:
            self.enrolment = Enrolment(kiosk.node, kiosk.camera, kiosk.staff)
            self._tick = Clock.schedule_interval(lambda _dt: self._capture(), EVERY_S)
            enrolment = self.enrolment
            self.app.call_node(enrolment.catalog.open, lambda _: self.render())
        super().on_pre_enter()

    def on_leave(self, *_: object) -> None:
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None
        if self.enrolment is not None:
            self.enrolment.stop()
            self.enrolment = None

    # --- drawing --------------------------------------------------------------------------------------

    def build(self, body: BoxLayout) -> None:
        app, words, enrolment = self.app, self.words, self.enrolment
        self.preview: Image | None = None
        if enrolment is None:  # no login (the idle timeout ended it), or no camera at this kiosk
            body.add_widget(self.header(words("enrol.title"), back="staff", cart=False))
            said = words("enrol.noCamera") if app.kiosk.staff.logged_in else words("problem.staffOnly")
            body.add_widget(Text(said, size=app.sizes.body, colour=app.palette.muted, lines=3))
            if not app.kiosk.staff.logged_in:
                body.add_widget(
                    button(
                        words("staff.login"),
                        lambda: app.go("staff-login"),
                        app.palette,
                        app.sizes,
                        accent=True,
                        name="toLogin",
                    )
                )
            return
        if enrolment.step is Step.PICK:
            self._pick(body, enrolment)
        else:
            self._camera(body, enrolment)

    def _pick(self, body: BoxLayout, enrolment: Enrolment) -> None:
        app, words = self.app, self.words
        detail = enrolment.detail
        searching = self.keyboard_open and detail is None
        if not (searching and app.sizes is SMALL):  # a 7-inch screen gives the header's room to the keyboard
            body.add_widget(self.header(words("enrol.title"), back="staff", cart=False))
        if app.problem:
            body.add_widget(self.problem_line())
        row = BoxLayout(size_hint_y=None, height=dp(app.sizes.touch), spacing=dp(app.sizes.gap))
        if detail is None:
            shown = Panel(app.palette.surface, padding=(dp(12), 0))
            shown.add_widget(
                Text(
                    self.keys.text or words("enrol.searchHint"),
                    size=app.sizes.body,
                    colour=app.palette.text if self.keys.text else app.palette.muted,
                )
            )
            row.add_widget(shown)
            row.add_widget(
                button(
                    words("browse.hideKeyboard") if self.keyboard_open else words("browse.keyboard"),
                    self.toggle_keyboard,
                    app.palette,
                    app.sizes,
                    name="keyboard",
                    size_hint_x=None,
                    width=dp(app.sizes.touch * 2.2),
                )
            )
        else:
            product = detail.product
            row.add_widget(
                Text(
                    words("enrol.whichVariant", name=words.name(product.name, product.name_en)),
                    size=app.sizes.body,
                    colour=app.palette.text,
                    bold=True,
                )
            )
            row.add_widget(
                button(
                    words("enrol.otherProduct"),
                    self.other_product,
                    app.palette,
                    app.sizes,
                    name="otherProduct",
                    size_hint_x=None,
                    width=dp(app.sizes.touch * 2.4),
                )
            )
        body.add_widget(row)
        grid = GridLayout(cols=app.sizes.columns, spacing=dp(app.sizes.gap), size_hint_y=None)
        grid.bind(minimum_height=grid.setter("height"))
        if detail is None:
            for summary in enrolment.catalog.items:
                grid.add_widget(
                    button(
                        words.name(summary.name, summary.name_en),
                        partial(self.open_product, summary.product_id),
                        app.palette,
                        app.sizes,
                        name=f"pick:{summary.product_id}",
                    )
                )
            if enrolment.catalog.loaded and not enrolment.catalog.items:
                grid.add_widget(Text(words("browse.nothing"), size=app.sizes.body, colour=app.palette.muted))
        else:
            for variant in detail.product.variants:
                grid.add_widget(
                    button(
                        words.name(variant.name, variant.name_en),
                        partial(self.use, variant.variant_id),
                        app.palette,
                        app.sizes,
                        accent=True,
                        name=f"teach:{variant.variant_id}",
                    )
                )
        scroll = ScrollView(do_scroll_x=False)
        scroll.add_widget(grid)
        body.add_widget(scroll)
        if searching:
            body.add_widget(keypad(app, self.keys, self._search))

    def _camera(self, body: BoxLayout, enrolment: Enrolment) -> None:
        app, words = self.app, self.words
        detail, variant = enrolment.detail, enrolment.variant
        assert detail is not None
        assert variant is not None
        product = detail.product
        name = words.name(product.name, product.name_en)
        if len(product.variants) > 1:
            name = f"{name} · {words.name(variant.name, variant.name_en)}"
        body.add_widget(self.header(words("enrol.teaching", name=name), back=None, cart=False))
        if app.problem:
            body.add_widget(self.problem_line())
        row = BoxLayout(spacing=dp(app.sizes.gap))
        self.preview = Image(fit_mode="contain")
        if enrolment.frame is not None:
            self.preview.texture = texture_of(enrolment.frame)
        row.add_widget(self.preview)
        side = BoxLayout(orientation="vertical", spacing=dp(app.sizes.gap), size_hint_x=0.5)
        self.status = Text(
            self._status(enrolment),
            size=app.sizes.body,
            colour=app.palette.text,
            lines=3,
            size_hint_y=None,
            height=dp(app.sizes.body * 4),
        )
        side.add_widget(self.status)
        thumbnails = GridLayout(cols=3, spacing=dp(4))  # the photos taken, as they come
        self.thumbnails = []
        for n in range(enrolment.frames):
            thumbnail = Image(fit_mode="contain", opacity=1 if n < enrolment.taken else 0.15)
            if n < enrolment.taken:
                thumbnail.texture = texture_of(enrolment.photos[n])
            self.thumbnails.append(thumbnail)
            thumbnails.add_widget(thumbnail)
        side.add_widget(thumbnails)
        row.add_widget(side)
        body.add_widget(row)
        actions = BoxLayout(size_hint_y=None, height=dp(app.sizes.touch), spacing=dp(app.sizes.gap))
        for widget in self._actions(enrolment):
            actions.add_widget(widget)
        body.add_widget(actions)

    def _status(self, enrolment: Enrolment) -> str:
        words = self.words
        if enrolment.step is Step.SAVED and enrolment.saved is not None:
            return words("enrol.saved", n=enrolment.saved.references, added=enrolment.saved.added)
        if enrolment.forgotten is not None:
            return words("enrol.forgotten", n=enrolment.forgotten.deleted)
        if enrolment.step is Step.READY:
            return words("enrol.ready", n=enrolment.frames)
        if enrolment.step is Step.CAPTURED:
            return words("enrol.captured", n=enrolment.taken)
        return words("enrol.taken", taken=enrolment.taken, n=enrolment.frames)

    def _actions(self, enrolment: Enrolment) -> list[Any]:
        app, words = self.app, self.words
        palette, sizes = app.palette, app.sizes
        actions: list[Any] = []
        if enrolment.step is Step.READY:
            actions.append(
                button(words("enrol.start"), self.begin, palette, sizes, accent=True, name="start")
            )
        elif enrolment.step is Step.CAPTURED:
            actions.append(button(words("enrol.save"), self.save, palette, sizes, accent=True, name="save"))
            actions.append(button(words("enrol.retake"), self.retake, palette, sizes, name="retake"))
        elif enrolment.step is Step.SAVED:
            actions.append(
                button(words("enrol.another"), self.cancel, palette, sizes, accent=True, name="another")
            )
            actions.append(button(words("enrol.retake"), self.begin, palette, sizes, name="retake"))
        if enrolment.step is not Step.CAPTURING:
            if self.confirm_forget:
                actions.append(
                    button(words("enrol.confirmForget"), self.forget, palette, sizes, name="confirmForget")
                )
            else:
                actions.append(button(words("enrol.forget"), self.ask_forget, palette, sizes, name="forget"))
        if enrolment.step is not Step.SAVED:
            actions.append(button(words("enrol.cancel"), self.cancel, palette, sizes, name="cancel"))
        return actions

    # --- the camera's clock ---------------------------------------------------------------------------

    def _capture(self) -> None:
        """Every ``EVERY_S``: a still from the camera (off the UI thread), the preview and, while capturing,
        one more photo."""
        enrolment = self.enrolment
        if enrolment is None or enrolment.step is Step.PICK or self.app.busy:
            return
        before = enrolment.step
        self.app.call_node(enrolment.capture, lambda frame: self._captured(frame, before), redraw=False)

    def _captured(self, frame: bytes, before: Step) -> None:
        enrolment = self.enrolment
        if enrolment is None or self.preview is None:
            return
        if enrolment.step is not before:  # the last photo: save and retake come
            self.render()
            return
        self.preview.texture = texture_of(frame)
        if enrolment.step is Step.CAPTURING:
            self.status.text = self._status(enrolment)
            n = enrolment.taken - 1
            if 0 <= n < len(self.thumbnails):
                self.thumbnails[n].texture = texture_of(frame)
                self.thumbnails[n].opacity = 1

    # --- touches --------------------------------------------------------------------------------------

    def toggle_keyboard(self) -> None:
        self.keyboard_open = not self.keyboard_open
        self.render()

    def _search(self) -> None:
        """After every key: the node searches what is typed so far (the list follows the typing)."""
        enrolment, text = self.enrolment, self.keys.text
        if enrolment is not None:
            self.app.call_node(lambda: enrolment.catalog.search(text), lambda _: self.render())

    def open_product(self, product_id: str) -> None:
        enrolment = self.enrolment
        if enrolment is not None:
            self.app.call_node(lambda: enrolment.open_product(product_id), lambda _: self.render())

    def other_product(self) -> None:
        if self.enrolment is not None:
            self.enrolment.close_product()
            self.render()

    def use(self, variant_id: str) -> None:
        enrolment = self.enrolment
        if enrolment is not None:
            self.confirm_forget = False
            self.app.call_node(lambda: enrolment.use(variant_id), lambda _: self.render())

    def begin(self) -> None:
        if self.enrolment is not None:
            self.confirm_forget = False
            self.app.problem = ""
            self.enrolment.begin()
            self.render()

    def retake(self) -> None:
        if self.enrolment is not None:
            self.enrolment.retake()
            self.render()

    def save(self) -> None:
        enrolment = self.enrolment
        if enrolment is not None:
            self.app.call_node(enrolment.save, lambda _: self.render())

    def ask_forget(self) -> None:
        self.confirm_forget = True
        self.render()

    def forget(self) -> None:
        enrolment = self.enrolment
        self.confirm_forget = False
        if enrolment is not None:
            self.app.call_node(enrolment.forget, lambda _: self.render())

    def cancel(self) -> None:
        if self.enrolment is not None:
            self.confirm_forget = False
            self.app.problem = ""
            self.enrolment.cancel()
            self.render()
