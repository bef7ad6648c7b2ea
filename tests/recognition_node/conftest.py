"""Recognition at a real node: the repository's shipped model bundle, photos from the synthetic generator
(``edge.recognition.synthetic``), and a node served per test whose app the test can reach (to deliver a
model the way the sync agent does)."""

import functools
import hashlib
import http.server
import io
import json
import threading
import time
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi import FastAPI

from edge.api.app import create_app
from edge.demo_catalog import demo_catalog
from edge.node import Node
from edge.recognition.service import SHIPPED_BUNDLE
from edge.recognition.synthetic import distractor, kiosk_shot, product_image
from edge.settings import EdgeSettings
from plumbing import ServedApp, free_port, serve_in_thread
from tests.conftest import FakeClock
from tests.edge.conftest import load_catalog
from tests.edge.helpers import as_staff

# Four of the demo catalog's variants, each shown as a synthetic product of its own, from the generator's
# held-out range (2**30 and up: no product the model was trained on).
HELD_OUT = 2**30
PRODUCTS = {
    "bubble-tea-1": HELD_OUT + 101,
    "latte-1": HELD_OUT + 202,
    "oolong-tea-1": HELD_OUT + 303,
    "pineapple-cake-1": HELD_OUT + 404,
}


def jpeg(image: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)  # type: ignore[attr-defined]
    return out.getvalue()


@functools.cache
def shot(variant_id: str, n: int) -> bytes:
    """The ``n``-th kiosk-camera photo of a demo variant's synthetic product (deterministic)."""
    product = product_image(PRODUCTS[variant_id], variant=0)
    return jpeg(kiosk_shot(product, np.random.default_rng(zlib.crc32(f"{variant_id}/{n}".encode()))))


def enrolment(variant_id: str, count: int = 6) -> list[bytes]:
    return [shot(variant_id, n) for n in range(count)]


def queries(variant_id: str, count: int = 3) -> list[bytes]:
    return [shot(variant_id, 100 + n) for n in range(count)]


def distractor_photo(seed: int = 7) -> bytes:
    return jpeg(kiosk_shot(distractor(seed), np.random.default_rng(seed)))


@pytest.fixture(scope="session")
def bundle_path() -> Path:
    assert SHIPPED_BUNDLE.exists(), f"the shipped model bundle is missing: {SHIPPED_BUNDLE}"
    return SHIPPED_BUNDLE


@dataclass
class RecognitionNode:
    settings: EdgeSettings
    app: FastAPI
    client: httpx.Client
    base_url: str

    @property
    def node(self) -> Node:
        node: Node = self.app.state.node
        return node

    def staff(self) -> dict[str, str]:
        return as_staff(self.client, self.settings)

    def wait_loaded(self, timeout_s: float = 60) -> dict:
        deadline = time.monotonic() + timeout_s
        while True:
            status = self.client.get("/recognition/status").json()
            if status["loaded"] or time.monotonic() > deadline:
                return status
            time.sleep(0.05)

    def enroll(self, variant_id: str, images: list[bytes]) -> httpx.Response:
        files = [("images", (f"{n}.jpg", data, "image/jpeg")) for n, data in enumerate(images)]
        return self.client.post(
            "/recognition/enroll", data={"variantId": variant_id}, files=files, headers=self.staff()
        )

    def recognize(self, image: bytes, client: httpx.Client | None = None) -> httpx.Response:
        return (client or self.client).post("/recognize", files={"image": ("shot.jpg", image, "image/jpeg")})


def serve_node(settings: EdgeSettings, clock: FakeClock, *, load: bool = True) -> tuple[FastAPI, ServedApp]:
    """A node on ``settings`` (with the demo catalog loaded first, unless ``load`` is false: a restart)."""
    if load:
        load_catalog(settings, demo_catalog(now=clock()), clock())
    app = create_app(settings, clock)
    return app, serve_in_thread(app, settings.port)


@pytest.fixture
def recognition_node(tmp_path: Path, clock: FakeClock, bundle_path: Path) -> Iterator[RecognitionNode]:
    """A node with the demo catalog and the shipped model loaded."""
    settings = EdgeSettings(data_dir=tmp_path / "node", port=free_port(), recognition_bundle=bundle_path)
    app, served = serve_node(settings, clock)
    base_url = f"http://127.0.0.1:{settings.port}/api/v1"
    with httpx.Client(base_url=base_url, timeout=60) as client:
        node = RecognitionNode(settings, app, client, base_url)
        assert node.wait_loaded()["loaded"]
        yield node
    served.stop(timeout_s=20)


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served over HTTP, as the cloud's file route serves model files: (folder, base URL)."""
    folder = tmp_path / "files"
    folder.mkdir()
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


# Bundles the node must refuse (each a variation of the shipped one).


def rezip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def shipped_members(bundle_path: Path) -> tuple[dict, bytes]:
    with zipfile.ZipFile(bundle_path) as archive:
        return json.loads(archive.read("model.json")), archive.read("model.tflite")


def with_meta(meta: dict, tflite: bytes, **changes: object) -> bytes:
    new = {**meta, "tfliteSha256": hashlib.sha256(tflite).hexdigest(), **changes}
    return rezip({"model.json": json.dumps(new).encode(), "model.tflite": tflite})


def refused_bundles(bundle_path: Path) -> dict[str, bytes]:
    meta, tflite = shipped_members(bundle_path)
    data = bundle_path.read_bytes()
    garbled = bytearray(tflite)
    for at in range(8, len(garbled), 97):  # the flatbuffer's tables, scrambled
        garbled[at] ^= 0x5A
    size = meta["input"]["size"]
    return {
        "truncated": data[: len(data) // 2],
        "not a zip": b"#!/bin/sh\necho not a model\n",
        "no model.tflite": rezip({"model.json": json.dumps(meta).encode()}),
        "checksum": rezip({"model.json": json.dumps(meta).encode(), "model.tflite": tflite[:-1] + b"x"}),
        "other format": with_meta(meta, tflite, format="edgestore-recognizer/9"),
        "corrupt tflite": with_meta(meta, bytes(garbled)),
        "truncated tflite": with_meta(meta, tflite[: len(tflite) // 3]),
        "wrong input size": with_meta(meta, tflite, input={**meta["input"], "size": size + 32}),
        "wrong input dtype": with_meta(
            meta,
            tflite,
            input={**meta["input"], "dtype": "int8" if meta["input"]["dtype"] == "uint8" else "uint8"},
        ),
        "wrong embedding size": with_meta(meta, tflite, embeddingDim=meta["embeddingDim"] + 1),
    }
