"""The door counter's vision pipeline, pure over frames: background subtraction, blobs, a tracker and the
door line.

1. The frame is resized to ``size`` (320x240: a person's shoulders are then ~47 px, plenty) and its
   brightness brought back to the floor's as first seen (the median ratio to a reference, per pixel of a
   small copy: people cover little of it), so a light switched on or a cloud does not turn the whole
   floor into foreground.
2. MOG2 (or KNN) background subtraction with shadow detection; shadows (marked 127) are dropped, then an
   opening removes sensor-noise specks and a closing joins a person's parts (head, shoulders, a bag).
3. Each blob big enough to be part of a person becomes one or more detections: its extent along the door
   line divided by a person's shoulder width (calibrated from ``geometry``: the camera's height and lens)
   says how many people walk side by side in it; it is then cut into that many slices along the line,
   each slice's centroid a detection. A pram or a bag makes a blob longer or a little wider, not two wide.
   Fragments that together are no wider along the line than one person with bags are joined (clothes the
   colour of the floor can leave a head and two bags apart).
4. A centroid tracker: each track predicts its next position from its velocity, detections are matched
   greedily nearest first within a gate, unmatched detections start tracks, a track unseen for
   ``max_missed`` frames ends (it coasts on its prediction meanwhile, e.g. while merged with another); a
   new blob near a track that ended within ``revive`` frames takes it up again, its side of the line kept.
5. A track's side of the line changes only when its observed centroid is beyond a hysteresis band
   (``band`` person widths) on the other side: lingering on the line or a step over it and back counts
   nothing; a crossing is counted at each real change of side, so in then out counts both.

With ``detector="tflite"`` the person detector (``person_detector``: a small network that marks people's
shoulders in each frame) replaces steps 1-3: each of its peaks is one person's detection; 4 and 5 are the
same. It needs no background model, so no warm-up.
"""

import math
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from edge.footfall.geometry import PERSON_WIDTH_FRACTION
from edge.footfall.line import DoorLine
from edge.footfall.person_detector import PersonDetector
from models.footfall import Direction

DETECTORS = ("mog2", "knn", "tflite")


@dataclass(frozen=True)
class Crossing:
    track_id: int
    direction: Direction
    frame_index: int
    t: float


@dataclass(frozen=True)
class Tuning:
    """The pipeline's knobs, chosen on ``synthetic.TUNING_SEEDS`` only. Sizes are in person widths."""

    person_width: float = PERSON_WIDTH_FRACTION  # of the frame's width
    history: int = 1500  # frames MOG2/KNN learns over: someone standing still fades after ~10 s, not 2
    var_threshold: float = 25.0  # MOG2's: above the default 16, for sensor noise
    min_area: float = 0.22  # a blob smaller than this share of a person's outline is noise
    split_at: float = 1.7  # a blob this many person widths across holds two people (2.7: three)
    merge: float = 1.6  # blobs together no wider along the line than this are one person's parts
    shadow: float = 0.35  # MOG2's shadow threshold (0.5 by default): deep shadows on a dark mat too
    gate: float = 0.9  # how far a detection may be from a track's prediction
    max_missed: int = 8  # frames a track coasts unseen before it ends
    revive: int = 30  # frames an ended track can be taken up again by a new blob near where it was last
    band: float = 0.4  # the hysteresis half-band around the line
    settle: int = 15  # frames of fast learning after start
    warmup: int = 5  # frames after start when nothing is tracked: the background model is learning


@dataclass
class _Track:
    track_id: int
    x: float
    y: float
    vx: float = 0.0
    vy: float = 0.0
    side: int = 0  # -1 outside, +1 inside, 0 not yet known (first seen within the band)
    seen: int = 1
    missed: int = 0

    def predict(self) -> tuple[float, float]:
        return self.x + self.vx, self.y + self.vy


@dataclass
class _Blob:
    x: float
    y: float
    area: float
    along: tuple[float, float]  # its extent along the door line (pixels, projected)
    across: tuple[float, float]  # and across it


@dataclass
class _State:
    tracks: list[_Track] = field(default_factory=list)
    ended: list[tuple[int, _Track]] = field(default_factory=list)  # (frame it ended, track)
    next_id: int = 1


