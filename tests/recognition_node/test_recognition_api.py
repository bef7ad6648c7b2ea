"""Recognition through a real node's HTTP API: enrolment (staff only) then recognition, the errors with their
codes, deleting references, and the status."""

from pathlib import Path

import httpx

from edge.settings import EdgeSettings
from plumbing import free_port
from tests.conftest import FakeClock
from tests.recognition_node.conftest import (
    PRODUCTS,
    RecognitionNode,
    distractor_photo,
    enrolment,
    queries,
    serve_node,
)


def test_enrolled_variants_are_recognised_at_once(recognition_node: RecognitionNode):
    node = recognition_node
    status = node.client.get("/recognition/status").json()
    assert status["enrolledVariants"] == 0
    assert status["referenceCount"] == 0
    assert node.recognize(queries("latte-1")[0]).json()["unknown"] is True  # nothing enrolled yet

    for variant in PRODUCTS:
        response = node.enroll(variant, enrolment(variant))
        assert response.status_code == 201, response.text
        assert response.json() == {"variantId": variant, "added": 6, "references": 6}

    status = node.client.get("/recognition/status").json()
    assert (status["enrolledVariants"], status["referenceCount"]) == (4, 24)
    assert status["loaded"] is True
    assert isinstance(status["threshold"], float)
    health = node.client.get("/health").json()
    assert health["recognition"]["loaded"] is True
    assert health["recognition"]["modelVersion"] == status["modelVersion"]
    assert health["models"] == {"product-recognizer": 0}  # the shipped model: any delivered one is newer

    answer = node.recognize(queries("latte-1")[0]).json()
    assert answer["unknown"] is False
    assert answer["modelVersion"] == status["modelVersion"]
    assert answer["latencyMs"] >= 0
    best = answer["candidates"][0]
    assert best | {"confidence": 0} == {
        "variantId": "latte-1",
        "productId": "latte",
        "name": "拿鐵",
        "nameEn": "Caffè latte",
        "confidence": 0,
    }
    assert 0 < best["confidence"] <= 1
    assert len(answer["candidates"]) <= 3
    only = node.client.post(
        "/recognize", params={"k": 1}, files={"image": ("s.jpg", queries("oolong-tea-1")[0], "image/jpeg")}
    ).json()
    assert [c["variantId"] for c in only["candidates"]] == ["oolong-tea-1"]

    assert node.recognize(distractor_photo()).json() | {"latencyMs": 0} == {
        "candidates": [],
        "unknown": True,
        "modelVersion": status["modelVersion"],
        "latencyMs": 0,
    }

    deleted = node.client.delete("/recognition/references/latte-1", headers=node.staff())
    assert deleted.json() == {"variantId": "latte-1", "deleted": 6}
    after = node.recognize(queries("latte-1")[0]).json()
    assert all(c["variantId"] != "latte-1" for c in after["candidates"])
    assert node.client.get("/recognition/status").json()["enrolledVariants"] == 3
    again = node.client.delete("/recognition/references/latte-1", headers=node.staff())
    assert again.json() == {"variantId": "latte-1", "deleted": 0}


def test_enrolment_and_deletion_are_for_staff(recognition_node: RecognitionNode):
    node = recognition_node
    files = [("images", ("0.jpg", enrolment("latte-1", 1)[0], "image/jpeg"))]
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        refused = node.client.post(
            "/recognition/enroll", data={"variantId": "latte-1"}, files=files, headers=headers
        )
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"]["code"] == "unauthenticated"
        gone = node.client.delete("/recognition/references/latte-1", headers=headers)
        assert gone.status_code == 401
    assert node.client.get("/recognition/status").json()["referenceCount"] == 0


def test_bad_input_gets_a_clear_error(recognition_node: RecognitionNode):
    node = recognition_node
    staff = node.staff()

    def code(response: httpx.Response) -> tuple[int, str]:
        return response.status_code, response.json()["error"]["code"]

    assert code(node.recognize(b"this is no photo")) == (422, "notAnImage")
    assert code(node.client.post("/recognize")) == (422, "validationError")
    too_big = b"\xff\xd8" + bytes(node.settings.recognition_max_image_bytes)
    assert code(node.recognize(too_big)) == (413, "imageTooLarge")
    photo = enrolment("latte-1", 1)[0]
    unknown = node.client.post(
        "/recognition/enroll",
        data={"variantId": "no-such-variant"},
        files=[("images", ("0.jpg", photo, "image/jpeg"))],
        headers=staff,
    )
    assert code(unknown) == (404, "variantNotFound")
    not_image = node.client.post(
        "/recognition/enroll",
        data={"variantId": "latte-1"},
        files=[("images", ("0.jpg", photo, "image/jpeg")), ("images", ("1.jpg", b"nope", "image/jpeg"))],
        headers=staff,
    )
    assert code(not_image) == (422, "notAnImage")
    no_images = node.client.post("/recognition/enroll", data={"variantId": "latte-1"}, headers=staff)
    assert no_images.status_code == 422
    # nothing of a refused enrolment was kept
    assert node.client.get("/recognition/status").json()["referenceCount"] == 0


def test_a_node_without_a_model_answers_503_with_a_code(tmp_path: Path, clock: FakeClock):
    missing = tmp_path / "no-such-bundle.zip"
    settings = EdgeSettings(data_dir=tmp_path / "node", port=free_port(), recognition_bundle=missing)
    _, served = serve_node(settings, clock)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{settings.port}/api/v1", timeout=30) as client:
            response = client.post(
                "/recognize", files={"image": ("s.jpg", queries("latte-1")[0], "image/jpeg")}
            )
            assert response.status_code == 503
            assert response.json()["error"]["code"] == "modelNotLoaded"
            assert client.get("/recognition/status").json()["loaded"] is False
            assert client.get("/health").json()["recognition"]["loaded"] is False
    finally:
        served.stop(timeout_s=20)
