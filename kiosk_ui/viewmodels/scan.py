""" "Scan": the camera looks at what the shopper holds up, the node's recogniser names up to three products,
and a tap adds one (or "not this" goes back to browsing).

The scan button shows only while the node reports a loaded recognition model (``Session.can_scan``). The
recogniser is the node's (``POST /api/v1/recognize`` through ``node_client``): ``NodeRecognizer``. When the
node does not know what it sees, ``Scan.unknown`` is set and the screen says "not recognised"; until a
``Recognizer`` is given (no node model), the screen shows the camera and says recognition is not ready.

Each still comes with its query frame (``Camera.capture_frame``): the screen shows the camera's whole frame,
the recogniser is sent the frame's centre square at the model's input side (``query_side``: what the node
says in /health), all the node's model looks at, losslessly (``kiosk_ui/hardware/query_frame.py``).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from kiosk_ui.hardware.camera import Camera
from kiosk_ui.hardware.query_frame import QUERY_CONTENT_TYPE, QUERY_SIDE
from kiosk_ui.viewmodels.observable import Observable
from models.node_api import RecognitionResult

TOP = 3


@dataclass(frozen=True)
class Candidate:
    product_id: str
    name: str
    name_en: str
    score: float  # 0..1, the recogniser's confidence
    variant_id: str | None = None


@dataclass(frozen=True)
class Seen:
    """What the recogniser made of one still: its candidates, or none and ``unknown``."""

    candidates: list[Candidate]
    unknown: bool


class Recognizer(Protocol):
    def recognize(self, image: bytes) -> Seen: ...


class RecognizeApi(Protocol):
    """The one call of the node's client a ``NodeRecognizer`` needs (``node_client.NodeClient`` has it)."""

    def recognize(
        self, image: bytes, *, k: int | None = None, content_type: str = "image/jpeg"
    ) -> RecognitionResult: ...


class NodeRecognizer:
    """The node's recogniser, over its API: candidates with the catalog's names, or ``unknown``."""

    def __init__(self, node: RecognizeApi, top: int = TOP) -> None:
        self.node, self.top = node, top

    def recognize(self, image: bytes) -> Seen:
        result = self.node.recognize(image, k=self.top, content_type=QUERY_CONTENT_TYPE)
        if result.unknown:
            return Seen([], unknown=True)
        return Seen(
            [
                Candidate(c.product_id, c.name, c.name_en, c.confidence, variant_id=c.variant_id)
                for c in result.candidates
            ],
            unknown=not result.candidates,
        )


class Scan(Observable):
    def __init__(
        self,
        camera: Camera,
        recognizer: Recognizer | None,
        query_side: Callable[[], int] = lambda: QUERY_SIDE,
    ) -> None:
        super().__init__()
        self.camera, self.recognizer, self.query_side = camera, recognizer, query_side
        self.frame: bytes | None = None  # the last still, as the screen shows it
        self.query: bytes | None = None  # the same moment's query frame, what ``look`` sends the recogniser
        self.candidates: list[Candidate] = []
        self.unknown = False  # the last look recognised nothing: the screen says "not recognised"
        self.looking = False

    @property
    def ready(self) -> bool:
        return self.recognizer is not None

    def start(self) -> None:
        self.camera.start()
        self.looking = True
        self.candidates, self.unknown = [], False
        self.changed()

    def capture(self) -> bytes:
        """One still for the preview (returned: the camera's whole frame), and its query frame for ``look``."""
        frame = self.camera.capture_frame(self.query_side())
        self.frame, self.query = frame.display, frame.query
        self.changed()
        return self.frame

    def look(self) -> list[Candidate]:
        """What the recogniser sees in the last still: its best ``TOP``, most likely first (none, and
        ``unknown``, when it does not know the product)."""
        if self.recognizer is None:
            return []
        if self.query is None:
            self.capture()
        assert self.query is not None
        seen = self.recognizer.recognize(self.query)
        self.candidates = sorted(seen.candidates, key=lambda c: -c.score)[:TOP]
        self.unknown = seen.unknown or not self.candidates
        self.changed()
        return self.candidates

    def stop(self) -> None:
        self.camera.stop()
        self.looking = False
        self.changed()
