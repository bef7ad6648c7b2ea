"""The bell's list: all or unread, paged; mark one or all read (one through htmx, redrawing its card)."""

from fastapi import Request, Response
from fastapi.responses import HTMLResponse

from cloud import i18n, notifications
from cloud.api.deps import CloudDep, NowDep
from cloud.web import security
from cloud.web.forms import text
from cloud.web.rendering import chrome, here, language, render
from cloud.web.routing import PAGE_SIZE, CsrfForm, WebSeller, is_htmx, page_router, redirect, with_params

router = page_router()


@router.get("/notifications")
def notifications_page(request: Request, cloud: CloudDep, seller_id: WebSeller) -> HTMLResponse:
    unread_only = request.query_params.get("unread") == "1"
    cursor = request.query_params.get("cursor") or None
    with cloud.db.read() as conn:
        page = chrome(conn, seller_id)
        result = notifications.list_notifications(
            conn,
            seller_id,
            i18n.translator(language(request)),
            cursor=cursor,
            limit=PAGE_SIZE,
            unread_only=unread_only,
        )
    return render(
        request,
        "notifications.html",
        page=page,
        result=result,
        unread_only=unread_only,
        next_url=with_params(here(request), cursor=result.next_cursor) if result.next_cursor else "",
    )


@router.post("/notifications/read-all")
def mark_all_read(
    request: Request, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    with cloud.db.transaction() as conn:
        notifications.mark_all_read(conn, seller_id, now)
    return redirect("/notifications?msg=allRead")


@router.post("/notifications/{notification_id}/read")
def mark_read(
    request: Request, notification_id: str, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    with cloud.db.transaction() as conn:
        item = notifications.mark_read(
            conn, seller_id, notification_id, now, i18n.translator(language(request))
        )
    if is_htmx(request):
        return render(request, "_notification.html", n=item)
    return redirect(security.safe_next(text(form, "next"), "/notifications"))
