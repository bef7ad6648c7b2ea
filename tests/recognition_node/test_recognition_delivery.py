"""A model the cloud delivers, the way the sync agent takes it (``take_model``: fetched over HTTP, checked,
loaded in a fresh interpreter, the references embedded again, swapped in): no recognition is lost while it
swaps, and a bad, truncated or incompatible model is refused, reported, and the old one serves on."""

import hashlib
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from edge.settings import EdgeSettings
from edge.sync_downlink import status_message, take_model
from plumbing import free_port
from sync_protocol.envelope import DeviceStatus, ModelAnnouncement
from tests.conftest import FakeClock
from tests.recognition_node.conftest import (
    RecognitionNode,
    enrolment,
    queries,
    refused_bundles,
    serve_node,
    shipped_members,
    with_meta,
)

ENROLLED = ("latte-1", "oolong-tea-1")


def top_of(answer: dict) -> str | None:
    """The best candidate's variant; None when unknown. (These tests are about the swap, not the model's
    accuracy: the same model's answer before and after is what they compare.)"""
    candidates = answer.get("candidates") or []
    return candidates[0]["variantId"] if candidates else None


def wait_until(done: Callable[[], bool], threads: list[threading.Thread], timeout_s: float = 120) -> None:
    """Until ``done``; a hammering thread that died (its exception is pytest's) or a stall fails the test."""
    deadline = time.monotonic() + timeout_s
    while not done():
        assert all(thread.is_alive() for thread in threads), "a recognising thread died"
        assert time.monotonic() < deadline, "the recognitions stalled"
        time.sleep(0.01)


def announce(folder: Path, base_url: str, version: int, data: bytes) -> ModelAnnouncement:
    (folder / f"v{version}.zip").write_bytes(data)
    return ModelAnnouncement(
        store_id="store-1",
        name="product-recognizer",
        version=version,
        url=f"{base_url}/v{version}.zip",
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
    )


def retrained(bundle_path: Path, label: str) -> bytes:
    """Another model file (its bytes differ, so every reference is embedded again) with a new label."""
    meta, tflite = shipped_members(bundle_path)
    return with_meta(meta, tflite + bytes(64), modelVersion=label)


def test_a_swap_while_recognitions_run_loses_none(
    recognition_node: RecognitionNode, file_server: tuple[Path, str], bundle_path: Path
):
    node = recognition_node
    for variant in ENROLLED:
        assert node.enroll(variant, enrolment(variant)).status_code == 201
    before = node.client.get("/recognition/status").json()
    photo = queries("latte-1")[0]
    expected = top_of(node.recognize(photo).json())

    stop, swapped = threading.Event(), threading.Event()
    # (status, modelVersion, top variant, sent after the swap returned) per request, per thread
    answers: list[list[tuple[int, str | None, str | None, bool]]] = [[] for _ in range(4)]
    sent = [0] * 4

    def hammer(n: int) -> None:
        with httpx.Client(base_url=node.base_url, timeout=60) as client:
            while not stop.is_set():
                sent[n] += 1
                after_swap = swapped.is_set()
                response = node.recognize(photo, client)
                body = response.json()
                answers[n].append((response.status_code, body.get("modelVersion"), top_of(body), after_swap))

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    wait_until(lambda: min(len(a) for a in answers) >= 3, threads)
    folder, base_url = file_server
    assert take_model(node.node, announce(folder, base_url, 2, retrained(bundle_path, "swap-test-2")))
    swapped.set()
    swapped_at = [len(a) for a in answers]
    wait_until(lambda: all(len(a) >= at + 3 for a, at in zip(answers, swapped_at, strict=True)), threads)
    stop.set()
    for thread in threads:
        thread.join()

    every = [answer for per_thread in answers for answer in per_thread]
    assert len(every) == sum(sent)  # each request answered
    assert {status for status, *_ in every} == {200}
    assert {top for _, _, top, _ in every} == {expected}
    assert {version for _, version, _, _ in every} <= {before["modelVersion"], "swap-test-2"}
    # a request sent once the swap was done is the new model's; one under way then may finish with the old
    assert {version for _, version, _, after_swap in every if after_swap} == {"swap-test-2"}
    for per_thread in answers:
        # once a thread saw the new model it never saw the old one again
        versions = [version for _, version, _, _ in per_thread]
        assert set(versions[versions.index("swap-test-2") :]) == {"swap-test-2"}

    after = node.client.get("/recognition/status").json()
    assert after["modelVersion"] == "swap-test-2"
    assert after["modelFileVersion"] == 2
    assert after["referenceCount"] == before["referenceCount"] == 12
    assert node.client.get("/health").json()["models"] == {"product-recognizer": 2}
    assert node.recognize(photo).json()["modelVersion"] == "swap-test-2"


