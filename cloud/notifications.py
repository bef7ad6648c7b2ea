"""The sellers' notification bell: raise, list, count, mark read.

A notification is stored as its kind and parameters, never as words: ``cloud.notification_text`` writes
its title and body for each reader, in their language, when it is read.

A notification is a row written in the same transaction as what caused it (an order, a stock change), so
the bell never rings for something that rolled back. The insert also does ``pg_notify`` on one channel:
Postgres delivers it at commit to every cloud process listening (see ``cloud.bell``), which is how open
dashboards update live without polling.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, text, update

from cloud import bulk
from cloud.notification_text import notification_text
from cloud.tables import notifications, products, variants
from models.cloud_api import NotificationKind, NotificationList, NotificationPublic
from models.errors import NotFound
from models.ids import new_id
from plumbing.i18n import Translator

CHANNEL = "edgestore_bell"


def notify(
    conn: Connection,
    seller_id: str,
    kind: NotificationKind,
    params: dict[str, Any],
    *,
    ref_type: str | None = None,
    ref_id: str | None = None,
    now: datetime,
) -> str:
    """Raise a notification for a seller: ``params`` are what its words need (see ``notification_text``)."""
    notification_id = new_id()
    conn.execute(
        insert(notifications).values(
            notification_id=notification_id,
            seller_id=seller_id,
            kind=kind.value,
            ref_type=ref_type,
            ref_id=ref_id,
            params=params,
            created_at=now,
        )
    )
    _ring(conn, seller_id)
    return notification_id


@dataclass(frozen=True)
class Pending:
    """A notification to raise with others in one write (``notify_many``)."""

    seller_id: str
    kind: NotificationKind
    params: dict[str, Any]
    ref_type: str | None
    ref_id: str | None


def notify_many(conn: Connection, pending: Sequence[Pending], now: datetime) -> None:
    """Raise several notifications in one insert and wake each seller's dashboards once: Postgres delivers
    one notification per channel and payload per transaction anyway. Ids are made here in list order, so
    they sort as ``notify`` called for each in turn would have them."""
    if not pending:
        return
    bulk.insert_rows(
        conn,
        notifications,
        [
            {
                "notification_id": new_id(),
                "seller_id": p.seller_id,
                "kind": p.kind.value,
                "ref_type": p.ref_type,
                "ref_id": p.ref_id,
                "params": p.params,
                "created_at": now,
            }
            for p in pending
        ],
    )
    for seller_id in sorted({p.seller_id for p in pending}):
        _ring(conn, seller_id)


def already_notified_of(
    conn: Connection, seller_id: str, kind: NotificationKind, ref_ids: Iterable[str]
) -> set[str]:
    """Which of ``ref_ids`` have a notification of ``kind`` already (``already_notified`` for many)."""
    wanted = sorted(set(ref_ids))
    if not wanted:
        return set()
    return set(
        conn.execute(
            select(notifications.c.ref_id).where(
                notifications.c.seller_id == seller_id,
                notifications.c.kind == kind.value,
                notifications.c.ref_id.in_(wanted),
            )
        ).scalars()
    )


def variant_names(conn: Connection, variant_ids: Iterable[str]) -> dict[str, dict[str, str]]:
    """The words a notification about variants needs, by variant id: product and variant names in zh-TW
    and English (empty when the seller gave none), as the catalog has them now."""
    rows = conn.execute(
        select(
            variants.c.variant_id,
            variants.c.name,
            variants.c.name_en,
            products.c.name.label("product_name"),
            products.c.name_en.label("product_name_en"),
        )
        .join(products, products.c.product_id == variants.c.product_id)
        .where(variants.c.variant_id.in_(sorted(set(variant_ids))))
    ).all()
    return {
        r.variant_id: {
            "productName": r.product_name,
            "productNameEn": r.product_name_en,
            "variantName": r.name,
            "variantNameEn": r.name_en,
        }
        for r in rows
    }


def _ring(conn: Connection, seller_id: str) -> None:
    """Wake the seller's open dashboards (delivered by Postgres at commit, to every process listening)."""
    conn.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": seller_id})


def already_notified(conn: Connection, seller_id: str, kind: NotificationKind, ref_id: str) -> bool:
    """For notifications that must ring once per thing (a group buy reaching its minimum)."""
    return (
        conn.execute(
            select(notifications.c.notification_id).where(
                notifications.c.seller_id == seller_id,
                notifications.c.kind == kind.value,
                notifications.c.ref_id == ref_id,
            )
        ).first()
        is not None
    )


def _public(row: Any, tr: Translator) -> NotificationPublic:
    kind = NotificationKind(row.kind)
    title, body = notification_text(tr, kind, row.params)
    return NotificationPublic(
        notification_id=row.notification_id,
        kind=kind,
        title=title,
        body=body,
        ref_type=row.ref_type,
        ref_id=row.ref_id,
        params=row.params,
        created_at=row.created_at,
        read_at=row.read_at,
    )


def unread_count(conn: Connection, seller_id: str) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(notifications)
            .where(notifications.c.seller_id == seller_id, notifications.c.read_at.is_(None))
        ).scalar_one()
    )


def list_notifications(
    conn: Connection,
    seller_id: str,
    tr: Translator,
    *,
    cursor: str | None,
    limit: int,
    unread_only: bool = False,
) -> NotificationList:
    """Newest first, in ``tr``'s language. Ids are ULIDs, so the id itself is the keyset cursor."""
    query = select(notifications).where(notifications.c.seller_id == seller_id)
    if unread_only:
        query = query.where(notifications.c.read_at.is_(None))
    if cursor:
        query = query.where(notifications.c.notification_id < cursor)
    rows = conn.execute(query.order_by(notifications.c.notification_id.desc()).limit(limit + 1)).all()
    page = rows[:limit]
    return NotificationList(
        items=[_public(r, tr) for r in page],
        next_cursor=page[-1].notification_id if len(rows) > limit else None,
        unread_count=unread_count(conn, seller_id),
    )


def latest(conn: Connection, seller_id: str, tr: Translator) -> NotificationPublic | None:
    row = conn.execute(
        select(notifications)
        .where(notifications.c.seller_id == seller_id)
        .order_by(notifications.c.notification_id.desc())
        .limit(1)
    ).first()
    return _public(row, tr) if row else None


def mark_read(
    conn: Connection, seller_id: str, notification_id: str, now: datetime, tr: Translator
) -> NotificationPublic:
    row = conn.execute(
        update(notifications)
        .where(notifications.c.notification_id == notification_id, notifications.c.seller_id == seller_id)
        .values(read_at=func.coalesce(notifications.c.read_at, now))
        .returning(*notifications.c)
    ).first()
    if row is None:
        raise NotFound(f"notification {notification_id} not found", code="notificationNotFound")
    _ring(conn, seller_id)
    return _public(row, tr)


def mark_all_read(conn: Connection, seller_id: str, now: datetime) -> int:
    changed = conn.execute(
        update(notifications)
        .where(and_(notifications.c.seller_id == seller_id, notifications.c.read_at.is_(None)))
        .values(read_at=now)
    ).rowcount
    _ring(conn, seller_id)
    return int(changed)
