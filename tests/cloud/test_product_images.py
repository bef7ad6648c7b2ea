"""Product images end to end over HTTP: grant, upload to the store, attach, thumbnail, remove; on the local
file store and on S3 (moto in server mode)."""

import io
from concurrent.futures import ThreadPoolExecutor

import httpx
from PIL import Image

from tests.cloud.conftest import CloudServer, register_and_login
from tests.cloud.test_cloud_catalog import make_product


def png(width: int = 800, height: int = 600) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(out, "PNG")
    return out.getvalue()


def upload(
    client: httpx.Client, product_id: str, data: bytes, content_type: str = "image/png"
) -> httpx.Response:
    grant = client.post(
        f"/products/{product_id}/images/uploads", json={"contentType": content_type, "size": len(data)}
    )
    assert grant.status_code == 201, grant.text
    g = grant.json()
    with httpx.Client(timeout=30) as raw:  # no session: the grant alone authorises the upload
        if g["method"] == "PUT":
            r = raw.put(g["url"], content=data, headers=g["headers"])
        else:
            r = raw.post(g["url"], data=g["fields"], files={"file": ("photo", data, content_type)})
    assert r.status_code in (200, 201, 204), r.text
    return client.post(f"/products/{product_id}/images", json={"uploadId": g["uploadId"]})


def server_files_url(client: httpx.Client) -> str:
    return str(client.base_url).removesuffix("/api/v1").removesuffix("/api/v1/") + "/files/images/"


def check_image_flow(seller: httpx.Client) -> None:
    product = make_product(seller)
    pid = product["productId"]
    r = upload(seller, pid, png())
    assert r.status_code == 201, r.text
    image = r.json()
    assert (image["width"], image["height"], image["contentType"]) == (800, 600, "image/png")
    assert image["url"].startswith(server_files_url(seller))  # stable: never a URL that expires
    with httpx.Client(timeout=30, follow_redirects=True) as raw:
        full = raw.get(image["url"])
        thumb = raw.get(image["thumbUrl"])
    assert full.status_code == 200
    assert full.content == png()
    assert thumb.status_code == 200
    with Image.open(io.BytesIO(thumb.content)) as t:
        assert max(t.size) <= 320
    detail = seller.get(f"/products/{pid}").json()
    assert [i["imageId"] for i in detail["images"]] == [image["imageId"]]
    assert detail["imageUrl"] == image["thumbUrl"]
    assert seller.delete(f"/products/{pid}/images/{image['imageId']}").status_code == 204
    detail = seller.get(f"/products/{pid}").json()
    assert detail["images"] == []
    assert detail["imageUrl"] is None


def test_image_upload_on_the_local_file_store(seller: httpx.Client):
    check_image_flow(seller)


