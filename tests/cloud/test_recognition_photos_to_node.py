"""Cloud-enrolled recognition photos reach a real store node over a real Mosquitto (issue 18): the seller
enrols a variant from six generated photos through the API, the node is told of the new set, fetches the
photos, embeds them with the model it runs and names the product from a photo it never saw; photos
removed in the cloud are forgotten at the node, and the node's own (kiosk-enrolled) photos stay."""

import io

import httpx
import numpy as np
import pytest
from PIL import Image

from edge.recognition.synthetic import kiosk_shot, product_image
from tests.cloud.conftest import CloudServer
from tests.cloud.test_cloud_catalog import make_product
from tests.cloud.test_recognition_photos_cloud import enrol
from tests.cloud.test_sync_downlink import sync_rig
from tests.cloud.test_sync_end_to_end import wait_for
from tests.edge.helpers import as_staff

pytestmark = pytest.mark.slow

DESIGN = 2**32 + 77  # a product design the model never trained on


def shot(design: int, n: int) -> bytes:
    """A kiosk-camera photo of a generated product, the ``n``-th of its stream."""
    picture: Image.Image = kiosk_shot(product_image(design, variant=0), np.random.default_rng([design, n]))
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=90)
    return out.getvalue()


def named(kiosk: httpx.Client, photo: bytes) -> str | None:
    r = kiosk.post("/recognize", files={"image": ("q.jpg", photo, "image/jpeg")})
    assert r.status_code == 200, r.text
    body = r.json()
    return None if body["unknown"] else body["candidates"][0]["variantId"]


def test_photos_enrolled_in_the_cloud_are_recognised_at_the_node_and_forgotten_with_them(
    cloud_server: CloudServer, seller: httpx.Client, tmp_path
):
    store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    product = make_product(seller)
    pid, (in_cloud, at_node) = product["productId"], [v["variantId"] for v in product["variants"]]
    photos = [enrol(seller, pid, in_cloud, shot(DESIGN, n)) for n in range(6)]
    assert [p.status_code for p in photos] == [201] * 6, photos[0].text

    with sync_rig(cloud_server, seller, tmp_path, [store]) as (_broker, [node]):
        status = lambda: node.kiosk.get("/recognition/status").json()  # noqa: E731
        wait_for(lambda: status()["cloudPhotosVersion"] == 6, what="the photo set at the node")
        assert (status()["cloudReferences"], status()["nodeReferences"]) == (6, 0)
        assert named(node.kiosk, shot(DESIGN, 100)) == in_cloud  # a photo the node never saw
        wait_for(
            lambda: seller.get("/recognition-photos/status").json()["devices"][0]["upToDate"],
            what="the cloud seeing the node up to date",
        )

        # Another variant taught at the node itself (the kiosk's staff mode): the cloud's set leaves it be.
        staff = as_staff(node.kiosk, node.settings)
        other = [("images", (f"{n}.jpg", shot(DESIGN + 1, n), "image/jpeg")) for n in range(6)]
        taught = node.kiosk.post(
            "/recognition/enroll", data={"variantId": at_node}, files=other, headers=staff
        )
        assert taught.status_code == 201, taught.text

        # Removed in the cloud: forgotten at the node (a new version of the set), the node's own kept.
        for p in photos:
            assert (
                seller.delete(f"/products/{pid}/recognition-photos/{p.json()['photoId']}").status_code == 204
            )
        wait_for(lambda: status()["cloudPhotosVersion"] == 12, what="the emptied set at the node")
        assert (status()["cloudReferences"], status()["nodeReferences"]) == (0, 6)
        assert named(node.kiosk, shot(DESIGN, 100)) != in_cloud
        assert named(node.kiosk, shot(DESIGN + 1, 100)) == at_node
