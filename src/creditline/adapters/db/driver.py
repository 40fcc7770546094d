"""The hot path's statements, run on the database driver's own cursor, writes batched.

SQLAlchemy Core costs about 90 µs of Python per statement on a 2-core machine — as much
as a PostgreSQL round trip — so the statements every payment runs bypass it: their SQL
is written once per dialect (column lists come from the table metadata in schema.py)
and executed on the DBAPI connection of the unit of work's SQLAlchemy connection, inside
the same transaction. SQLAlchemy still owns pooling, transactions, migrations and the
rarer, more complex queries.

Writes are deferred: `defer` queues a statement and `flush` sends the queue — on
PostgreSQL as one pipelined round trip (psycopg pipeline mode), on SQLite one after
another in-process. Every immediate statement (`one`, `all`) flushes first, and commit
flushes last, so a unit of work behaves exactly as if each write ran when it was
issued; only its errors surface later. A uniqueness violation is translated into
`WriteConflict`, which the command bus understands; anything else propagates.

Timestamps: PostgreSQL takes and returns aware datetimes. SQLite stores UTC text in
SQLAlchemy's format ("2026-11-22 02:00:00.000000"), so both paths read and compare the
same values; the driver converts in both directions itself (Python 3.12 deprecates the
sqlite3 module's own datetime adapters).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table

from creditline.adapters.db.schema import UtcDateTime
from creditline.service.ports import ConflictKind, StoreUnavailable, WriteConflict

CONFLICTS: Mapping[str, ConflictKind] = {
    "uq_hold_pending_order": ConflictKind.ORDER_HAS_PENDING_HOLD,
    "pk_idempotency_record": ConflictKind.IDEMPOTENCY_KEY_TAKEN,
}
"""Unique constraints whose violation is an expected outcome, by constraint name."""

_SQLITE_CONFLICTS: Mapping[str, ConflictKind] = {
    "hold.account_id, hold.order_id": ConflictKind.ORDER_HAS_PENDING_HOLD,
    "idempotency_record.scope, idempotency_record.key": ConflictKind.IDEMPOTENCY_KEY_TAKEN,
}
SQLITE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


class Sql:
    """One statement's text for both dialects, written with {p} for each parameter."""

    def __init__(self, template: str, *, postgres_only: str = "") -> None:
        self.postgresql = template.replace("{p}", "%s").replace("{pg}", postgres_only)
        self.sqlite = template.replace("{p}", "?").replace("{pg}", "")

    def text(self, dialect: str) -> str:
        return self.postgresql if dialect == "postgresql" else self.sqlite


def columns(table: Table) -> str:
    return ", ".join(column.name for column in table.columns)


def placeholders(table: Table) -> str:
    return ", ".join("{p}" for _ in table.columns)


@dataclass(frozen=True, slots=True)
class _Write:
    sql: str
    params: Sequence[Any] | Sequence[Sequence[Any]]
    many: bool
    rows: int | None
    """How many rows the statement must change (None: do not check)."""


