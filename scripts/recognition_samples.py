"""Sample pictures of the synthetic product generator for docs/recognition.md (docs/screenshots/recognition/).

PYTHONPATH=. .venv/bin/python scripts/recognition_samples.py
"""

from pathlib import Path

import numpy as np
from PIL import Image

from edge.recognition.preprocess import center_crop_resize
from edge.recognition.synthetic import dataset_split, distractor, kiosk_shot, product_image, variant_count

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots" / "recognition"
GREY = (200, 200, 200)


def sheet(pictures: list[Image.Image], columns: int, cell: tuple[int, int]) -> Image.Image:
    rows = (len(pictures) + columns - 1) // columns
    out = Image.new("RGB", (columns * cell[0], rows * cell[1]), GREY)
    for k, picture in enumerate(pictures):
        small = picture.resize(cell)
        mask = small if small.mode == "RGBA" else None
        out.paste(small, ((k % columns) * cell[0], (k // columns) * cell[1]), mask)
    return out


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    products = dataset_split(train_products=8, held_out_products=0).train
    studio = [product_image(p, v) for p in products[:6] for v in range(min(3, variant_count(p)))]
    sheet(studio[:18], 6, (160, 160)).save(OUT / "products.png", optimize=True)
    rng = np.random.default_rng(2026)
    seed = products[0]
    shots = [kiosk_shot(product_image(seed, v % variant_count(seed)), rng) for v in range(4)]
    shots += [kiosk_shot(product_image(p, 0), rng) for p in products[1:9]]
    sheet(shots, 4, (320, 240)).save(OUT / "kiosk-shots.jpg", quality=85)
    crops = [Image.fromarray(center_crop_resize(np.asarray(s), 96)) for s in shots[:8]]
    sheet(crops, 8, (96, 96)).save(OUT / "model-input-96px.jpg", quality=90)
    strangers = [distractor(s) for s in range(12)]
    sheet(strangers, 6, (128, 128)).save(OUT / "distractors.png", optimize=True)
    sheet([kiosk_shot(d, rng) for d in strangers[:4]], 4, (320, 240)).save(
        OUT / "distractor-shots.jpg", quality=85
    )


if __name__ == "__main__":
    main()
