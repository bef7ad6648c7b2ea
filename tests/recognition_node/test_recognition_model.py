"""The shipped model through the node's one loader: both runtimes, the bundle's checks, the index's
threshold. No server: the recogniser's parts, on photos from the synthetic generator."""

import hashlib
import json
import os
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from edge.recognition.bundle import Bundle, read_bundle, read_bundle_file
from edge.recognition.embedder import Embedder
from edge.recognition.errors import BadModel
from edge.recognition.index import Index
from edge.recognition.interpreter import BACKENDS, interpreter_class
from tests.recognition_node.conftest import (
    PRODUCTS,
    distractor_photo,
    enrolment,
    queries,
    refused_bundles,
)

ROOT = Path(__file__).resolve().parents[2]


def loaded(bundle: Bundle, backend: str) -> Embedder:
    """The bundle in ``backend``; the test is skipped where that runtime is not installed or cannot run next
    to this NumPy (tflite-runtime 2.14's wheels are built against NumPy 1.x)."""
    try:
        interpreter_class(backend)  # type: ignore[arg-type]
    except ImportError as exc:
        pytest.skip(f"{backend} is not installed: {exc}")
    try:
        return Embedder.load(bundle, backend=backend)  # type: ignore[arg-type]
    except BadModel as exc:
        if (
            backend == "tflite_runtime"
            and np.__version__ >= "2"
            and "NumPy" in repr(exc.__cause__) + str(exc)
        ):
            pytest.skip(f"tflite_runtime cannot run beside NumPy {np.__version__}: {exc.reason[:120]}")
        if backend == "tflite_runtime" and isinstance(exc.__cause__, SystemError):
            pytest.skip(f"tflite_runtime cannot run beside NumPy {np.__version__}: {exc.reason[:120]}")
        raise


def enrolled_index(embedder: Embedder) -> Index:
    rows = [(v, embedder.embed(photo)) for v in PRODUCTS for photo in enrolment(v)]
    return Index.build(rows, embedder.spec.embedding_dim)


def top1(embedder: Embedder, index: Index, *, nearest: bool = False) -> dict[tuple[str, int], str | None]:
    """The node's answer to each query photo: its best variant, None when unknown (``nearest``: the
    nearest variant, whatever its similarity)."""
    spec = replace(embedder.spec, unknown_threshold=-1.0) if nearest else embedder.spec
    seen = {}
    for variant in PRODUCTS:
        for n, photo in enumerate(queries(variant)):
            result = index.search(embedder.embed(photo), spec, k=3)
            seen[variant, n] = result.matches[0].variant_id if result.matches else None
    return seen


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_runtime_recognises_the_enrolled_products(bundle_path: Path, backend: str):
    bundle = read_bundle_file(bundle_path)
    embedder = loaded(bundle, backend)
    vector = embedder.embed(queries("latte-1")[0])
    assert vector.shape == (bundle.spec.embedding_dim,)
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-4
    index = enrolled_index(embedder)
    nearest = top1(embedder, index, nearest=True)
    assert sum(1 for (variant, _), got in nearest.items() if got != variant) <= 1, nearest
    # The node's answer is the right variant or unknown (a photo the model is unsure of), never another.
    answered = top1(embedder, index)
    assert all(got in (variant, None) for (variant, _), got in answered.items()), answered
    assert sum(1 for got in answered.values() if got is not None) >= len(answered) // 2, answered


# Run by a Python that has tflite-runtime (and NumPy 1.x): the same photos, the same index; each query's
# nearest variant and embedding.
OTHER_RUNTIME = """
import json, sys
from dataclasses import replace
from pathlib import Path
from edge.recognition.bundle import read_bundle_file
from edge.recognition.embedder import Embedder
from edge.recognition.index import Index
bundle_path, folder = Path(sys.argv[1]), Path(sys.argv[2])
embedder = Embedder.load(read_bundle_file(bundle_path), backend="tflite_runtime")
spec = replace(embedder.spec, unknown_threshold=-1.0)  # the nearest variant, whatever its similarity
rows = [(p.name.split("~")[0], embedder.embed(p.read_bytes())) for p in sorted(folder.glob("*~enrol~*.jpg"))]
index = Index.build(rows, embedder.spec.embedding_dim)
seen = {}
for p in sorted(folder.glob("*~query~*.jpg")):
    vector = embedder.embed(p.read_bytes())
    result = index.search(vector, spec, k=3)
    seen[p.name] = [result.matches[0].variant_id if result.matches else None, vector.tolist()]
print(json.dumps(seen))
"""


