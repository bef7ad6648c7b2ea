"""The synthetic product generator (edge/recognition/synthetic/): deterministic, varied, split honestly."""

import numpy as np
import pytest

from edge.recognition.preprocess import center_crop_resize, to_int8
from edge.recognition.synthetic import (
    SHOT_SIZE,
    dataset_split,
    design,
    distractor,
    kiosk_shot,
    product_image,
    variant_count,
)
from edge.recognition.synthetic.fonts import cjk_font_file


def pixels(image):
    return np.asarray(image, dtype=np.int16)


def test_the_same_seed_draws_the_same_product_and_shot():
    first = kiosk_shot(product_image(42, 1), np.random.default_rng(7))
    again = kiosk_shot(product_image(42, 1), np.random.default_rng(7))
    assert np.array_equal(pixels(first), pixels(again))


def test_pictures_have_the_promised_sizes_and_modes():
    picture = product_image(3, 0, size=160)
    assert picture.mode == "RGBA"
    assert picture.size == (160, 160)
    alpha = pixels(picture)[..., 3]
    assert 0.15 < (alpha > 0).mean() < 0.9  # packaging on a transparent canvas
    shot = kiosk_shot(picture, np.random.default_rng(0))
    assert shot.mode == "RGB"
    assert shot.size == SHOT_SIZE
    assert kiosk_shot(picture, np.random.default_rng(0), size=(200, 150)).size == (200, 150)


def test_variants_look_alike_but_differ_and_products_differ_more():
    seed = next(s for s in range(100) if variant_count(s) >= 3)
    a, b = pixels(product_image(seed, 0)), pixels(product_image(seed, 1))
    other = pixels(product_image(seed + 1, 0))
    assert 2 <= variant_count(seed) <= 5
    assert np.abs(a - b).mean() > 3  # a different flavour is visibly different
    assert design(seed).brand == design(seed).brand  # ...of the same brand and shape
    differences = [
        np.abs(pixels(product_image(seed, 0)) - pixels(product_image(s, 0))).mean() for s in range(200, 205)
    ]
    assert min(differences) > 3
    assert not np.array_equal(a, other)


def test_a_variant_out_of_range_is_refused():
    with pytest.raises(ValueError, match="variants"):
        product_image(5, variant_count(5))


def test_shots_of_one_product_vary():
    picture = product_image(11, 0)
    shots = [pixels(kiosk_shot(picture, np.random.default_rng(k))) for k in range(4)]
    for k in range(1, 4):
        assert np.abs(shots[0] - shots[k]).mean() > 10


def test_held_out_products_are_never_training_products():
    split = dataset_split(train_products=500, held_out_products=100, seed=3)
    assert len(set(split.train)) == 500
    assert len(set(split.held_out)) == 100
    assert not set(split.train) & set(split.held_out)
    # The held-out set does not depend on how many products train, and other seeds never train on it.
    assert dataset_split(50, 100, seed=3).held_out == split.held_out
    assert not set(dataset_split(800, 0, seed=4).train) & set(split.held_out)
    assert dataset_split(500, 100, seed=3) == split


def test_distractors_differ_from_each_other_and_from_catalog_products():
    objects = [pixels(distractor(seed)) for seed in range(12)]
    for i in range(len(objects)):
        for j in range(i + 1, len(objects)):
            assert not np.array_equal(objects[i], objects[j])
    assert np.array_equal(objects[3], pixels(distractor(3)))
    split = dataset_split(50, 10)
    products = [pixels(product_image(s, 0)) for s in split.train[:10] + split.held_out]
    assert not any(np.array_equal(o, p) for o in objects for p in products)


def test_chinese_text_uses_a_cjk_font_when_the_machine_has_one():
    found = cjk_font_file()
    if found is None:
        pytest.skip("no Noto Sans CJK on this machine: packaging is drawn without Chinese text")
    assert found[0].exists()


def test_center_crop_resize_takes_the_middle_square():
    frame = np.zeros((240, 320, 3), dtype=np.uint8)
    frame[:, :40] = 255  # left margin: outside the centred 240 x 240 square
    frame[:, 280:] = 255
    frame[:, 40:280] = (10, 20, 30)
    out = center_crop_resize(frame, 96)
    assert out.shape == (96, 96, 3)
    assert out.dtype == np.uint8
    assert (out == (10, 20, 30)).all()
    assert center_crop_resize(np.zeros((50, 40, 3), np.uint8), 112).shape == (112, 112, 3)
    assert to_int8(np.array([0, 128, 255], np.uint8)).tolist() == [-128, 0, 127]
    with pytest.raises(ValueError, match="RGB"):
        center_crop_resize(np.zeros((10, 10), np.uint8), 8)
