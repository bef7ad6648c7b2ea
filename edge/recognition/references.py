"""The store's reference photos and their embeddings, in the node's SQLite file (migrations 0008, 0009).

A photo is kept downscaled (JPEG, its longer side at most ``KEEP_SIDE``), and its embedding is computed from
that kept copy, so when a new model arrives every reference is embedded again from exactly what the old
model saw. Embeddings are stored per model (its sha256): the new model's are written beside the old ones
while it is prepared, and the old ones pruned once it serves.
"""

import io
from collections.abc import Collection, Sequence
from datetime import datetime

import numpy as np
import numpy.typing as npt
from PIL import Image
from sqlalchemy import Connection, delete, distinct, func, insert, select

from edge.recognition.cloud_photos import chunked
from edge.recognition.embedder import decode
from edge.tables import recognition_embeddings as embeddings
from edge.tables import recognition_photos as photos
from models.ids import new_id

KEEP_SIDE = 512
KEEP_QUALITY = 90


def downscale(data: bytes) -> bytes:
    """The photo as kept: upright RGB JPEG, its longer side at most ``KEEP_SIDE`` (``NotAnImage`` when it is
    not an image)."""
    image = Image.fromarray(decode(data, at_least=KEEP_SIDE))
    image.thumbnail((KEEP_SIDE, KEEP_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=KEEP_QUALITY)
    return out.getvalue()


def to_blob(vector: npt.NDArray[np.float32]) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_blob(blob: bytes) -> npt.NDArray[np.float32]:
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)


def add(
    conn: Connection,
    variant_id: str,
    kept: list[tuple[bytes, npt.NDArray[np.float32]]],
    model_key: str,
    *,
    now: datetime,
    by: str | None,
    cloud_photo_ids: Sequence[str] | None = None,
) -> list[str]:
    """Keep photos of a variant with their embeddings under ``model_key``; their ids. ``cloud_photo_ids``
    (one per photo): the photos came from the seller's cloud-enrolled set (``cloud_photos``)."""
    if cloud_photo_ids is not None and len(cloud_photo_ids) != len(kept):
        raise ValueError("one cloud photo id per photo")
    ids = []
    for n, (image, vector) in enumerate(kept):
        photo_id = new_id()
        conn.execute(
            insert(photos).values(
                photo_id=photo_id,
                variant_id=variant_id,
                image=image,
                created_at=now,
                created_by=by,
                cloud_photo_id=cloud_photo_ids[n] if cloud_photo_ids is not None else None,
            )
        )
        conn.execute(
            insert(embeddings).values(photo_id=photo_id, model_key=model_key, embedding=to_blob(vector))
        )
        ids.append(photo_id)
    return ids


def delete_variant(conn: Connection, variant_id: str) -> int:
    """Forget the reference photos of a variant enrolled at this node (and their embeddings); how many there
    were. Those from the seller's cloud set stay: the set decides them (``delete_cloud``)."""
    own = (photos.c.variant_id == variant_id) & photos.c.cloud_photo_id.is_(None)
    conn.execute(delete(embeddings).where(embeddings.c.photo_id.in_(select(photos.c.photo_id).where(own))))
    return conn.execute(delete(photos).where(own)).rowcount


def delete_cloud(conn: Connection, cloud_photo_ids: Collection[str]) -> int:
    """Forget the reference photos that came from these cloud photos; how many there were."""
    deleted = 0
    for chunk in chunked(cloud_photo_ids):  # a seller may delete thousands at once
        ids = select(photos.c.photo_id).where(photos.c.cloud_photo_id.in_(chunk))
        conn.execute(delete(embeddings).where(embeddings.c.photo_id.in_(ids)))
        deleted += conn.execute(delete(photos).where(photos.c.cloud_photo_id.in_(chunk))).rowcount
    return deleted


def missing(conn: Connection, model_key: str) -> list[tuple[str, bytes]]:
    """(photo id, kept image) of every photo without an embedding by ``model_key``."""
    done = select(embeddings.c.photo_id).where(embeddings.c.model_key == model_key)
    rows = conn.execute(select(photos.c.photo_id, photos.c.image).where(photos.c.photo_id.not_in(done)))
    return [(row.photo_id, row.image) for row in rows]


def store(conn: Connection, model_key: str, computed: list[tuple[str, npt.NDArray[np.float32]]]) -> None:
    for photo_id, vector in computed:
        conn.execute(
            insert(embeddings)
            .prefix_with("OR REPLACE")
            .values(photo_id=photo_id, model_key=model_key, embedding=to_blob(vector))
        )


def vectors(conn: Connection, model_key: str) -> list[tuple[str, npt.NDArray[np.float32]]]:
    """(variant id, embedding) of every photo embedded by ``model_key``, in a stable order."""
    rows = conn.execute(
        select(photos.c.variant_id, embeddings.c.embedding)
        .join(embeddings, embeddings.c.photo_id == photos.c.photo_id)
        .where(embeddings.c.model_key == model_key)
        .order_by(photos.c.variant_id, photos.c.photo_id)
    )
    return [(row.variant_id, from_blob(row.embedding)) for row in rows]


def prune(conn: Connection, keep_key: str) -> None:
    """Drop the embeddings of every model but ``keep_key``."""
    conn.execute(delete(embeddings).where(embeddings.c.model_key != keep_key))


def counts(conn: Connection) -> tuple[int, int]:
    """(variants with a reference photo, reference photos)."""
    row = conn.execute(
        select(func.count(distinct(photos.c.variant_id)), func.count()).select_from(photos)
    ).one()
    return int(row[0]), int(row[1])
