"""Door sequences with known truth, seen by an overhead door counter (``geometry``: 3 m up, looking down).

A person from above is a head on an ellipse of shoulders, in random clothing colours with a little texture,
walking at their own speed with a little sway. The floor is textured tiles with a mat; the light drifts;
scenarios add hard shadows, bags, prams, light steps and sensor noise. The door line is across the middle
of the frame, the store below it.

The truth of a crossing is physical: a person's centre going from more than ``TRUTH_BAND_M`` on one side
of the line to more than that on the other (lingering on the line, or a step over it and back, is no
crossing). Scenarios keep clear of the ambiguous zone: a turn-back goes at most 0.1 m past the line, or a
metre and more.

Tuning (tests, thresholds) uses ``TUNING_SEEDS`` only; the benchmark reports on ``HELD_OUT_SEEDS``.

>>> seq = door_sequence("side_by_side", 3)
>>> for frame in seq.frames: ...
"""

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from edge.footfall.geometry import px_per_m, view_width_m
from edge.footfall.line import DoorLine
from models.footfall import Direction

SCENARIOS = (
    "single_in",
    "single_out",
    "side_by_side",
    "crossing_each_other",
    "lingering_on_line",
    "turn_back",
    "bags",
    "pram",
    "light_change",
    "shadows",
    "noise",
    "mixed",
)
TUNING_SEEDS = range(0, 50)
HELD_OUT_SEEDS = range(1000, 1040)  # never used for tuning: the benchmark's figures
DOOR_LINE = DoorLine(0.0, 0.5, 1.0, 0.5, in_side=1)  # across the middle; inside is below
TRUTH_BAND_M = 0.2
PIR_HOLD_S = 2.0  # a PIR stays on this long after the last motion it saw
PIR_RANGE_M = 1.5  # it sees motion this far from the door line

_W_M = view_width_m()
_H_M = _W_M * 3 / 4
_LINE_M = _H_M / 2
_OFF_TOP = -0.45  # where a walker starts or ends, just out of the frame
_OFF_BOTTOM = _H_M + 0.45


@dataclass(frozen=True)
class TruthCrossing:
    direction: Direction
    frame_index: int


@dataclass
class _Walker:
    """A person's path as keyframes (frame, x m, y m), linearly interpolated, and how they look."""

    keys: list[tuple[float, float, float]]
    width_m: float
    depth_m: float
    colour: tuple[float, float, float]
    hair: tuple[float, float, float]
    stripes: bool
    bags: int = 0  # bags carried at the side (0-2)
    pram: bool = False
    pram_colour: tuple[float, float, float] = (40.0, 40.0, 45.0)
    sway_phase: float = 0.0

    def at(self, f: float) -> tuple[float, float, float] | None:
        """Centre (x, y) in metres and heading (radians) at frame ``f``; None before the first keyframe or
        after the last."""
        if f < self.keys[0][0] or f > self.keys[-1][0]:
            return None
        fs = [k[0] for k in self.keys]
        x = float(np.interp(f, fs, [k[1] for k in self.keys]))
        y = float(np.interp(f, fs, [k[2] for k in self.keys]))
        x2 = float(np.interp(f + 1, fs, [k[1] for k in self.keys]))
        y2 = float(np.interp(f + 1, fs, [k[2] for k in self.keys]))
        if abs(x2 - x) + abs(y2 - y) < 1e-6:  # standing: keep the heading of the last move
            x0 = float(np.interp(f - 1, fs, [k[1] for k in self.keys]))
            y0 = float(np.interp(f - 1, fs, [k[2] for k in self.keys]))
            x2, y2 = x + (x - x0), y + (y - y0)
            if abs(x2 - x) + abs(y2 - y) < 1e-6:
                later = [k for k in self.keys if k[0] > f]
                earlier = [k for k in self.keys if k[0] <= f]
                x2, y2 = (later[0][1], later[0][2]) if later else (x, y + 1)
                if abs(x2 - x) + abs(y2 - y) < 1e-6 and earlier:
                    x2, y2 = x + (x - earlier[0][1]), y + (y - earlier[0][2])
        heading = math.atan2(y2 - y, x2 - x)
        sway = 0.025 * math.sin(f * 0.9 + self.sway_phase)  # the shoulders rock with each step
        return x - sway * math.sin(heading), y + sway * math.cos(heading), heading

    @property
    def last_frame(self) -> int:
        return math.ceil(self.keys[-1][0])


