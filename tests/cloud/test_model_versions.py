"""The recognition model's versions in the cloud: a rollback publishes an older file as the next version; the
nodes' statuses say which version each serves and which files it refused (the bell rings once per device
and version; a refusal of a file the seller never published is dead-lettered); the dashboard's page does
both through the same code. Real Postgres, a real Mosquitto with the shipped ACL, real HTTP."""

import hashlib
import os
import re
import time

import httpx
import pytest

from cloud.sync_service import SyncService
from sync_protocol.encoding import encode
from sync_protocol.envelope import MODEL_REFUSALS_SCHEMA_VERSION, DeviceStatus, ModelRefusal
from sync_protocol.mqtt_link import MqttLink
from sync_protocol.topics import Topics
from tests.cloud.conftest import CloudServer, cloud_broker, cloud_mqtt, device_mqtt
from tests.cloud.test_dashboard_pages import browser, csrf_of, signup_and_login

MODEL = "product-recognizer"


def publish(client: httpx.Client, data: bytes) -> dict:
    r = client.put(f"/models/{MODEL}", content=data)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_rollback_publishes_the_older_file_as_the_next_version(seller, other_seller):
    first, second = os.urandom(5000), os.urandom(6000)
    assert publish(seller, first)["version"] == 1
    assert publish(seller, second)["version"] == 2
    r = seller.post(f"/models/{MODEL}/rollback", json={"toVersion": 1})
    assert r.status_code == 200, r.text
    back = r.json()
    assert (back["version"], back["rolledBackFrom"]) == (3, 1)
    assert back["sha256"] == hashlib.sha256(first).hexdigest()
    assert httpx.get(back["url"]).content == first  # the same file, nothing copied or changed
    assert [m["version"] for m in seller.get("/models").json()] == [3]  # what every node is sent now

    versions = seller.get(f"/models/{MODEL}/versions").json()
    assert [(v["version"], v["rolledBackFrom"]) for v in versions] == [(3, 1), (2, None), (1, None)]
    assert all(v["serving"] == [] and v["refusals"] == [] for v in versions)

    again = seller.post(f"/models/{MODEL}/rollback", json={"toVersion": 3})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "alreadyNewest")
    assert seller.post(f"/models/{MODEL}/rollback", json={"toVersion": 9}).status_code == 404
    assert seller.post(f"/models/{MODEL}/rollback", json={"toVersion": 0}).status_code == 422
    # another seller's model is not there at all
    assert other_seller.get(f"/models/{MODEL}/versions").status_code == 404
    assert other_seller.post(f"/models/{MODEL}/rollback", json={"toVersion": 1}).status_code == 404
    assert len(seller.get(f"/models/{MODEL}/versions").json()) == 3


@pytest.mark.slow
def test_a_nodes_status_says_what_it_serves_and_refuses_and_the_bell_rings_once(
    cloud_server: CloudServer, seller: httpx.Client, tmp_path
):
    store = seller.post("/stores", json={"name": "信義店"}).json()["storeId"]
    device = seller.post(f"/stores/{store}/devices", json={"name": "櫃台 Pi"}).json()
    good, bad = os.urandom(4000), os.urandom(3000)
    publish(seller, good)
    refused = publish(seller, bad)
    broker = cloud_broker(cloud_server, tmp_path / "broker").start()
    service = SyncService(cloud_server.cloud, cloud_mqtt(broker), cloud_server.clock)
    node = MqttLink(
        device_mqtt(broker, device),
        lambda topic, data: None,
    )
    status = DeviceStatus(
        schema_version=MODEL_REFUSALS_SCHEMA_VERSION,
        store_id=store,
        device_id=device["deviceId"],
        online=True,
        models={MODEL: 1},
        model_refusals=[
            ModelRefusal(name=MODEL, version=2, sha256=refused["sha256"], reason="not a zip file"),
            # a file this seller never published (a forged or confused status): not the seller's bell
            ModelRefusal(name=MODEL, version=7, sha256="0" * 64, reason="whatever"),
        ],
    )
    topic = str(Topics.status(store, device["deviceId"]))
    try:
        assert service.start()
        assert node.start()
        for _ in range(3):  # a node publishes its status again and again: one bell
            assert node.publish(topic, encode(status), retain=True)
            time.sleep(0.2)
        deadline = time.monotonic() + 10
        versions: list[dict] = []
        while time.monotonic() < deadline:
            versions = seller.get(f"/models/{MODEL}/versions").json()
            if versions[0]["refusals"] and versions[1]["serving"]:
                break
            time.sleep(0.1)
        v2, v1 = versions
        assert [(d["deviceId"], d["storeName"]) for d in v1["serving"]] == [(device["deviceId"], "信義店")]
        assert v2["serving"] == []
        assert [(r["deviceName"], r["reason"]) for r in v2["refusals"]] == [("櫃台 Pi", "not a zip file")]
        time.sleep(0.5)  # the repeats have been handled
        bells = [n for n in seller.get("/notifications").json()["items"] if n["kind"] == "modelRefused"]
        assert len(bells) == 1
        assert bells[0]["params"]["version"] == 2
        assert "櫃台 Pi" in bells[0]["title"]
        assert "not a zip file" in bells[0]["body"]
        assert seller.get("/sync/status").json()["deadLetters"] >= 1  # the forged refusal, with its reason
    finally:
        node.close()
        service.close()
        broker.stop()


def test_the_recognition_page_publishes_and_rolls_back(cloud_server: CloudServer, tmp_path):
    with browser(cloud_server) as c:
        signup_and_login(c, "model.seller")
        page = c.get("/recognition")
        assert page.status_code == 200
        assert 'id="no-models"' in page.text
        first, second = os.urandom(2000), os.urandom(2500)
        for data in (first, second):
            token = csrf_of(c.get("/recognition").text)
            r = c.post(
                "/recognition/models",
                data={"csrf": token},
                files={"bundle": ("model.zip", data, "application/zip")},
            )
            assert (r.status_code, r.headers["location"]) == (303, "/recognition?msg=modelPublished")
        page = c.get("/recognition")
        assert re.findall(r'id="model-v(\d+)"', page.text) == ["2", "1"]
        assert 'id="rollback-1"' in page.text
        assert 'id="rollback-2"' not in page.text  # the newest has none
        r = c.post("/recognition/models/1/rollback", data={"csrf": csrf_of(page.text)})
        assert (r.status_code, r.headers["location"]) == (303, "/recognition?msg=modelRolledBack")
        page = c.get("/recognition?msg=modelRolledBack")
        assert re.findall(r'id="model-v(\d+)"', page.text) == ["3", "2", "1"]
        assert "改回第 1 版" in page.text
        # an empty upload: a 422 with the form's error, nothing published
        token = csrf_of(page.text)
        r = c.post(
            "/recognition/models", data={"csrf": token}, files={"bundle": ("e.zip", b"", "application/zip")}
        )
        assert r.status_code == 422
        assert 'id="form-errors"' in r.text
        # without the form's token: refused
        assert c.post("/recognition/models/2/rollback", data={"csrf": "0" * 64}).status_code == 403
        assert c.post("/recognition/models/9/rollback", data={"csrf": token}).status_code == 404
        api = c.get("/api/v1/models").json()
        assert [(m["version"], m["rolledBackFrom"]) for m in api] == [(3, 1)]
