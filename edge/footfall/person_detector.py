"""The door counter's optional person detector: a small int8 TFLite network that marks where people's
shoulders are in one frame, run with LiteRT like the product recognizer (``edge.recognition.interpreter``).

Where the Pi has the headroom it replaces background subtraction (``DoorCounter(detector="tflite")``): it sees
a person standing still on the line (MOG2 fades them into the floor after ~10 s), does not split a pram from
the person pushing it, and needs no background model, so it counts from the first frame the PIR wakes.

The network (trained by ``edgestore footfall train-detector`` on generated doors, never on the held-out seeds)
takes the frame at ``INPUT_SIZE`` (160x120, BGR, uint8 as it is) and gives a heatmap at 1/``STRIDE`` of it
(20x15): near 1 at a person's shoulders, near 0 elsewhere. ``peaks`` turns it into points: local maxima
above a threshold, each refined to a fraction of a cell by the weighted centre of its 3x3 neighbourhood.
The model shipped with the node is ``assets/person-detector.tflite``; docs/footfall.md says how it was made.
"""

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from edge.recognition.interpreter import interpreter_class

INPUT_SIZE = (160, 120)  # (width, height) the network takes
STRIDE = 8  # input pixels per heatmap cell
GRID = (INPUT_SIZE[0] // STRIDE, INPUT_SIZE[1] // STRIDE)  # (20, 15)
SHIPPED_MODEL = Path(__file__).parent / "assets" / "person-detector.tflite"
THRESHOLD = 0.4  # a peak this high is a person (chosen on the tuning seeds: bench/footfall.py)
SAME_PERSON_CELLS = 1.5  # peaks closer than this are one person's
SIGMA_CELLS = 0.8  # a person's Gaussian on the training heatmap: shoulders are ~3 cells wide at 160x120


class DetectorUnavailable(RuntimeError):
    """The person detector's model cannot be loaded (no LiteRT, a missing or broken file)."""


@dataclass(frozen=True)
class Person:
    x: float  # pixels of the frame given to ``detect``
    y: float
    score: float


def cell_centre(index: float) -> float:
    """The input pixel a heatmap cell's coordinate stands for (training draws its targets the same way)."""
    return (index + 0.5) * STRIDE


def target_heatmap(people: list[tuple[float, float]]) -> NDArray[np.float32]:
    """What the network learns to give for a frame with ``people`` (input pixels): GRID rows x columns, a
    Gaussian around each person, exactly 1 at their cell (CenterNet's targets). ``peaks`` reads it back."""
    cols, rows = GRID
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float32)
    heat = np.zeros((rows, cols), np.float32)
    for x, y in people:
        cx, cy = x / STRIDE - 0.5, y / STRIDE - 0.5  # the inverse of cell_centre
        if not (-1 <= cx <= cols and -1 <= cy <= rows):
            continue
        heat = np.maximum(heat, np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * SIGMA_CELLS**2)))
        r, c = round(cy), round(cx)
        if 0 <= r < rows and 0 <= c < cols:
            heat[r, c] = 1.0
    return heat


def peaks(heat: NDArray[np.float32], threshold: float = THRESHOLD) -> list[tuple[float, float, float]]:
    """(x, y, score) in input pixels of each local maximum of ``heat`` (GRID rows x columns) above
    ``threshold``: a person's peak is a few cells wide, two people side by side are two peaks."""
    grown = cv2.dilate(heat, np.ones((3, 3), np.uint8))
    top = ((heat >= grown) & (heat > threshold)).astype(np.uint8)
    # A plateau (equal neighbouring cells: the int8 output saturates at 1) is one maximum, not one per cell.
    count, labels, _, centres = cv2.connectedComponentsWithStats(top, connectivity=8)
    found: list[tuple[float, float, float]] = []
    h, w = heat.shape
    for k in range(1, count):
        rows, cols = np.nonzero(labels == k)
        pick = int(np.argmin((cols - centres[k][0]) ** 2 + (rows - centres[k][1]) ** 2))
        r, c = int(rows[pick]), int(cols[pick])
        r0, r1, c0, c1 = max(0, r - 1), min(h, r + 2), max(0, c - 1), min(w, c + 2)
        patch = heat[r0:r1, c0:c1]
        total = float(patch.sum())
        ys, xs = np.mgrid[r0:r1, c0:c1]
        cy = float((patch * ys).sum()) / total
        cx = float((patch * xs).sum()) / total
        found.append((cell_centre(cx), cell_centre(cy), float(heat[r, c])))
    # Maxima closer than 1.5 cells are one person's (two people are at least a shoulder width, ~3 cells,
    # apart): the strongest is kept.
    kept: list[tuple[float, float, float]] = []
    for p in sorted(found, key=lambda p: -p[2]):
        if all(math.hypot(p[0] - q[0], p[1] - q[1]) > SAME_PERSON_CELLS * STRIDE for q in kept):
            kept.append(p)
    return kept