def test_a_bad_model_is_refused_reported_and_the_old_one_serves_on(
    recognition_node: RecognitionNode, file_server: tuple[Path, str], bundle_path: Path
):
    node = recognition_node
    for variant in ENROLLED:
        assert node.enroll(variant, enrolment(variant)).status_code == 201
    serving = node.client.get("/recognition/status").json()["modelVersion"]
    photo = queries("oolong-tea-1")[0]
    expected = top_of(node.recognize(photo).json())
    folder, base_url = file_server
    bad = refused_bundles(bundle_path)
    for version, what in enumerate(("truncated", "corrupt tflite", "wrong input size", "not a zip"), start=2):
        announcement = announce(folder, base_url, version, bad[what])
        assert take_model(node.node, announcement), what  # judged: refused
        assert not take_model(node.node, announcement), what  # and not fetched again

        status = node.client.get("/recognition/status").json()
        assert (status["modelVersion"], status["modelFileVersion"]) == (serving, 0), what
        assert status["rejected"]["version"] == version
        assert status["rejected"]["reason"]
        answer = node.recognize(photo).json()
        assert (answer["modelVersion"], top_of(answer)) == (serving, expected)

        health = node.client.get("/health").json()
        assert health["models"] == {"product-recognizer": 0}
        assert health["recognition"]["loaded"] is True
        assert health["recognition"]["rejected"] | {"reason": "", "at": ""} == {
            "name": "product-recognizer",
            "version": version,
            "sha256": announcement.sha256,
            "reason": "",
            "at": "",
        }
        sync = node.client.get("/sync/status", headers=node.staff()).json()
        assert [(r["name"], r["version"]) for r in sync["modelRejections"]] == [
            ("product-recognizer", version)
        ]

    # a good model after the bad ones serves, and the rejection is no longer news
    assert take_model(node.node, announce(folder, base_url, 9, retrained(bundle_path, "fixed-9")))
    health = node.client.get("/health").json()["recognition"]
    assert (health["modelVersion"], health["modelFileVersion"], health["rejected"]) == ("fixed-9", 9, None)


def test_an_installed_model_that_no_longer_loads_is_refused_at_start_and_the_shipped_one_serves(
    tmp_path: Path, clock: FakeClock, file_server: tuple[Path, str], bundle_path: Path
):
    settings = EdgeSettings(data_dir=tmp_path / "node", port=free_port(), recognition_bundle=bundle_path)
    app, served = serve_node(settings, clock)
    base_url = f"http://127.0.0.1:{settings.port}/api/v1"
    try:
        node = RecognitionNode(settings, app, httpx.Client(base_url=base_url, timeout=60), base_url)
        assert node.wait_loaded()["modelFileVersion"] == 0
        assert node.enroll("latte-1", enrolment("latte-1")).status_code == 201
        folder, files_url = file_server
        assert take_model(node.node, announce(folder, files_url, 2, retrained(bundle_path, "delivered-2")))
        assert node.client.get("/recognition/status").json()["modelVersion"] == "delivered-2"
        node.client.close()
    finally:
        served.stop(timeout_s=20)
    [installed] = (settings.data_dir / "models" / "product-recognizer").glob("2-*.bin")
    installed.write_bytes(installed.read_bytes()[:1000])  # the card went bad

    app, served = serve_node(settings, clock, load=False)
    try:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            node = RecognitionNode(settings, app, client, base_url)
            status = node.wait_loaded()
            assert (status["modelFileVersion"], status["rejected"]["version"]) == (0, 2)
            assert status["referenceCount"] == 6  # embedded again by the shipped model
            answer = node.recognize(queries("latte-1")[0]).json()
            assert answer["modelVersion"] == status["modelVersion"] != "delivered-2"
    finally:
        served.stop(timeout_s=20)


def test_the_status_to_the_cloud_names_only_delivered_models(
    recognition_node: RecognitionNode, file_server: tuple[Path, str], bundle_path: Path
):
    """The shipped model is version 0 at the node (health), and none of the cloud's in its status message
    (whose versions start at 1); a delivered one is reported by its version."""
    node = recognition_node
    message = DeviceStatus.model_validate_json(status_message(node.node, "store-1", online=True))
    assert message.models == {}
    folder, base_url = file_server
    assert take_model(node.node, announce(folder, base_url, 3, retrained(bundle_path, "delivered-3")))
    message = DeviceStatus.model_validate_json(status_message(node.node, "store-1", online=True))
    assert message.models == {"product-recognizer": 3}
