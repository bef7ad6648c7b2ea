"""The seller's cloud-enrolled reference photos at a real node (issue 18), the way the sync agent takes them
(``take_recognition_photos``): the set and its photos fetched over real HTTP from a folder server that counts
what it is asked for, checked, embedded by the shipped model and swapped in; the node's own photos untouched.
Also the pure plan (what to fetch, what to forget) and the node's status."""

import functools
import hashlib
import http.server
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from edge import catalog, node_state
from edge.demo_catalog import ean13
from edge.node import Node
from edge.recognition import cloud_photos, references
from edge.recognition.cloud_photos import plan
from edge.settings import EdgeSettings
from edge.sync_agent import SyncAgent
from edge.sync_downlink import status_message, take_recognition_photos
from models.catalog import Product, Variant
from plumbing import free_port
from sync_protocol.encoding import decode_status, encode
from sync_protocol.envelope import (
    CONTENT_ENCODINGS_SCHEMA_VERSION,
    RecognitionPhotoRef,
    RecognitionPhotosAnnouncement,
    RecognitionPhotoSet,
)
from sync_protocol.mqtt_link import MqttSettings
from sync_protocol.streams import DownlinkKind
from sync_protocol.topics import Topics
from tests.conftest import FakeClock
from tests.recognition_node.conftest import RecognitionNode, enrolment, queries, shot

STORE = "store-1"


@dataclass
class PhotoServer:
    """The cloud's file route, as far as a node can tell: a folder over HTTP, counting the paths asked for."""

    folder: Path
    base_url: str
    requests: list[str] = field(default_factory=list)

    def publish(
        self, version: int, photos: list[tuple[str, str, bytes]], *, store_id: str = STORE
    ) -> RecognitionPhotosAnnouncement:
        """Write each (cloud photo id, variant id, bytes) and the set of them; the set's announcement."""
        refs = []
        for photo_id, variant_id, data in photos:
            sha = hashlib.sha256(data).hexdigest()
            name = f"{photo_id}-{sha[:12]}.jpg"
            (self.folder / name).write_bytes(data)
            refs.append(
                RecognitionPhotoRef(
                    photo_id=photo_id,
                    variant_id=variant_id,
                    url=f"{self.base_url}/{name}",
                    sha256=sha,
                    size=len(data),
                )
            )
        body = encode(RecognitionPhotoSet(store_id=store_id, version=version, photos=tuple(refs)))
        (self.folder / f"set-{version}.json").write_bytes(body)
        return RecognitionPhotosAnnouncement(
            store_id=STORE,
            version=version,
            url=f"{self.base_url}/set-{version}.json",
            sha256=hashlib.sha256(body).hexdigest(),
            size=len(body),
        )

    def photo_requests(self) -> list[str]:
        return [path for path in self.requests if not path.startswith("/set-")]


@pytest.fixture
def photo_server(tmp_path: Path) -> Iterator[PhotoServer]:
    folder = tmp_path / "cloud-files"
    folder.mkdir()
    server_state = PhotoServer(folder, "")

    class Counting(http.server.SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            server_state.requests.append(self.path)
            super().do_GET()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", free_port()), functools.partial(Counting, directory=str(folder))
    )
    server_state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server_state
    server.shutdown()
    server.server_close()
    thread.join()


def cloud_photos_of(variant_id: str, count: int = 6, *, prefix: str = "c") -> list[tuple[str, str, bytes]]:
    return [
        (f"{prefix}-{variant_id}-{n}", variant_id, data)
        for n, data in enumerate(enrolment(variant_id, count))
    ]


def status(node: RecognitionNode) -> dict[str, Any]:
    answer: dict[str, Any] = node.client.get("/recognition/status").json()
    return answer


def top_of(node: RecognitionNode, photo: bytes) -> str | None:
    candidates = node.recognize(photo).json()["candidates"]
    return candidates[0]["variantId"] if candidates else None


