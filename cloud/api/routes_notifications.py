"""The notification bell: list, unread count, mark read, and a live Server-Sent Events stream."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status
from sse_starlette.sse import EventSourceResponse

from cloud import i18n, notifications
from cloud.api.deps import CloudDep, CursorQuery, LimitQuery, NowDep, ReaderDep, SellerId
from models.cloud_api import NotificationList, NotificationPublic, UnreadCount
from models.ids import ULID_PATTERN
from models.paging import decode_cursor, encode_cursor

router = APIRouter(tags=["notifications"])

NotificationIdPath = Annotated[str, Path(alias="notificationId", pattern=ULID_PATTERN)]
HEARTBEAT_S = 15


@router.get("/notifications")
def list_notifications(
    cloud: CloudDep,
    seller_id: SellerId,
    words: ReaderDep,
    unread: Annotated[bool, Query(description="Only unread ones")] = False,
    cursor: CursorQuery = None,
    limit: LimitQuery = 20,
) -> NotificationList:
    # The list pages on the notification id; the API hands it out as an opaque cursor like every other
    # list, so a forged one is refused as invalidCursor here too (the dashboard pages use the bare id).
    with cloud.db.read() as conn:
        page = notifications.list_notifications(
            conn, seller_id, words, cursor=decode_cursor(cursor), limit=limit, unread_only=unread
        )
    if page.next_cursor is not None:
        page.next_cursor = encode_cursor(page.next_cursor)
    return page


@router.get("/notifications/unread-count")
def unread_count(cloud: CloudDep, seller_id: SellerId) -> UnreadCount:
    with cloud.db.read() as conn:
        return UnreadCount(unread_count=notifications.unread_count(conn, seller_id))


@router.post("/notifications/{notificationId}/read")
def mark_read(
    notification_id: NotificationIdPath, cloud: CloudDep, now: NowDep, seller_id: SellerId, words: ReaderDep
) -> NotificationPublic:
    with cloud.db.transaction() as conn:
        return notifications.mark_read(conn, seller_id, notification_id, now, words)


@router.post("/notifications/read-all", status_code=status.HTTP_204_NO_CONTENT)
def mark_all_read(cloud: CloudDep, now: NowDep, seller_id: SellerId) -> Response:
    with cloud.db.transaction() as conn:
        notifications.mark_all_read(conn, seller_id, now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/notifications/stream",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "bell events"}},
)
async def stream(request: Request, cloud: CloudDep, seller_id: SellerId) -> EventSourceResponse:
    """Server-Sent Events: a ``bell`` event with ``{"unreadCount", "latest"}`` now and whenever the seller's
    notifications change; a comment every 15 s keeps proxies from closing the stream. The latest one is
    in the reader's language, as the list is."""
    words = i18n.translator(i18n.reader_locale(request))

    def snapshot() -> str:
        with cloud.db.read() as conn:
            latest = notifications.latest(conn, seller_id, words)
            count = notifications.unread_count(conn, seller_id)
        return json.dumps({"unreadCount": count, "latest": latest.to_json_dict() if latest else None})

    async def events() -> AsyncIterator[dict[str, str]]:
        queue = cloud.bell.subscribe(seller_id)
        try:
            yield {"event": "bell", "data": await asyncio.to_thread(snapshot)}
            while not await request.is_disconnected():
                try:
                    await asyncio.wait_for(queue.get(), timeout=HEARTBEAT_S)
                except TimeoutError:
                    continue
                yield {"event": "bell", "data": await asyncio.to_thread(snapshot)}
        finally:
            cloud.bell.unsubscribe(seller_id, queue)

    return EventSourceResponse(events(), ping=HEARTBEAT_S)
