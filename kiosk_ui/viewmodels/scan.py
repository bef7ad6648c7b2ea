""" "Scan": the camera looks at what the shopper holds up, the node's recogniser names up to three products,
and a tap adds one (or "not this" goes back to browsing).

The scan button shows only while the node reports a loaded recognition model (``Session.can_scan``). The
recogniser itself is the node's (the recognition issue builds it); until a ``Recognizer`` is given, the
screen shows the camera and says that recognition is not ready, and the shopper browses instead.
"""

from dataclasses import dataclass
from typing import Protocol

from kiosk_ui.hardware.camera import Camera
from kiosk_ui.viewmodels.observable import Observable

TOP = 3


@dataclass(frozen=True)
class Candidate:
    product_id: str
    name: str
    name_en: str
    score: float  # 0..1, the recogniser's confidence


class Recognizer(Protocol):
    def recognize(self, image: bytes) -> list[Candidate]: ...


class Scan(Observable):
    def __init__(self, camera: Camera, recognizer: Recognizer | None) -> None:
        super().__init__()
        self.camera, self.recognizer = camera, recognizer
        self.frame: bytes | None = None
        self.candidates: list[Candidate] = []
        self.looking = False

    @property
    def ready(self) -> bool:
        return self.recognizer is not None

    def start(self) -> None:
        self.camera.start()
        self.looking = True
        self.candidates = []
        self.changed()

    def capture(self) -> bytes:
        """One still for the preview (and for ``look``)."""
        self.frame = self.camera.capture()
        self.changed()
        return self.frame

    def look(self) -> list[Candidate]:
        """What the recogniser sees in the last still: its best ``TOP``, most likely first."""
        if self.recognizer is None:
            return []
        frame = self.frame if self.frame is not None else self.capture()
        self.candidates = sorted(self.recognizer.recognize(frame), key=lambda c: -c.score)[:TOP]
        self.changed()
        return self.candidates

    def stop(self) -> None:
        self.camera.stop()
        self.looking = False
        self.changed()
