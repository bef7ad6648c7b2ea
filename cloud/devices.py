"""Devices of a store (store nodes, door sensors) and their broker credentials.

Registering a device makes its MQTT password (shown once; Postgres keeps Mosquitto's PBKDF2 hash), rings the
seller's bell, and rewrites the broker's password file from the live devices; revoking removes it. The
broker re-reads the file on SIGHUP (``reload_broker``): Mosquitto 2 then disconnects every client whose login
is no longer in it, so a revoked device is cut off at once and refused at its next connect
(``tests/cloud/test_device_revocation.py`` checks it on a real broker).

The Devices page and ``GET /stores/{id}/devices`` show what each device's last status said
(``record_status``): online, its health (version, uptime, address, outbox backlog) and how far behind the
store's feed it is.
"""

import os
import secrets
import signal
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select, update

from cloud import notifications, sellers
from cloud.broker_credentials import hash_password, password_file_lines
from cloud.tables import devices, stores
from models.cloud_api import (
    DeviceCreate,
    DevicePublic,
    DeviceRegistered,
    DeviceSyncLag,
    DeviceUpdate,
    MqttCredentials,
    NotificationKind,
)
from models.errors import NotFound
from models.ids import new_id
from sync_protocol.broker_config import mosquitto_conf
from sync_protocol.envelope import DeviceHealth
from sync_protocol.topics import mosquitto_acl, worker_username