@dataclass
class _Scene:
    rng: np.random.Generator
    fps: int
    walkers: list[_Walker] = field(default_factory=list)
    noise_sigma: float = 3.0
    drift: float = 0.06  # slow light drift, relative amplitude
    steps: list[tuple[int, float]] = field(default_factory=list)  # (frame, gain factor): lights switched
    shadow: tuple[float, float, float] | None = None  # (dx m, dy m, darkness 0..1)
    length: int = 0

    def person(self, *, bags: int = 0, pram: bool = False) -> _Walker:
        rng = self.rng
        hue = rng.random()
        sat, val = rng.uniform(0.1, 0.9), rng.uniform(0.25, 0.95)
        colour = _bgr(hue, sat, val)
        hair = _bgr(rng.uniform(0.02, 0.12), rng.uniform(0.2, 0.6), rng.uniform(0.05, 0.45))
        return _Walker(
            keys=[],
            width_m=rng.uniform(0.42, 0.52),
            depth_m=rng.uniform(0.22, 0.30),
            colour=colour,
            hair=hair,
            stripes=bool(rng.random() < 0.4),
            pram_colour=_bgr(rng.random(), rng.uniform(0, 0.8), rng.uniform(0.1, 0.7)),
            sway_phase=rng.uniform(0, 2 * math.pi),
            bags=bags,
            pram=pram,
        )

    def speed(self) -> float:
        """Metres per frame: 0.8 to 1.6 m/s, a shopper to someone in a hurry."""
        return float(self.rng.uniform(0.8, 1.6)) / self.fps

    def cross(
        self, start: float, direction: Direction, x: float | None = None, *, bags: int = 0, pram: bool = False
    ) -> _Walker:
        """Someone walking through the door, from out of the frame to out of the frame."""
        w = self.person(bags=bags, pram=pram)
        x0 = x if x is not None else float(self.rng.uniform(0.7, _W_M - 0.7))
        x1 = x0 + float(self.rng.uniform(-0.3, 0.3))
        y0, y1 = (_OFF_TOP, _OFF_BOTTOM) if direction is Direction.IN else (_OFF_BOTTOM, _OFF_TOP)
        v = self.speed()
        w.keys = [(start, x0, y0), (start + abs(y1 - y0) / v, x1, y1)]
        self.walkers.append(w)
        return w

    def path(self, start: float, points: list[tuple[float, float, float]]) -> _Walker:
        """Someone along ``points`` (x m, y m, seconds to stand there once arrived)."""
        w = self.person()
        v = self.speed()
        f = start
        keys = [(f, points[0][0], points[0][1])]
        for (xa, ya, _), (xb, yb, stand) in itertools.pairwise(points):
            f += math.hypot(xb - xa, yb - ya) / v
            keys.append((f, xb, yb))
            if stand > 0:
                f += stand * self.fps
                keys.append((f, xb, yb))
        w.keys = keys
        self.walkers.append(w)
        return w

    def end(self, pad_s: float = 1.0) -> None:
        last = max((w.last_frame for w in self.walkers), default=0)
        self.length = last + int(pad_s * self.fps)


def _bgr(h: float, s: float, v: float) -> tuple[float, float, float]:
    hsv = np.array([[[h * 180, s * 255, v * 255]]], dtype=np.uint8)
    b, g, r = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]
    return float(b), float(g), float(r)


# ------------------------------------------------------------------------------------------- scenarios


def _lead(rng: np.random.Generator, fps: int) -> float:
    """The first second or so is the empty door: the camera learns the floor (as after a PIR wake-up)."""
    return float(rng.uniform(1.0, 1.5)) * fps


def _side_x(rng: np.random.Generator) -> float:
    return float(rng.uniform(0.7, _W_M - 0.7))


def _one_by_one(scene: _Scene, directions: list[Direction], *, bags: int = 0, pram: bool = False) -> None:
    t = _lead(scene.rng, scene.fps)
    for d in directions:
        scene.cross(t, d, bags=bags, pram=pram)
        t += float(scene.rng.uniform(2.0, 3.5)) * scene.fps  # the next after the first has gone


