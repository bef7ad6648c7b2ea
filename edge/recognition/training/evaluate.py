"""Measure an exported model as the node will run it: the node's own runtime (``edge.recognition.embedder``:
the one loader, preprocessing and dequantisation), and pure numpy for the scores, the threshold and the Platt
fit. No TensorFlow here.

The protocol (docs/recognition.md): the held-out products, never trained on, are split in two halves of
products. On each half every variant is enrolled from ``enrol`` shots, and other shots of it are queried
against all the half's references; shots of objects in no catalog (distractors) are queried too. The
calibration half sets the unknown threshold (the lowest cosine similarity at which at most
``target_false_accept`` of its distractors are accepted) and fits a Platt confidence; the test half,
which the threshold never saw, gives the figures.
"""

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from edge.recognition.bundle import MODEL_NAME, Bundle, ModelSpec
from edge.recognition.embedder import Embedder
from edge.recognition.training.data import ENROL_STREAM, QUERY_STREAM, ShotSet, distractor_set, shot_set


@dataclass(frozen=True)
class Scores:
    """Per query: the best similarity, whether its top-1 / top-3 variants are right (always False for a
    distractor)."""

    best: NDArray[np.float32]
    top1: NDArray[np.bool_]
    top3: NDArray[np.bool_]


@dataclass(frozen=True)
class Evaluation:
    top1: float  # known queries whose nearest variant is right (threshold not applied)
    top3: float  # known queries whose right variant is among the 3 nearest
    false_accept: float  # distractor queries at or above the threshold
    known_accepted: float  # known queries right and at or above the threshold
    known_wrong_accepted: float  # known queries wrong yet at or above the threshold
    threshold: float
    platt_a: float
    platt_b: float
    variants: int
    references: int
    queries: int
    distractors: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def evaluation_embedder(tflite: bytes, size: int, embedding_dim: int, threads: int = 1) -> Embedder:
    """The node's runtime (``edge.recognition.embedder``) on a model that has no bundle yet: its spec holds
    what the training knows (input size, embedding dimensions, uint8 input); threshold and calibration are
    what this evaluation sets, so they are placeholders here."""
    spec = ModelSpec(
        name=MODEL_NAME,
        model_version="evaluating",
        input_size=size,
        input_dtype="uint8",
        embedding_dim=embedding_dim,
        unknown_threshold=0.0,
        platt_a=1.0,
        platt_b=0.0,
        tflite_sha256=hashlib.sha256(tflite).hexdigest(),
    )
    return Embedder.load(Bundle(spec, tflite), threads=threads)


def embed_all(embedder: Embedder, images: NDArray[np.uint8]) -> NDArray[np.float32]:
    """Unit embeddings of pictures (N x H x W x 3, RGB uint8), one call of the node's embedder each."""
    out = np.zeros((len(images), embedder.spec.embedding_dim), dtype=np.float32)
    for i, image in enumerate(images):
        out[i] = embedder.embed_pixels(image)
    return out


def score(
    references: NDArray[np.float32],
    ref_labels: NDArray[np.int32],
    queries: NDArray[np.float32],
    query_labels: NDArray[np.int32],
) -> Scores:
    """Nearest-reference search: a query's similarity to a variant is its best over the variant's
    references; label -1 marks a distractor."""
    sims = queries @ references.T
    n_variants = int(ref_labels.max()) + 1
    per_variant = np.full((len(queries), n_variants), -2.0, dtype=np.float32)
    for v in range(n_variants):
        per_variant[:, v] = sims[:, ref_labels == v].max(axis=1)
    order = np.argsort(-per_variant, axis=1)[:, :3]
    best = per_variant[np.arange(len(queries)), order[:, 0]]
    top1 = order[:, 0] == query_labels
    top3 = (order == query_labels[:, None]).any(axis=1)
    return Scores(best.astype(np.float32), top1, top3)


