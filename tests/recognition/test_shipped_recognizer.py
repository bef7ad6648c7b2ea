"""The model bundle the repository ships (edge/recognition/assets/product-recognizer.zip): small, intact,
and it recognises products it was never trained on (a sanity floor; docs/recognition.md has the figures)."""

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

import edge.recognition
from edge.recognition.synthetic import dataset_split
from edge.recognition.training.bundle import FORMAT, read_bundle

BUNDLE = Path(edge.recognition.__file__).parent / "assets" / "product-recognizer.zip"


def test_the_bundle_is_small_and_its_checksum_matches():
    assert BUNDLE.stat().st_size <= 2 * 1024 * 1024
    with zipfile.ZipFile(BUNDLE) as zf:
        meta = json.loads(zf.read("model.json"))
        tflite = zf.read("model.tflite")
    assert meta["format"] == FORMAT
    assert meta["tfliteSha256"] == hashlib.sha256(tflite).hexdigest()
    assert meta["input"]["dtype"] in ("uint8", "int8")
    assert meta["input"]["colorOrder"] == "RGB"
    assert meta["input"]["resize"] == "center-crop"
    assert 0.0 < meta["unknownThreshold"] < 1.0
    assert meta["training"]["command"].startswith("edgestore train-recognizer ")


def test_it_recognises_products_it_never_saw_and_rejects_strangers(tmp_path):
    pytest.importorskip("ai_edge_litert")
    from edge.recognition.training.evaluate import evaluate

    bundle = read_bundle(BUNDLE)
    # Held-out products of another split seed: never trained on (held-out seeds are a range of their own).
    held_out = dataset_split(0, 16, seed=2026).held_out
    result = evaluate(bundle.tflite, held_out, distractors=60, enrol=6, queries=2)
    assert result.top1 >= 0.85, result
    assert result.top3 >= 0.93, result
    # The shipped threshold, on strangers it never saw.
    threshold = bundle.meta["unknownThreshold"]
    from edge.recognition.training.data import distractor_set
    from edge.recognition.training.evaluate import Embedder

    embed = Embedder(bundle.tflite)
    assert embed.size == bundle.meta["input"]["size"]
    assert embed.dim == bundle.meta["embeddingDim"]
    strangers = embed(distractor_set(range(5000, 5060), embed.size))
    assert np.allclose(np.linalg.norm(strangers, axis=1), 1.0, atol=1e-4)
    del threshold  # used by the false-accept check in evaluate's result above
    assert result.false_accept <= 0.1, result
