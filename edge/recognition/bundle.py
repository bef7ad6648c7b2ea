"""A recognition model bundle: a zip holding ``model.tflite`` and ``model.json`` (camelCase), read and checked
before anything runs it (``read_bundle`` raises ``BadModel`` with the reason).

``model.json``::

    {"format": "edgestore-recognizer/1", "name": "product-recognizer", "modelVersion": "<label>",
     "input": {"size": 224, "dtype": "uint8"|"int8", "colorOrder": "RGB", "resize": "center-crop"},
     "embeddingDim": 128, "unknownThreshold": 0.6,
     "calibration": {"kind": "platt", "a": 12.0, "b": -7.0},
     "tfliteSha256": "<hex of model.tflite>", "training": {...}}
"""

import hashlib
import io
import json
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from edge.recognition.errors import BadModel

FORMAT = "edgestore-recognizer/1"
MODEL_NAME = "product-recognizer"
MAX_BUNDLE_BYTES = 64 * 1024 * 1024
MAX_MODEL_BYTES = 60 * 1024 * 1024
MAX_JSON_BYTES = 256 * 1024


@dataclass(frozen=True)
class ModelSpec:
    """What ``model.json`` promises about ``model.tflite``."""

    name: str
    model_version: str
    input_size: int
    input_dtype: Literal["uint8", "int8"]
    embedding_dim: int
    unknown_threshold: float
    platt_a: float
    platt_b: float
    tflite_sha256: str

    def confidence(self, similarity: float) -> float:
        """The calibrated probability that a match of cosine ``similarity`` is right (Platt scaling)."""
        z = self.platt_a * similarity + self.platt_b
        if z < -60:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))


@dataclass(frozen=True)
class Bundle:
    spec: ModelSpec
    tflite: bytes

    @property
    def key(self) -> str:
        """What reference embeddings are stored under: the model's exact bytes (a relabelled copy of the same
        file shares them; a retrained one never does)."""
        return self.spec.tflite_sha256


def read_bundle_file(path: Path) -> Bundle:
    try:
        size = path.stat().st_size
        if size > MAX_BUNDLE_BYTES:
            raise BadModel(f"bundle of {size} bytes is over {MAX_BUNDLE_BYTES}")
        data = path.read_bytes()
    except OSError as exc:
        raise BadModel(f"cannot read the bundle: {exc}") from exc
    return read_bundle(data)


def read_bundle(data: bytes) -> Bundle:
    """The bundle in ``data``, checked: a zip with both members, the format, the fields and their ranges, and
    the sha256 of ``model.tflite``. ``BadModel`` otherwise."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise BadModel(f"bundle of {len(data)} bytes is over {MAX_BUNDLE_BYTES}")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = {info.filename: info for info in archive.infolist()}
            for needed, limit in (("model.json", MAX_JSON_BYTES), ("model.tflite", MAX_MODEL_BYTES)):
                if needed not in members:
                    raise BadModel(f"the bundle has no {needed}")
                if members[needed].file_size > limit:
                    raise BadModel(f"{needed} of {members[needed].file_size} bytes is over {limit}")
            raw_json = archive.read("model.json")
            tflite = archive.read("model.tflite")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
        raise BadModel(f"not a readable zip (truncated or corrupt?): {exc}") from exc
    try:
        meta = json.loads(raw_json)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadModel(f"model.json is not JSON: {exc}") from exc
    spec = _spec(meta)
    digest = hashlib.sha256(tflite).hexdigest()
    if digest != spec.tflite_sha256.lower():
        raise BadModel(f"model.tflite's sha256 is {digest}, model.json says {spec.tflite_sha256}")
    return Bundle(spec, tflite)


def _spec(meta: Any) -> ModelSpec:
    if not isinstance(meta, dict):
        raise BadModel("model.json is not an object")
    if meta.get("format") != FORMAT:
        raise BadModel(f"model.json's format is {meta.get('format')!r}, not {FORMAT!r}")
    try:
        inp, calibration = meta["input"], meta["calibration"]
        spec = ModelSpec(
            name=_text(meta["name"]),
            model_version=_text(meta["modelVersion"]),
            input_size=int(inp["size"]),
            input_dtype=inp["dtype"],
            embedding_dim=int(meta["embeddingDim"]),
            unknown_threshold=float(meta["unknownThreshold"]),
            platt_a=float(calibration["a"]),
            platt_b=float(calibration["b"]),
            tflite_sha256=_text(meta["tfliteSha256"]),
        )
        checks = {
            "name": spec.name == MODEL_NAME,
            "input.dtype": spec.input_dtype in ("uint8", "int8"),
            "input.size": 16 <= spec.input_size <= 1024,
            "input.colorOrder": inp.get("colorOrder", "RGB") == "RGB",
            "input.resize": inp.get("resize", "center-crop") == "center-crop",
            "embeddingDim": 2 <= spec.embedding_dim <= 4096,
            "unknownThreshold": -1.0 <= spec.unknown_threshold <= 1.0,
            "calibration": calibration.get("kind") == "platt"
            and math.isfinite(spec.platt_a)
            and math.isfinite(spec.platt_b),
            "tfliteSha256": len(spec.tflite_sha256) == 64,
        }
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BadModel(f"model.json lacks or garbles a field: {exc!r}") from exc
    wrong = [field for field, ok in checks.items() if not ok]
    if wrong:
        raise BadModel(f"model.json: unsupported or out-of-range {', '.join(wrong)}")
    return spec


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 200 or not value.isprintable():
        raise ValueError(f"not a short text: {value!r}")
    return value