def test_bad_images_are_refused_and_not_kept(cloud_server: CloudServer, seller: httpx.Client):
    pid = make_product(seller)["productId"]
    r = upload(seller, pid, b"GIF89a" + b"\x00" * 100, "image/png")
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "unsupportedImageType"
    r = upload(seller, pid, b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "corruptImage"
    files = cloud_server.settings.cloud_data_dir / "files"
    assert not list((files / "uploads").rglob("*")) or all(p.is_dir() for p in (files / "uploads").rglob("*"))
    r = seller.post(f"/products/{pid}/images/uploads", json={"contentType": "image/gif", "size": 10})
    assert r.status_code == 422
    r = seller.post(
        f"/products/{pid}/images/uploads",
        json={"contentType": "image/png", "size": cloud_server.settings.max_image_bytes + 1},
    )
    assert r.json()["error"]["code"] == "imageTooLarge"
    r = seller.post(f"/products/{pid}/images", json={"uploadId": "01HZZZZZZZZZZZZZZZZZZZZZZZ"})
    assert r.status_code == 404


def test_upload_grants_cannot_be_forged_or_exceeded(seller: httpx.Client):
    pid = make_product(seller)["productId"]
    g = seller.post(f"/products/{pid}/images/uploads", json={"contentType": "image/png", "size": 100}).json()
    with httpx.Client(timeout=30) as raw:
        tampered = g["url"][:-3] + ("AAA" if not g["url"].endswith("AAA") else "BBB")
        r = raw.put(tampered, content=png(), headers=g["headers"])
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "invalidUploadToken"
        r = raw.put(g["url"], content=png(), headers={"Content-Type": "image/jpeg"})
        assert r.status_code == 422
        big = b"\x00" * (20 * 1024 * 1024)
        r = raw.put(g["url"], content=big, headers=g["headers"])
        assert r.status_code == 422
        assert r.json()["error"]["code"] == "uploadTooLarge"


def grant(client: httpx.Client, product_id: str, data: bytes) -> dict:
    r = client.post(
        f"/products/{product_id}/images/uploads", json={"contentType": "image/png", "size": len(data)}
    )
    assert r.status_code == 201, r.text
    return r.json()


def send(g: dict, data: bytes) -> httpx.Response:
    """The browser's half of a grant: the PUT (local store) or the presigned POST (S3)."""
    with httpx.Client(timeout=30) as raw:
        if g["method"] == "PUT":
            return raw.put(g["url"], content=data, headers=g["headers"])
        return raw.post(g["url"], data=g["fields"], files={"file": ("photo", data, "image/png")})


def attach(client: httpx.Client, product_id: str, g: dict) -> httpx.Response:
    return client.post(f"/products/{product_id}/images", json={"uploadId": g["uploadId"]})


def assert_grant_used(r: httpx.Response) -> None:
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "uploadGrantUsed"


def test_a_local_upload_grant_is_used_once(seller: httpx.Client):
    pid = make_product(seller)["productId"]
    g = grant(seller, pid, png())
    with httpx.Client(timeout=30) as raw:  # a refused upload does not use the grant up
        r = raw.put(g["url"], content=png(), headers={"Content-Type": "image/jpeg"})
    assert r.status_code == 422
    assert send(g, png()).status_code == 204
    assert_grant_used(send(g, png(10, 10)))  # the grant cannot replace what it uploaded
    r = attach(seller, pid, g)
    assert r.status_code == 201, r.text
    assert (r.json()["width"], r.json()["height"]) == (800, 600)
    assert_grant_used(attach(seller, pid, g))
    assert_grant_used(send(g, png()))  # nor upload again after the attach
    assert len(seller.get(f"/products/{pid}").json()["images"]) == 1


def test_concurrent_uses_of_one_grant_make_one_image(seller: httpx.Client):
    pid = make_product(seller)["productId"]
    data = png()
    g = grant(seller, pid, data)
    with ThreadPoolExecutor(6) as pool:
        puts = sorted(r.status_code for r in pool.map(lambda _: send(g, data), range(6)))
    assert puts == [204] + [409] * 5
    token = seller.headers["Authorization"]

    def attach_once(_: int) -> int:
        with httpx.Client(base_url=str(seller.base_url), timeout=30, headers={"Authorization": token}) as c:
            return attach(c, pid, g).status_code

    with ThreadPoolExecutor(6) as pool:
        attaches = sorted(pool.map(attach_once, range(6)))
    assert attaches == [201] + [409] * 5
    assert len(seller.get(f"/products/{pid}").json()["images"]) == 1


def test_another_seller_cannot_use_or_touch_images(seller: httpx.Client, other_seller: httpx.Client):
    pid = make_product(seller)["productId"]
    image = upload(seller, pid, png()).json()
    r = other_seller.post(f"/products/{pid}/images/uploads", json={"contentType": "image/png", "size": 100})
    assert r.status_code == 404
    assert other_seller.delete(f"/products/{pid}/images/{image['imageId']}").status_code == 404
    assert len(seller.get(f"/products/{pid}").json()["images"]) == 1


def test_image_upload_on_s3(s3_cloud: CloudServer):
    with s3_cloud.client() as seller:
        register_and_login(seller)
        check_image_flow(seller)


def test_an_s3_upload_grant_gives_one_image(s3_cloud: CloudServer):
    """S3 takes a presigned POST as often as it is sent until it expires, without telling the cloud: the
    attach, the step the cloud sees, is where the grant is used up."""
    with s3_cloud.client() as seller:
        register_and_login(seller)
        pid = make_product(seller)["productId"]
        g = grant(seller, pid, png())
        assert send(g, png()).status_code in (200, 201, 204)
        assert attach(seller, pid, g).status_code == 201
        assert send(g, png(10, 10)).status_code in (200, 201, 204)  # S3 accepts the replay...
        assert_grant_used(attach(seller, pid, g))  # ...the cloud does not attach it
        images = seller.get(f"/products/{pid}").json()["images"]
        assert [(i["width"], i["height"]) for i in images] == [(800, 600)]
