"""Devices of a store (store nodes, door sensors) and their broker credentials.

Registering a device makes its MQTT password (shown once; Postgres keeps Mosquitto's PBKDF2 hash), rings the
seller's bell, and rewrites the broker's password file from the live devices; revoking removes it. The
broker re-reads the file on SIGHUP (``reload_broker``), so a revoked device is refused at its next connect.
"""

import os
import secrets
import signal
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, update

from cloud import notifications, sellers
from cloud.broker_credentials import hash_password, password_file_lines
from cloud.tables import devices
from models.cloud_api import DeviceCreate, DevicePublic, DeviceRegistered, MqttCredentials, NotificationKind
from models.errors import NotFound
from models.ids import new_id
from sync_protocol.broker_config import mosquitto_conf
from sync_protocol.topics import CLOUD_USERNAME, mosquitto_acl


def _public(row: Any) -> DevicePublic:
    return DevicePublic(
        device_id=row.device_id,
        store_id=row.store_id,
        kind=row.kind,
        name=row.name,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        revoked_at=row.revoked_at,
        downlink_seq=row.downlink_seq,
    )


def register(
    conn: Connection,
    seller_id: str,
    store_id: str,
    body: DeviceCreate,
    now: datetime,
    *,
    hardware_id: str | None = None,
    public_key: str | None = None,
) -> DeviceRegistered:
    """A new device of the store with its MQTT password (returned once) and the bell rung. ``hardware_id``
    and ``public_key`` are what a device that claimed its place said it is (``cloud.claim_codes``). The
    caller refreshes the broker's files after the commit (``Cloud.refresh_broker_credentials``)."""
    store = sellers.get_store(conn, seller_id, store_id)
    device_id = new_id()
    password = secrets.token_urlsafe(24)
    conn.execute(
        devices.insert().values(
            device_id=device_id,
            store_id=store_id,
            seller_id=seller_id,
            kind=body.kind.value,
            name=body.name,
            mqtt_password_hash=hash_password(password),
            created_at=now,
            hardware_id=hardware_id,
            public_key=public_key,
        )
    )
    notifications.notify(
        conn,
        seller_id,
        NotificationKind.DEVICE_PROVISIONED,
        {"deviceId": device_id, "deviceName": body.name or "", "storeId": store_id, "storeName": store.name},
        ref_type="store",
        ref_id=store_id,
        now=now,
    )
    row = conn.execute(select(devices).where(devices.c.device_id == device_id)).one()
    return DeviceRegistered(
        **_public(row).model_dump(),
        mqtt=MqttCredentials(username=device_id, password=password, client_id=device_id),
    )


def list_devices(conn: Connection, seller_id: str, store_id: str) -> list[DevicePublic]:
    sellers.get_store(conn, seller_id, store_id)
    rows = conn.execute(
        select(devices)
        .where(devices.c.store_id == store_id, devices.c.seller_id == seller_id)
        .order_by(devices.c.created_at, devices.c.device_id)
    )
    return [_public(r) for r in rows]


def revoke(conn: Connection, seller_id: str, store_id: str, device_id: str, now: datetime) -> DevicePublic:
    row = conn.execute(
        update(devices)
        .where(
            devices.c.device_id == device_id, devices.c.store_id == store_id, devices.c.seller_id == seller_id
        )
        .values(revoked_at=now)
        .returning(*devices.c)
    ).first()
    if row is None:
        raise NotFound(f"device {device_id} not found", code="deviceNotFound")
    return _public(row)


def broker_password_file(conn: Connection, service_accounts: dict[str, str]) -> str:
    """The password file for every live device plus the cloud's own accounts (name -> hash)."""
    rows = conn.execute(
        select(devices.c.device_id, devices.c.mqtt_password_hash).where(devices.c.revoked_at.is_(None))
    )
    return password_file_lines({**{r.device_id: r.mqtt_password_hash for r in rows}, **service_accounts})


def broker_acl(conn: Connection) -> str:
    """The broker's ACL: every live device bound to its own store's topics, and the cloud's account."""
    rows = conn.execute(select(devices.c.device_id, devices.c.store_id).where(devices.c.revoked_at.is_(None)))
    return mosquitto_acl({r.device_id: r.store_id for r in rows})


def service_accounts_in(conn: Connection, path: Path) -> dict[str, str]:
    """The accounts in an existing password file that are not devices (name -> hash)."""
    if not path.exists():
        return {}
    known = set(conn.execute(select(devices.c.device_id)).scalars())
    accounts = {}
    for line in path.read_text().splitlines():
        user, sep, hashed = line.partition(":")
        if sep and user and user not in known:
            accounts[user] = hashed
    return accounts


def write_broker_files(path: Path, text: str) -> None:
    """Replace the file atomically, readable by its owner only (the broker runs as that user)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.chmod(0o600)
    os.replace(tmp, path)


def write_broker_config(
    conn: Connection,
    out: Path,
    *,
    cloud_password: str,
    port: int,
    bind: str,
    run_as: str,
    extra_conf: str = "",
) -> int:
    """What a deployment's broker runs on, in ``out``: the password file (every live device and the cloud's
    own account), the ACL, and ``mosquitto.conf`` (plus ``extra_conf`` lines). Returns the account count."""
    passwords = broker_password_file(conn, {CLOUD_USERNAME: hash_password(cloud_password)})
    out.mkdir(parents=True, exist_ok=True)
    write_broker_files(out / "acl", broker_acl(conn))  # first: a new device's topics before its login
    write_broker_files(out / "passwords", passwords)
    conf = mosquitto_conf(port=port, folder=str(out.resolve()), bind=bind, run_as=run_as)
    write_broker_files(out / "mosquitto.conf", conf + extra_conf)
    return passwords.count("\n")


def reload_broker(pid_file: Path | None) -> bool:
    """SIGHUP the broker so it re-reads passwords and ACL; False when there is no broker to tell."""
    if pid_file is None or not pid_file.exists():
        return False
    try:
        os.kill(int(pid_file.read_text().strip()), signal.SIGHUP)
    except (ValueError, ProcessLookupError, PermissionError):
        return False
    return True