def served_variants(node: RecognitionNode) -> set[str]:
    recognizer = node.node.recognizer
    assert recognizer is not None
    assert recognizer.serving is not None
    return recognizer.serving.index.variants


# The pure plan


def ref(photo_id: str, variant_id: str = "latte-1", sha: str = "a" * 64) -> RecognitionPhotoRef:
    return RecognitionPhotoRef(
        photo_id=photo_id, variant_id=variant_id, url=f"http://cloud/{photo_id}", sha256=sha, size=1
    )


def test_plan_fetches_what_is_missing_and_forgets_what_is_gone() -> None:
    todo = plan([ref("a"), ref("b"), ref("c")], {"a": "latte-1", "z": "latte-1"}, {})
    assert [r.photo_id for r in todo.fetch] == ["b", "c"]
    assert todo.forget == {"z"}


def test_plan_of_what_is_held_is_empty() -> None:
    todo = plan([ref("a"), ref("b")], {"a": "latte-1", "b": "latte-1"}, {})
    assert todo.fetch == ()
    assert todo.forget == frozenset()


def test_plan_moves_a_photo_to_its_new_variant() -> None:
    todo = plan([ref("a", "oolong-tea-1")], {"a": "latte-1"}, {})
    assert [r.photo_id for r in todo.fetch] == ["a"]
    assert todo.forget == {"a"}


def test_plan_skips_a_refused_file_but_not_a_new_one_under_its_id() -> None:
    assert plan([ref("a", sha="a" * 64)], {}, {"a": "a" * 64}).fetch == ()
    assert [r.photo_id for r in plan([ref("a", sha="b" * 64)], {}, {"a": "a" * 64}).fetch] == ["a"]


def test_plan_counts_a_photo_listed_twice_once() -> None:
    assert [r.variant_id for r in plan([ref("a"), ref("a", "oolong-tea-1")], {}, {}).fetch] == ["latte-1"]


def test_plan_of_an_empty_set_forgets_every_cloud_photo() -> None:
    todo = plan([], {"a": "latte-1", "b": "oolong-tea-1"}, {"c": "c" * 64})
    assert todo.fetch == ()
    assert todo.forget == {"a", "b"}


# At a real node


