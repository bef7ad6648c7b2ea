"""Set-based writes: many rows in one statement, for the uplink ingest (``cloud.uplink_sets``).

``insert_rows`` sends ``INSERT ... SELECT ... FROM unnest(%s::type[], ...)``: one array parameter per column,
so a batch of 500 orders is one statement per table whatever its size, and the statement's text depends only
on the table, the columns and the conflict clause, so psycopg prepares it once per connection and reuses the
plan. It goes through ``Connection.exec_driver_sql``: the same connection and transaction as the rest of the
ingest, SQLAlchemy's statement events still see it (the tests count statements that way), and none of the
Core compilation that costs about ten times the statement's own time on a small write.

The values are passed as the driver takes them, so the caller gives what SQLAlchemy's column types would
have made: enum values, aware datetimes, JSON as Python data (encoded here with ``json.dumps``, as the
engine's JSON type does).
"""

import json
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import JSON, Column, Connection, String, Table
from sqlalchemy.dialects import postgresql

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]


def _is_json(column: Column[Any]) -> bool:
    return isinstance(column.type, JSON)


def _sql_type(column: Column[Any]) -> str:
    # JSON travels as text and is cast in the select list: an array of json has no input the driver knows.
    # Strings travel as text too, never as varchar(n): an explicit cast to varchar(n) cuts a longer value
    # short without a word, where the insert's own assignment refuses it, as Core's insert would.
    if _is_json(column) or isinstance(column.type, String):
        return "text"
    return str(column.type.compile(dialect=_DIALECT))


@cache
def _statement(
    table: Table, columns: tuple[str, ...], conflict: str, returning: str | None, order_by: tuple[str, ...]
) -> str:
    cols = [table.c[name] for name in columns]
    # %b: the arrays go in binary, which psycopg writes some hundred times faster than array literals, whose
    # every quote and backslash (JSON is full of both) must be escaped.
    arrays = ", ".join(f"%b::{_sql_type(c)}[]" for c in cols)
    select_list = ", ".join(f"u.{c.name}::json" if _is_json(c) else f"u.{c.name}" for c in cols)
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {select_list} "
        f"FROM unnest({arrays}) AS u({', '.join(columns)})"
    )
    if order_by:
        # Rows go in (and take their locks) in this order: two writers of the same rows never deadlock.
        sql += f" ORDER BY {', '.join(f'u.{name}' for name in order_by)}"
    if conflict:
        sql += f" {conflict}"
    if returning:
        sql += f" RETURNING {returning}"
    return sql


def insert_rows(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict: str = "",
    returning: str | None = None,
    order_by: Sequence[str] = (),
) -> list[Any]:
    """Insert ``rows`` (dicts with the same keys, column names) in one statement; the ``returning`` column's
    values of the rows written (an empty list without ``returning``). ``conflict`` is an ``ON CONFLICT``
    clause as SQL; ``order_by`` the columns that fix the order rows are written in."""
    if not rows:
        return []
    columns = tuple(rows[0])
    json_columns = {name for name in columns if _is_json(table.c[name])}
    params = tuple(
        [_json_text(row[name]) for row in rows] if name in json_columns else [row[name] for row in rows]
        for name in columns
    )
    result = conn.exec_driver_sql(_statement(table, columns, conflict, returning, tuple(order_by)), params)
    return [row[0] for row in result] if returning else []


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def upsert_sums(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    add: Sequence[str],
) -> None:
    """Insert rows keyed by ``table``'s primary key, or add their ``add`` columns to the rows held; written
    in key order (``insert_rows``' ``order_by``), so writers of overlapping keys lock them in the same
    order. Keys must be unique among ``rows`` (a statement cannot update one row twice): sum them first."""
    key = tuple(c.name for c in table.primary_key.columns)
    sets = ", ".join(f"{name} = {table.name}.{name} + EXCLUDED.{name}" for name in add)
    insert_rows(
        conn,
        table,
        rows,
        conflict=f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sets}",
        order_by=key,
    )
