"""The door line: where a crossing is counted, and which side of it is the store.

Coordinates are fractions (0..1) of the frame's width and height, so one line set at calibration fits the
camera at any resolution (the pipeline works at 320x240, a technician's clip may be 640x480).
"""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class DoorLine:
    """A segment from (x1, y1) to (x2, y2), as fractions of the frame.

    ``in_side`` says which side is inside the store: +1 the side on the right of the direction
    (x1, y1) -> (x2, y2) as seen in the image (y grows downwards: for a line drawn left to right, below it),
    -1 the other. ``side`` is positive inside.
    """

    x1: float
    y1: float
    x2: float
    y2: float
    in_side: int = 1

    def __post_init__(self) -> None:
        if self.in_side not in (1, -1):
            raise ValueError(f"in_side must be 1 or -1, not {self.in_side}")
        if (self.x1, self.y1) == (self.x2, self.y2):
            raise ValueError("a door line needs two distinct points")

    @classmethod
    def parse(cls, text: str, size: tuple[int, int] | None = None, *, in_side: int = 1) -> "DoorLine":
        """``"X1,Y1,X2,Y2"``: fractions of the frame, or pixels (any value > 1) of a frame ``size=(w, h)``."""
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 4:
            raise ValueError(f"a door line is X1,Y1,X2,Y2, not {text!r}")
        try:
            values = [float(p) for p in parts]
        except ValueError as exc:
            raise ValueError(f"a door line is four numbers, not {text!r}") from exc
        if any(not math.isfinite(v) or v < 0 for v in values):
            raise ValueError(f"a door line's coordinates are finite and not negative: {text!r}")
        if any(v > 1 for v in values):
            if size is None:
                raise ValueError(
                    f"{text!r} looks like pixels: give the frame size too, or use fractions 0..1"
                )
            w, h = size
            values = [values[0] / w, values[1] / h, values[2] / w, values[3] / h]
            if any(v > 1 for v in values):
                raise ValueError(f"{text!r} lies outside a {w}x{h} frame")
        return cls(values[0], values[1], values[2], values[3], in_side)

    def pixels(self, size: tuple[int, int]) -> tuple[float, float, float, float]:
        w, h = size
        return self.x1 * w, self.y1 * h, self.x2 * w, self.y2 * h

    def side(self, point_px: tuple[float, float], size: tuple[int, int]) -> float:
        """Signed distance in pixels of ``point_px`` from the (infinite) line in a frame of ``size``: > 0
        inside the store."""
        x1, y1, x2, y2 = self.pixels(size)
        dx, dy = x2 - x1, y2 - y1
        cross = dx * (point_px[1] - y1) - dy * (point_px[0] - x1)
        return self.in_side * cross / math.hypot(dx, dy)

    def unit(self, size: tuple[int, int]) -> tuple[float, float]:
        """The line's direction in pixels, of length 1 (along it, people walk side by side)."""
        x1, y1, x2, y2 = self.pixels(size)
        length = math.hypot(x2 - x1, y2 - y1)
        return (x2 - x1) / length, (y2 - y1) / length

    def __str__(self) -> str:
        text = f"{self.x1:g},{self.y1:g},{self.x2:g},{self.y2:g}"
        return text if self.in_side == 1 else f"{text} (inside: the other side)"
