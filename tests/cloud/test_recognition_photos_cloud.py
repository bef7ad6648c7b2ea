"""Recognition photos enrolled in the cloud (issue 18): uploaded with a product image grant, checked like an
image, kept per variant, listed in one set per seller whose version moves with every change (the catalog's
deletions too), announced by the sync service to the nodes that say which version they hold, and managed
from the product page. Real Postgres, real HTTP, a real Mosquitto with the shipped ACL."""

import hashlib
import io
import json
import re
import threading
import time
from collections.abc import Callable

import httpx
import pytest
from PIL import Image

from cloud import recognition_photos
from cloud.sync_service import SyncService
from sync_protocol.encoding import decode_downlink, encode
from sync_protocol.envelope import (
    RECOGNITION_PHOTOS_SCHEMA_VERSION,
    DeviceStatus,
    RecognitionPhotosAnnouncement,
    RecognitionPhotoSet,
)
from sync_protocol.mqtt_link import MqttLink
from sync_protocol.streams import DownlinkKind
from sync_protocol.topics import DownlinkTopic, Topics, parse_topic
from tests.cloud.conftest import CloudServer, cloud_broker, cloud_mqtt, device_mqtt, register_and_login
from tests.cloud.test_cloud_catalog import make_product
from tests.cloud.test_dashboard_pages import browser, csrf_of, signup_and_login


def photo(shade: int, size: tuple[int, int] = (320, 240)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (shade, 255 - shade, 90)).save(out, "JPEG", quality=90)
    return out.getvalue()


def enrol(client: httpx.Client, product_id: str, variant_id: str, data: bytes) -> httpx.Response:
    """A photo through the product images' grant, then attached to the variant as a recognition photo."""
    grant = client.post(
        f"/products/{product_id}/images/uploads", json={"contentType": "image/jpeg", "size": len(data)}
    ).json()
    with httpx.Client(timeout=30) as raw:
        if grant["method"] == "PUT":
            put = raw.put(grant["url"], content=data, headers=grant["headers"])
        else:
            put = raw.post(grant["url"], data=grant["fields"], files={"file": ("p.jpg", data, "image/jpeg")})
    assert put.status_code in (200, 201, 204), put.text
    return client.post(
        f"/products/{product_id}/variants/{variant_id}/recognition-photos",
        json={"uploadId": grant["uploadId"]},
    )


def set_of(cloud_server: CloudServer, seller_id: str, store_id: str) -> RecognitionPhotoSet:
    with cloud_server.cloud.db.read() as conn:
        return recognition_photos.photo_set(conn, seller_id, store_id, cloud_server.cloud.settings.base_url)


def seller_id_of(client: httpx.Client) -> str:
    return str(client.get("/me").json()["sellerId"])


def test_photos_are_enrolled_listed_served_and_removed(seller: httpx.Client, other_seller: httpx.Client):
    product = make_product(seller)
    pid, (v150, v300) = product["productId"], [v["variantId"] for v in product["variants"]]
    assert seller.get("/recognition-photos/status").json()["version"] == 0

    made = [enrol(seller, pid, v150, photo(s)) for s in (10, 60, 110)]
    assert [r.status_code for r in made] == [201, 201, 201], made[0].text
    first = made[0].json()
    assert (first["variantId"], first["width"], first["height"], first["contentType"]) == (
        v150,
        320,
        240,
        "image/jpeg",
    )
    assert first["sha256"] == hashlib.sha256(photo(10)).hexdigest()
    assert httpx.get(first["url"]).content == photo(10)  # what a node fetches: the bytes as uploaded
    assert enrol(seller, pid, v300, photo(200)).status_code == 201

    listed = seller.get(f"/products/{pid}/recognition-photos").json()
    assert sorted((p["variantId"], p["sha256"]) for p in listed) == sorted(
        [(v150, hashlib.sha256(photo(s)).hexdigest()) for s in (10, 60, 110)]
        + [(v300, hashlib.sha256(photo(200)).hexdigest())]
    )
    status = seller.get("/recognition-photos/status").json()
    assert (status["version"], status["photos"], status["variants"]) == (4, 4, 2)

    assert seller.delete(f"/products/{pid}/recognition-photos/{first['photoId']}").status_code == 204
    assert seller.get("/recognition-photos/status").json()["version"] == 5
    gone = seller.delete(f"/products/{pid}/recognition-photos/{first['photoId']}")
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "photoNotFound")
    assert httpx.get(first["url"]).status_code == 404  # the file went with it

    # another seller sees none of it and cannot add to it
    assert other_seller.get(f"/products/{pid}/recognition-photos").status_code == 404
    assert (
        other_seller.delete(f"/products/{pid}/recognition-photos/{made[1].json()['photoId']}").status_code
        == 404
    )
    assert other_seller.get("/recognition-photos/status").json()["version"] == 0
    assert len(seller.get(f"/products/{pid}/recognition-photos").json()) == 3