class PersonDetector:
    """People in a frame, by the TFLite model ``model`` (the shipped one by default). One thread: the Pi's
    other cores serve the node. Not thread-safe (one per counter)."""

    def __init__(self, model: Path | bytes | None = None, *, threshold: float = THRESHOLD) -> None:
        """``DetectorUnavailable`` when the model cannot be read or loaded, or is not a person detector's
        (one uint8 160x120x3 input with scale 1 and zero point 0, one 20x15x1 heatmap out)."""
        try:
            data = model if isinstance(model, bytes) else (model or SHIPPED_MODEL).read_bytes()
        except OSError as exc:
            where = SHIPPED_MODEL if model is None else model
            raise DetectorUnavailable(
                f"the person detector cannot be read: {exc.strerror}: {where!s}"
            ) from exc
        try:
            _, cls = interpreter_class()
            self._interpreter: Any = cls(model_content=data, num_threads=1)
            self._interpreter.allocate_tensors()
        except Exception as exc:  # ImportError, or each runtime's own error for a broken file
            raise DetectorUnavailable(f"the person detector cannot be loaded: {exc}") from exc
        inputs, outputs = self._interpreter.get_input_details(), self._interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise DetectorUnavailable(
                f"the model has {len(inputs)} inputs and {len(outputs)} outputs, not 1 and 1"
            )
        inp, out = inputs[0], outputs[0]
        w, h = INPUT_SIZE
        in_shape, out_shape = [int(d) for d in inp["shape"]], [int(d) for d in out["shape"]]
        # Pixels go in as they are: only right for uint8 with scale 1 and zero point 0.
        scale, zero = inp["quantization"]
        if in_shape != [1, h, w, 3] or inp["dtype"] != np.uint8 or (scale, zero) not in ((1.0, 0), (0.0, 0)):
            raise DetectorUnavailable(
                f"the model takes {in_shape} {np.dtype(inp['dtype']).name} (scale {scale:g}, zero point "
                f"{zero}), not [1, {h}, {w}, 3] uint8 pixels as they are"
            )
        if out_shape != [1, GRID[1], GRID[0], 1]:
            raise DetectorUnavailable(
                f"the model gives {out_shape}, not a [1, {GRID[1]}, {GRID[0]}, 1] heatmap"
            )
        self._in, self._out = inp["index"], out["index"]
        self._scale, self._zero = out["quantization"]
        self._float_out = out["dtype"] == np.float32
        self.threshold = threshold

    def heatmap(self, frame: NDArray[np.uint8]) -> NDArray[np.float32]:
        """The model's heatmap (GRID rows x columns, 0..1) for a BGR frame of any size."""
        img = frame if frame.ndim == 3 else cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        if (img.shape[1], img.shape[0]) != INPUT_SIZE:
            img = cv2.resize(img, INPUT_SIZE, interpolation=cv2.INTER_AREA)
        self._interpreter.set_tensor(self._in, np.ascontiguousarray(img, dtype=np.uint8)[None])
        self._interpreter.invoke()
        raw = np.asarray(self._interpreter.get_tensor(self._out)[0, :, :, 0], dtype=np.float32)
        return raw if self._float_out else (raw - np.float32(self._zero)) * np.float32(self._scale)

    def detect(self, frame: NDArray[np.uint8]) -> list[Person]:
        """The people in ``frame``, in its own pixels."""
        sx = frame.shape[1] / INPUT_SIZE[0]
        sy = frame.shape[0] / INPUT_SIZE[1]
        return [Person(x * sx, y * sy, s) for x, y, s in peaks(self.heatmap(frame), self.threshold)]