class Driver:
    def __init__(self, connection: Connection) -> None:
        self.dialect = connection.dialect.name
        self._raw: Any = connection.connection.driver_connection
        self._operational: type[Exception] = connection.dialect.loaded_dbapi.OperationalError
        self._pending: list[_Write] = []
        self._read_cursor: Any = None

    # -- values --------------------------------------------------------------------------

    def to_db(self, value: datetime | None) -> Any:
        if value is None or self.dialect == "postgresql":
            return value
        return value.astimezone(UTC).strftime(SQLITE_TIME_FORMAT)

    def from_db(self, value: Any) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value
        return datetime.fromisoformat(value).replace(tzinfo=UTC)

    def encode(self, table: Table, row: Mapping[str, Any]) -> tuple[Any, ...]:
        """A row dict in the table's column order, timestamps converted for the driver."""
        return tuple(
            self.to_db(row[name]) if stamp else row[name] for name, stamp in _layout(table)
        )

    def decode(self, table: Table, row: Sequence[Any]) -> dict[str, Any]:
        return {
            name: self.from_db(value) if stamp else value
            for (name, stamp), value in zip(_layout(table), row, strict=True)
        }

    # -- statements ----------------------------------------------------------------------

    def one(self, sql: Sql, params: Sequence[Any]) -> tuple[Any, ...] | None:
        rows = self.all(sql, params)
        return rows[0] if rows else None

    def all(self, sql: Sql | str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        self.flush()
        text = sql if isinstance(sql, str) else sql.text(self.dialect)
        cursor = self._cursor()
        try:
            # Reads are not pipelined: psycopg's pipeline mode costs more CPU than the
            # BEGIN round trip it would save (measured: 171 vs 102 µs per read).
            cursor.execute(text, params)
            rows: list[tuple[Any, ...]] = cursor.fetchall()
            return rows
        except self._operational as error:
            raise StoreUnavailable(str(error)) from error

    def _cursor(self) -> Any:
        if self._read_cursor is None:
            self._read_cursor = self._raw.cursor()
        return self._read_cursor

    def close(self) -> None:
        if self._read_cursor is not None:
            self._read_cursor.close()
            self._read_cursor = None

    def defer(self, sql: Sql, params: Sequence[Any], *, rows: int | None = None) -> None:
        self._pending.append(_Write(sql.text(self.dialect), params, False, rows))

    def defer_many(self, sql: Sql, params: Iterable[Sequence[Any]]) -> None:
        batch = list(params)
        if batch:
            self._pending.append(_Write(sql.text(self.dialect), batch, True, None))

    def in_list(self, count: int) -> str:
        mark = "%s" if self.dialect == "postgresql" else "?"
        return ", ".join(mark for _ in range(count))

    def discard(self) -> None:
        self._pending.clear()

    def flush(self) -> None:
        if not self._pending:
            return
        writes, self._pending = self._pending, []
        try:
            if self.dialect == "postgresql":
                self._flush_pipelined(writes)
            else:
                self._flush_sequential(writes)
        except self._operational as error:
            raise StoreUnavailable(str(error)) from error
        except Exception as error:
            conflict = self._conflict(error)
            if conflict is None:
                raise
            raise WriteConflict(conflict) from error

    def _flush_pipelined(self, writes: list[_Write]) -> None:
        cursors = []
        with self._raw.pipeline():
            for write in writes:
                cursor = self._raw.cursor()
                if write.many:
                    cursor.executemany(write.sql, write.params)
                else:
                    cursor.execute(write.sql, write.params)
                cursors.append(cursor)
        for write, cursor in zip(writes, cursors, strict=True):
            _check_rows(write, cursor.rowcount)
            cursor.close()

    def _flush_sequential(self, writes: list[_Write]) -> None:
        cursor = self._raw.cursor()
        try:
            for write in writes:
                if write.many:
                    cursor.executemany(write.sql, write.params)
                else:
                    cursor.execute(write.sql, write.params)
                    _check_rows(write, cursor.rowcount)
        finally:
            cursor.close()

    def _conflict(self, error: Exception) -> ConflictKind | None:
        if isinstance(error, sqlite3.IntegrityError):
            message = str(error)
            return next(
                (
                    kind
                    for columns_, kind in _SQLITE_CONFLICTS.items()
                    if message.endswith(columns_)
                ),
                None,
            )
        diag = getattr(error, "diag", None)
        constraint = getattr(diag, "constraint_name", None)
        if getattr(error, "sqlstate", None) != "23505" or not isinstance(constraint, str):
            return None
        return CONFLICTS.get(constraint)


@cache
def _layout(table: Table) -> tuple[tuple[str, bool], ...]:
    """Each column's name and whether it holds a timestamp, in table order."""
    return tuple((column.name, isinstance(column.type, UtcDateTime)) for column in table.columns)


def _check_rows(write: _Write, changed: int) -> None:
    if write.rows is not None:
        assert changed == write.rows, f"expected {write.rows} rows, changed {changed}: {write.sql}"
