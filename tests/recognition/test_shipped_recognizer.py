"""The model bundle the repository ships (edge/recognition/assets/product-recognizer.zip): small, intact,
and, with its own threshold, it recognises products it was never trained on and turns strangers away
(sanity floors; docs/recognition.md has the measured figures)."""

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

import edge.recognition
from edge.recognition.bundle import FORMAT, read_bundle_file
from edge.recognition.synthetic import dataset_split
from edge.recognition.training.data import ENROL_STREAM, QUERY_STREAM, distractor_set, shot_set
from edge.recognition.training.evaluate import embed_all, score

BUNDLE = Path(edge.recognition.__file__).parent / "assets" / "product-recognizer.zip"


def test_the_bundle_is_small_and_its_checksum_matches():
    assert BUNDLE.stat().st_size <= 2 * 1024 * 1024
    with zipfile.ZipFile(BUNDLE) as zf:
        meta = json.loads(zf.read("model.json"))
        tflite = zf.read("model.tflite")
    assert meta["format"] == FORMAT
    assert meta["name"] == "product-recognizer"
    assert meta["tfliteSha256"] == hashlib.sha256(tflite).hexdigest()
    assert meta["input"]["dtype"] in ("uint8", "int8")
    assert meta["input"]["colorOrder"] == "RGB"
    assert meta["input"]["resize"] == "center-crop"
    assert 0.0 < meta["unknownThreshold"] < 1.0
    assert meta["calibration"]["kind"] == "platt"
    assert meta["calibration"]["a"] > 0  # a higher similarity is a surer answer
    assert meta["training"]["command"].startswith("edgestore train-recognizer ")


def test_it_recognises_products_it_never_saw_and_turns_strangers_away():
    pytest.importorskip("ai_edge_litert")
    from edge.recognition.embedder import Embedder

    bundle = read_bundle_file(BUNDLE)  # the node's reader and runtime
    embedder = Embedder.load(bundle)
    size = bundle.spec.input_size
    # Held-out products of another split seed: never trained on (held-out seeds are a range of their own).
    products = dataset_split(0, 8, seed=2026).held_out
    enrolled = shot_set(products, 6, size, ENROL_STREAM)
    asked = shot_set(products, 2, size, QUERY_STREAM)
    references = embed_all(embedder, enrolled.images)
    assert references.shape == (len(enrolled.labels), bundle.spec.embedding_dim)
    assert np.allclose(np.linalg.norm(references, axis=1), 1.0, atol=1e-4)
    known = score(references, enrolled.labels, embed_all(embedder, asked.images), asked.labels)
    strangers = distractor_set(range(5000, 5060), size)
    unknown = score(
        references, enrolled.labels, embed_all(embedder, strangers), np.full(len(strangers), -1, np.int32)
    )
    threshold = bundle.spec.unknown_threshold
    assert known.top1.mean() >= 0.8, known.top1.mean()
    assert known.top3.mean() >= 0.9, known.top3.mean()
    assert (unknown.best >= threshold).mean() <= 0.05  # strangers are unknown
    assert (known.top1 & (known.best >= threshold)).mean() >= 0.5  # and most known products are named
