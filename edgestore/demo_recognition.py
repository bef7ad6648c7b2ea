"""The demo's product recognition: each of the store's products enrolled at its node from generated photos
(the synthetic generator's packaging, one design per product), and a folder of stills of them for the
kiosk's camera, so scanning works in the demo with the model shipped with the node."""

import io
import time
import zlib
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy import select

from edge.node import Node
from edge.recognition.service import Recognizer
from edge.recognition.synthetic import kiosk_shot, product_image
from edge.tables import recognition_photos
from models.catalog import CatalogSnapshot, Variant

PHOTOS = 6
DESIGNS = 2**32  # product designs from here on: no product the model was trained or evaluated on
LOAD_WAIT_S = 120.0
STILL_TRIES = 10


def product_seed(product_id: str) -> int:
    return DESIGNS + zlib.crc32(product_id.encode())


def photo(product_id: str, n: int) -> bytes:
    """The ``n``-th kiosk-camera photo of the product's generated packaging (the same on every run)."""
    shot: Image.Image = kiosk_shot(
        product_image(product_seed(product_id), variant=0),
        np.random.default_rng([zlib.crc32(product_id.encode()), n]),
    )
    out = io.BytesIO()
    shot.save(out, format="JPEG", quality=90)
    return out.getvalue()


def enrol_demo_products(node: Node, snapshot: CatalogSnapshot, stills: Path) -> tuple[int, str | None]:
    """Enrol each listed product's default variant (once: a rerun keeps what is there) and write one still
    of each to ``stills`` for the kiosk's camera; (variants enrolled now, the serving model's label)."""
    recognizer = node.recognizer
    if recognizer is None:
        return 0, None
    deadline = time.monotonic() + LOAD_WAIT_S
    while recognizer.serving is None and time.monotonic() < deadline:
        time.sleep(0.1)
    serving = recognizer.serving
    if serving is None:
        return 0, None
    with node.db.read() as conn:
        enrolled = set(conn.execute(select(recognition_photos.c.variant_id).distinct()).scalars())
    stills.mkdir(parents=True, exist_ok=True)
    added = 0
    for product in snapshot.products:
        if not product.listed or not product.variants:
            continue
        variant = next((v for v in product.variants if v.is_default), product.variants[0])
        if variant.variant_id not in enrolled:
            recognizer.enroll(
                variant.variant_id, [photo(product.product_id, n) for n in range(PHOTOS)], by=None
            )
            added += 1
        (stills / f"{product.product_id}.jpg").write_bytes(
            camera_still(recognizer, product.product_id, variant)
        )
    return added, serving.embedder.spec.model_version


def camera_still(recognizer: Recognizer, product_id: str, variant: Variant) -> bytes:
    """The kiosk camera's still of a product: the first of ``STILL_TRIES`` fresh shots the node names right,
    so the demo shows scanning that works (the shipped model answers "unknown" to about one shot in six:
    bench/recognition.py measures all of them); the last shot tried when none is named."""
    still = b""
    for n in range(STILL_TRIES):
        still = photo(product_id, 100 + n)
        matches = recognizer.recognize(still).result.matches
        if matches and matches[0].variant_id == variant.variant_id:
            break
    return still
