"""The synthetic sets the recognizer is trained and measured on, as uint8 arrays at the model's input size.

Every shot is drawn from its own seed ``(stream, product, variant, shot)``, so a set is the same on every
run and machine, and the shots a model is evaluated on are never the ones it was enrolled or trained with.
Sets are cached as .npz files in the data folder (keyed by everything that makes them).
"""

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from edge.recognition.preprocess import center_crop_resize
from edge.recognition.synthetic import distractor, kiosk_shot, product_image, variant_count

# Bump when the generator's pictures change, so cached sets are made again.
GENERATOR_VERSION = 1
TRAIN_STREAM, ENROL_STREAM, QUERY_STREAM, DISTRACTOR_STREAM = 11, 22, 33, 44
Say = Callable[[str], None]


@dataclass(frozen=True)
class ShotSet:
    """Shots of variants: ``images[i]`` is a shot of variant ``labels[i]``, ``variants[label]`` its
    (product seed, variant)."""

    images: NDArray[np.uint8]
    labels: NDArray[np.int32]
    variants: tuple[tuple[int, int], ...]


def shot(product_seed: int, variant: int, index: int, stream: int, size: int) -> NDArray[np.uint8]:
    rng = np.random.default_rng([stream, product_seed, variant, index])
    picture = kiosk_shot(product_image(product_seed, variant), rng)
    return center_crop_resize(np.asarray(picture, dtype=np.uint8), size)


def distractor_shot(seed: int, index: int, size: int) -> NDArray[np.uint8]:
    rng = np.random.default_rng([DISTRACTOR_STREAM, seed, index])
    return center_crop_resize(np.asarray(kiosk_shot(distractor(seed), rng), dtype=np.uint8), size)


def _variant_shots(args: tuple[int, int, int, int, int, int]) -> NDArray[np.uint8]:
    product_seed, variant, first, count, stream, size = args
    return np.stack([shot(product_seed, variant, first + k, stream, size) for k in range(count)])


def _cache_path(cache_dir: Path | None, what: dict[str, object]) -> Path | None:
    if cache_dir is None:
        return None
    key = hashlib.sha256(json.dumps({**what, "generator": GENERATOR_VERSION}, sort_keys=True).encode())
    return cache_dir / f"{what['kind']}-{key.hexdigest()[:16]}.npz"


def shot_set(
    products: Sequence[int],
    shots: int,
    size: int,
    stream: int,
    first: int = 0,
    cache_dir: Path | None = None,
    workers: int = 1,
    say: Say | None = None,
) -> ShotSet:
    """``shots`` shots (numbered from ``first``) of every variant of ``products``, at ``size`` px."""
    path = _cache_path(
        cache_dir,
        {
            "kind": "shots",
            "products": list(products),
            "shots": shots,
            "size": size,
            "stream": stream,
            "first": first,
        },
    )
    if path is not None and path.exists():
        with np.load(path) as cached:
            return ShotSet(cached["images"], cached["labels"], tuple(map(tuple, cached["variants"].tolist())))
    variants = tuple((p, v) for p in products for v in range(variant_count(p)))
    jobs = [(p, v, first, shots, stream, size) for p, v in variants]
    blocks: list[NDArray[np.uint8]] = []
    step = max(1, len(jobs) // 20)
    # Spawned, not forked: the caller may have TensorFlow's threads running (evaluation after training).
    pool_context = (
        ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=_one_thread)
        if workers > 1
        else _Serial()
    )
    with pool_context as pool:
        for k, block in enumerate(pool.map(_variant_shots, jobs, chunksize=8)):
            blocks.append(block)
            if say is not None and (k + 1) % step == 0:
                say(f"  generated {k + 1}/{len(jobs)} variants ({(k + 1) * shots} shots)")
    images = np.concatenate(blocks) if blocks else np.zeros((0, size, size, 3), np.uint8)
    labels = np.repeat(np.arange(len(variants), dtype=np.int32), shots)
    result = ShotSet(images, labels, variants)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(
            path.with_suffix(".part.npz"),
            images=images,
            labels=labels,
            variants=np.array(variants, dtype=np.int64),
        )
        path.with_suffix(".part.npz").replace(path)
    return result


def distractor_set(seeds: Sequence[int], size: int, cache_dir: Path | None = None) -> NDArray[np.uint8]:
    """One shot of each distractor ``seeds`` (objects in no catalog)."""
    path = _cache_path(cache_dir, {"kind": "distractors", "seeds": list(seeds), "size": size})
    if path is not None and path.exists():
        with np.load(path) as cached:
            return np.asarray(cached["images"], dtype=np.uint8)
    images = (
        np.stack([distractor_shot(s, 0, size) for s in seeds])
        if seeds
        else np.zeros((0, size, size, 3), np.uint8)
    )
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path.with_suffix(".part.npz"), images=images)
        path.with_suffix(".part.npz").replace(path)
    return images


def _one_thread() -> None:
    """A generator process uses one thread: the pool is the parallelism."""
    cv2.setNumThreads(1)


class _Serial:
    """The ``map`` of a process pool, in this process (one worker)."""

    def __enter__(self) -> "_Serial":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(
        self,
        fn: Callable[[tuple[int, int, int, int, int, int]], NDArray[np.uint8]],
        jobs: list[tuple[int, int, int, int, int, int]],
        chunksize: int = 1,
    ) -> Iterator[NDArray[np.uint8]]:
        return (fn(job) for job in jobs)
