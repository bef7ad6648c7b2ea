"""The kiosk's scan against a real node with the shipped model: the scan button follows the node's loaded
model, the node's recogniser names the product held up (with the catalog's names), and a product it does
not know is "not recognised"."""

import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edge.recognition.synthetic import kiosk_shot, product_image
from edge.settings import EdgeSettings
from kiosk_ui.hardware.camera import FileCamera
from kiosk_ui.viewmodels.scan import NodeRecognizer, Scan
from kiosk_ui.viewmodels.session import Session
from models.node_api import RecognitionResult
from models.staff import StaffRole
from node_client import NodeClient, NotReady
from plumbing import free_port
from tests.conftest import FakeClock
from tests.edge.conftest import EdgeServer, start_server
from tests.edge.helpers import add_staff
from tests.recognition_node.conftest import PRODUCTS, distractor_photo, enrolment, jpeg, queries


def wait_loaded(node: NodeClient, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not node.recognition_status().loaded:
        assert time.monotonic() < deadline, "the node never loaded its model"
        time.sleep(0.05)


def camera_showing(folder: Path, photo: bytes) -> FileCamera:
    folder.mkdir()
    (folder / "held-up.jpg").write_bytes(photo)
    return FileCamera(folder)


def test_scanning_names_the_enrolled_product_and_not_an_unknown_one(
    edge: EdgeServer, clock: FakeClock, tmp_path: Path
):
    with NodeClient(edge.base_url) as node:
        wait_loaded(node)
        session = Session(clock())
        session.node_answered(node.health())
        assert session.can_scan

        add_staff(edge.settings, "店長", StaffRole.MANAGER, "2468")
        node.staff_login("店長", "2468")
        for variant in PRODUCTS:
            assert node.enroll(variant, enrolment(variant)).references == 6
        node.staff_logout()

        scan = Scan(camera_showing(tmp_path / "latte", queries("latte-1")[0]), NodeRecognizer(node))
        assert scan.ready
        scan.start()
        scan.capture()
        candidates = scan.look()
        assert not scan.unknown
        assert 1 <= len(candidates) <= 3
        best = candidates[0]
        assert (best.product_id, best.variant_id, best.name, best.name_en) == (
            "latte",
            "latte-1",
            "拿鐵",
            "Caffè latte",
        )
        assert [c.score for c in candidates] == sorted((c.score for c in candidates), reverse=True)
        scan.stop()

        unknown = Scan(camera_showing(tmp_path / "other", distractor_photo()), NodeRecognizer(node))
        unknown.start()
        assert unknown.look() == []
        assert unknown.unknown
        unknown.stop()


def test_no_scan_button_while_the_node_has_no_model(tmp_path: Path, clock: FakeClock):
    settings = EdgeSettings(
        data_dir=tmp_path / "node", port=free_port(), recognition_bundle=tmp_path / "missing.zip"
    )
    served = start_server(settings, clock)
    try:
        with NodeClient(f"http://127.0.0.1:{settings.port}/api/v1", retries=0) as node:
            session = Session(clock())
            session.node_answered(node.health())
            assert not session.can_scan
            assert node.health().recognition is not None
            with pytest.raises(NotReady) as refused:
                node.recognize(queries("latte-1")[0])
            assert refused.value.code == "modelNotLoaded"
    finally:
        served.stop(timeout_s=20)


class SentToTheNode:
    """The real node's client, noting each picture the kiosk sends it (the node answers as ever)."""

    def __init__(self, node: NodeClient) -> None:
        self.node, self.sent = node, []

    def recognize(
        self, image: bytes, *, k: int | None = None, content_type: str = "image/jpeg"
    ) -> RecognitionResult:
        self.sent.append(image)
        return self.node.recognize(image, k=k, content_type=content_type)


def test_the_scan_shows_the_whole_frame_and_sends_the_node_the_query_frame(
    edge: EdgeServer, clock: FakeClock, tmp_path: Path
):
    """A 640 x 480 camera frame is what the screen shows; the node is sent its centre square at its model's
    input side (what /health says), losslessly, and names the product from it."""
    camera_frame = jpeg(
        kiosk_shot(product_image(PRODUCTS["latte-1"], 0), np.random.default_rng(640), (640, 480))
    )
    with NodeClient(edge.base_url) as node:
        wait_loaded(node)
        add_staff(edge.settings, "店長", StaffRole.MANAGER, "2468")
        node.staff_login("店長", "2468")
        for variant in PRODUCTS:
            node.enroll(variant, enrolment(variant))
        node.staff_logout()

        sent = SentToTheNode(node)
        recognition = node.health().recognition
        assert recognition is not None
        assert recognition.input_size == 96  # the shipped model's
        side = recognition.input_size
        scan = Scan(camera_showing(tmp_path / "latte", camera_frame), NodeRecognizer(sent), lambda: side)
        scan.start()
        assert scan.capture() == camera_frame  # the preview is the camera's whole frame
        candidates = scan.look()
        assert sent.sent == [scan.query]
        with Image.open(io.BytesIO(sent.sent[0])) as query:
            assert (query.format, query.size) == ("BMP", (96, 96))
        assert not scan.unknown
        assert (candidates[0].product_id, candidates[0].variant_id) == ("latte", "latte-1")
        scan.stop()