def test_bad_photos_and_spent_grants_are_refused(seller: httpx.Client):
    product = make_product(seller)
    pid, variant = product["productId"], product["variants"][0]["variantId"]
    not_image = enrol(seller, pid, variant, b"\xff\xd8 not really a jpeg" * 20)
    assert (not_image.status_code, not_image.json()["error"]["code"]) == (422, "corruptImage")
    unknown = enrol(seller, pid, "01ARZ3NDEKTSV4RRFFQ69G5FAV", photo(5))
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "variantNotFound")
    # a grant that made a product image cannot make a recognition photo as well
    grant = seller.post(f"/products/{pid}/images/uploads", json={"contentType": "image/jpeg", "size": 5000})
    g = grant.json()
    data = photo(7)
    with httpx.Client(timeout=30) as raw:
        assert raw.put(g["url"], content=data, headers=g["headers"]).status_code == 204
    assert seller.post(f"/products/{pid}/images", json={"uploadId": g["uploadId"]}).status_code == 201
    again = seller.post(
        f"/products/{pid}/variants/{variant}/recognition-photos", json={"uploadId": g["uploadId"]}
    )
    assert (again.status_code, again.json()["error"]["code"]) == (409, "uploadGrantUsed")
    assert seller.get(f"/products/{pid}/recognition-photos").json() == []
    assert seller.get("/recognition-photos/status").json()["version"] == 0  # nothing changed, no new set


def test_a_variant_holds_at_most_its_share(seller: httpx.Client):
    product = make_product(seller)
    pid, variant = product["productId"], product["variants"][0]["variantId"]
    for n in range(recognition_photos.MAX_PER_VARIANT):
        assert enrol(seller, pid, variant, photo(n)).status_code == 201
    over = enrol(seller, pid, variant, photo(250))
    assert (over.status_code, over.json()["error"]["code"]) == (422, "tooManyPhotos")


def test_the_set_follows_the_catalogs_deletions(cloud_server: CloudServer, seller: httpx.Client):
    store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    seller_id = seller_id_of(seller)
    kept, dropped = make_product(seller), make_product(seller, name="東方美人茶")
    v_keep, v_drop = (v["variantId"] for v in kept["variants"])
    for variant in (v_keep, v_drop):
        assert enrol(seller, kept["productId"], variant, photo(40)).status_code == 201
    assert (
        enrol(seller, dropped["productId"], dropped["variants"][0]["variantId"], photo(80)).status_code == 201
    )
    listed = set_of(cloud_server, seller_id, store)
    assert (listed.version, len(listed.photos)) == (3, 3)
    assert listed.store_id == store

    # a variant left out of the product: its photo leaves the set, and the set moves
    r = seller.patch(
        f"/products/{kept['productId']}",
        json={"variants": [{"variantId": v_keep, "name": "150g", "price": 450, "isDefault": True}]},
    )
    assert r.status_code == 200, r.text
    listed = set_of(cloud_server, seller_id, store)
    assert listed.version == 4
    assert {p.variant_id for p in listed.photos} == {v_keep, dropped["variants"][0]["variantId"]}
    # a deleted product: the same
    assert seller.delete(f"/products/{dropped['productId']}").status_code == 204
    listed = set_of(cloud_server, seller_id, store)
    assert (listed.version, [p.variant_id for p in listed.photos]) == (5, [v_keep])
    # an edit that deletes nothing does not move it
    assert seller.patch(f"/products/{kept['productId']}", json={"name": "凍頂烏龍"}).status_code == 200
    assert set_of(cloud_server, seller_id, store).version == 5


