"""The demo's kit for trying enrolment in the cloud (``edgestore.demo_recognition.cloud_enrolment_kit``): six
photos of a variant nobody enrolled and a photo to ask with, which the node cannot name before the six are
enrolled and names after, as the demo's banner promises. A real node with the shipped model."""

from edge.demo_catalog import demo_catalog
from edgestore.demo_recognition import cloud_enrolment_kit, enrol_demo_products
from tests.recognition_node.conftest import RecognitionNode


def test_the_kits_query_is_named_only_once_its_photos_are_enrolled(
    recognition_node: RecognitionNode, tmp_path
):
    snapshot = demo_catalog()
    added, model = enrol_demo_products(recognition_node.node, snapshot, tmp_path / "stills")
    assert added > 0
    assert model is not None
    kit = cloud_enrolment_kit(recognition_node.node, snapshot, tmp_path / "kit")
    assert kit is not None
    assert not kit.variant.is_default
    photos = sorted(p for p in kit.folder.glob(f"{kit.variant.variant_id}-*.jpg"))
    assert len(photos) == 6
    query = kit.query.read_bytes()

    def named() -> str | None:
        body = recognition_node.recognize(query).json()
        return None if body["unknown"] else body["candidates"][0]["variantId"]

    assert named() != kit.variant.variant_id
    r = recognition_node.enroll(kit.variant.variant_id, [p.read_bytes() for p in photos])
    assert r.status_code == 201, r.text
    assert named() == kit.variant.variant_id