def _random_directions(rng: np.random.Generator, n: int) -> list[Direction]:
    return [Direction.IN if rng.random() < 0.5 else Direction.OUT for _ in range(n)]


def _abreast(scene: _Scene, t: float, d: Direction) -> None:
    x = float(scene.rng.uniform(1.0, _W_M - 1.0))
    gap = float(scene.rng.uniform(0.48, 0.6))  # centre to centre: shoulders touching or nearly
    a = scene.cross(t, d, x=x - gap / 2)
    b = scene.cross(t, d, x=x + gap / 2)
    # Walking together: the same speed and drift.
    drift = float(scene.rng.uniform(-0.2, 0.2))
    b.keys = [(k[0], k[1], k[2]) for k in a.keys]
    a.keys = [(a.keys[0][0], x - gap / 2, a.keys[0][2]), (a.keys[1][0], x - gap / 2 + drift, a.keys[1][2])]
    b.keys = [(a.keys[0][0], x + gap / 2, a.keys[0][2]), (a.keys[1][0], x + gap / 2 + drift, a.keys[1][2])]


def _crossing_pair(scene: _Scene, t: float) -> None:
    x = float(scene.rng.uniform(1.0, _W_M - 1.0))
    gap = float(scene.rng.uniform(0.5, 0.8)) * (1 if scene.rng.random() < 0.5 else -1)
    a = scene.cross(t, Direction.IN, x=x - gap / 2)
    b = scene.cross(t, Direction.OUT, x=x + gap / 2)
    # Time the second so that they meet near the line.
    ta = a.keys[0][0] + (a.keys[1][0] - a.keys[0][0]) * (_LINE_M - _OFF_TOP) / (_OFF_BOTTOM - _OFF_TOP)
    tb_rel = (b.keys[1][0] - b.keys[0][0]) * (_OFF_BOTTOM - _LINE_M) / (_OFF_BOTTOM - _OFF_TOP)
    shift = ta - tb_rel - b.keys[0][0] + float(scene.rng.uniform(-0.3, 0.3)) * scene.fps
    b.keys = [(k[0] + shift, k[1], k[2]) for k in b.keys]
    a.keys = [(k[0] + max(0.0, -shift), k[1], k[2]) for k in a.keys]
    b.keys = [(k[0] + max(0.0, -shift), k[1], k[2]) for k in b.keys]


def _linger(scene: _Scene, t: float) -> None:
    rng = scene.rng
    x = _side_x(rng)
    from_top = rng.random() < 0.5
    y0, y1 = (_OFF_TOP, _OFF_BOTTOM) if from_top else (_OFF_BOTTOM, _OFF_TOP)
    stand: list[tuple[float, float, float]] = []
    # Stand on the line, shifting weight (within 0.08 m of it), a few seconds.
    for _ in range(int(rng.integers(2, 5))):
        stand.append((x + float(rng.uniform(-0.1, 0.1)), _LINE_M + float(rng.uniform(-0.08, 0.08)),
                      float(rng.uniform(0.5, 1.5))))  # fmt: skip
    through = rng.random() < 0.6  # then go on through, or back where they came from
    scene.path(t, [(x, y0, 0.0), *stand, (x + float(rng.uniform(-0.3, 0.3)), y1 if through else y0, 0.0)])


def _turn_back(scene: _Scene, t: float, deep: bool) -> None:
    rng = scene.rng
    x = _side_x(rng)
    from_top = rng.random() < 0.5
    sign = 1 if from_top else -1
    y0 = _OFF_TOP if from_top else _OFF_BOTTOM
    # A shallow turn reaches at most 0.1 m past the line (no crossing); a deep one a metre in (in, then out).
    past = float(rng.uniform(0.9, 1.1)) if deep else float(rng.uniform(-0.3, 0.1))
    turn = (x + float(rng.uniform(-0.1, 0.1)), _LINE_M + sign * past, float(rng.uniform(0.0, 0.8)))
    scene.path(t, [(x, y0, 0.0), turn, (x + float(rng.uniform(-0.3, 0.3)), y0, 0.0)])