class Downlink:
    """What a device's downlink topics carried."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[tuple[DownlinkKind, bytes]] = []

    def on_message(self, topic: str, data: bytes) -> None:
        parsed = parse_topic(topic)
        if isinstance(parsed, DownlinkTopic):
            with self.lock:
                self.received.append((parsed.kind, data))

    def photo_sets(self) -> list[RecognitionPhotosAnnouncement]:
        with self.lock:
            messages = [
                decode_downlink(d, k) for k, d in self.received if k is DownlinkKind.RECOGNITION_PHOTOS
            ]
        return [m for m in messages if isinstance(m, RecognitionPhotosAnnouncement)]


def held_by(seller: httpx.Client) -> dict[str, dict]:
    """The seller's store nodes by name, with the photo set version each holds."""
    return {d["deviceName"]: d for d in seller.get("/recognition-photos/status").json()["devices"]}


def wait_for(check: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_the_sync_service_announces_the_set_to_nodes_that_take_it(
    cloud_server: CloudServer, seller: httpx.Client, tmp_path
):
    store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    taking = seller.post(f"/stores/{store}/devices", json={"name": "櫃台 Pi"}).json()
    older = seller.post(f"/stores/{store}/devices", json={"name": "舊 Pi"}).json()
    product = make_product(seller)
    variant = product["variants"][0]["variantId"]
    assert enrol(seller, product["productId"], variant, photo(30)).status_code == 201

    broker = cloud_broker(cloud_server, tmp_path / "broker").start()
    service = SyncService(cloud_server.cloud, cloud_mqtt(broker), cloud_server.clock, downlink_interval_s=0.1)
    ears = {d["deviceId"]: Downlink() for d in (taking, older)}
    links = [MqttLink(device_mqtt(broker, d), ears[d["deviceId"]].on_message) for d in (taking, older)]
    for link, d in zip(links, (taking, older), strict=True):
        link.subscribe(str(Topics.device_downlink_filter(store, d["deviceId"])))

    def status(device: dict, held: int | None) -> bytes:
        return encode(
            DeviceStatus(
                schema_version=RECOGNITION_PHOTOS_SCHEMA_VERSION if held is not None else 1,
                store_id=store,
                device_id=device["deviceId"],
                online=True,
                catalog_version=10_000,  # nothing of the catalog is waiting: only the photos matter here
                recognition_photos=held,
            )
        )

    def announcements(device_id: str) -> list[RecognitionPhotosAnnouncement]:
        return ears[device_id].photo_sets()

    try:
        assert service.start()
        for link in links:
            assert link.start()
        assert links[0].publish(str(Topics.status(store, taking["deviceId"])), status(taking, 0), retain=True)
        assert links[1].publish(
            str(Topics.status(store, older["deviceId"])), status(older, None), retain=True
        )
        wait_for(lambda: announcements(taking["deviceId"]), "the set's announcement")
        announced = announcements(taking["deviceId"])[0]
        assert (announced.store_id, announced.version) == (store, 1)
        fetched = httpx.get(announced.url, follow_redirects=True).content
        assert (len(fetched), hashlib.sha256(fetched).hexdigest()) == (announced.size, announced.sha256)
        listed = RecognitionPhotoSet.model_validate(json.loads(fetched))
        assert [(p.variant_id, p.sha256) for p in listed.photos] == [
            (variant, hashlib.sha256(photo(30)).hexdigest())
        ]
        assert httpx.get(listed.photos[0].url).content == photo(30)

        # the node says it took it: nothing more is sent until the set moves
        assert links[0].publish(str(Topics.status(store, taking["deviceId"])), status(taking, 1), retain=True)
        wait_for(lambda: held_by(seller)["櫃台 Pi"]["upToDate"], "the held version")
        time.sleep(0.5)
        assert len(announcements(taking["deviceId"])) == 1
        assert enrol(seller, product["productId"], variant, photo(31)).status_code == 201
        wait_for(lambda: len(announcements(taking["deviceId"])) == 2, "the next version")
        assert announcements(taking["deviceId"])[1].version == 2
        # the node that says nothing of photos is never sent any
        assert announcements(older["deviceId"]) == []
        devices = held_by(seller)
        assert (devices["舊 Pi"]["held"], devices["舊 Pi"]["upToDate"]) == (None, False)
        assert (devices["櫃台 Pi"]["held"], devices["櫃台 Pi"]["upToDate"]) == (1, False)
    finally:
        for link in links:
            link.close()
        service.close()
        broker.stop()


def test_the_product_page_enrols_several_photos_and_removes_one(cloud_server: CloudServer):
    with browser(cloud_server) as c:
        signup_and_login(c, "photo.seller")
        r = c.post(
            "/api/v1/products",
            json={
                "name": "阿里山高山茶",
                "categoryId": "drinks",
                "variants": [{"name": "75g", "price": 380}],
            },
        )
        assert r.status_code == 201, r.text
        product = r.json()
        pid, variant = product["productId"], product["variants"][0]["variantId"]
        page = c.get(f"/products/{pid}")
        assert 'id="recognition-photos"' in page.text
        assert "商品辨識照片" in page.text
        r = c.post(
            f"/products/{pid}/recognition-photos",
            data={"csrf": csrf_of(page.text), "variant": variant},
            files=[("photos", (f"{n}.jpg", photo(n * 40), "image/jpeg")) for n in range(3)],
        )
        assert (r.status_code, r.headers["location"]) == (
            303,
            f"/products/{pid}?msg=recognitionPhotosAdded#recognition-photos",
        )
        page = c.get(f"/products/{pid}")
        photo_ids = re.findall(rf"/products/{pid}/recognition-photos/([0-9A-Z]{{26}})/delete", page.text)
        assert len(photo_ids) == 3
        assert "3 張" in page.text
        # one bad file among good ones: none is enrolled, and the page says why
        r = c.post(
            f"/products/{pid}/recognition-photos",
            data={"csrf": csrf_of(page.text), "variant": variant},
            files=[
                ("photos", ("a.jpg", photo(9), "image/jpeg")),
                ("photos", ("b.jpg", b"nope", "image/jpeg")),
            ],
        )
        assert r.status_code == 422
        assert 'id="form-errors"' in r.text
        # more files than a variant may hold: refused before any is read
        r = c.post(
            f"/products/{pid}/recognition-photos",
            data={"csrf": csrf_of(page.text), "variant": variant},
            files=[("photos", (f"{n}.jpg", b"x", "image/jpeg")) for n in range(25)],
        )
        assert r.status_code == 422
        r = c.post(
            f"/products/{pid}/recognition-photos/{photo_ids[0]}/delete", data={"csrf": csrf_of(page.text)}
        )
        assert r.status_code == 303
        assert len(c.get(f"/api/v1/products/{pid}/recognition-photos").json()) == 2
        rec = c.get("/recognition")
        assert 'id="recognition-photo-set"' in rec.text
        assert "第 4 版:2 張照片,1 個規格" in rec.text


def test_photos_and_their_set_on_s3(s3_cloud: CloudServer):
    """On S3 (moto in server mode): the photo goes up with a presigned POST, and what a node fetches, the set
    and each photo, is a redirect to a presigned GET of the same bytes."""
    with s3_cloud.client() as seller:
        register_and_login(seller)
        store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
        product = make_product(seller)
        made = enrol(seller, product["productId"], product["variants"][0]["variantId"], photo(70))
        assert made.status_code == 201, made.text
        with httpx.Client(timeout=30, follow_redirects=True) as raw:
            assert raw.get(made.json()["url"]).content == photo(70)
            with s3_cloud.cloud.db.read() as conn:
                announced = recognition_photos.publish_set(
                    conn, s3_cloud.cloud.blobs, seller_id_of(seller), store, s3_cloud.cloud.settings.base_url
                )
            fetched = raw.get(announced.url).content
        assert hashlib.sha256(fetched).hexdigest() == announced.sha256
        assert [p.photo_id for p in RecognitionPhotoSet.model_validate_json(fetched).photos] == [
            made.json()["photoId"]
        ]


def test_a_variant_with_an_id_the_catalog_chose_takes_photos(seller: httpx.Client):
    """Variant ids are ULIDs when the cloud makes them, or ids the catalog chose (the demo's "latte-1")."""
    product = make_product(
        seller,
        variants=[{"variantId": "oolong-150g", "name": "150g", "price": 450, "isDefault": True}],
    )
    r = enrol(seller, product["productId"], "oolong-150g", photo(20))
    assert r.status_code == 201, r.text
    assert r.json()["variantId"] == "oolong-150g"
    bad = enrol(seller, product["productId"], "no spaces", photo(21))
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "validationError")
