"""edge.prepared: a statement compiled once and run on the driver stores and reads back exactly what
SQLAlchemy's ``Connection.execute`` does (aware UTC datetimes, JSON, booleans, values fixed in the
statement), inside the caller's transaction."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import bindparam, insert, select

from edge.db import Database
from edge.prepared import Prepared
from edge.tables import carts, orders, variants

_INSERT_CART = Prepared(
    insert(carts).values(
        cart_id=bindparam("cart_id"), status="open", created_at=bindparam("at"), updated_at=bindparam("at")
    )
)
_CART = Prepared(select(carts).where(carts.c.cart_id == bindparam("cart_id")))
_ORDER = Prepared(select(orders.c.einvoice, orders.c.created_at).where(orders.c.order_id == bindparam("id")))
_INSERT_ORDER = Prepared(insert(orders).values({c.name: bindparam(c.name) for c in orders.c}))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "edge.sqlite3")
    database.migrate()
    yield database
    database.dispose()


def test_rows_written_and_read_as_through_sqlalchemy(db: Database) -> None:
    taipei = timezone(timedelta(hours=8))
    at = datetime(2026, 12, 5, 15, 30, 1, 123456, tzinfo=taipei)
    with db.write() as conn:
        _INSERT_CART.run(conn, {"cart_id": "01CART", "at": at})
        core = conn.execute(select(carts).where(carts.c.cart_id == "01CART")).one()
        mine = _CART.first(conn, {"cart_id": "01CART"})
    assert tuple(mine) == tuple(core)
    assert mine.status == "open"  # the value fixed in the statement
    assert mine.created_at == at
    assert mine.created_at.tzinfo == UTC
    assert mine._fields == tuple(core._fields)


def test_json_and_a_missing_row(db: Database) -> None:
    at = datetime(2026, 12, 5, 7, 0, tzinfo=UTC)
    row = {
        "order_id": "01ORDER",
        "store_id": "s1",
        "device_id": "d1",
        "channel": "inStore",
        "status": "completed",
        "currency": "TWD",
        "subtotal": 100,
        "discount_total": 0,
        "coupon_code": None,
        "coupon_discount": 0,
        "total": 100,
        "catalog_version": 1,
        "einvoice": {"kind": "carrier", "value": "/ABC1234"},
        "created_at": at,
        "updated_at": at,
    }
    with db.write() as conn:
        assert _INSERT_ORDER.run(conn, row) == 1
        core = conn.execute(select(orders.c.einvoice, orders.c.created_at)).one()
        mine = _ORDER.first(conn, {"id": "01ORDER"})
        assert _ORDER.first(conn, {"id": "nothing"}) is None
        assert _ORDER.scalar(conn, {"id": "nothing"}) is None
    assert tuple(mine) == tuple(core) == ({"kind": "carrier", "value": "/ABC1234"}, at)


def test_a_rollback_takes_prepared_writes_with_it(db: Database) -> None:
    def fail() -> None:
        with db.write() as conn:
            _INSERT_CART.run(conn, {"cart_id": "01GONE", "at": datetime.now(UTC)})
            raise RuntimeError("the checkout failed")

    with pytest.raises(RuntimeError):
        fail()
    with db.read() as conn:
        assert _CART.first(conn, {"cart_id": "01GONE"}) is None


def test_a_missing_parameter_and_a_python_side_default_are_refused() -> None:
    with pytest.raises(ValueError, match="give these columns a value"):
        Prepared(insert(variants).values(variant_id=bindparam("v")))  # listed, is_default... have defaults
    with pytest.raises(KeyError):
        _CART._params({})
