"""The sales overview: figures, revenue per day stacked by store, per store, visitors against orders, top
products; shaped here into the chart geometry of ``cloud.web.charts``."""

from datetime import timedelta

from fastapi import Request
from fastapi.responses import HTMLResponse

from cloud import dashboard, i18n, sellers
from cloud.api.deps import CloudDep, NowDep
from cloud.web import charts
from cloud.web.rendering import chrome, language, render
from cloud.web.routing import WebSeller, page_router
from models.business_days import business_day

DASHBOARD_RANGES = (7, 30, 90)

router = page_router()


@router.get("/dashboard")
def dashboard_page(request: Request, cloud: CloudDep, now: NowDep, seller_id: WebSeller) -> HTMLResponse:
    lang = language(request)
    tr = i18n.translator(lang)
    days_param = request.query_params.get("days", "30")
    days = int(days_param) if days_param.isdigit() and int(days_param) in DASHBOARD_RANGES else 30
    to = business_day(now)
    start = to - timedelta(days=days - 1)
    with cloud.db.read() as conn:
        page = chrome(conn, seller_id)
        stores = sellers.list_stores(conn, seller_id)
        chosen = request.query_params.get("store", "")
        store_id = chosen if chosen in {s.store_id for s in stores} else None
        summary = dashboard.summary(conn, seller_id, start, to, store_id=store_id)
    shown = [(s.store_id, s.name) for s in stores if store_id in (None, s.store_id)]
    names = dict(shown)
    revenue = {(d.store_id, d.day): d.revenue for d in summary.sales_by_day}
    day_list = [start + timedelta(days=i) for i in range(days)]
    selling = [(sid, name) for sid, name in shown if any(k[0] == sid for k in revenue)]
    daily = charts.daily_columns(
        day_list, selling or shown, revenue, tr.compact, lambda d: f"{d.month}/{d.day}", exact=tr.money
    )
    per_store = {sid: 0 for sid, _ in shown}
    for d in summary.sales_by_day:
        per_store[d.store_id] = per_store.get(d.store_id, 0) + d.revenue
    store_chart = charts.horizontal_bars(
        [
            (names.get(sid, sid), [amount], tr.money(amount))
            for sid, amount in sorted(per_store.items(), key=lambda kv: -kv[1])
        ],
        [tr("dash.revenue")],
        tr.money,
    )
    visits: dict[str, list[int]] = {}
    for c in summary.conversion:
        row = visits.setdefault(c.store_id, [0, 0])
        row[0] += c.visitors
        row[1] += c.orders
    conversion_rows = [
        (names.get(sid, sid), [v, o], tr.percent(o / v) if v else "–")
        for sid, (v, o) in sorted(visits.items())
    ]
    conversion_chart = charts.horizontal_bars(
        conversion_rows, [tr("dash.visitors"), tr("dash.orders")], tr.number
    )
    top_revenue = max((p.revenue for p in summary.top_products), default=0)
    return render(
        request,
        "dashboard.html",
        page=page,
        summary=summary,
        stores=stores,
        store_id=store_id or "",
        days=days,
        ranges=DASHBOARD_RANGES,
        daily=daily,
        store_chart=store_chart,
        conversion_chart=conversion_chart,
        conversion_rows=conversion_rows,
        top_share={
            p.product_id: (100 * p.revenue / top_revenue if top_revenue else 0) for p in summary.top_products
        },
        average=summary.revenue // summary.orders if summary.orders else 0,
    )
