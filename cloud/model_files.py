"""Model files a seller ships to its store nodes (the product recognition model): versioned per name, the
bytes in the blob store, announced to every online node of the seller by the sync service."""

import hashlib
from collections.abc import Collection, Sequence
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
