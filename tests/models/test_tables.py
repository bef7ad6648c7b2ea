"""The shared table declarations against a real (in-memory) SQLite: UTC datetimes and CHECK constraints."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from models import tables
from models.tables import UTCDateTime, metadata

TAIPEI = timezone(timedelta(hours=8))
NOW = datetime(2025, 6, 1, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def engine():
    eng = create_engine("sqlite://")
    metadata.create_all(eng)
    yield eng
    eng.dispose()


def _order(order_id="o1", created_at=NOW, **overrides):
    return {
        "order_id": order_id,
        "store_id": "s1",
        "channel": "inStore",
        "status": "completed",
        "subtotal": 100,
        "discount_total": 0,
        "total": 100,
        "created_at": created_at,
        "updated_at": created_at,
        **overrides,
    }


def _delta(delta_id="d1", quantity=-1, created_at=NOW):
    return {
        "delta_id": delta_id,
        "store_id": "s1",
        "variant_id": "v1",
        "quantity": quantity,
        "reason": "sale",
        "created_at": created_at,
    }


def test_create_all_makes_every_table(engine):
    with engine.connect() as conn:
        names = {row[0] for row in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))}
    assert names == set(metadata.tables)
    assert {
        "categories",
        "brands",
        "products",
        "variants",
        "discounts",
        "coupons",
        "orders",
        "order_items",
        "payments",
        "stock_deltas",
        "footfall_events",
    } <= names


def test_aware_utc_datetime_round_trip(engine):
    with engine.begin() as conn:
        conn.execute(insert(tables.orders).values(_order()))
    with engine.connect() as conn:
        created = conn.execute(select(tables.orders.c.created_at)).scalar_one()
    assert created == NOW
    assert created.tzinfo is UTC
    assert created.utcoffset() == timedelta(0)
    assert created.microsecond == 123456


def test_other_time_zones_are_stored_as_utc(engine):
    taipei_time = datetime(2025, 6, 1, 20, 0, tzinfo=TAIPEI)
    with engine.begin() as conn:
        conn.execute(insert(tables.orders).values(_order(created_at=taipei_time)))
    with engine.connect() as conn:
        created = conn.execute(select(tables.orders.c.created_at)).scalar_one()
        raw = conn.execute(text("SELECT created_at FROM orders")).scalar_one()
    assert created == taipei_time  # the same instant
    assert created.tzinfo is UTC
    assert created.hour == 12
    assert raw.startswith("2025-06-01 12:00:00")  # SQLite holds the UTC wall clock


def test_stored_utc_strings_sort_in_time_order(engine):
    times = [NOW + timedelta(hours=h) for h in (3, -5, 0, 1)]
    with engine.begin() as conn:
        for n, moment in enumerate(times):
            conn.execute(insert(tables.orders).values(_order(f"o{n}", created_at=moment.astimezone(TAIPEI))))
    with engine.connect() as conn:
        ordered = conn.execute(
            select(tables.orders.c.created_at).order_by(tables.orders.c.created_at)
        ).scalars()
        assert list(ordered) == sorted(times)


def test_where_clause_compares_instants(engine):
    with engine.begin() as conn:
        conn.execute(insert(tables.orders).values(_order("early", created_at=NOW - timedelta(hours=1))))
        conn.execute(insert(tables.orders).values(_order("late", created_at=NOW + timedelta(hours=1))))
    with engine.connect() as conn:
        later = conn.execute(
            select(tables.orders.c.order_id).where(tables.orders.c.created_at > NOW.astimezone(TAIPEI))
        ).scalars()
        assert list(later) == ["late"]


def test_nullable_datetime_stays_none(engine):
    with engine.begin() as conn:
        conn.execute(insert(tables.discounts).values(discount_id="d", name="x", percent=10))
    with engine.connect() as conn:
        row = conn.execute(select(tables.discounts.c.starts_at, tables.discounts.c.ends_at)).one()
    assert tuple(row) == (None, None)


def test_naive_datetime_is_refused_on_insert(engine):
    naive = datetime(2025, 6, 1, 12, 0)  # naive on purpose
    with engine.begin() as conn, pytest.raises(StatementError) as excinfo:
        conn.execute(insert(tables.orders).values(_order(created_at=naive)))
    assert isinstance(excinfo.value.orig, ValueError)
    assert "naive datetimes are not stored" in str(excinfo.value)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM orders")).scalar_one() == 0


def test_naive_datetime_is_refused_in_a_where_clause(engine):
    naive = datetime(2025, 6, 1, 12, 0)  # naive on purpose
    with engine.connect() as conn, pytest.raises(StatementError):
        conn.execute(select(tables.orders).where(tables.orders.c.created_at > naive)).all()


def test_type_decorator_directly():
    sqlite = create_engine("sqlite://")
    try:
        dialect = sqlite.dialect
        utc = UTCDateTime()
        assert utc.process_bind_param(None, dialect) is None
        assert utc.process_result_value(None, dialect) is None
        stored = utc.process_bind_param(datetime(2025, 6, 1, 20, tzinfo=TAIPEI), dialect)
        assert stored == datetime(2025, 6, 1, 12)  # SQLite gets the naive UTC wall clock
        assert stored.tzinfo is None
        read = utc.process_result_value(datetime(2025, 6, 1, 12), dialect)
        assert read == datetime(2025, 6, 1, 12, tzinfo=UTC)
        # An aware value from a backend that keeps zones is converted to UTC.
        assert utc.process_result_value(datetime(2025, 6, 1, 20, tzinfo=TAIPEI), dialect).tzinfo is UTC
        with pytest.raises(ValueError, match="naive"):
            utc.process_bind_param(datetime(2025, 6, 1), dialect)
    finally:
        sqlite.dispose()


def _insert_product(conn):
    conn.execute(insert(tables.products).values(product_id="p1", name="Chips"))


def test_variant_price_must_not_be_negative(engine):
    with engine.begin() as conn:
        _insert_product(conn)
        conn.execute(insert(tables.variants).values(variant_id="free", product_id="p1", name="free", price=0))
    with (
        engine.begin() as conn,
        pytest.raises(IntegrityError, match="CHECK constraint failed: price_not_negative"),
    ):
        conn.execute(insert(tables.variants).values(variant_id="neg", product_id="p1", name="neg", price=-1))


def test_stock_delta_must_not_be_zero(engine):
    with engine.begin() as conn:
        conn.execute(insert(tables.stock_deltas).values(_delta("plus", 5)))
        conn.execute(insert(tables.stock_deltas).values(_delta("minus", -5)))
    with (
        engine.begin() as conn,
        pytest.raises(IntegrityError, match="CHECK constraint failed: delta_not_zero"),
    ):
        conn.execute(insert(tables.stock_deltas).values(_delta("zero", 0)))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT sum(quantity) FROM stock_deltas")).scalar_one() == 0


@pytest.mark.parametrize("percent", [-1, 101])
def test_discount_percent_range(engine, percent):
    with engine.begin() as conn, pytest.raises(IntegrityError):
        conn.execute(insert(tables.discounts).values(discount_id="d", name="x", percent=percent))


@pytest.mark.parametrize("percent", [0, 100])
def test_discount_percent_bounds_are_allowed(engine, percent):
    with engine.begin() as conn:
        conn.execute(insert(tables.discounts).values(discount_id="d", name="x", percent=percent))


def test_order_total_must_not_be_negative(engine):
    with engine.begin() as conn, pytest.raises(IntegrityError):
        conn.execute(insert(tables.orders).values(_order(total=-1)))


def test_order_item_quantity_must_be_positive(engine):
    with engine.begin() as conn:
        conn.execute(insert(tables.orders).values(_order()))
    item = {
        "item_id": "i1",
        "order_id": "o1",
        "product_id": "p1",
        "variant_id": "v1",
        "name": "n",
        "variant_name": "vn",
        "unit_price": 1,
        "unit_discount": 0,
        "unit_final_price": 1,
        "line_total": 0,
    }
    with engine.begin() as conn, pytest.raises(IntegrityError):
        conn.execute(insert(tables.order_items).values(**item, quantity=0))


def test_column_defaults(engine):
    with engine.begin() as conn:
        _insert_product(conn)
        conn.execute(insert(tables.variants).values(variant_id="v1", product_id="p1", name="v", price=10))
        conn.execute(insert(tables.orders).values(_order()))
    with engine.connect() as conn:
        product = conn.execute(select(tables.products)).mappings().one()
        variant = conn.execute(select(tables.variants)).mappings().one()
        order = conn.execute(select(tables.orders)).mappings().one()
    assert (product["name_en"], product["description"], product["listed"]) == ("", "", True)
    assert (variant["is_default"], variant["listed"]) == (False, True)
    assert (order["currency"], order["coupon_discount"]) == ("TWD", 0)


def test_datetime_columns_all_use_utc_datetime():
    for table in metadata.tables.values():
        for column in table.columns:
            if column.name.endswith("_at"):
                assert isinstance(column.type, UTCDateTime), f"{table.name}.{column.name}"
