"""The version of a seller's cloud-enrolled recognition photo set (``cloud.recognition_photos``): moved by
every change to the photos, including the catalog's deletions (``forget``), so the store nodes are sent the
set again. Apart from ``cloud.recognition_photos`` because the catalog calls ``forget`` and the photos'
module calls the catalog's upload grants."""

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Connection, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert

from cloud.tables import recognition_photo_sets, recognition_photos


def bump(conn: Connection, seller_id: str, now: datetime) -> int:
    """The seller's photo set moves to its next version (nodes holding an older one are sent it)."""
    return int(
        conn.execute(
            pg_insert(recognition_photo_sets)
            .values(seller_id=seller_id, version=1, updated_at=now)
            .on_conflict_do_update(
                index_elements=["seller_id"],
                set_={"version": recognition_photo_sets.c.version + 1, "updated_at": now},
            )
            .returning(recognition_photo_sets.c.version)
        ).scalar_one()
    )


def forget(
    conn: Connection,
    seller_id: str,
    now: datetime,
    *,
    variant_ids: Collection[str] = (),
    product_id: str | None = None,
) -> None:
    """The catalog deleted these variants (or the product): their photos leave the set. The rows go (a
    variant's by its foreign key, a soft-deleted product's here); the set moves only if any were there."""
    where = [recognition_photos.c.seller_id == seller_id]
    if product_id is not None:
        where.append(recognition_photos.c.product_id == product_id)
    else:
        if not variant_ids:
            return
        where.append(recognition_photos.c.variant_id.in_(list(variant_ids)))
    gone = conn.execute(
        delete(recognition_photos).where(*where).returning(recognition_photos.c.blob_key)
    ).all()
    if gone:
        bump(conn, seller_id, now)
    # The files stay: a blob store delete cannot roll back with the transaction. They are named by an id no
    # set lists any more, so nothing fetches them; the bucket's lifecycle rules may sweep them.