def _sc_single_in(scene: _Scene, n: int) -> None:
    _one_by_one(scene, [Direction.IN] * n)


def _sc_single_out(scene: _Scene, n: int) -> None:
    _one_by_one(scene, [Direction.OUT] * n)


def _sc_side_by_side(scene: _Scene, n: int) -> None:
    rng, fps = scene.rng, scene.fps
    t = _lead(rng, fps)
    for d in _random_directions(rng, int(rng.integers(1, 3))):
        _abreast(scene, t, d)
        t += float(rng.uniform(3.0, 4.0)) * fps


def _sc_crossing_each_other(scene: _Scene, n: int) -> None:
    rng, fps = scene.rng, scene.fps
    t = _lead(rng, fps)
    for _ in range(int(rng.integers(1, 3))):
        _crossing_pair(scene, t)
        t = max(w.last_frame for w in scene.walkers) + float(rng.uniform(0.3, 1.0)) * fps


def _sc_lingering_on_line(scene: _Scene, n: int) -> None:
    _linger(scene, _lead(scene.rng, scene.fps))


def _sc_turn_back(scene: _Scene, n: int) -> None:
    rng, fps = scene.rng, scene.fps
    _turn_back(scene, _lead(rng, fps), deep=False)
    if rng.random() < 0.5:
        t = max(w.last_frame for w in scene.walkers) + float(rng.uniform(0.3, 1.0)) * fps
        _turn_back(scene, t, deep=True)


def _sc_bags(scene: _Scene, n: int) -> None:
    _one_by_one(scene, _random_directions(scene.rng, n), bags=int(scene.rng.integers(1, 3)))


def _sc_pram(scene: _Scene, n: int) -> None:
    _one_by_one(scene, _random_directions(scene.rng, int(scene.rng.integers(1, 3))), pram=True)


def _sc_light_change(scene: _Scene, n: int) -> None:
    rng = scene.rng
    _one_by_one(scene, _random_directions(rng, n + 1))
    scene.drift = float(rng.uniform(0.15, 0.3))
    scene.end()
    for _ in range(int(rng.integers(1, 3))):  # lights switched on or off, or a cloud: a step of 15-30 %
        factor = float(rng.uniform(1.15, 1.3))
        at = int(rng.integers(scene.fps, scene.length))
        scene.steps.append((at, factor if rng.random() < 0.5 else 1 / factor))


def _sc_shadows(scene: _Scene, n: int) -> None:
    _one_by_one(scene, _random_directions(scene.rng, n + 1))
    scene.shadow = _random_shadow(scene.rng)


def _sc_noise(scene: _Scene, n: int) -> None:
    _one_by_one(scene, _random_directions(scene.rng, n + 1))
    scene.noise_sigma = float(scene.rng.uniform(10, 18))


def _sc_mixed(scene: _Scene, n: int) -> None:
    _mixed(scene)


_BUILDERS: dict[str, Callable[[_Scene, int], None]] = {
    "single_in": _sc_single_in,
    "single_out": _sc_single_out,
    "side_by_side": _sc_side_by_side,
    "crossing_each_other": _sc_crossing_each_other,
    "lingering_on_line": _sc_lingering_on_line,
    "turn_back": _sc_turn_back,
    "bags": _sc_bags,
    "pram": _sc_pram,
    "light_change": _sc_light_change,
    "shadows": _sc_shadows,
    "noise": _sc_noise,
    "mixed": _sc_mixed,
}


def _build(scenario: str, rng: np.random.Generator, fps: int) -> _Scene:
    if scenario not in _BUILDERS:
        raise ValueError(f"unknown scenario {scenario!r}; one of {', '.join(SCENARIOS)}")
    scene = _Scene(
        rng=rng, fps=fps, drift=float(rng.uniform(0.0, 0.08)), noise_sigma=float(rng.uniform(1, 4))
    )
    _BUILDERS[scenario](scene, int(rng.integers(1, 4)))
    if not scene.length:
        scene.end()
    return scene


def _random_shadow(rng: np.random.Generator) -> tuple[float, float, float]:
    angle = rng.uniform(0, 2 * math.pi)
    reach = rng.uniform(0.25, 0.6)  # a low spotlight or the sun through the door
    return reach * math.cos(angle), reach * math.sin(angle), float(rng.uniform(0.3, 0.5))