def _public(row: Any, *, feed_end: int | None = None, now: datetime | None = None) -> DevicePublic:
    """A device as the API shows it: ``feed_end`` is its store's feed end (``stores.downlink_seq``), what its
    feed position is behind; ``now`` ages its outbox's oldest message."""
    health: dict[str, Any] = row.health if isinstance(row.health, dict) else {}
    health_at: datetime | None = row.health_at
    addresses = [str(a) for a in health.get("addresses") or []]
    pending, oldest_age = health.get("outboxPending"), health.get("outboxOldestAgeS")
    oldest_at = (
        health_at - timedelta(seconds=oldest_age)
        if health_at is not None and oldest_age is not None
        else None
    )
    feed_behind = (
        max(0, feed_end - row.downlink_seq) if feed_end is not None and row.downlink_seq is not None else None
    )
    return DevicePublic(
        device_id=row.device_id,
        store_id=row.store_id,
        kind=row.kind,
        name=row.name,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        revoked_at=row.revoked_at,
        downlink_seq=row.downlink_seq,
        hardware_id=row.hardware_id,
        online=bool(row.online) and row.revoked_at is None,
        software_version=health.get("softwareVersion"),
        models=dict(row.models or {}),
        ip=addresses[0] if addresses else None,
        addresses=addresses,
        uptime_s=health.get("uptimeS"),
        health_at=health_at if health else None,
        sync_lag=DeviceSyncLag(
            outbox_pending=pending,
            outbox_oldest_at=oldest_at,
            outbox_oldest_age_s=(
                max(0, int((now - oldest_at).total_seconds())) if now is not None and oldest_at else None
            ),
            feed_behind=feed_behind,
        ),
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


def list_devices(conn: Connection, seller_id: str, store_id: str, now: datetime) -> list[DevicePublic]:
    """The store's devices, oldest first, revoked ones too (with ``revokedAt``)."""
    feed_end = _feed_end(conn, seller_id, store_id)
    rows = conn.execute(
        select(devices)
        .where(devices.c.store_id == store_id, devices.c.seller_id == seller_id)
        .order_by(devices.c.created_at, devices.c.device_id)
    )
    return [_public(r, feed_end=feed_end, now=now) for r in rows]


def get(conn: Connection, seller_id: str, store_id: str, device_id: str, now: datetime) -> DevicePublic:
    """One device of the seller's store; another seller's or store's is ``deviceNotFound``."""
    feed_end = _feed_end(conn, seller_id, store_id)
    row = conn.execute(select(devices).where(*_one(seller_id, store_id, device_id))).first()
    if row is None:
        raise _not_found(device_id)
    return _public(row, feed_end=feed_end, now=now)


def rename(
    conn: Connection, seller_id: str, store_id: str, device_id: str, body: DeviceUpdate, now: datetime
) -> DevicePublic:
    feed_end = _feed_end(conn, seller_id, store_id)
    row = conn.execute(
        update(devices)
        .where(*_one(seller_id, store_id, device_id))
        .values(name=body.name)
        .returning(*devices.c)
    ).first()
    if row is None:
        raise _not_found(device_id)
    return _public(row, feed_end=feed_end, now=now)


def revoke(conn: Connection, seller_id: str, store_id: str, device_id: str, now: datetime) -> DevicePublic:
    """Revoked from now (a second revocation keeps the first time) and offline: its status no longer counts
    (``cloud.sync_service`` dead-letters it) and its feed position no longer holds back pruning. The caller
    refreshes the broker's files after the commit, which drops its connection (``Cloud.
    refresh_broker_credentials``)."""
    feed_end = _feed_end(conn, seller_id, store_id)
    row = conn.execute(
        update(devices)
        .where(*_one(seller_id, store_id, device_id))
        .values(revoked_at=func.coalesce(devices.c.revoked_at, now), online=False)
        .returning(*devices.c)
    ).first()
    if row is None:
        raise _not_found(device_id)
    return _public(row, feed_end=feed_end, now=now)


def record_status(
    conn: Connection, device_id: str, *, online: bool, health: DeviceHealth | None, now: datetime
) -> None:
    """What a live device's status said (``cloud.sync_service``): seen now, online or not, and, for an online
    status, its health (None from a node that does not say it: nothing stale is kept)."""
    values: dict[str, Any] = {"last_seen_at": now, "online": online}
    if online:
        values |= {
            "health": None if health is None else health.to_json_dict(),
            "health_at": None if health is None else now,
        }
    conn.execute(update(devices).where(devices.c.device_id == device_id).values(**values))


def revoked_among(conn: Connection, device_ids: list[str]) -> set[str]:
    """Which of these devices are revoked."""
    if not device_ids:
        return set()
    revoked = conn.execute(
        select(devices.c.device_id).where(
            devices.c.device_id.in_(device_ids), devices.c.revoked_at.is_not(None)
        )
    ).scalars()
    return set(revoked)


def _one(seller_id: str, store_id: str, device_id: str) -> tuple[Any, ...]:
    return (
        devices.c.device_id == device_id,
        devices.c.store_id == store_id,
        devices.c.seller_id == seller_id,
    )


def _not_found(device_id: str) -> NotFound:
    return NotFound(f"device {device_id} not found", code="deviceNotFound")


def _feed_end(conn: Connection, seller_id: str, store_id: str) -> int:
    """The store's feed end; another seller's store is ``storeNotFound``."""
    sellers.get_store(conn, seller_id, store_id)
    return int(conn.execute(select(stores.c.downlink_seq).where(stores.c.store_id == store_id)).scalar_one())


def broker_password_file(conn: Connection, service_accounts: dict[str, str]) -> str:
    """The password file for every live device plus the cloud's own accounts (name -> hash)."""
    rows = conn.execute(
        select(devices.c.device_id, devices.c.mqtt_password_hash).where(devices.c.revoked_at.is_(None))
    )
    return password_file_lines({**{r.device_id: r.mqtt_password_hash for r in rows}, **service_accounts})


def broker_acl(conn: Connection, *, cloud_workers: int = 1) -> str:
    """The broker's ACL: every live device bound to its own store's topics, and the cloud's accounts (one per
    ingest worker)."""
    rows = conn.execute(select(devices.c.device_id, devices.c.store_id).where(devices.c.revoked_at.is_(None)))
    return mosquitto_acl({r.device_id: r.store_id for r in rows}, cloud_workers=cloud_workers)


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
    cloud_workers: int = 1,
) -> int:
    """What a deployment's broker runs on, in ``out``: the password file (every live device and the cloud's
    own accounts, one per ingest worker, with one password), the ACL, and ``mosquitto.conf`` (plus
    ``extra_conf`` lines). Returns the account count."""
    hashed = hash_password(cloud_password)
    passwords = broker_password_file(conn, {worker_username(k): hashed for k in range(cloud_workers)})
    out.mkdir(parents=True, exist_ok=True)
    write_broker_files(
        out / "acl", broker_acl(conn, cloud_workers=cloud_workers)
    )  # first: a new device's topics before its login
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
