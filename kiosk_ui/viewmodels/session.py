"""One shopper's session at the kiosk: the language, the idle timeout, and whether the node and the cloud
are there.

The session ends after ``IDLE_S`` without a touch (or after the receipt is taken): the cart is dropped,
the language goes back to the kiosk's own (zh-TW) and the attract screen returns, so the next shopper never sees the last
one's cart. The node's health is polled by the app; a node without the cloud still sells (the banner only
says the store is offline), a node that does not answer stops the kiosk from selling until it is back.
"""

from datetime import datetime, timedelta

from kiosk_ui.i18n import translator
from kiosk_ui.viewmodels.observable import Observable
from models.node_api import Health
from models.recognition_crop import QUERY_SIDE
from plumbing.i18n import DEFAULT_LOCALE, LOCALES, Translator

IDLE_S = 90


class Session(Observable):
    def __init__(self, now: datetime, *, idle_s: float = IDLE_S, locale: str = DEFAULT_LOCALE) -> None:
        super().__init__()
        self.home_locale = locale if locale in LOCALES else DEFAULT_LOCALE
        self.locale = self.home_locale
        self.idle = timedelta(seconds=idle_s)
        self.last_touch = now
        self.health: Health | None = None
        self.node_reachable = True

    @property
    def words(self) -> Translator:
        return translator(self.locale)

    def toggle_language(self) -> None:
        self.locale = LOCALES[(LOCALES.index(self.locale) + 1) % len(LOCALES)]
        self.changed()

    def touched(self, now: datetime) -> None:
        self.last_touch = now

    def idle_expired(self, now: datetime) -> bool:
        return now - self.last_touch >= self.idle

    def reset(self, now: datetime) -> None:
        """A new shopper: the kiosk's own language (zh-TW unless set otherwise), nothing touched yet."""
        self.locale = self.home_locale
        self.last_touch = now
        self.changed()

    def node_answered(self, health: Health) -> None:
        self.health, self.node_reachable = health, True
        self.changed()

    def node_silent(self) -> None:
        self.node_reachable = False
        self.changed()

    @property
    def banner(self) -> str:
        """What the strip at the top says: nothing when all is well."""
        words = self.words
        if not self.node_reachable:
            return words("banner.nodeUnreachable")
        if self.health is not None and not self.health.online:
            return words("banner.offline")
        return ""

    @property
    def query_side(self) -> int:
        """The side of the query frame scanning sends: the serving model's input, as the node last said."""
        recognition = self.health.recognition if self.health is not None else None
        if recognition is None or recognition.input_size is None:
            return QUERY_SIDE
        return recognition.input_size

    @property
    def can_scan(self) -> bool:
        """The scan button shows only while the node reports a loaded recognition model."""
        if self.health is None:
            return False
        if self.health.recognition is not None:
            return self.health.recognition.loaded
        # A node from before recognition served models (issue 18): one that holds the model file.
        return bool(self.health.models.get("product-recognizer"))
