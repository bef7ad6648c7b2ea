"""The store's reference embeddings as one matrix: top-k variants by cosine similarity (each variant scored
by its best reference), the calibrated confidence of each, and ``unknown`` when the best is below the
model's threshold. Immutable: a change builds a new index, swapped in whole (``service``)."""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.recognition.bundle import ModelSpec


@dataclass(frozen=True)
class Match:
    variant_id: str
    similarity: float
    confidence: float


@dataclass(frozen=True)
class Result:
    matches: list[Match]  # most similar first; empty when unknown
    unknown: bool
    best_similarity: float | None


@dataclass(frozen=True)
class Index:
    """``matrix`` row i (unit vector) is a reference photo of ``variant_ids[i]``."""

    matrix: npt.NDArray[np.float32]
    variant_ids: tuple[str, ...]

    @classmethod
    def build(cls, rows: list[tuple[str, npt.NDArray[np.float32]]], dim: int) -> "Index":
        if not rows:
            return cls(np.zeros((0, dim), dtype=np.float32), ())
        matrix = np.stack([vector for _, vector in rows]).astype(np.float32)
        return cls(matrix, tuple(variant for variant, _ in rows))

    def __len__(self) -> int:
        return len(self.variant_ids)

    @property
    def variants(self) -> set[str]:
        return set(self.variant_ids)

    def search(self, query: npt.NDArray[np.float32], spec: ModelSpec, k: int = 3) -> Result:
        if not self.variant_ids:
            return Result([], unknown=True, best_similarity=None)
        similarities = self.matrix @ query
        best: dict[str, float] = {}
        for variant, similarity in zip(self.variant_ids, similarities.tolist(), strict=True):
            if similarity > best.get(variant, -2.0):
                best[variant] = similarity
        ranked = sorted(best.items(), key=lambda item: -item[1])[:k]
        top = ranked[0][1]
        if top < spec.unknown_threshold:
            return Result([], unknown=True, best_similarity=top)
        matches = [Match(v, s, spec.confidence(s)) for v, s in ranked]
        return Result(matches, unknown=False, best_similarity=top)