def test_cloud_photos_are_fetched_embedded_and_recognised(
    recognition_node: RecognitionNode,
    photo_server: PhotoServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    node = recognition_node
    monkeypatch.setattr(cloud_photos, "BATCH_PHOTOS", 5)  # three batches of the twelve
    announcement = photo_server.publish(1, cloud_photos_of("latte-1") + cloud_photos_of("oolong-tea-1"))
    with caplog.at_level(logging.INFO, logger="edge.sync_downlink"):
        assert take_recognition_photos(node.node, announcement)
    assert "12 of 12 fetched" in caplog.text
    assert "5 of 12 fetched" in caplog.text
    assert len(photo_server.photo_requests()) == 12
    assert served_variants(node) == {"latte-1", "oolong-tea-1"}
    assert top_of(node, queries("latte-1")[0]) == "latte-1"
    assert top_of(node, queries("oolong-tea-1")[0]) == "oolong-tea-1"
    shown = status(node)
    assert shown["cloudPhotosVersion"] == 1
    assert (shown["cloudReferences"], shown["nodeReferences"], shown["refusedCloudPhotos"]) == (12, 0, 0)
    assert shown["referenceCount"] == 12

    # The same version again: nothing fetched at all.
    photo_server.requests.clear()
    assert not take_recognition_photos(node.node, announcement)
    assert photo_server.requests == []

    # A newer version listing the same photos: only the set is fetched.
    again = photo_server.publish(2, cloud_photos_of("latte-1") + cloud_photos_of("oolong-tea-1"))
    assert take_recognition_photos(node.node, again)
    assert photo_server.requests == ["/set-2.json"]
    assert status(node)["cloudPhotosVersion"] == 2


def test_a_photo_no_longer_listed_is_forgotten_and_the_nodes_own_are_untouched(
    recognition_node: RecognitionNode, photo_server: PhotoServer
) -> None:
    node = recognition_node
    assert node.enroll("bubble-tea-1", enrolment("bubble-tea-1")).status_code == 201
    first = photo_server.publish(1, cloud_photos_of("latte-1") + cloud_photos_of("oolong-tea-1"))
    assert take_recognition_photos(node.node, first)
    assert served_variants(node) == {"bubble-tea-1", "latte-1", "oolong-tea-1"}

    photo_server.requests.clear()
    second = photo_server.publish(2, cloud_photos_of("oolong-tea-1")[:4])  # latte's gone, two of oolong's
    assert take_recognition_photos(node.node, second)
    assert photo_server.photo_requests() == []  # forgetting fetches nothing
    assert served_variants(node) == {"bubble-tea-1", "oolong-tea-1"}
    assert top_of(node, queries("bubble-tea-1")[0]) == "bubble-tea-1"
    shown = status(node)
    assert (shown["cloudReferences"], shown["nodeReferences"], shown["referenceCount"]) == (4, 6, 10)

    # An empty set forgets every cloud photo; the node's own serve on.
    assert take_recognition_photos(node.node, photo_server.publish(3, []))
    assert served_variants(node) == {"bubble-tea-1"}
    assert (status(node)["cloudReferences"], status(node)["nodeReferences"]) == (0, 6)


def test_deleting_a_variants_references_at_the_node_leaves_the_clouds(
    recognition_node: RecognitionNode, photo_server: PhotoServer
) -> None:
    node = recognition_node
    assert node.enroll("latte-1", enrolment("latte-1", 2)).status_code == 201
    assert take_recognition_photos(node.node, photo_server.publish(1, cloud_photos_of("latte-1", 3)))
    deleted = node.client.delete("/recognition/references/latte-1", headers=node.staff())
    assert deleted.json() == {"variantId": "latte-1", "deleted": 2}  # the node's own two
    assert (status(node)["cloudReferences"], status(node)["nodeReferences"]) == (3, 0)
    assert served_variants(node) == {"latte-1"}  # still recognised, from the seller's set
    assert status(node)["cloudPhotosVersion"] == 1  # the set the node says it holds is whole
    # The seller removes them in the cloud: the next version forgets them.
    assert take_recognition_photos(node.node, photo_server.publish(2, []))
    assert served_variants(node) == set()


def matcha() -> Product:
    variant = Variant(
        variant_id="matcha-1",
        name="抹茶",
        name_en="Matcha",
        price=90,
        barcode=ean13("471999990001"),
        sku="MATCHA-1",
        is_default=True,
    )
    return Product(product_id="matcha", name="抹茶", name_en="Matcha", variants=[variant])


def test_a_photo_of_a_variant_not_in_the_catalog_waits_for_it(
    recognition_node: RecognitionNode, photo_server: PhotoServer
) -> None:
    node = recognition_node
    early = [("c-matcha-0", "matcha-1", shot("pineapple-cake-1", 0))]
    announcement = photo_server.publish(1, cloud_photos_of("latte-1", 3) + early)
    assert not take_recognition_photos(node.node, announcement)  # deferred: the version is not recorded
    assert served_variants(node) == {"latte-1"}
    assert status(node)["cloudPhotosVersion"] == 0
    assert 'recognitionPhotos":0' in status_message(node.node, STORE, online=True).decode()

    with node.node.db.write() as conn:
        catalog.upsert_product(conn, matcha())
    photo_server.requests.clear()
    assert take_recognition_photos(node.node, announcement)  # announced again: only what is missing
    assert photo_server.requests == ["/set-1.json", photo_server.photo_requests()[0]]
    assert photo_server.photo_requests()[0].startswith("/c-matcha-0-")
    assert served_variants(node) == {"latte-1", "matcha-1"}
    assert status(node)["cloudPhotosVersion"] == 1


def test_a_photo_that_is_not_an_image_is_refused_and_not_fetched_again(
    recognition_node: RecognitionNode, photo_server: PhotoServer
) -> None:
    node = recognition_node
    broken = ("c-broken", "oolong-tea-1", b"<html>not a photo</html>")
    assert take_recognition_photos(
        node.node, photo_server.publish(1, [*cloud_photos_of("latte-1", 3), broken])
    )
    shown = status(node)
    assert (shown["cloudPhotosVersion"], shown["cloudReferences"], shown["refusedCloudPhotos"]) == (1, 3, 1)

    photo_server.requests.clear()
    assert take_recognition_photos(
        node.node, photo_server.publish(2, [*cloud_photos_of("latte-1", 3), broken])
    )
    assert photo_server.requests == ["/set-2.json"]

    # The seller replaces the file under the same id: fetched, taken, the refusal dropped.
    fixed = ("c-broken", "oolong-tea-1", shot("oolong-tea-1", 0))
    assert take_recognition_photos(
        node.node, photo_server.publish(3, [*cloud_photos_of("latte-1", 3), fixed])
    )
    shown = status(node)
    assert (shown["cloudReferences"], shown["refusedCloudPhotos"]) == (4, 0)
    assert served_variants(node) == {"latte-1", "oolong-tea-1"}

    # A refused photo the set no longer lists is no longer counted.
    assert take_recognition_photos(node.node, photo_server.publish(4, [broken]))
    assert take_recognition_photos(node.node, photo_server.publish(5, []))
    assert status(node)["refusedCloudPhotos"] == 0


def test_a_set_or_photo_not_as_announced_records_nothing(
    recognition_node: RecognitionNode, photo_server: PhotoServer
) -> None:
    node = recognition_node
    good = photo_server.publish(1, cloud_photos_of("latte-1", 3))
    with pytest.raises(ValueError, match="SHA-256"):
        take_recognition_photos(node.node, good.model_copy(update={"sha256": "0" * 64}))
    with pytest.raises(ValueError, match="bytes"):
        take_recognition_photos(node.node, good.model_copy(update={"size": good.size + 1}))
    # A file longer than announced is dropped as soon as it runs past the size, not read to its end.
    with pytest.raises(ValueError, match="sends more than the 10 bytes announced"):
        take_recognition_photos(node.node, good.model_copy(update={"size": 10}))
    assert photo_server.photo_requests() == []

    # A photo whose file is not the one its reference names: nothing of the set is recorded.
    announcement = photo_server.publish(2, cloud_photos_of("latte-1", 3))
    victim = sorted(photo_server.folder.glob("c-latte-1-1-*.jpg"))[0]
    victim.write_bytes(shot("oolong-tea-1", 9)[: victim.stat().st_size])
    with pytest.raises(ValueError, match="recognition photo c-latte-1-1"):
        take_recognition_photos(node.node, announcement)
    assert status(node)["cloudPhotosVersion"] == 0

    # A set of another store, or not the version announced.
    with pytest.raises(ValueError, match="announced store and version"):
        take_recognition_photos(node.node, photo_server.publish(3, [], store_id="store-2"))
    assert status(node)["cloudPhotosVersion"] == 0

    # A file gone from the cloud (404): the HTTP error reaches the agent, which asks again.
    with pytest.raises(httpx.HTTPStatusError):
        take_recognition_photos(
            node.node, good.model_copy(update={"version": 7, "url": good.url.__str__() + "x"})
        )


def test_the_status_says_which_set_the_node_holds(
    recognition_node: RecognitionNode, photo_server: PhotoServer
) -> None:
    node = recognition_node
    before = decode_status(status_message(node.node, STORE, online=True))
    assert (before.schema_version, before.recognition_photos) == (CONTENT_ENCODINGS_SCHEMA_VERSION, 0)
    assert take_recognition_photos(node.node, photo_server.publish(3, cloud_photos_of("latte-1", 2)))
    after = decode_status(status_message(node.node, STORE, online=True))
    assert (after.schema_version, after.recognition_photos) == (CONTENT_ENCODINGS_SCHEMA_VERSION, 3)
    assert b'"recognitionPhotos":3' in status_message(node.node, STORE, online=True)


def test_a_node_without_recognition_says_nothing_of_photos_and_takes_none(
    tmp_path: Path, clock: FakeClock, photo_server: PhotoServer
) -> None:
    settings = EdgeSettings(data_dir=tmp_path / "plain", port=free_port(), recognition_enabled=False)
    node = Node.open(settings, clock)
    assert node.recognizer is None
    message = status_message(node, STORE, online=True)
    assert b"recognitionPhotos" not in message
    # version 6 (its health, the encodings it reads) all the same: a cloud learns each version before nodes
    # write it
    assert decode_status(message).schema_version == CONTENT_ENCODINGS_SCHEMA_VERSION
    assert not take_recognition_photos(node, photo_server.publish(1, cloud_photos_of("latte-1", 2)))
    assert photo_server.requests == []
    node.db.dispose()


def test_the_agent_takes_an_announced_set_on_its_loop_thread(
    recognition_node: RecognitionNode, photo_server: PhotoServer
) -> None:
    """What arrives on the MQTT thread is only kept; the loop thread's round fetches it (no broker needed:
    the agent is not started)."""
    node = recognition_node
    agent = SyncAgent(
        node.node, MqttSettings(host="127.0.0.1", port=free_port()), store_id=STORE, status_every_s=60
    )
    older = photo_server.publish(1, cloud_photos_of("latte-1", 2))
    newer = photo_server.publish(2, cloud_photos_of("oolong-tea-1", 2))
    topic = str(Topics.downlink(STORE, node.node.device_id, DownlinkKind.RECOGNITION_PHOTOS))
    agent._on_downlink(topic, DownlinkKind.RECOGNITION_PHOTOS, encode(newer))
    agent._on_downlink(topic, DownlinkKind.RECOGNITION_PHOTOS, encode(older))  # late: the newer one stays
    assert photo_server.requests == []
    agent._take_announced()
    assert served_variants(node) == {"oolong-tea-1"}
    with node.node.db.read() as conn:
        assert node_state.recognition_photos_version(conn) == 2
    assert not agent._announced.is_set()  # it asks again: its status names the set it holds now
    agent.link.close()


def test_thousands_of_cloud_photos_are_forgotten_and_refusals_kept_in_one_go(
    tmp_path: Path, clock: FakeClock
) -> None:
    """A seller's set is up to 100,000 photos: no statement binds more ids than SQLite takes."""
    node = Node.open(EdgeSettings(data_dir=tmp_path / "plain", port=free_port()), clock)
    ids = [f"c-{n}" for n in range(1_200)]
    vector = np.ones(4, dtype=np.float32)
    with node.db.write() as conn:
        references.add(
            conn, "latte-1", [(b"jpeg", vector)] * len(ids), "k", now=clock(), by=None, cloud_photo_ids=ids
        )
        for photo_id in ids:
            cloud_photos.refuse(
                conn, cloud_photos.CloudPhoto(photo_id, "latte-1", "a" * 64, b""), "no", clock()
            )
    with node.db.write() as conn:
        cloud_photos.keep_refusals(conn, {f"c-{n}" for n in range(100, 40_000)})
        assert len(cloud_photos.refusals(conn)) == 1_100
        assert references.delete_cloud(conn, ids) == 1_200
        assert cloud_photos.held(conn) == {}
        assert references.vectors(conn, "k") == []
    node.db.dispose()
