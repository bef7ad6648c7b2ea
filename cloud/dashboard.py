"""The seller's dashboard figures, read from the daily rollups (never a scan of every order)."""

from datetime import date, timedelta

from sqlalchemy import Connection, func, select

from cloud.tables import (
    daily_product_sales,
    daily_sales,
    daily_store_product_sales,
    footfall_events,
    products,
    stores,
)
from models.business_days import TAIWAN_ZONE, day_start
from models.cloud_api import Conversion, DashboardSummary, DaySales, TopProduct
from models.footfall import Direction


def summary(
    conn: Connection,
    seller_id: str,
    date_from: date,
    date_to: date,
    *,
    store_id: str | None = None,
    top: int = 10,
) -> DashboardSummary:
    """Sales per day and store, top products, and footfall against orders (conversion), for Taiwan days
    ``date_from``..``date_to`` inclusive."""
    where = [
        daily_sales.c.seller_id == seller_id,
        daily_sales.c.day >= date_from,
        daily_sales.c.day <= date_to,
    ]
    if store_id:
        where.append(daily_sales.c.store_id == store_id)
    # Every order counts on the day it was sold, whatever its status since (gross sales).
    per_day = conn.execute(
        select(
            daily_sales.c.day,
            daily_sales.c.store_id,
            func.sum(daily_sales.c.orders).label("orders"),
            func.sum(daily_sales.c.revenue).label("revenue"),
            func.sum(daily_sales.c["items"]).label("items"),
        )
        .where(*where)
        .group_by(daily_sales.c.day, daily_sales.c.store_id)
        .order_by(daily_sales.c.day, daily_sales.c.store_id)
    )
    days = [
        DaySales(day=r.day, store_id=r.store_id, orders=r.orders, revenue=r.revenue, items=r.items)
        for r in per_day
    ]
    table = daily_store_product_sales if store_id else daily_product_sales
    scope = table.c.store_id == store_id if store_id else table.c.seller_id == seller_id
    tops = conn.execute(
        select(
            table.c.product_id,
            func.max(table.c.name).label("name"),
            func.max(products.c.name_en).label("name_en"),
            func.sum(table.c.quantity).label("quantity"),
            func.sum(table.c.revenue).label("revenue"),
        )
        # The English name is the product's today (sales keep the zh-TW name they were sold under).
        .outerjoin(products, products.c.product_id == table.c.product_id)
        .where(scope, table.c.seller_id == seller_id, table.c.day >= date_from, table.c.day <= date_to)
        .group_by(table.c.product_id)
        .order_by(func.sum(table.c.revenue).desc(), table.c.product_id)
        .limit(top)
    ).all()
    # Visitors: people walking in, per store and Taiwan day, from the door sensors' events.
    local_day = func.date(func.timezone(TAIWAN_ZONE, footfall_events.c.occurred_at))
    visitor_rows = conn.execute(
        select(footfall_events.c.store_id, local_day.label("day"), func.count().label("visitors"))
        .join(stores, stores.c.store_id == footfall_events.c.store_id)
        .where(
            stores.c.seller_id == seller_id,
            footfall_events.c.direction == Direction.IN.value,
            footfall_events.c.occurred_at >= day_start(date_from),
            footfall_events.c.occurred_at < day_start(date_to + timedelta(days=1)),
            *([footfall_events.c.store_id == store_id] if store_id else []),
        )
        .group_by(footfall_events.c.store_id, local_day)
    ).all()
    orders_by = {(d.store_id, d.day): d.orders for d in days}
    conversion = sorted(
        (
            Conversion(
                store_id=r.store_id,
                day=r.day,
                visitors=r.visitors,
                orders=orders_by.get((r.store_id, r.day), 0),
                rate=round(orders_by.get((r.store_id, r.day), 0) / r.visitors, 4) if r.visitors else None,
            )
            for r in visitor_rows
        ),
        key=lambda c: (c.day, c.store_id),
    )
    return DashboardSummary(
        date_from=date_from,
        date_to=date_to,
        orders=sum(d.orders for d in days),
        revenue=sum(d.revenue for d in days),
        items=sum(d.items for d in days),
        sales_by_day=days,
        top_products=[
            TopProduct(
                product_id=r.product_id,
                name=r.name,
                name_en=r.name_en or "",
                quantity=r.quantity,
                revenue=r.revenue,
            )
            for r in tops
        ],
        conversion=conversion,
    )
