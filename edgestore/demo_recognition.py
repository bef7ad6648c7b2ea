"""The demo's product recognition: each of the store's products enrolled at its node from generated photos
(the synthetic generator's packaging, one design per product), and a folder of stills of them for the
kiosk's camera, so scanning works in the demo with the model shipped with the node. Plus six photos of one
variant that is not enrolled anywhere (``cloud_enrolment_kit``), for trying enrolment in the cloud's
dashboard: uploaded there, they reach the node over sync."""

import io
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy import select

from edge.node import Node
from edge.recognition.service import Recognizer
from edge.recognition.synthetic import kiosk_shot, product_image
from edge.tables import recognition_photos
from models.catalog import CatalogSnapshot, Product, Variant

PHOTOS = 6
DESIGNS = 2**32  # product designs from here on: no product the model was trained or evaluated on
LOAD_WAIT_S = 120.0
STILL_TRIES = 10


def product_seed(product_id: str) -> int:
    return DESIGNS + zlib.crc32(product_id.encode())


def photo(product_id: str, n: int, *, variant: int = 0) -> bytes:
    """The ``n``-th kiosk-camera photo of the product's generated packaging (the same on every run); ``variant``
    picks the packaging of another variant of it (another colour and flavour text)."""
    stream = [zlib.crc32(product_id.encode()), n]
    if variant:  # the default variant's stream stays as it was: its stills and enrolled photos do not change
        stream.insert(1, variant)
    shot: Image.Image = kiosk_shot(
        product_image(product_seed(product_id), variant=variant), np.random.default_rng(stream)
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


@dataclass(frozen=True)
class CloudKit:
    """Photos of a variant no one has enrolled, to enrol in the cloud's dashboard, and a photo to ask with."""

    product: Product
    variant: Variant
    folder: Path
    query: Path


def cloud_enrolment_kit(node: Node, snapshot: CatalogSnapshot, folder: Path) -> CloudKit | None:
    """Six photos of the first product's second variant (enrolment at the node took each default one) in
    ``folder``, and ``query.jpg``: a further shot that lies nearer those six than anything the node holds,
    so once they are enrolled in the cloud and synced, the node names it (before, it cannot). None when no
    product has a second variant or no model serves."""
    serving = node.recognizer.serving if node.recognizer is not None else None
    product = next((p for p in snapshot.products if p.listed and len(p.variants) > 1), None)
    if serving is None or product is None:
        return None
    variant = next(v for v in product.variants if not v.is_default)
    folder.mkdir(parents=True, exist_ok=True)
    shots = [photo(product.product_id, n, variant=1) for n in range(PHOTOS)]
    for n, data in enumerate(shots):
        (folder / f"{variant.variant_id}-{n + 1}.jpg").write_bytes(data)
    own = np.stack([serving.embedder.embed(data) for data in shots])
    query = b""
    for n in range(100, 100 + STILL_TRIES):
        query = photo(product.product_id, n, variant=1)
        vector = serving.embedder.embed(query)
        others = serving.index.matrix @ vector if len(serving.index) else np.zeros(1, dtype=np.float32)
        if float(np.max(own @ vector)) > max(float(np.max(others)), serving.embedder.spec.unknown_threshold):
            break
    path = folder / "query.jpg"
    path.write_bytes(query)
    return CloudKit(product, variant, folder, path)