def _mixed(scene: _Scene) -> None:
    """About a minute of a door: arrivals every few seconds of any of the above."""
    rng, fps = scene.rng, scene.fps
    scene.noise_sigma = float(rng.uniform(2, 8))
    scene.drift = float(rng.uniform(0.05, 0.15))
    if rng.random() < 0.5:
        scene.shadow = _random_shadow(rng)
    t = _lead(rng, fps)
    end = 60 * fps
    while t < end:
        kind = rng.choice(["in", "out", "in", "out", "abreast", "pair", "linger", "turn", "bags", "pram"])
        if kind in ("in", "out"):
            scene.cross(t, Direction.IN if kind == "in" else Direction.OUT)
        elif kind == "abreast":
            _abreast(scene, t, _random_directions(rng, 1)[0])
        elif kind == "pair":
            _crossing_pair(scene, t)
        elif kind == "linger":
            _linger(scene, t)
        elif kind == "turn":
            _turn_back(scene, t, deep=rng.random() < 0.4)
        elif kind == "bags":
            scene.cross(t, _random_directions(rng, 1)[0], bags=int(rng.integers(1, 3)))
        else:
            scene.cross(t, _random_directions(rng, 1)[0], pram=True)
        # The next arrives once this one is mostly through: a busy door, yet one event at a time in view.
        busy_until = max(w.keys[-1][0] for w in scene.walkers)
        t = max(t + float(rng.uniform(1.5, 3.0)) * fps, busy_until - float(rng.uniform(0.5, 1.2)) * fps)


# ------------------------------------------------------------------------------------------- truth


def _truth(walkers: list[_Walker], length: int) -> list[TruthCrossing]:
    out: list[TruthCrossing] = []
    for w in walkers:
        state = 0
        for f in range(max(0, int(w.keys[0][0])), min(length, w.last_frame + 1)):
            pos = w.at(f)
            if pos is None:
                continue
            d = pos[1] - _LINE_M  # > 0 inside
            new = 1 if d > TRUTH_BAND_M else -1 if d < -TRUTH_BAND_M else state
            if state and new != state:
                out.append(TruthCrossing(Direction.IN if new > 0 else Direction.OUT, f))
            state = new
    return sorted(out, key=lambda c: c.frame_index)


def _pir(walkers: list[_Walker], length: int, fps: int, rng: np.random.Generator) -> list[tuple[float, bool]]:
    """On while anyone moves within ``PIR_RANGE_M`` of the line (then held ``PIR_HOLD_S``), with a little
    timing jitter and, rarely, a spurious blip (a draught, a warm car passing the door)."""
    near = np.zeros(length, dtype=bool)
    for w in walkers:
        for f in range(max(0, int(w.keys[0][0])), min(length, w.last_frame + 1)):
            pos = w.at(f)
            if pos is not None and abs(pos[1] - _LINE_M) < PIR_RANGE_M:
                near[f] = True
    hold = int(PIR_HOLD_S * fps)
    on = np.zeros(length, dtype=bool)
    for i in np.flatnonzero(near):
        on[i : i + hold] = True
    if rng.random() < 0.2:
        f = int(rng.integers(0, max(1, length - fps)))
        on[f : f + int(fps * 0.5)] = True
    events: list[tuple[float, bool]] = []
    previous = False
    for f in range(length):
        if bool(on[f]) != previous:
            previous = bool(on[f])
            events.append((max(0.0, f / fps + float(rng.normal(0, 0.08))), previous))
    if previous:
        events.append((length / fps, False))
    return events


# ------------------------------------------------------------------------------------------- drawing


