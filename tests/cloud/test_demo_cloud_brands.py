"""The demo seed takes the curated brands it finds and makes the one the curated list lacks (the bakery 佳德)
the demo seller's own, as a real seller's ``POST /brands`` would: no other seller sees it."""

from datetime import UTC, datetime

import httpx

from edgestore.demo_cloud import DEMO_ACCOUNT, DEMO_PASSWORD, seed_demo_cloud
from tests.cloud.conftest import CloudServer


def test_the_demo_seller_owns_the_brand_the_curated_list_lacks(
    cloud_server: CloudServer, seller: httpx.Client
):
    seed_demo_cloud(cloud_server.cloud, datetime.now(UTC), progress=lambda _: None)
    with cloud_server.client() as demo:
        r = demo.post("/auth/login", json={"account": DEMO_ACCOUNT, "password": DEMO_PASSWORD})
        assert r.status_code == 200, r.text
        demo.headers["Authorization"] = f"Bearer {r.json()['token']}"
        brands = {b["nameEn"]: b for b in demo.get("/brands").json()}
        products = demo.get("/products", params={"limit": 100}).json()["items"]
    assert brands["Chia Te"]["shared"] is False
    assert brands["Apple"]["brandId"] == "apple"
    used = {p["brandId"] for p in products if p["brandId"]}
    assert used == {"apple", "asus", brands["Chia Te"]["brandId"]}
    assert "Chia Te" not in {b["nameEn"] for b in seller.get("/brands").json()}
