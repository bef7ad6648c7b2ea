"""Model files a seller ships to its store nodes (the product recognition model): versioned per name, the
bytes in the blob store, announced to every online node of the seller by the sync service."""

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from cloud.media.blob_store import BlobStore
from cloud.tables import model_files
from models.cloud_api import ModelFilePublic
from models.errors import InvalidInput
from sync_protocol.envelope import MAX_MODEL_BYTES, ModelAnnouncement

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
    conn.execute(
        insert(model_files).values(
            seller_id=seller_id,
            name=name,
            version=version,
            sha256=sha,
            size=len(data),
            blob_key=key,
            created_at=now,
        )
    )
    return _public(conn.execute(select(model_files).where(model_files.c.blob_key == key)).one(), base_url)


def newest(conn: Connection, seller_id: str, base_url: str) -> list[ModelFilePublic]:
    """The newest version of each of the seller's model files."""
    top = (
        select(model_files.c.name, func.max(model_files.c.version).label("version"))
        .where(model_files.c.seller_id == seller_id)
        .group_by(model_files.c.name)
        .subquery()
    )
    rows = conn.execute(
        select(model_files)
        .join(top, (top.c.name == model_files.c.name) & (top.c.version == model_files.c.version))
        .where(model_files.c.seller_id == seller_id)
        .order_by(model_files.c.name)
    ).all()
    return [_public(r, base_url) for r in rows]


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
