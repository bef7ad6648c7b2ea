"""Staff teaching the recogniser a product at the kiosk (``kiosk_ui.viewmodels.enrolment``), without a
window, against a real node with the shipped model (the `edge` fixture) through the real client: a cashier
finds the product with the shopper's search, picks its variant, the camera's photos are sent and the node
recognises the variant at once; retaking, forgetting, and what goes wrong said in words."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk_ui.hardware.camera import FileCamera
from kiosk_ui.i18n import translator
from kiosk_ui.viewmodels.enrolment import Enrolment, StaffOnly, Step
from kiosk_ui.viewmodels.problems import explain
from kiosk_ui.viewmodels.staff import StaffMode
from models.staff import StaffRole
from node_client import NodeClient
from node_client.errors import NodeUnreachable, Unauthenticated
from plumbing import free_port
from tests.edge.conftest import EdgeServer
from tests.edge.helpers import add_staff
from tests.kiosk.test_scan_recognition import wait_loaded
from tests.recognition_node.conftest import enrolment, queries


def camera_of(folder: Path, variant_id: str) -> FileCamera:
    """A camera that plays generated photos of one demo variant's product, turned a little each time."""
    folder.mkdir(parents=True)
    for n, photo in enumerate(enrolment(variant_id)):
        (folder / f"{n}.jpg").write_bytes(photo)
    return FileCamera(folder)


@pytest.fixture
def node(edge: EdgeServer) -> Iterator[NodeClient]:
    with NodeClient(edge.base_url) as client:
        wait_loaded(client)
        yield client


@pytest.fixture
def cashier(edge: EdgeServer, node: NodeClient) -> StaffMode:
    add_staff(edge.settings, "AMY", StaffRole.CASHIER, "1357")
    staff = StaffMode(node)
    staff.login("AMY", "1357")
    return staff


def step(teach: Enrolment) -> Step:
    """Where the enrolment is (a call, so a type checker does not keep the step an assert saw)."""
    return teach.step


def take_photos(teach: Enrolment) -> None:
    teach.begin()
    assert step(teach) is Step.CAPTURING
    while step(teach) is Step.CAPTURING:
        teach.capture()


def test_a_cashier_teaches_a_variant_and_the_node_recognises_it_at_once(
    node: NodeClient, cashier: StaffMode, tmp_path: Path
) -> None:
    assert node.recognize(queries("latte-1")[0]).unknown  # nothing enrolled yet
    teach = Enrolment(node, camera_of(tmp_path / "latte", "latte-1"), cashier)
    assert step(teach) is Step.PICK
    teach.catalog.open()
    teach.catalog.search("latte")  # the shopper's search finds it
    assert [p.product_id for p in teach.catalog.items] == ["latte"]
    detail = teach.open_product("latte")
    assert [v.variant_id for v in detail.product.variants][:1] == ["latte-1"]
    teach.use("latte-1")
    assert step(teach) is Step.READY
    assert teach.variant is not None
    assert teach.variant.variant_id == "latte-1"
    teach.capture()  # the preview while the product is put in place: not kept
    assert teach.frame is not None
    assert teach.taken == 0

    take_photos(teach)
    assert step(teach) is Step.CAPTURED
    assert teach.taken == 6
    teach.capture()  # the preview goes on; no seventh photo
    assert teach.taken == 6
    saved = teach.save()
    assert (saved.variant_id, saved.added, saved.references) == ("latte-1", 6, 6)
    assert step(teach) is Step.SAVED
    assert teach.photos == []

    seen = node.recognize(queries("latte-1")[0], k=3)
    assert not seen.unknown
    assert seen.candidates[0].variant_id == "latte-1"
    status = node.recognition_status()
    assert (status.enrolled_variants, status.reference_count) == (1, 6)

    take_photos(teach)  # more photos from other sides: kept beside the first ones
    assert teach.save().references == 12

    forgotten = teach.forget()
    assert forgotten.deleted == 12
    assert step(teach) is Step.READY
    assert node.recognition_status().enrolled_variants == 0
    assert node.recognize(queries("latte-1")[0]).unknown
    teach.cancel()
    assert step(teach) is Step.PICK
    assert not teach.camera_on


def test_retaking_drops_the_photos_and_cancelling_turns_the_camera_off(
    node: NodeClient, cashier: StaffMode, tmp_path: Path
) -> None:
    teach = Enrolment(node, camera_of(tmp_path / "tea", "bubble-tea-1"), cashier, frames=3)
    teach.open_product("bubble-tea")
    teach.use("bubble-tea-1")
    take_photos(teach)
    assert teach.taken == 3
    teach.retake()
    assert (teach.step, teach.taken) == (Step.READY, 0)
    teach.cancel()
    assert (teach.step, teach.camera_on, teach.frame) == (Step.PICK, False, None)
    assert node.recognition_status().enrolled_variants == 0  # nothing was sent


def test_only_a_logged_in_staff_member_teaches_and_refusals_are_said_in_words(
    edge: EdgeServer, node: NodeClient, cashier: StaffMode, tmp_path: Path
) -> None:
    words = translator("en")
    teach = Enrolment(node, camera_of(tmp_path / "cake", "pineapple-cake-1"), cashier)
    teach.open_product("pineapple-cake")
    teach.use("pineapple-cake-1")
    take_photos(teach)
    node.token = "not-a-token"  # the login ended at the node (its idle timeout, a restart)
    with pytest.raises(Unauthenticated) as refused:
        teach.save()
    assert explain(words, refused.value) == "A member of staff must do this"
    assert teach.taken == 6  # the photos are kept, to send again after logging in
    cashier.login("AMY", "1357")
    assert teach.save().references == 6

    cashier.logout()
    with pytest.raises(StaffOnly) as stopped:
        teach.begin()
    assert explain(words, stopped.value) == "A member of staff must do this"
    with pytest.raises(StaffOnly):
        teach.forget()
    assert node.recognition_status().enrolled_variants == 1


def test_a_node_that_does_not_answer_is_said_and_the_photos_stay(
    edge: EdgeServer, tmp_path: Path, cashier: StaffMode, node: NodeClient
) -> None:
    teach = Enrolment(node, camera_of(tmp_path / "oolong", "oolong-tea-1"), cashier)
    teach.open_product("oolong-tea")
    teach.use("oolong-tea-1")
    take_photos(teach)
    with NodeClient(f"http://127.0.0.1:{free_port()}", retries=0, timeout=1) as gone:
        teach.node = gone
        with pytest.raises(NodeUnreachable) as lost:
            teach.save()
    assert explain(translator("zh-TW"), lost.value) == "暫時無法連線，購物車仍保留，請稍後再試"
    assert (teach.step, teach.taken) == (Step.CAPTURED, 6)
    teach.node = node
    assert teach.save().references == 6
