"""The reference index scores each variant by its best reference, ranks the top k and says unknown below the
threshold: the vectorised search against the plain definition, on random unit vectors."""

import numpy as np
import pytest

from edge.recognition.bundle import ModelSpec
from edge.recognition.index import Index

SPEC = ModelSpec(
    name="product-recognizer",
    model_version="test",
    input_size=96,
    input_dtype="uint8",
    embedding_dim=16,
    unknown_threshold=0.3,
    platt_a=20.0,
    platt_b=-10.0,
    tflite_sha256="0" * 64,
)


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, SPEC.embedding_dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def plain_search(rows: list[tuple[str, np.ndarray]], query: np.ndarray, k: int) -> list[tuple[str, float]]:
    best: dict[str, float] = {}
    for variant, vector in rows:
        best[variant] = max(best.get(variant, -2.0), float(vector @ query))
    return sorted(best.items(), key=lambda item: -item[1])[:k]


@pytest.mark.parametrize("seed", range(20))
def test_the_vectorised_search_ranks_as_the_plain_one(seed: int):
    rng = np.random.default_rng(seed)
    names = [f"v{n:03d}" for n in range(int(rng.integers(1, 40)))]
    vectors = unit(rng, int(rng.integers(1, 300)))
    rows = [(str(rng.choice(names)), vector) for vector in vectors]  # shuffled: variants interleave
    index = Index.build(rows, SPEC.embedding_dim)
    assert len(index) == len(rows)
    assert index.variants == {variant for variant, _ in rows}
    for query in unit(rng, 5):
        k = int(rng.integers(1, 6))
        expected = plain_search(rows, query, k)
        result = index.search(query, SPEC, k=k)
        assert result.best_similarity == pytest.approx(expected[0][1], abs=1e-5)
        if expected[0][1] < SPEC.unknown_threshold:
            assert (result.unknown, result.matches) == (True, [])
            continue
        assert not result.unknown
        assert [m.similarity for m in result.matches] == pytest.approx([s for _, s in expected], abs=1e-5)
        assert {m.variant_id for m in result.matches} == {v for v, _ in expected}  # ties may swap places
        assert all(m.confidence == pytest.approx(SPEC.confidence(m.similarity)) for m in result.matches)


def test_an_empty_index_knows_nothing():
    index = Index.build([], SPEC.embedding_dim)
    result = index.search(unit(np.random.default_rng(0), 1)[0], SPEC)
    assert (result.unknown, result.matches, result.best_similarity) == (True, [], None)
