"""Sellers (registration, profile) and their stores. Every query is scoped to the calling seller."""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from cloud.auth import hash_password, lock_login_name, login_name_taken
from cloud.tables import catalog_versions, sellers, stores
from models.cloud_api import SellerCreate, SellerPublic, SellerUpdate, StoreCreate, StorePublic, StoreUpdate
from models.errors import Conflict, NotFound
from models.ids import new_id


def register(conn: Connection, body: SellerCreate, now: datetime) -> SellerPublic:
    lock_login_name(conn, body.account)  # a team member's email is a login too (cloud.team)
    if login_name_taken(conn, body.account):
        raise Conflict(f"the account {body.account} is taken", code="accountTaken", field="account")
    seller_id = new_id()
    try:
        with conn.begin_nested():
            conn.execute(
                insert(sellers).values(
                    seller_id=seller_id,
                    account=body.account,
                    password_hash=hash_password(body.password),
                    name=body.name,
                    phone=body.phone,
                    address=body.address,
                    status="active",
                    created_at=now,
                )
            )
    except IntegrityError:  # registered by a concurrent request between the check and the insert
        raise Conflict(f"the account {body.account} is taken", code="accountTaken", field="account") from None
    conn.execute(insert(catalog_versions).values(seller_id=seller_id, version=0))
    return get_seller(conn, seller_id)


def get_seller(conn: Connection, seller_id: str) -> SellerPublic:
    row = conn.execute(select(sellers).where(sellers.c.seller_id == seller_id)).first()
    if row is None:
        raise NotFound("seller not found", code="sellerNotFound")
    return SellerPublic(
        seller_id=row.seller_id,
        account=row.account,
        name=row.name,
        phone=row.phone,
        address=row.address,
        status=row.status,
        created_at=row.created_at,
    )


def update_seller(conn: Connection, seller_id: str, body: SellerUpdate) -> SellerPublic:
    changes = body.model_dump(exclude_unset=True, by_alias=False)
    if changes:
        conn.execute(update(sellers).where(sellers.c.seller_id == seller_id).values(**changes))
    return get_seller(conn, seller_id)


def _store(row: Any) -> StorePublic:
    return StorePublic(
        store_id=row.store_id,
        name=row.name,
        address=row.address,
        shop_type=row.shop_type,
        opening_hours=row.opening_hours,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def create_store(conn: Connection, seller_id: str, body: StoreCreate, now: datetime) -> StorePublic:
    store_id = new_id()
    conn.execute(
        insert(stores).values(
            store_id=store_id,
            seller_id=seller_id,
            name=body.name,
            address=body.address,
            shop_type=body.shop_type.value,
            opening_hours=body.opening_hours,
            created_at=now,
            updated_at=now,
        )
    )
    return get_store(conn, seller_id, store_id)


def get_store(conn: Connection, seller_id: str, store_id: str) -> StorePublic:
    """The seller's store; another seller's store is 'not found', never 'forbidden'."""
    row = conn.execute(
        select(stores).where(stores.c.store_id == store_id, stores.c.seller_id == seller_id)
    ).first()
    if row is None:
        raise NotFound(f"store {store_id} not found", code="storeNotFound")
    return _store(row)


def list_stores(conn: Connection, seller_id: str) -> list[StorePublic]:
    rows = conn.execute(
        select(stores).where(stores.c.seller_id == seller_id).order_by(stores.c.created_at, stores.c.store_id)
    ).all()
    return [_store(r) for r in rows]


def update_store(
    conn: Connection, seller_id: str, store_id: str, body: StoreUpdate, now: datetime
) -> StorePublic:
    get_store(conn, seller_id, store_id)
    changes = body.model_dump(exclude_unset=True, by_alias=False)
    if "shop_type" in changes:
        changes["shop_type"] = changes["shop_type"].value
    conn.execute(
        update(stores)
        .where(stores.c.store_id == store_id, stores.c.seller_id == seller_id)
        .values(**changes, updated_at=now)
    )
    return get_store(conn, seller_id, store_id)
