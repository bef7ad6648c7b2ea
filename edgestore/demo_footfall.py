"""The demo's door counter: generated door clips (people walking in and out under an overhead camera, from
``edge.footfall.synthetic``) played in real time through the real coordinator and vision pipeline, each
crossing recorded at the demo's node as it happens, so its footfall API and the cloud dashboard's visitors
and conversion fill with events from the door counter itself. No PIR in the demo: the camera runs all the
time (on a Pi, the PIR wakes it). The node's ``footfall_detector`` setting chooses the pipeline's detector, as
on a Pi (``EDGESTORE_FOOTFALL_DETECTOR=tflite edgestore demo``: the TFLite person detector)."""

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from edge.footfall.counter import FootfallCounter
from edge.footfall.events import record_crossing
from edge.footfall.hardware import FrameList
from edge.footfall.person_detector import DetectorUnavailable, PersonDetector
from edge.footfall.pipeline import DoorCounter
from edge.footfall.synthetic import DoorSequence, door_sequence
from edge.node import Node
from models.footfall import Direction, FootfallSource

log = logging.getLogger(__name__)

FIRST_SEED = 5000  # clips the counter was never tuned on


class _RealTime(FrameList):
    """A clip's frames at the camera's pace, not as fast as the pipeline takes them, each drawn as it is
    read (a minute's clip held whole would be a couple of hundred MB)."""

    def __init__(self, clip: DoorSequence) -> None:
        super().__init__([], fps=clip.fps)
        self.clip = clip

    def start(self) -> None:
        self._running = self.index < len(self.clip.frames)
        self.starts += 1

    def read(self) -> tuple[np.ndarray, float] | None:
        if not self._running:
            return None
        if self.index >= len(self.clip.frames):
            self._running = False
            return None
        frame, t = self.clip.frames.frame(self.index), self.index / self.fps
        self.index += 1
        time.sleep(1 / self.fps)
        return frame, t


@dataclass
class DemoDoor:
    node: Node
    stopping: threading.Event = field(default_factory=threading.Event)
    counted: list[int] = field(default_factory=lambda: [0, 0])
    thread: threading.Thread | None = None
    detector: str = "mog2"
    people: PersonDetector | None = None

    def start(self) -> "DemoDoor":
        self.detector = self.node.settings.footfall_detector
        if self.detector == "tflite":  # one interpreter for every clip; background subtraction if none loads
            try:
                self.people = PersonDetector()
            except DetectorUnavailable as exc:
                log.warning("the demo's door counts with mog2: %s", exc)
                self.detector = "mog2"
        self.thread = threading.Thread(target=self._clips, name="demo-door", daemon=True)
        self.thread.start()
        return self

    def _clips(self) -> None:
        seed = FIRST_SEED
        while not self.stopping.is_set():
            clip = door_sequence("mixed", seed)
            pipeline = DoorCounter(clip.line, detector=self.detector, person_detector=self.people)
            counter = FootfallCounter(self._record, camera=_RealTime(clip), pipeline=pipeline)
            counter.start()
            while counter.alive and not self.stopping.wait(0.5):
                pass
            counter.stop()
            if counter.error is not None:  # the node refused an event: say so, and let the door rest
                log.warning("the demo's door counter stopped: %s", counter.error)
                return
            seed += 1

    def _record(self, direction: Direction, source: FootfallSource, at: datetime) -> None:
        record_crossing(self.node, direction, source, at)
        self.counted[0 if direction is Direction.IN else 1] += 1

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=10)


def door_banner(api: str, detector: str) -> str:
    how = "the TFLite person detector" if detector == "tflite" else f"background subtraction ({detector})"
    return f"""Door counter (edge/footfall/)   counting generated door clips in real time (an overhead camera's view:
                       people in and out, side by side, lingering, turning back) with the node's own pipeline,
                       {how} (EDGESTORE_FOOTFALL_DETECTOR=mog2|knn|tflite);
                       each crossing is an event at the node at once, and goes up to the cloud
  see it               curl -s -H "Authorization: Bearer $STAFF" {api}/footfall   (the staff token made above)
                       the dashboard's Overview: visitors and conversion for the store today
  a clip of your own   edgestore footfall count CLIP.mp4 --line 0,0.5,1,0.5 --json [--detector tflite]
  on a Pi              edgestore footfall calibrate --out door.png, then the edgestore-footfall service
                       (docs/footfall-device.md); no image leaves the Pi or is kept
"""
