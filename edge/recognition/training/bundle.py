"""Writing the model bundle: a zip holding ``model.tflite`` and ``model.json`` (format ``edgestore-recognizer/1``,
docs/recognition.md), byte-for-byte reproducibly (fixed entry times), so the same model makes the same file.
Reading and checking a bundle is the node's (``edge.recognition.bundle.read_bundle_file``): one reader."""

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

from edge.recognition.bundle import FORMAT, MODEL_NAME

ZIP_TIME = (2026, 1, 1, 0, 0, 0)


def model_json(
    *,
    model_version: str,
    size: int,
    input_dtype: str,
    embedding_dim: int,
    unknown_threshold: float,
    platt_a: float,
    platt_b: float,
    tflite: bytes,
    training: dict[str, Any],
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "name": MODEL_NAME,
        "modelVersion": model_version,
        "input": {"size": size, "dtype": input_dtype, "colorOrder": "RGB", "resize": "center-crop"},
        "embeddingDim": embedding_dim,
        "unknownThreshold": round(unknown_threshold, 6),
        "calibration": {"kind": "platt", "a": round(platt_a, 6), "b": round(platt_b, 6)},
        "tfliteSha256": hashlib.sha256(tflite).hexdigest(),
        "training": training,
    }


def write_bundle(path: Path, tflite: bytes, meta: dict[str, Any]) -> None:
    """Write the zip atomically (a .part file renamed into place)."""
    if meta.get("tfliteSha256") != hashlib.sha256(tflite).hexdigest():
        raise ValueError("model.json's tfliteSha256 does not match model.tflite")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    with zipfile.ZipFile(partial, "w") as zf:
        for name, data in (
            ("model.tflite", tflite),
            ("model.json", json.dumps(meta, indent=2).encode() + b"\n"),
        ):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    partial.replace(path)