def test_both_runtimes_give_the_same_top1(bundle_path: Path, tmp_path: Path):
    """LiteRT here; tflite-runtime here too where it runs beside this NumPy, else in the Python that
    ``EDGESTORE_TEST_TFLITE_PYTHON`` names (a venv with tflite-runtime 2.14 and NumPy 1.x). Their int8
    kernels differ in rounding, so the embeddings agree closely rather than bit for bit (a photo right at the
    unknown threshold may fall either side of it: the nearest variant is compared)."""
    bundle = read_bundle_file(bundle_path)
    litert = loaded(bundle, "ai_edge_litert")
    for variant in PRODUCTS:
        for n, photo in enumerate(enrolment(variant)):
            (tmp_path / f"{variant}~enrol~{n}.jpg").write_bytes(photo)
        for n, photo in enumerate(queries(variant)):
            (tmp_path / f"{variant}~query~{n}.jpg").write_bytes(photo)
    index = enrolled_index(litert)
    nearest = replace(litert.spec, unknown_threshold=-1.0)
    ours = {}
    for p in sorted(tmp_path.glob("*~query~*.jpg")):
        vector = litert.embed(p.read_bytes())
        result = index.search(vector, nearest, k=3)
        ours[p.name] = (result.matches[0].variant_id if result.matches else None, vector)
    other_python = os.environ.get("EDGESTORE_TEST_TFLITE_PYTHON")
    if other_python:
        done = subprocess.run(
            [other_python, "-c", OTHER_RUNTIME, str(bundle_path), str(tmp_path)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        theirs = {
            name: (top, np.asarray(vector, dtype=np.float32))
            for name, (top, vector) in json.loads(done.stdout.strip().splitlines()[-1]).items()
        }
    else:
        old = loaded(bundle, "tflite_runtime")  # skips where it cannot run beside this NumPy
        old_index = enrolled_index(old)
        theirs = {}
        for p in sorted(tmp_path.glob("*~query~*.jpg")):
            vector = old.embed(p.read_bytes())
            result = old_index.search(vector, nearest, k=3)
            theirs[p.name] = (result.matches[0].variant_id if result.matches else None, vector)
    assert sorted(theirs) == sorted(ours)
    assert sum(1 for name, (top, _) in ours.items() if name.startswith(f"{top}~")) >= len(ours) - 1
    for name, (_top, vector) in ours.items():
        assert float(vector @ theirs[name][1]) > 0.99, name
    assert {name: top for name, (top, _) in theirs.items()} == {name: top for name, (top, _) in ours.items()}


def test_a_product_nobody_enrolled_is_unknown(bundle_path: Path):
    bundle = read_bundle_file(bundle_path)
    embedder = Embedder.load(bundle)
    index = enrolled_index(embedder)
    for seed in (7, 8, 9):
        result = index.search(embedder.embed(distractor_photo(seed)), bundle.spec, k=3)
        assert result.unknown, (seed, result.best_similarity, bundle.spec.unknown_threshold)
        assert result.matches == []
    known = index.search(embedder.embed(queries("oolong-tea-1")[0]), bundle.spec, k=3)
    assert not known.unknown
    assert known.matches[0].variant_id == "oolong-tea-1"
    confidences = [m.confidence for m in known.matches]
    assert confidences == sorted(confidences, reverse=True)
    assert all(0.0 <= c <= 1.0 for c in confidences)


def test_an_empty_index_knows_nothing(bundle_path: Path):
    bundle = read_bundle_file(bundle_path)
    embedder = Embedder.load(bundle)
    result = Index.build([], bundle.spec.embedding_dim).search(
        embedder.embed(queries("latte-1")[0]), bundle.spec
    )
    assert result.unknown
    assert result.matches == []


def test_bad_truncated_or_incompatible_bundles_are_refused_with_a_reason(bundle_path: Path):
    for what, data in refused_bundles(bundle_path).items():
        with pytest.raises(BadModel) as refused:
            Embedder.load(read_bundle(data))
        assert refused.value.reason, what


def test_the_shipped_bundle_reads_and_says_what_it_is(bundle_path: Path):
    bundle = read_bundle_file(bundle_path)
    assert bundle.spec.name == "product-recognizer"
    assert bundle.key == hashlib.sha256(bundle.tflite).hexdigest()
    assert -1.0 <= bundle.spec.unknown_threshold <= 1.0
