"""Claim codes: how a store node (a Pi) gets its place in a store without anyone copying credentials.

The seller makes a one-time code for a store (the API or the store's page); it is shown once, as text and
as a QR code, and only its SHA-256 is kept. The Pi sends the code with its hardware id and the Ed25519
public key it made to ``POST /devices/claim`` (no login: the code is the authorisation) and gets its device
id, store, MQTT login and the cloud's and broker's addresses. Claiming registers the device as
``cloud.devices.register`` does (password, bell); the route rewrites the broker's files after the commit.

A code is good once, until it expires (60 minutes unless asked otherwise, at most 24 hours). A used code is
refused (409 ``claimCodeUsed``) even to the device that used it: the Pi keeps its credentials, so a re-run
of provisioning never needs to claim again. An expired code is 410 ``claimCodeExpired``; a code nobody
made, or one withdrawn, is 404 ``claimCodeNotFound``.
"""

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import segno
from sqlalchemy import Connection, delete, select, update

from cloud import devices, sellers
from cloud.tables import claim_codes
from models.cloud_api import (
    ClaimCodeCreate,
    ClaimCodeCreated,
    ClaimCodePublic,
    DeviceClaim,
    DeviceClaimed,
    DeviceCreate,
    MqttLogin,
)
from models.errors import Conflict, Gone, NotFound
from models.ids import new_id
from models.parties import DeviceKind
from sync_protocol.mqtt_link import MqttSettings

# No 0/O, 1/I/L: what is read off a screen and typed on a Pi's keyboard must not be mistaken.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 12
GROUP = 4


def new_code() -> str:
    """Twelve characters in groups of four, e.g. ``7KQ4-M2XP-9RTD`` (about 59 bits)."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i : i + GROUP] for i in range(0, LENGTH, GROUP))


def normalised(code: str) -> str | None:
    """The code as made, from what was typed (any case, with or without dashes and spaces); None when it
    cannot be one."""
    raw = "".join(code.split()).replace("-", "").upper()
    if len(raw) != LENGTH or any(c not in ALPHABET for c in raw):
        return None
    return raw


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def qr_text(code: str, cloud_url: str) -> str:
    """What the QR code holds: the code and the cloud it belongs to."""
    return "edgestore:claim?" + urlencode({"code": code, "cloud": cloud_url})


def qr_svg(text: str) -> str:
    return str(segno.make(text, error="m").svg_inline(scale=4, border=2, title="claim code"))


def qr_data_uri(text: str) -> str:
    """The QR code as a ``data:`` URL for an ``<img>`` (the page then needs no markup it did not escape)."""
    return str(segno.make(text, error="m").svg_data_uri(scale=4, border=2))


def _public(row: Any) -> ClaimCodePublic:
    return ClaimCodePublic(
        claim_code_id=row.claim_code_id,
        store_id=row.store_id,
        name=row.name,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


def create(
    conn: Connection, seller_id: str, store_id: str, body: ClaimCodeCreate, now: datetime, cloud_url: str
) -> ClaimCodeCreated:
    sellers.get_store(conn, seller_id, store_id)  # another seller's store: 404 storeNotFound
    code = new_code()
    row = conn.execute(
        claim_codes.insert()
        .values(
            claim_code_id=new_id(),
            seller_id=seller_id,
            store_id=store_id,
            code_hash=code_hash(normalised(code) or code),
            name=body.name,
            created_at=now,
            expires_at=now + timedelta(minutes=body.expires_in_minutes),
        )
        .returning(*claim_codes.c)
    ).one()
    text = qr_text(code, cloud_url)
    return ClaimCodeCreated(**_public(row).model_dump(), code=code, qr_text=text, qr_svg=qr_svg(text))


def list_active(conn: Connection, seller_id: str, store_id: str, now: datetime) -> list[ClaimCodePublic]:
    """The store's codes not used yet and not expired, the newest first."""
    sellers.get_store(conn, seller_id, store_id)
    rows = conn.execute(
        select(claim_codes)
        .where(
            claim_codes.c.store_id == store_id,
            claim_codes.c.seller_id == seller_id,
            claim_codes.c.used_at.is_(None),
            claim_codes.c.expires_at > now,
        )
        .order_by(claim_codes.c.created_at.desc(), claim_codes.c.claim_code_id)
    )
    return [_public(r) for r in rows]


def withdraw(conn: Connection, seller_id: str, store_id: str, claim_code_id: str) -> None:
    """Forget an unused code: claiming it is then 404. A used one stays (it names its device)."""
    gone = conn.execute(
        delete(claim_codes)
        .where(
            claim_codes.c.claim_code_id == claim_code_id,
            claim_codes.c.store_id == store_id,
            claim_codes.c.seller_id == seller_id,
            claim_codes.c.used_at.is_(None),
        )
        .returning(claim_codes.c.claim_code_id)
    ).first()
    if gone is None:
        raise NotFound(f"claim code {claim_code_id} not found", code="claimCodeNotFound")


def _broker(url: str | None) -> tuple[str | None, int | None, bool]:
    if url is None:
        return None, None, False
    broker = MqttSettings.from_url(url)
    return broker.host, broker.port, broker.tls


def claim(
    conn: Connection, body: DeviceClaim, now: datetime, *, cloud_url: str, broker_url: str | None
) -> DeviceClaimed:
    """Use the code: one UPDATE ... WHERE used_at IS NULL takes it, so of two claims at once one wins and
    the other (waiting on the row) finds it used. Registers the device in the same transaction."""
    raw = normalised(body.code)
    digest = code_hash(raw) if raw else None
    row = (
        conn.execute(
            update(claim_codes)
            .where(
                claim_codes.c.code_hash == digest,
                claim_codes.c.used_at.is_(None),
                claim_codes.c.expires_at > now,
            )
            .values(used_at=now)
            .returning(*claim_codes.c)
        ).first()
        if digest
        else None
    )
    if row is None:
        found = (
            conn.execute(select(claim_codes).where(claim_codes.c.code_hash == digest)).first()
            if digest
            else None
        )
        if found is None:
            raise NotFound("no such claim code: check what was typed", code="claimCodeNotFound")
        if found.used_at is not None:
            raise Conflict("this claim code has been used: make a new one", code="claimCodeUsed")
        raise Gone("this claim code has expired: make a new one", code="claimCodeExpired")
    store = sellers.get_store(conn, row.seller_id, row.store_id)
    registered = devices.register(
        conn,
        row.seller_id,
        row.store_id,
        DeviceCreate(kind=DeviceKind.STORE_NODE, name=row.name),
        now,
        hardware_id=body.hardware_id,
        public_key=body.public_key,
    )
    conn.execute(
        update(claim_codes)
        .where(claim_codes.c.claim_code_id == row.claim_code_id)
        .values(used_by_device_id=registered.device_id)
    )
    host, port, tls = _broker(broker_url)
    return DeviceClaimed(
        device_id=registered.device_id,
        store_id=row.store_id,
        store_name=store.name,
        seller_id=row.seller_id,
        mqtt=MqttLogin(**registered.mqtt.model_dump(), host=host, port=port, tls=tls, url=broker_url),
        cloud_url=cloud_url,
        broker_url=broker_url,
    )
