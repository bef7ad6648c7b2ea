"""Model files a seller ships to its store nodes (the product recognition model): versioned per name, the
bytes in the blob store, announced to every online node of the seller by the sync service."""

import hashlib
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from cloud import notifications
from cloud.media.blob_store import BlobStore
from cloud.tables import devices, model_files, model_refusals, stores
from models.cloud_api import (
    ModelDevice,
    ModelFilePublic,
    ModelFileVersion,
    ModelRefusalPublic,
    NotificationKind,
)
from models.errors import Conflict, InvalidInput, NotFound
from sync_protocol.envelope import MAX_MODEL_BYTES, ModelAnnouncement, ModelRefusal

PREFIX = "models"
"""Blob keys: ``models/{sellerId}/{name}/{version}-{sha256}.bin``."""


def _public(row: Any, base_url: str) -> ModelFilePublic:
    return ModelFilePublic(
        name=row.name,
        version=row.version,
        sha256=row.sha256,
        size=row.size,
        url=f"{base_url}/files/{row.blob_key}",
        created_at=row.created_at,
        rolled_back_from=row.rolled_back_from,
    )


def publish(
    conn: Connection, blobs: BlobStore, seller_id: str, name: str, data: bytes, now: datetime, base_url: str
) -> ModelFilePublic:
    """Store a new version of ``name`` (the same bytes as the newest version are not a new version)."""
    if not data:
        raise InvalidInput("a model file cannot be empty", field="body")
    if len(data) > MAX_MODEL_BYTES:
        raise InvalidInput(f"a model file is at most {MAX_MODEL_BYTES} bytes", field="body")
    sha = hashlib.sha256(data).hexdigest()
    latest = conn.execute(
        select(model_files)
        .where(model_files.c.seller_id == seller_id, model_files.c.name == name)
        .order_by(model_files.c.version.desc())
        .limit(1)
        .with_for_update()
    ).first()
    if latest is not None and latest.sha256 == sha:
        return _public(latest, base_url)
    version = (latest.version if latest else 0) + 1
    key = f"{PREFIX}/{seller_id}/{name}/{version}-{sha}.bin"
    blobs.put(key, data, "application/octet-stream")
    row = conn.execute(
        insert(model_files)
        .values(
            seller_id=seller_id,
            name=name,
            version=version,
            sha256=sha,
            size=len(data),
            blob_key=key,
            created_at=now,
        )
        .returning(*model_files.c)
    ).one()
    return _public(row, base_url)


def _newest_rows(conn: Connection, seller_ids: Collection[str]) -> Sequence[Any]:
    """The newest version of each model file of these sellers."""
    top = (
        select(model_files.c.seller_id, model_files.c.name, func.max(model_files.c.version).label("version"))
        .where(model_files.c.seller_id.in_(list(seller_ids)))
        .group_by(model_files.c.seller_id, model_files.c.name)
        .subquery()
    )
    return conn.execute(
        select(model_files)
        .join(
            top,
            (top.c.seller_id == model_files.c.seller_id)
            & (top.c.name == model_files.c.name)
            & (top.c.version == model_files.c.version),
        )
        .order_by(model_files.c.name)
    ).all()


def newest(conn: Connection, seller_id: str, base_url: str) -> list[ModelFilePublic]:
    """The newest version of each of the seller's model files."""
    return [_public(r, base_url) for r in _newest_rows(conn, [seller_id])]


def newest_versions(conn: Connection, seller_ids: Collection[str]) -> dict[str, dict[str, int]]:
    """seller -> name -> newest version, for many sellers in one query (the sync service's tick)."""
    out: dict[str, dict[str, int]] = {}
    for r in _newest_rows(conn, seller_ids):
        out.setdefault(r.seller_id, {})[r.name] = int(r.version)
    return out


def announcements(
    conn: Connection, seller_id: str, store_id: str, held: dict[str, int], base_url: str
) -> list[ModelAnnouncement]:
    """What a node holding ``held`` (name -> version) should fetch."""
    return [
        ModelAnnouncement(
            store_id=store_id, name=m.name, version=m.version, url=m.url, sha256=m.sha256, size=m.size
        )
        for m in newest(conn, seller_id, base_url)
        if held.get(m.name, 0) < m.version
    ]


# --- versions and rollbacks -------------------------------------------------------------------------------


