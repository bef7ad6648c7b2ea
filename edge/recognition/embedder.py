"""Photo bytes -> the model's unit embedding: decode (Pillow: JPEG, PNG, WebP, BMP), orient, RGB, centre-crop
and resize (``preprocess``), run the interpreter, dequantise an int8 output, L2-normalise."""

import io
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps

from edge.recognition.bundle import Bundle, ModelSpec
from edge.recognition.errors import BadModel, NotAnImage
from edge.recognition.interpreter import Backend, load
from edge.recognition.preprocess import center_crop_resize, to_int8

MAX_PIXELS = 40_000_000  # a phone's photo is 12-50 MP; over this is refused rather than decoded
FORMATS = ("JPEG", "PNG", "WEBP", "BMP")
"""What the node reads: photos (JPEG, PNG, WebP) and the kiosk's query frames (uncompressed BMP). Pillow
knows dozens more; each decoder left out is one less that hostile bytes can reach."""
Vector = npt.NDArray[np.float32]


def decode(data: bytes, *, at_least: int = 0) -> npt.NDArray[np.uint8]:
    """An image file's pixels as RGB uint8 (H x W x 3), upright per its EXIF; ``NotAnImage`` otherwise.
    ``at_least``: a JPEG may be decoded at a reduced scale whose shorter side still covers it (fast)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
            if image.width * image.height > MAX_PIXELS:
                raise NotAnImage(f"an image of {image.width}x{image.height} pixels is over {MAX_PIXELS}")
            if at_least and image.format == "JPEG":
                image.draft("RGB", (at_least, at_least))
            upright = ImageOps.exif_transpose(image).convert("RGB")
            return np.asarray(upright, dtype=np.uint8)
    except NotAnImage:
        raise
    except Exception as exc:  # Pillow raises many kinds for a damaged or hostile file (and the bomb warning)
        raise NotAnImage("not an image the node can read (JPEG, PNG, WebP or BMP)") from exc


@dataclass
class Embedder:
    """One loaded model: an interpreter and the spec it was checked against."""

    spec: ModelSpec
    key: str
    interpreter: Any
    backend: Backend | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(cls, bundle: Bundle, *, threads: int = 1, backend: Backend | None = None) -> "Embedder":
        """A fresh interpreter of the bundle, tried once on a blank image: ``BadModel`` when it fails or
        gives no usable vector."""
        embedder = cls(
            bundle.spec,
            bundle.key,
            load(bundle.tflite, bundle.spec, threads=threads, backend=backend),
            backend,
        )
        size = bundle.spec.input_size
        try:
            probe = embedder.embed_pixels(np.full((size, size, 3), 128, dtype=np.uint8))
        except Exception as exc:  # a model that loads but cannot run
            raise BadModel(f"the model fails when run: {exc}") from exc
        if not np.all(np.isfinite(probe)):
            raise BadModel("the model gives no finite embedding")
        return embedder

    def embed(self, data: bytes) -> Vector:
        """The unit embedding of an image file's bytes."""
        return self.embed_pixels(decode(data, at_least=self.spec.input_size))

    def embed_pixels(self, rgb: npt.NDArray[np.uint8]) -> Vector:
        size = self.spec.input_size
        pixels = center_crop_resize(rgb, size)
        if self.spec.input_dtype == "int8":
            batch: npt.NDArray[np.generic] = to_int8(pixels)[np.newaxis, ...]
        else:
            batch = pixels[np.newaxis, ...]
        with self._lock:
            interpreter = self.interpreter
            interpreter.set_tensor(interpreter.get_input_details()[0]["index"], batch)
            interpreter.invoke()
            out = interpreter.get_output_details()[0]
            raw = np.array(interpreter.get_tensor(out["index"]))[0]
        scale, zero_point = out.get("quantization", (0.0, 0))
        vector = raw.astype(np.float32)
        if raw.dtype != np.float32 and scale:
            vector = (vector - float(zero_point)) * float(scale)
        norm = float(np.linalg.norm(vector))
        unit: Vector = (vector / norm if norm > 0 else vector).astype(np.float32)
        return unit
