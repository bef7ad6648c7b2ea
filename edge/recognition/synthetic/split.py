"""Which products train the recognizer and which are held out from it.

Product seeds are drawn from two disjoint ranges: training products from [0, 2**30), held-out products
from [2**30, 2**31). So however many of each are asked for, no held-out product is ever trained on, and the
held-out set for a given seed does not change when the number of training products does. Distractors
(``distractor``) come from streams of their own, and their packaging from seeds at 2**40 and above.
"""

from dataclasses import dataclass

import numpy as np

TRAIN_RANGE = (0, 2**30)
HELD_OUT_RANGE = (2**30, 2**31)


@dataclass(frozen=True)
class DatasetSplit:
    train: tuple[int, ...]
    held_out: tuple[int, ...]


def _unique_seeds(stream: int, seed: int, count: int, bounds: tuple[int, int]) -> tuple[int, ...]:
    rng = np.random.default_rng([stream, seed])
    seeds: dict[int, None] = {}
    while len(seeds) < count:
        for value in rng.integers(bounds[0], bounds[1], size=count):
            seeds.setdefault(int(value), None)
            if len(seeds) == count:
                break
    return tuple(seeds)


def dataset_split(train_products: int, held_out_products: int, seed: int = 0) -> DatasetSplit:
    """``train_products`` product seeds to train on and ``held_out_products`` never trained on."""
    if train_products < 0 or held_out_products < 0:
        raise ValueError("product counts cannot be negative")
    return DatasetSplit(
        train=_unique_seeds(0x7A1, seed, train_products, TRAIN_RANGE),
        held_out=_unique_seeds(0x4E1D, seed, held_out_products, HELD_OUT_RANGE),
    )