class DoorCounter:
    """Counts people crossing ``line`` in the frames fed to it, as ``in`` and ``out``.

    ``reset()`` (the camera slept) forgets the tracks, not the background: the floor at the door is the same
    after a pause, and a camera woken by the PIR sees someone already coming, whom a fresh model would
    learn as floor. The brightness normalisation absorbs the light's change meanwhile.
    """

    def __init__(
        self,
        line: DoorLine,
        *,
        detector: str = "mog2",
        size: tuple[int, int] = (320, 240),
        person_detector: PersonDetector | None = None,
        **tuning: Any,
    ) -> None:
        """``person_detector``: the network ``detector="tflite"`` uses (the shipped model when None);
        ``DetectorUnavailable`` when it cannot be loaded."""
        if detector not in DETECTORS:
            raise ValueError(f"unknown detector {detector!r}; one of {', '.join(DETECTORS)}")
        self._people: PersonDetector | None = None
        if detector == "tflite":
            self._people = person_detector or PersonDetector()
        self.line = line
        self.size = size
        self.tuning = Tuning(**tuning)
        self._detector = detector
        w = size[0]
        self._person_px = self.tuning.person_width * w
        # A person's outline from above: an ellipse of shoulders by a body's depth (0.55 of the width).
        self._person_area = math.pi / 4 * self._person_px * self._person_px * 0.55
        self._band = self.tuning.band * self._person_px
        self._gate = self.tuning.gate * self._person_px
        self._unit = line.unit(size)
        k = max(3, round(self._person_px / 8) | 1)
        self._open = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self._close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        self._subtractor = self._new_subtractor()
        self._reference: NDArray[np.float32] | None = None
        self._state = _State()
        self._ins = 0
        self._outs = 0
        self._since_start = 0
        self.frames_processed = 0

    def _new_subtractor(self) -> cv2.BackgroundSubtractor:
        t = self.tuning
        if self._detector == "knn":
            return cv2.createBackgroundSubtractorKNN(history=t.history, detectShadows=True)
        subtractor = cv2.createBackgroundSubtractorMOG2(
            history=t.history, varThreshold=t.var_threshold, detectShadows=True
        )
        subtractor.setShadowThreshold(t.shadow)
        return subtractor

    @property
    def counts(self) -> tuple[int, int]:
        """(ins, outs) since the counter was made."""
        return self._ins, self._outs

    def reset(self) -> None:
        """The camera slept: forget the tracks (the time gap breaks them), keep the background model. No
        warm-up again: the model is learnt already, and a camera the PIR woke sees someone coming at once."""
        self._state = _State(next_id=self._state.next_id)

    def feed(self, frame: NDArray[np.uint8], t: float) -> list[Crossing]:
        """One frame (BGR or grey, any size) taken at ``t`` seconds; the crossings it completed."""
        blobs = self._detect(frame)
        index = self.frames_processed
        self.frames_processed += 1
        self._since_start += 1
        if self._people is None and self._since_start <= self.tuning.warmup:
            return []
        return self._track(blobs, index, t)

    # ------------------------------------------------------------------------------------------ detection

    def _prepare(self, frame: NDArray[np.uint8]) -> NDArray[np.uint8]:
        img: Any = frame
        if img.ndim == 2:
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        if (img.shape[1], img.shape[0]) != self.size:
            img = cv2.resize(img, self.size, interpolation=cv2.INTER_AREA)
        # The light's change: the median over a small copy of the ratio to a slowly updated reference of
        # the floor. Per pixel, so that people (always under half of it) do not move it, even on a floor
        # half mat, half tiles, where the median of the frame itself would jump between the two.
        small = cv2.resize(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), (40, 30), interpolation=cv2.INTER_AREA)
        small = small.astype(np.float32) + 1.0
        if self._reference is None:
            self._reference = small
        gain = float(np.median(small / self._reference))
        self._reference = 0.97 * self._reference + 0.03 * (small / gain)
        if abs(gain - 1) > 0.02:
            img = cv2.convertScaleAbs(img, alpha=1.0 / gain)
        return np.asarray(cv2.GaussianBlur(img, (5, 5), 0), dtype=np.uint8)

    def _learning_rate(self) -> float:
        """Fast at first (the model settles on the floor and its noise within a second), then slow, so that
        someone standing on the line stays foreground for ~10 s (MOG2's own schedule, 1/(2n), would have
        learnt a pram that passed twice as floor within the first 5 seconds)."""
        n = self.frames_processed + 1
        return 1.0 / min(2 * n, self.tuning.history) if n <= self.tuning.settle else 1.0 / self.tuning.history

    def _detect(self, frame: NDArray[np.uint8]) -> list[_Blob]:
        if self._people is not None:
            return self._detect_people(frame)
        img = self._prepare(frame)
        mask = self._subtractor.apply(img, learningRate=self._learning_rate())
        _, mask = cv2.threshold(mask, 200, 255, cv2.THRESH_BINARY)  # 127 is a shadow
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._open)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, self._close)
        if cv2.countNonZero(mask) > 0.5 * mask.size:
            return []  # the whole floor changed (the camera moved, a flash): no blob means anything
        # Holes filled: dark hair or a dark coat can read as a shadow of the floor inside a person.
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        filled = np.zeros_like(mask)
        cv2.drawContours(filled, contours, -1, 255, -1)
        count, labels, stats, centroids = cv2.connectedComponentsWithStats(filled, connectivity=8)
        blobs: list[_Blob] = []
        ux, uy = self._unit
        for i in range(1, count):
            x, y, w, h, area = (int(v) for v in stats[i])
            if area < self.tuning.min_area * self._person_area:
                continue
            # The blob's extent along the door line and across it, from its box's corners (exact for a line
            # along an axis, a slight overestimate for a slanted one).
            corners = [(x, y), (x + w, y), (x, y + h), (x + w, y + h)]
            along_c = [cx * ux + cy * uy for cx, cy in corners]
            across_c = [cy * ux - cx * uy for cx, cy in corners]
            lo, hi = min(along_c), max(along_c)
            people = max(1, int((hi - lo) / self._person_px - self.tuning.split_at + 2))
            if people == 1:
                cx, cy = float(centroids[i][0]), float(centroids[i][1])
                blobs.append(_Blob(cx, cy, area, (lo, hi), (min(across_c), max(across_c))))
                continue
            # Side by side: cut the blob into equal slices along the line, one person in each.
            ys, xs = np.nonzero(labels[y : y + h, x : x + w] == i)
            px = xs.astype(np.float32) + x
            py = ys.astype(np.float32) + y
            along = px * ux + py * uy
            across = py * ux - px * uy
            lo, hi = float(along.min()), float(along.max())
            slot = np.minimum(((along - lo) / (hi - lo + 1e-6) * people).astype(np.int32), people - 1)
            for k in range(people):
                sel = slot == k
                if sel.any():
                    a_, c_ = along[sel], across[sel]
                    blobs.append(
                        _Blob(
                            float(px[sel].mean()),
                            float(py[sel].mean()),
                            float(sel.sum()),
                            (float(a_.min()), float(a_.max())),
                            (float(c_.min()), float(c_.max())),
                        )
                    )
        return self._merge(blobs)

    def _detect_people(self, frame: NDArray[np.uint8]) -> list[_Blob]:
        """The person detector's peaks as detections of one person each, in the working size's pixels."""
        assert self._people is not None
        sx = self.size[0] / frame.shape[1]
        sy = self.size[1] / frame.shape[0]
        ux, uy = self._unit
        half_w, half_d = self._person_px / 2, self._person_px * 0.55 / 2
        blobs: list[_Blob] = []
        for person in self._people.detect(frame):
            x, y = person.x * sx, person.y * sy
            a, c = x * ux + y * uy, y * ux - x * uy
            blobs.append(_Blob(x, y, self._person_area, (a - half_w, a + half_w), (c - half_d, c + half_d)))
        return blobs

    def _merge(self, blobs: list[_Blob]) -> list[_Blob]:
        """Fragments of one person joined: clothes the colour of the floor leave a head and two bags, or a
        head and shoulders, apart. Joined only if together they are no wider along the line than one person
        with bags (``merge`` widths; two people side by side are wider) and touch across it."""
        width = self.tuning.merge * self._person_px
        touch = 0.5 * self._person_px
        i = 0
        while i < len(blobs):
            for j in range(i + 1, len(blobs)):
                a, b = blobs[i], blobs[j]
                along = (min(a.along[0], b.along[0]), max(a.along[1], b.along[1]))
                gap = max(a.across[0], b.across[0]) - min(a.across[1], b.across[1])
                if along[1] - along[0] <= width and gap <= touch:
                    total = a.area + b.area
                    blobs[i] = _Blob(
                        (a.x * a.area + b.x * b.area) / total,
                        (a.y * a.area + b.y * b.area) / total,
                        total,
                        along,
                        (min(a.across[0], b.across[0]), max(a.across[1], b.across[1])),
                    )
                    del blobs[j]
                    break
            else:
                i += 1
        return blobs

    # ------------------------------------------------------------------------------------------ tracking

    def _track(self, blobs: list[_Blob], index: int, t: float) -> list[Crossing]:
        state = self._state
        matches = self._match(blobs)
        crossings: list[Crossing] = []
        for ti, bi in matches.items():
            track, blob = state.tracks[ti], blobs[bi]
            # A smoothed velocity: blobs jitter as limbs and bags swing.
            track.vx = 0.6 * track.vx + 0.4 * (blob.x - track.x)
            track.vy = 0.6 * track.vy + 0.4 * (blob.y - track.y)
            track.x, track.y = blob.x, blob.y
            track.seen += 1
            track.missed = 0
            crossings.extend(self._side_change(track, index, t))
        alive: list[_Track] = []
        for ti, track in enumerate(state.tracks):
            if ti not in matches:
                track.missed += 1
                track.x, track.y = track.predict()  # coasting; its side changes only when seen again
                track.vx *= 0.8
                track.vy *= 0.8
                if track.missed > self.tuning.max_missed:
                    state.ended.append((index, track))
                    continue
            alive.append(track)
        state.ended = [(f, tr) for f, tr in state.ended if index - f <= self.tuning.revive]
        used = set(matches.values())
        for bi, blob in enumerate(blobs):
            if bi in used:
                continue
            revived = self._revive(blob)
            if revived is not None:
                alive.append(revived)
                crossings.extend(self._side_change(revived, index, t))
                continue
            track = _Track(state.next_id, blob.x, blob.y)
            state.next_id += 1
            d = self.line.side((blob.x, blob.y), self.size)
            track.side = 1 if d > self._band else -1 if d < -self._band else 0
            alive.append(track)
        state.tracks = alive
        return crossings

    def _match(self, blobs: list[_Blob]) -> dict[int, int]:
        """Track index -> blob index: nearest pairs first, each within the gate of the track's prediction."""
        pairs: list[tuple[float, int, int]] = []
        for ti, track in enumerate(self._state.tracks):
            px, py = track.predict()
            for bi, blob in enumerate(blobs):
                d = math.hypot(blob.x - px, blob.y - py)
                if d <= self._gate:
                    pairs.append((d, ti, bi))
        pairs.sort()
        matches: dict[int, int] = {}
        used: set[int] = set()
        for _, ti, bi in pairs:
            if ti not in matches and bi not in used:
                matches[ti] = bi
                used.add(bi)
        return matches

    def _revive(self, blob: _Blob) -> _Track | None:
        """A track lost a moment ago near this new blob: the same person, seen again after standing still
        long enough to fade, or after walking merged with someone. It keeps its side of the line, so its
        crossing is neither lost nor counted twice."""
        best: tuple[float, int] | None = None
        for i, (_, track) in enumerate(self._state.ended):
            d = math.hypot(blob.x - track.x, blob.y - track.y)
            if d <= 1.5 * self._gate and (best is None or d < best[0]):
                best = (d, i)
        if best is None:
            return None
        _, track = self._state.ended.pop(best[1])
        track.x, track.y, track.vx, track.vy, track.missed = blob.x, blob.y, 0.0, 0.0, 0
        return track

    def _side_change(self, track: _Track, index: int, t: float) -> list[Crossing]:
        """The crossing this observed position completes, if it is beyond the band on the other side."""
        d = self.line.side((track.x, track.y), self.size)
        new = 1 if d > self._band else -1 if d < -self._band else track.side
        previous, track.side = track.side, new
        if previous == 0 or new == previous:
            return []
        direction = Direction.IN if new > 0 else Direction.OUT
        if direction is Direction.IN:
            self._ins += 1
        else:
            self._outs += 1
        return [Crossing(track.track_id, direction, index, t)]
