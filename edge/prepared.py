"""Hot-path statements compiled once and run straight on the SQLite driver connection.

A checkout runs a few dozen statements inside the write lock. Through ``Connection.execute`` each one costs
SQLAlchemy about 0.1-0.3 ms of CPU (building the expression, its cache key, the execution context, the
result object) against some 0.02 ms for SQLite itself, and in one Python process that CPU is the node's
throughput ceiling (docs/performance.md). A ``Prepared`` statement is written as a normal Core statement at
import time and compiled once for SQLite; each run only converts the parameters and the result columns
with the very bind and result processors SQLAlchemy would use (aware UTC datetimes, JSON, booleans), so
what is stored and read back is the same as through ``Connection.execute``.

The statement runs on the DBAPI connection under the caller's ``Connection``, so it is inside that
connection's transaction (``Database.write()``/``read()`` have begun it). Statements whose SQL depends on
the arguments (``IN`` lists) are not for this: keep them on ``Connection.execute``.
"""

import sqlite3
from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import sqlite
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

_DIALECT = sqlite.dialect()  # pysqlite: the "qmark" paramstyle, the node's driver
_MISSING = object()

Processor = Callable[[Any], Any] | None


def driver_connection(conn: Connection) -> sqlite3.Connection:
    """The sqlite3 connection under ``conn`` (in the transaction ``conn`` began)."""
    raw = conn.connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    return raw


class Prepared:
    """One Core statement, compiled once; ``params`` are given by bind parameter name (a column's name for
    ``values()``, the ``bindparam()`` name elsewhere); a bind parameter with a value in the statement (a
    literal in ``where``) keeps it unless given."""

    def __init__(self, statement: ClauseElement) -> None:
        compiled = statement.compile(dialect=_DIALECT)
        assert isinstance(compiled, SQLCompiler)
        if compiled.insert_prefetch or compiled.update_prefetch:
            # A column default computed in Python would be left out here: name every column instead.
            names = [c.name for c in (*compiled.insert_prefetch, *compiled.update_prefetch)]
            raise ValueError(f"give these columns a value in the statement: {names}")
        self.sql = str(compiled)
        names_in_order = compiled.positiontup or []
        by_name = {name: bind for bind, name in compiled.bind_names.items()}
        self._binds: list[tuple[str, Processor, Any]] = []
        for name in names_in_order:
            bind = by_name[name]
            fixed = bind.effective_value if bind.value is not None or bind.callable is not None else _MISSING
            self._binds.append((name, bind.type._cached_bind_processor(_DIALECT), fixed))
        columns = compiled._result_columns
        self._results: list[Processor] = [
            column.type._cached_result_processor(_DIALECT, None) for column in columns
        ]
        self._convert = any(p is not None for p in self._results)
        # A named tuple per statement: ``row.column`` as on SQLAlchemy's rows, at a tuple's cost.
        self.row: Any = namedtuple("Row", [c.keyname for c in columns], rename=True) if columns else None

    def _params(self, params: Mapping[str, Any]) -> list[Any]:
        out = []
        for name, process, fixed in self._binds:
            value = params.get(name, fixed)
            if value is _MISSING:
                raise KeyError(f"no value for {name!r} in {self.sql!r}")
            out.append(process(value) if process is not None else value)
        return out

    def run(self, conn: Connection, params: Mapping[str, Any] | None = None) -> int:
        """Run a write; returns the rows it changed."""
        return driver_connection(conn).execute(self.sql, self._params(params or {})).rowcount

    def run_many(self, conn: Connection, rows: Iterable[Mapping[str, Any]]) -> int:
        """Run a write once per parameter set (one ``executemany``); returns the rows changed in all."""
        return driver_connection(conn).executemany(self.sql, [self._params(r) for r in rows]).rowcount

    def rows(self, conn: Connection, params: Mapping[str, Any] | None = None) -> list[Any]:
        """The rows of a query, as named tuples (``row.column`` like SQLAlchemy's rows)."""
        assert self.row is not None, "not a query"
        raw = driver_connection(conn).execute(self.sql, self._params(params or {})).fetchall()
        make = self.row._make
        if not self._convert:
            return [make(r) for r in raw]
        processors = self._results
        return [make(p(v) if p is not None else v for p, v in zip(processors, r, strict=True)) for r in raw]

    def first(self, conn: Connection, params: Mapping[str, Any] | None = None) -> Any | None:
        found = self.rows(conn, params)
        return found[0] if found else None

    def scalar(self, conn: Connection, params: Mapping[str, Any] | None = None) -> Any | None:
        """The first column of the first row, or None without a row."""
        row = self.first(conn, params)
        return row[0] if row is not None else None
