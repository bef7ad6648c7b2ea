"""The seller's cloud-enrolled reference photos at the node (issue 18): which to fetch and which to forget
when the cloud announces a new version of its photo set, and what the node keeps to know it.

The set (``sync_protocol.envelope.RecognitionPhotoSet``) is every photo the seller enrolled in the cloud; the
node makes its cloud-enrolled references equal to it (``edge.sync_downlink.take_recognition_photos`` fetches,
``Recognizer.apply_cloud_photos`` embeds and swaps). A reference photo from the cloud carries the cloud's
photo id (``recognition_photos.cloud_photo_id``); one enrolled at the node has none and is never touched
here. A cloud photo the node cannot take for good (not an image it reads) is recorded as refused with its
SHA-256 (``recognition_photo_refusals``) and not fetched again while the set lists the same file.

No numpy here: the sync code imports this module whether or not the node runs recognition.
"""

from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, select

from edge.tables import recognition_photo_refusals as refusals_table
from edge.tables import recognition_photos as photos
from edge.tables import variants
from sync_protocol.encoding import check_fetched, read_fetched
from sync_protocol.envelope import (
    MAX_PHOTO_SET_BYTES,
    MAX_REFUSAL_REASON,
    RecognitionPhotoRef,
    RecognitionPhotosAnnouncement,
    RecognitionPhotoSet,
)


@dataclass(frozen=True)
class CloudPhoto:
    """A cloud photo fetched and checked against its reference: what ``Recognizer.apply_cloud_photos``
    keeps (downscaled) as a reference of ``variant_id``."""

    photo_id: str  # the cloud's
    variant_id: str
    sha256: str
    data: bytes


@dataclass(frozen=True)
class Plan:
    """What makes the node's cloud-enrolled references equal to a set."""

    fetch: tuple[RecognitionPhotoRef, ...]  # listed, not held (nor refused as this very file)
    forget: frozenset[str]  # held, and no longer listed (or listed under another variant: fetched again)


def plan(listed: Iterable[RecognitionPhotoRef], held: Mapping[str, str], refused: Mapping[str, str]) -> Plan:
    """``listed``: the set's photos; ``held``: cloud photo id -> variant id of the cloud photos the node
    holds; ``refused``: cloud photo id -> SHA-256 of the file refused. A photo listed twice counts once (the
    first)."""
    wanted: dict[str, RecognitionPhotoRef] = {}
    for ref in listed:
        wanted.setdefault(ref.photo_id, ref)
    forget = frozenset(
        photo_id
        for photo_id, variant_id in held.items()
        if photo_id not in wanted or wanted[photo_id].variant_id != variant_id
    )
    fetch = tuple(
        ref
        for photo_id, ref in wanted.items()
        if (photo_id not in held or photo_id in forget) and refused.get(photo_id) != ref.sha256
    )
    return Plan(fetch, forget)


def read_photo_set(announcement: RecognitionPhotosAnnouncement, data: bytes) -> RecognitionPhotoSet:
    """The announced set from its bytes, checked against the announcement (size, SHA-256, then store and
    version) before anything is taken from it; ``ValueError`` when it is not the announced one."""
    return read_fetched(
        data, announcement, RecognitionPhotoSet, max_bytes=MAX_PHOTO_SET_BYTES, what="recognition photo set"
    )


def check_photo(ref: RecognitionPhotoRef, data: bytes) -> CloudPhoto:
    """A fetched photo, checked against its reference (size, SHA-256; ``ValueError`` otherwise)."""
    check_fetched(data, size=ref.size, sha256=ref.sha256, what=f"recognition photo {ref.photo_id}")
    return CloudPhoto(ref.photo_id, ref.variant_id, ref.sha256, data)


def known_variants(conn: Connection, variant_ids: Collection[str]) -> set[str]:
    """Those of ``variant_ids`` the node's catalog has: a photo of any other waits, unfetched."""
    known: set[str] = set()
    for chunk in chunked(variant_ids):
        known.update(
            conn.execute(select(variants.c.variant_id).where(variants.c.variant_id.in_(chunk))).scalars()
        )
    return known


BATCH_PHOTOS = 32
BATCH_BYTES = 64 * 1024 * 1024


def batches(refs: Iterable[RecognitionPhotoRef]) -> Iterator[list[RecognitionPhotoRef]]:
    """The photos to fetch in batches of at most ``BATCH_PHOTOS`` and ``BATCH_BYTES`` (as announced), so the
    node holds one batch in memory at a time whatever the photos weigh (a photo may be 20 MiB)."""
    batch: list[RecognitionPhotoRef] = []
    weight = 0
    for ref in refs:
        if batch and (len(batch) == BATCH_PHOTOS or weight + ref.size > BATCH_BYTES):
            yield batch
            batch, weight = [], 0
        batch.append(ref)
        weight += ref.size
    if batch:
        yield batch


def held(conn: Connection) -> dict[str, str]:
    """Cloud photo id -> variant id of every cloud-enrolled reference photo the node holds."""
    rows = conn.execute(
        select(photos.c.cloud_photo_id, photos.c.variant_id).where(photos.c.cloud_photo_id.is_not(None))
    )
    return {row.cloud_photo_id: row.variant_id for row in rows}


def refusals(conn: Connection) -> dict[str, str]:
    """Cloud photo id -> SHA-256 of every cloud photo file refused."""
    rows = conn.execute(select(refusals_table.c.cloud_photo_id, refusals_table.c.sha256))
    return {row.cloud_photo_id: row.sha256 for row in rows}


def refuse(conn: Connection, photo: CloudPhoto, reason: str, now: datetime) -> None:
    conn.execute(
        insert(refusals_table)
        .prefix_with("OR REPLACE")
        .values(
            cloud_photo_id=photo.photo_id,
            sha256=photo.sha256,
            reason=reason[:MAX_REFUSAL_REASON] or "refused",
            refused_at=now,
        )
    )


def forget_refusals(conn: Connection, photo_ids: Collection[str]) -> None:
    """Drop the refusals of these cloud photos (taken now after all)."""
    for chunk in chunked(photo_ids):
        conn.execute(delete(refusals_table).where(refusals_table.c.cloud_photo_id.in_(chunk)))


def keep_refusals(conn: Connection, listed: Collection[str]) -> None:
    """Drop the refusals of the cloud photos a set no longer lists."""
    forget_refusals(conn, [photo_id for photo_id in refusals(conn) if photo_id not in listed])


SQL_CHUNK = 500
"""Ids per ``IN (...)``: a set of up to 100,000 photos stays far below SQLite's bound-parameter limit."""


def chunked(ids: Iterable[str], size: int = SQL_CHUNK) -> Iterator[list[str]]:
    chunk: list[str] = []
    for photo_id in ids:
        chunk.append(photo_id)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass(frozen=True)
class Origins:
    cloud: int  # reference photos from the seller's cloud-enrolled set
    node: int  # reference photos enrolled at the node (staff mode)
    refused: int  # cloud photos refused (not an image the node reads)


def origins(conn: Connection) -> Origins:
    row = conn.execute(select(func.count(photos.c.cloud_photo_id), func.count()).select_from(photos)).one()
    refused = conn.execute(select(func.count()).select_from(refusals_table)).scalar_one()
    return Origins(cloud=int(row[0]), node=int(row[1]) - int(row[0]), refused=int(refused))
