"""`edgestore cloud broker-config` writes a Mosquitto configuration that a real broker runs: registered
devices and the cloud's account log in, nobody else does."""

import getpass
import os
import subprocess

import httpx

from plumbing import Mosquitto, free_port
from sync_protocol.broker_config import CLIENT_ID_IS_USERNAME, TCP_NODELAY
from sync_protocol.mqtt_link import MqttLink, MqttSettings
from sync_protocol.topics import CLOUD_USERNAME
from tests.cloud.conftest import CloudServer
from tests.conftest import EDGESTORE


def test_generated_config_runs_and_admits_devices(cloud_server: CloudServer, seller: httpx.Client, tmp_path):
    store = seller.post("/stores", json={"name": "信義店"}).json()
    device = seller.post(f"/stores/{store['storeId']}/devices", json={"name": "Pi"}).json()
    out, port = tmp_path / "broker", free_port()
    done = subprocess.run(
        [
            *EDGESTORE,
            "cloud",
            "broker-config",
            "--out",
            str(out),
            "--data-dir",
            str(tmp_path / "cli"),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--cloud-password",
            "cloud-pass-1",
        ],
        env=os.environ | {"EDGESTORE_DATABASE_URL": cloud_server.settings.database_url or ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "mosquitto -c" in done.stdout
    conf = (out / "mosquitto.conf").read_text()
    assert "allow_anonymous false" in conf
    # The client id is the login: what test_broker_client_ids.py shows on a broker with this line.
    lines = conf.splitlines()
    assert CLIENT_ID_IS_USERNAME in lines
    # A listener's setting: above the `listener` line it would open a second listener on port 1883.
    listener = next(i for i, line in enumerate(lines) if line.startswith("listener "))
    assert lines.index(CLIENT_ID_IS_USERNAME) > listener
    assert TCP_NODELAY in lines  # Nagle off on the broker's side (the clients set it on theirs)
    # Started as root (as the tests are), Mosquitto switches to the user who owns these files.
    assert f"user {getpass.getuser()}" in conf
    broker = Mosquitto(out, port=port).start()  # the generated file as it is, as a deployment runs it
    try:
        mqtt = device["mqtt"]

        def connects(username: str | None, password: str | None, client_id: str) -> bool:
            link = MqttLink(
                MqttSettings(
                    host="127.0.0.1", port=port, client_id=client_id, username=username, password=password
                )
            )
            try:
                return link.start(wait_s=3)
            finally:
                link.close()

        assert connects(mqtt["username"], mqtt["password"], mqtt["clientId"]), "the device could not log in"
        assert connects(CLOUD_USERNAME, "cloud-pass-1", "cloud-1")
        assert not connects(mqtt["username"], "wrong", mqtt["clientId"])
        assert not connects(None, None, "anonymous")
        assert "port 1883" not in broker.log_tail(50)  # the one listener asked for, no default one
    finally:
        broker.stop()