def calibrate_threshold(distractor_best: NDArray[np.float32], target_false_accept: float) -> float:
    """The lowest threshold accepting at most ``target_false_accept`` of the distractors."""
    if len(distractor_best) == 0:
        return 0.5
    ranked = np.sort(distractor_best)[::-1]
    allowed = int(np.floor(target_false_accept * len(ranked)))
    return (
        float(np.nextafter(ranked[allowed], np.float32(2.0))) if allowed < len(ranked) else float(ranked[-1])
    )


def fit_platt(
    scores: NDArray[np.float32], correct: NDArray[np.bool_], iterations: int = 50
) -> tuple[float, float]:
    """Logistic regression of correct on the top-1 similarity (Newton's method, a light ridge)."""
    x = np.stack([scores.astype(np.float64), np.ones(len(scores))], axis=1)
    y = correct.astype(np.float64)
    w = np.zeros(2)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ (p - y) + 1e-3 * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + 1e-3 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-9:
            break
    return float(w[0]), float(w[1])


def _half(
    embedder: Embedder,
    products: list[int],
    distractor_seeds: list[int],
    enrol: int,
    queries: int,
    cache_dir: Path | None,
    workers: int,
) -> tuple[Scores, Scores, int, int]:
    size = embedder.spec.input_size
    enrolled: ShotSet = shot_set(products, enrol, size, ENROL_STREAM, cache_dir=cache_dir, workers=workers)
    asked: ShotSet = shot_set(products, queries, size, QUERY_STREAM, cache_dir=cache_dir, workers=workers)
    references = embed_all(embedder, enrolled.images)
    known = score(references, enrolled.labels, embed_all(embedder, asked.images), asked.labels)
    unknown_images = distractor_set(distractor_seeds, size, cache_dir=cache_dir)
    unknown = score(
        references,
        enrolled.labels,
        embed_all(embedder, unknown_images),
        np.full(len(unknown_images), -1, np.int32),
    )
    return known, unknown, len(enrolled.variants), len(references)


def evaluate(
    tflite: bytes,
    size: int,
    embedding_dim: int,
    held_out: tuple[int, ...],
    distractors: int = 400,
    enrol: int = 6,
    queries: int = 4,
    target_false_accept: float = 0.005,
    cache_dir: Path | None = None,
    workers: int = 1,
    say: Callable[[str], None] | None = None,
) -> Evaluation:
    """Enrol, query and calibrate on the held-out products (first half calibrates, second half tests)."""
    embed = evaluation_embedder(tflite, size, embedding_dim)
    middle = len(held_out) // 2
    calibration, test = list(held_out[:middle]), list(held_out[middle:])
    # Distractor seeds: calibration and test draw different objects.
    cal_known, cal_unknown, _, _ = _half(
        embed, calibration, list(range(distractors // 2)), enrol, queries, cache_dir, workers
    )
    threshold = calibrate_threshold(cal_unknown.best, target_false_accept)
    platt_a, platt_b = fit_platt(
        np.concatenate([cal_known.best, cal_unknown.best]), np.concatenate([cal_known.top1, cal_unknown.top1])
    )
    if say is not None:
        say(
            f"  calibrated on {len(calibration)} products: unknown below {threshold:.3f}, platt a={platt_a:.2f} b={platt_b:.2f}"
        )
    known, unknown, n_variants, n_refs = _half(
        embed,
        test,
        list(range(10**6, 10**6 + distractors - distractors // 2)),
        enrol,
        queries,
        cache_dir,
        workers,
    )
    accepted = known.best >= threshold
    return Evaluation(
        top1=float(known.top1.mean()),
        top3=float(known.top3.mean()),
        false_accept=float((unknown.best >= threshold).mean()) if len(unknown.best) else 0.0,
        known_accepted=float((known.top1 & accepted).mean()),
        known_wrong_accepted=float((~known.top1 & accepted).mean()),
        threshold=threshold,
        platt_a=platt_a,
        platt_b=platt_b,
        variants=n_variants,
        references=n_refs,
        queries=len(known.best),
        distractors=len(unknown.best),
    )
