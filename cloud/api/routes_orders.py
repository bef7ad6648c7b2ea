"""Stock at a store, orders with their state machine, and the dashboard figures."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, status

from cloud import dashboard, orders, sellers, stock
from cloud.api.deps import (
    CloudDep,
    CursorQuery,
    DaysDep,
    LimitQuery,
    NowDep,
    OrderIdPath,
    SellerId,
    StoreIdPath,
)
from models.business_days import business_day
from models.cloud_api import (
    DashboardSummary,
    OrderList,
    OrderOut,
    OrderTransitionRequest,
    StockAdjustmentCreate,
    StockAdjustmentPublic,
    StockLevelPublic,
)
from models.ids import ULID_PATTERN
from models.order_states import OrderStatus

router = APIRouter(tags=["stock and orders"])

StoreFilter = Annotated[str | None, Query(alias="storeId", pattern=ULID_PATTERN)]


@router.get("/stores/{storeId}/stock")
def store_stock(store_id: StoreIdPath, cloud: CloudDep, seller_id: SellerId) -> list[StockLevelPublic]:
    """Every variant's level at the store: the sum of its deltas (sales, returns, restocks, counts)."""
    with cloud.db.read() as conn:
        sellers.get_store(conn, seller_id, store_id)
        return stock.list_levels(conn, seller_id, store_id, cloud.settings.low_stock_threshold)


@router.post(
    "/stores/{storeId}/stock/adjustments",
    status_code=status.HTTP_201_CREATED,
)
def adjust_stock(
    store_id: StoreIdPath, body: StockAdjustmentCreate, cloud: CloudDep, now: NowDep, seller_id: SellerId
) -> StockAdjustmentPublic:
    """Restock (units in), count (the level found), write-off (units out) or correction (signed), with a
    reason. Stored as one delta; a count equal to the level writes nothing."""
    with cloud.db.transaction() as conn:
        sellers.get_store(conn, seller_id, store_id)
        return stock.adjust(conn, seller_id, store_id, body, now, cloud.settings.low_stock_threshold)


@router.get("/orders")
def list_orders(
    cloud: CloudDep,
    seller_id: SellerId,
    days: DaysDep,
    store_id: StoreFilter = None,
    order_status: Annotated[OrderStatus | None, Query(alias="status")] = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> OrderList:
    """Newest first with keyset paging; ``totals`` counts every order matching the filter."""
    with cloud.db.read() as conn:
        return orders.list_orders(
            conn,
            seller_id,
            store_id=store_id,
            status=order_status,
            date_from=days.date_from,
            date_to=days.date_to,
            cursor=cursor,
            limit=limit,
        )


@router.get("/orders/{orderId}")
def get_order(order_id: OrderIdPath, cloud: CloudDep, seller_id: SellerId) -> OrderOut:
    with cloud.db.read() as conn:
        return orders.get_order(conn, seller_id, order_id)


@router.post("/orders/{orderId}/transitions")
def transition_order(
    order_id: OrderIdPath, body: OrderTransitionRequest, cloud: CloudDep, now: NowDep, seller_id: SellerId
) -> OrderOut:
    """Move the order to ``toStatus`` if the state machine lets a seller do so (409 illegalTransition
    otherwise). Returns and cancellations write the goods back to stock."""
    with cloud.db.transaction() as conn:
        return orders.transition(
            conn,
            seller_id,
            order_id,
            body.to_status,
            now,
            note=body.note,
            low_threshold=cloud.settings.low_stock_threshold,
        )


@router.get("/dashboard/summary")
def dashboard_summary(
    cloud: CloudDep,
    now: NowDep,
    seller_id: SellerId,
    days: DaysDep,
    store_id: StoreFilter = None,
) -> DashboardSummary:
    """Sales per day and store, top products, footfall vs orders. Default: the last 30 Taiwan days."""
    to = days.date_to or business_day(now)
    start = days.date_from or to - timedelta(days=29)
    if start > to:
        start, to = to, start
    with cloud.db.read() as conn:
        return dashboard.summary(conn, seller_id, start, to, store_id=store_id)