def versions(conn: Connection, seller_id: str, name: str, base_url: str) -> list[ModelFileVersion]:
    """Every version of the seller's model file, the newest first, with the nodes serving it (as their last
    status said) and those that refused it."""
    rows = conn.execute(
        select(model_files)
        .where(model_files.c.seller_id == seller_id, model_files.c.name == name)
        .order_by(model_files.c.version.desc())
    ).all()
    if not rows:
        raise NotFound(f"model file {name!r} has no version")
    nodes = conn.execute(
        select(
            devices.c.device_id,
            devices.c.name,
            devices.c.models,
            stores.c.store_id,
            stores.c.name.label("store"),
        )
        .join(stores, stores.c.store_id == devices.c.store_id)
        .where(devices.c.seller_id == seller_id, devices.c.revoked_at.is_(None))
        .order_by(stores.c.name, devices.c.device_id)
    ).all()
    refused = conn.execute(
        select(model_refusals, devices.c.name.label("device_name"), stores.c.name.label("store"))
        .join(devices, devices.c.device_id == model_refusals.c.device_id)
        .join(stores, stores.c.store_id == model_refusals.c.store_id)
        .where(model_refusals.c.seller_id == seller_id, model_refusals.c.name == name)
        .order_by(model_refusals.c.refused_at)
    ).all()
    out = []
    for row in rows:
        serving = [
            ModelDevice(device_id=n.device_id, device_name=n.name, store_id=n.store_id, store_name=n.store)
            for n in nodes
            if (n.models or {}).get(name) == row.version
        ]
        refusals = [
            ModelRefusalPublic(
                device_id=r.device_id,
                device_name=r.device_name,
                store_id=r.store_id,
                store_name=r.store,
                reason=r.reason,
                refused_at=r.refused_at,
            )
            for r in refused
            if r.version == row.version
        ]
        out.append(
            ModelFileVersion(**_public(row, base_url).model_dump(), serving=serving, refusals=refusals)
        )
    return out


def rollback(
    conn: Connection, seller_id: str, name: str, to_version: int, now: datetime, base_url: str
) -> ModelFilePublic:
    """Serve an older version again: its file is published anew as the next version (a node installs only
    versions above the one it holds, and keeps the file it has when the bytes match). ``Conflict`` when
    that version is already the newest."""
    rows = conn.execute(
        select(model_files)
        .where(model_files.c.seller_id == seller_id, model_files.c.name == name)
        .order_by(model_files.c.version.desc())
        .with_for_update()
    ).all()
    target = next((r for r in rows if r.version == to_version), None)
    if target is None:
        raise NotFound(f"model file {name!r} has no version {to_version}")
    newest_row = rows[0]
    if newest_row.version == to_version:
        raise Conflict(f"version {to_version} of {name!r} is already the newest", code="alreadyNewest")
    row = conn.execute(
        insert(model_files)
        .values(
            seller_id=seller_id,
            name=name,
            version=newest_row.version + 1,
            sha256=target.sha256,
            size=target.size,
            blob_key=target.blob_key,  # the same bytes: nothing is copied
            created_at=now,
            rolled_back_from=to_version,
        )
        .returning(*model_files.c)
    ).one()
    return _public(row, base_url)


# --- what the nodes say ---------------------------------------------------------------------------------


def record_status(
    conn: Connection,
    *,
    seller_id: str,
    store_id: str,
    device_id: str,
    serving: dict[str, int],
    refusals: Sequence[ModelRefusal],
    words: dict[str, str],
    now: datetime,
) -> list[ModelRefusal]:
    """A node's online status: which model versions it serves, and which files it refused. The bell rings
    once per device and refused version; a refusal of a version this seller never published (or of other
    bytes) is not the seller's to hear about and is returned, for the caller to dead-letter. ``words``: the
    device's and store's names for the bell."""
    conn.execute(update(devices).where(devices.c.device_id == device_id).values(models=dict(serving)))
    unknown = []
    for refusal in refusals:
        published = conn.execute(
            select(model_files.c.sha256).where(
                model_files.c.seller_id == seller_id,
                model_files.c.name == refusal.name,
                model_files.c.version == refusal.version,
            )
        ).scalar_one_or_none()
        if published != refusal.sha256:
            unknown.append(refusal)
            continue
        added = conn.execute(
            pg_insert(model_refusals)
            .values(
                device_id=device_id,
                name=refusal.name,
                version=refusal.version,
                seller_id=seller_id,
                store_id=store_id,
                sha256=refusal.sha256,
                reason=refusal.reason,
                refused_at=now,
            )
            .on_conflict_do_nothing()
            .returning(model_refusals.c.device_id)
        ).first()
        if added is not None:
            notifications.notify(
                conn,
                seller_id,
                NotificationKind.MODEL_REFUSED,
                {"name": refusal.name, "version": refusal.version, "reason": refusal.reason, **words},
                ref_type="model",
                ref_id=refusal.name,
                now=now,
            )
    return unknown
