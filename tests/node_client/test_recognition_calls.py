"""node_client's recognition calls against a real node serving the shipped model: status, enrol (staff),
recognize, delete the references, and the refusals as the client's exceptions."""

import time

import pytest

from models.staff import StaffRole
from node_client import Invalid, NodeClient, NotFound, TooLarge, Unauthenticated
from tests.edge.conftest import EdgeServer
from tests.edge.helpers import add_staff
from tests.recognition_node.conftest import enrolment, queries


def test_enrol_recognize_and_forget_through_the_client(edge: EdgeServer):
    add_staff(edge.settings, "店長", StaffRole.MANAGER, "2468")
    with NodeClient(edge.base_url) as node:
        deadline = time.monotonic() + 60
        while not node.recognition_status().loaded:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with pytest.raises(Unauthenticated):
            node.enroll("latte-1", enrolment("latte-1", 1))
        node.staff_login("店長", "2468")
        with pytest.raises(NotFound) as missing:
            node.enroll("no-such-variant", enrolment("latte-1", 1))
        assert missing.value.code == "variantNotFound"
        enrolled = node.enroll("latte-1", enrolment("latte-1"))
        assert (enrolled.variant_id, enrolled.added, enrolled.references) == ("latte-1", 6, 6)
        status = node.recognition_status()
        assert (status.enrolled_variants, status.reference_count) == (1, 6)

        seen = node.recognize(queries("latte-1")[0], k=2)
        assert not seen.unknown
        assert seen.model_version == status.model_version
        assert seen.candidates[0].product_id == "latte"
        with pytest.raises(Invalid) as garbage:
            node.recognize(b"GIF89a but not really")
        assert garbage.value.code == "notAnImage"
        with pytest.raises(TooLarge) as huge:
            node.recognize(bytes(edge.settings.recognition_max_image_bytes + 1))
        assert huge.value.code == "imageTooLarge"

        assert node.delete_references("latte-1").deleted == 6
        assert node.recognize(queries("latte-1")[0]).unknown  # nothing enrolled any more
        assert node.recognition_status().reference_count == 0