def _floor(rng: np.random.Generator, size: tuple[int, int]) -> NDArray[np.float32]:
    w, h = size
    ppm = px_per_m(w)
    base = np.array(_bgr(rng.random(), rng.uniform(0, 0.3), rng.uniform(0.45, 0.8)), dtype=np.float32)
    coarse = rng.normal(0, rng.uniform(4, 12), size=(int(rng.integers(3, 9)), int(rng.integers(3, 9)), 1))
    img = base + cv2.resize(coarse.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)[..., None]
    img = img + rng.normal(0, 3, size=(h, w, 1)).astype(np.float32)  # grain of the stone
    tile = rng.uniform(0.3, 0.6) * ppm
    grout = tuple(float(c) * 0.75 for c in base)
    for i in range(int(w / tile) + 2):
        cv2.line(img, (int(i * tile), 0), (int(i * tile), h), grout, max(1, w // 320))
    for j in range(int(h / tile) + 2):
        cv2.line(img, (0, int(j * tile)), (w, int(j * tile)), grout, max(1, w // 320))
    if rng.random() < 0.7:  # a door mat across the line
        mat = tuple(float(c) for c in _bgr(rng.random(), rng.uniform(0.2, 0.7), rng.uniform(0.15, 0.5)))
        y0 = h / 2 - rng.uniform(0.3, 0.6) * ppm
        y1 = h / 2 + rng.uniform(0.3, 0.6) * ppm
        cv2.rectangle(img, (int(w * 0.15), int(y0)), (int(w * 0.85), int(y1)), mat, -1)
    return np.asarray(img, dtype=np.float32)


def _ellipse(img: NDArray[np.float32], c: tuple[float, float], axes: tuple[float, float], angle_deg: float,
             colour: tuple[float, ...]) -> None:  # fmt: skip
    cv2.ellipse(img, (round(c[0]), round(c[1])), (max(1, int(axes[0])), max(1, int(axes[1]))),
                angle_deg, 0, 360, colour, -1, cv2.LINE_AA)  # fmt: skip


def _draw_walker(img: NDArray[np.float32], w: _Walker, pos: tuple[float, float, float], ppm: float) -> None:
    x, y, heading = pos
    cx, cy = x * ppm, y * ppm
    fx, fy = math.cos(heading), math.sin(heading)  # forward
    deg = math.degrees(heading)
    if w.pram:  # a pram pushed ahead: 0.55 m wide, 0.85 m long, its handle held at arm's length
        centre = (cx + fx * 0.68 * ppm, cy + fy * 0.68 * ppm)
        box = cv2.boxPoints((centre, (0.85 * ppm, 0.55 * ppm), deg)).astype(np.int32)
        cv2.fillPoly(img, [box], w.pram_colour, cv2.LINE_AA)
        hood = (centre[0] + fx * 0.2 * ppm, centre[1] + fy * 0.2 * ppm)
        _ellipse(img, hood, (0.22 * ppm, 0.26 * ppm), deg, tuple(c * 0.8 for c in w.colour))
        for side in (1, -1):  # the arms, from the shoulders to the handle
            sx, sy = cx - fy * side * 0.17 * ppm, cy + fx * side * 0.17 * ppm
            ex, ey = sx + fx * 0.3 * ppm, sy + fy * 0.3 * ppm
            cv2.line(
                img, (int(sx), int(sy)), (int(ex), int(ey)), w.colour, max(2, int(0.07 * ppm)), cv2.LINE_AA
            )
    for i in range(w.bags):  # a bag in the hand, hanging against the thigh: under the arm from above
        side = 1 if i == 0 else -1
        off = (w.width_m / 2 + 0.03) * ppm
        bx, by = cx - fy * off * side, cy + fx * off * side
        box = cv2.boxPoints(((bx, by), (0.3 * ppm, 0.12 * ppm), deg)).astype(np.int32)
        cv2.fillPoly(img, [box], (30.0 + 150 * (i % 2), 60.0, 200.0 - 120 * (i % 2)), cv2.LINE_AA)
    # Shoulders and arms: an ellipse across the walking direction, then the head slightly forward.
    _ellipse(img, (cx, cy), (w.depth_m / 2 * ppm, w.width_m / 2 * ppm), deg, w.colour)
    if w.stripes:
        darker = tuple(c * 0.7 for c in w.colour)
        for k in (-1, 1):
            sx, sy = cx - fy * k * 0.1 * ppm, cy + fx * k * 0.1 * ppm
            _ellipse(img, (sx, sy), (w.depth_m / 2.4 * ppm, 0.03 * ppm), deg, darker)
    _ellipse(img, (cx + fx * 0.03 * ppm, cy + fy * 0.03 * ppm), (0.1 * ppm, 0.085 * ppm), deg, w.hair)


def _draw_shadow(mask: NDArray[np.float32], w: _Walker, pos: tuple[float, float, float], ppm: float,
                 shadow: tuple[float, float, float]) -> None:  # fmt: skip
    x, y, _ = pos
    dx, dy, _ = shadow
    c = ((x + dx) * ppm, (y + dy) * ppm)
    # The whole body's shadow on the floor: longer than the shoulders, along the light.
    length = math.hypot(dx, dy) * ppm + w.depth_m * ppm
    _ellipse(mask, c, (length / 2, w.width_m / 2 * ppm * 0.9), math.degrees(math.atan2(dy, dx)), (1.0,))


class _Frames:
    """The frames of a sequence, drawn on demand each time they are iterated (a minute at 640x480 would
    be 800 MB as a list); the same every time."""

    def __init__(self, scene: _Scene, size: tuple[int, int], seed: int) -> None:
        self._scene, self._size, self._seed = scene, size, seed
        self._floor = _floor(np.random.default_rng((seed, 1)), size)

    def __len__(self) -> int:
        return self._scene.length

    @property
    def walkers(self) -> list[_Walker]:
        return self._scene.walkers

    def __iter__(self) -> Iterator[NDArray[np.uint8]]:
        for f in range(self._scene.length):
            yield self.frame(f)

    def frame(self, f: int) -> NDArray[np.uint8]:
        scene, (w, h) = self._scene, self._size
        ppm = px_per_m(w)
        img = self._floor.copy()
        placed = [(walker, walker.at(f)) for walker in scene.walkers]
        visible = [(walker, pos) for walker, pos in placed if pos is not None]
        if scene.shadow is not None and visible:
            mask = np.zeros((h, w), dtype=np.float32)
            for walker, pos in visible:
                _draw_shadow(mask, walker, pos, ppm, scene.shadow)
            soft = cv2.GaussianBlur(mask, (0, 0), max(1.0, w / 320))
            img *= (1 - scene.shadow[2] * soft)[..., None]
        for walker, pos in visible:
            _draw_walker(img, walker, pos, ppm)
        gain = 1 + scene.drift * math.sin(2 * math.pi * f / (20 * scene.fps) + self._seed)
        for at, factor in scene.steps:
            if f >= at:
                gain *= factor
        rng = np.random.default_rng((self._seed, 2, f))
        img *= gain
        noise = rng.standard_normal((h, w), dtype=np.float32) * scene.noise_sigma  # luminance noise
        img += noise[..., None]
        return np.clip(img, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class DoorSequence:
    scenario: str
    seed: int
    size: tuple[int, int]
    fps: int
    frames: _Frames
    truth: list[TruthCrossing]
    pir: list[tuple[float, bool]]  # (seconds from the start, motion on/off), in time order
    line: DoorLine = DOOR_LINE

    @property
    def truth_in(self) -> int:
        return sum(1 for c in self.truth if c.direction is Direction.IN)

    @property
    def truth_out(self) -> int:
        return sum(1 for c in self.truth if c.direction is Direction.OUT)

    def time_of(self, frame_index: int) -> float:
        return frame_index / self.fps

    def people_at(self, frame_index: int) -> list[tuple[float, float]]:
        """Where each person's shoulders are in frame ``frame_index``, in pixels of ``size`` (some may be just
        outside the frame): the truth a person detector learns from (edge/footfall/detector_training.py)."""
        ppm = px_per_m(self.size[0])
        return [(p[0] * ppm, p[1] * ppm) for w in self.frames.walkers if (p := w.at(frame_index)) is not None]


def door_sequence(
    scenario: str, seed: int, *, size: tuple[int, int] = (320, 240), fps: int = 15
) -> DoorSequence:
    """The sequence ``scenario`` drawn from ``seed`` (the same seed gives the same people at any size)."""
    rng = np.random.default_rng((seed, SCENARIOS.index(scenario) if scenario in SCENARIOS else 99))
    scene = _build(scenario, rng, fps)
    truth = _truth(scene.walkers, scene.length)
    pir = _pir(scene.walkers, scene.length, fps, np.random.default_rng((seed, 3)))
    return DoorSequence(scenario, seed, size, fps, _Frames(scene, size, seed), truth, pir)
