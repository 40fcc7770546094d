"""The hot path's statements, run on the database driver's own cursor, writes batched.

SQLAlchemy Core costs about 90 µs of Python per statement on a 2-core machine — as much
as a PostgreSQL round trip — so the statements every payment runs bypass it: their SQL
is written once per dialect (column lists come from the table metadata in schema.py)
and executed on the DBAPI connection of the unit of work's SQLAlchemy connection, inside
the same transaction. SQLAlchemy still owns pooling, transactions, migrations and the
rarer, more complex queries.

Writes are deferred: `defer` queues a statement and `flush` sends the queue, merged into
as few statements as is safe (writes.py). Every immediate statement (`one`, `all`)
flushes first, and commit flushes last, so a unit of work behaves exactly as if each
write ran when it was issued; only its errors surface later. A uniqueness violation
becomes `WriteConflict`, a lock or statement timeout `StoreUnavailable`.

Timestamps: PostgreSQL takes and returns aware datetimes. SQLite stores UTC text in
SQLAlchemy's format ("2026-11-22 02:00:00.000000"), so both paths read and compare the
same values; the driver converts in both directions itself (Python 3.12 deprecates the
sqlite3 module's own datetime adapters).
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cache, lru_cache
from itertools import chain
from operator import itemgetter
from typing import Any

from psycopg import _queries
from sqlalchemy import Connection, Table

from creditline.adapters.db import writes
from creditline.adapters.db.schema import UtcDateTime
from creditline.service.ports import ConflictKind, StoreUnavailable, WriteConflict

CONFLICTS: Mapping[str, ConflictKind] = {
    "uq_hold_pending_order": ConflictKind.ORDER_HAS_PENDING_HOLD,
    "pk_idempotency_record": ConflictKind.IDEMPOTENCY_KEY_TAKEN,
    "pk_order_event": ConflictKind.EVENT_SEEN,
    "uq_dead_letter_ref": ConflictKind.EVENT_SEEN,
}
"""Unique constraints whose violation is an expected outcome, by constraint name."""

_SQLITE_CONFLICTS: Mapping[str, ConflictKind] = {
    "hold.account_id, hold.order_id": ConflictKind.ORDER_HAS_PENDING_HOLD,
    "idempotency_record.scope, idempotency_record.key": ConflictKind.IDEMPOTENCY_KEY_TAKEN,
    "order_event.platform_id, order_event.event_id": ConflictKind.EVENT_SEEN,
    "dead_letter.kind, dead_letter.platform_id, dead_letter.ref": ConflictKind.EVENT_SEEN,
}
SQLITE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
UNIQUE_VIOLATION = "23505"
# A guarded write that lost its race aborts the pipeline behind it on purpose; psycopg
# logs that as a warning ("error ignored terminating pipeline"). The error itself is
# raised and handled (WriteConflict), so the log line is noise.
logging.getLogger("psycopg").setLevel(logging.ERROR)

# psycopg keeps the parsed form of statements up to these sizes; ours are bounded by
# writes.py (see PARAMS_PER_STATEMENT_MAX), and tests/unit/test_writes.py checks the
# names still exist in the pinned psycopg.
_queries.MAX_CACHED_STATEMENT_PARAMS = max(
    _queries.MAX_CACHED_STATEMENT_PARAMS, writes.PARAMS_PER_STATEMENT_MAX
)
_queries.MAX_CACHED_STATEMENT_LENGTH = max(
    _queries.MAX_CACHED_STATEMENT_LENGTH, 2 * writes.SQL_PER_STATEMENT_MAX
)

RETRYABLE = frozenset({"40001", "40P01", writes.STALE_SQLSTATE})
"""Serialization failure, deadlock, a guarded write that lost its race: retried by the
bus in careful mode."""


class Sql:
    """One statement's text for both dialects, written with {p} for each parameter."""

    def __init__(self, template: str, *, postgres_only: str = "") -> None:
        self.postgresql = template.replace("{p}", "%s").replace("{pg}", postgres_only)
        self.sqlite = template.replace("{p}", "?").replace("{pg}", "")
        writing = template.lstrip().upper().startswith(("INSERT", "UPDATE"))
        self.target = writes.Target.of(template) if writing else None

    def text(self, dialect: str) -> str:
        return self.postgresql if dialect == "postgresql" else self.sqlite


def columns(table: Table) -> str:
    return ", ".join(column.name for column in table.columns)


def placeholders(table: Table) -> str:
    return ", ".join("{p}" for _ in table.columns)


@cache
def insert_sql(table: Table, count: int = 1) -> Sql:
    """INSERT of `count` rows into every column of `table`."""
    row = f"({placeholders(table)})"
    return Sql(f"INSERT INTO {table.name} ({columns(table)}) VALUES " + ", ".join([row] * count))


class Driver:
    def __init__(self, connection: Connection) -> None:
        self.dialect = connection.dialect.name
        self._raw: Any = connection.connection.driver_connection
        self._operational: type[Exception] = connection.dialect.loaded_dbapi.OperationalError
        self._pending: list[writes.Write] = []
        self._cursor: Any = None
        self._prefetch: list[tuple[str, tuple[Any, ...]]] = []
        self._fetched: dict[tuple[str, tuple[Any, ...]], list[tuple[Any, ...]]] = {}

    # -- values --------------------------------------------------------------------------

    def to_db(self, value: datetime | None) -> Any:
        if value is None or self.dialect == "postgresql":
            return value
        return value.astimezone(UTC).strftime(SQLITE_TIME_FORMAT)

    def from_db(self, value: Any) -> datetime | None:
        """A timestamp as the driver gave it: a datetime, SQLite's UTC text, or ISO text
        with an offset (PostgreSQL's JSON, in a carried read)."""
        if value is None or isinstance(value, datetime):
            return value
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)

    def encode(self, table: Table, row: Mapping[str, Any]) -> tuple[Any, ...]:
        """A row dict in the table's column order, timestamps converted for the driver."""
        if self.dialect == "postgresql":  # psycopg takes datetimes as they are: one C call
            values: tuple[Any, ...] = _values(table)(row)
            return values
        layout = _layout(table)
        return tuple(self.to_db(row[name]) if stamp else row[name] for name, stamp in layout)

    def decode(self, table: Table, row: Sequence[Any]) -> dict[str, Any]:
        return {
            name: self.from_db(value) if stamp else value
            for (name, stamp), value in zip(_layout(table), row, strict=True)
        }

    def in_list(self, count: int) -> str:
        mark = "%s" if self.dialect == "postgresql" else "?"
        return ", ".join(mark for _ in range(count))

    # -- reads ---------------------------------------------------------------------------

    def one(self, sql: Sql, params: Sequence[Any]) -> tuple[Any, ...] | None:
        rows = self.all(sql, params)
        return rows[0] if rows else None

    def prefetch(self, sql: Sql, params: Sequence[Any]) -> None:
        """Carry this read on the next one — on PostgreSQL both are one statement — and
        answer `all(sql, params)` from it. A write in between discards it."""
        if self.dialect == "postgresql":
            self._prefetch.append((sql.text(self.dialect), tuple(params)))

    def all(self, sql: Sql | str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        self.flush()
        text = sql if isinstance(sql, str) else sql.text(self.dialect)
        fetched = self._fetched.pop((text, tuple(params)), None)
        if fetched is not None:
            return fetched
        if self._prefetch:
            return self._all_carrying(text, params)
        cursor = self._reused_cursor()
        try:
            cursor.execute(text, params)
            rows: list[tuple[Any, ...]] = cursor.fetchall()
            return rows
        except self._operational as error:
            raise StoreUnavailable(str(error)) from error

    def _all_carrying(self, text: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """This read with the prefetched one riding on it as a JSON column: one statement,
        one plain round trip (a psycopg pipeline costs more client CPU than it saves)."""
        pending, self._prefetch = self._prefetch, []
        carrying = _carrying(text, pending[0][0]) if len(pending) == 1 else None
        if carrying is None:
            return self.all(text, params)  # nothing carried: the reads go one by one
        ((other, values),) = pending
        cursor = self._reused_cursor()
        try:
            cursor.execute(carrying, (*values, *params))
            rows: list[tuple[Any, ...]] = cursor.fetchall()
        except self._operational as error:
            raise StoreUnavailable(str(error)) from error
        self._fetched[(other, values)] = [tuple(found.values()) for found in rows[0][0]]
        return [row[2:] for row in rows if row[1] is not None]

    def _reused_cursor(self) -> Any:
        if self._cursor is None:
            self._cursor = self._raw.cursor()
        return self._cursor

    def close(self) -> None:
        if self._cursor is not None:
            self._cursor.close()
            self._cursor = None

    # -- writes --------------------------------------------------------------------------

    def defer(
        self,
        sql: Sql,
        params: Sequence[Any],
        *,
        rows: int | None = None,
        stale: bool = False,
        leads: bool = False,
        conflict: ConflictKind = ConflictKind.STALE_READ,
    ) -> None:
        assert sql.target is not None, "only INSERT and UPDATE statements are deferred"
        self._fetched.clear()
        self._pending.append(
            writes.Write(sql.text(self.dialect), sql.target, params, rows, stale, conflict, leads)
        )

    def defer_insert(self, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert rows (one statement for all of them); each must go in."""
        if rows:
            params = list(chain.from_iterable(self.encode(table, row) for row in rows))
            self.defer(insert_sql(table, len(rows)), params, rows=len(rows))

    def discard(self) -> None:
        self._pending.clear()

    def flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        try:
            if self.dialect == "postgresql":
                self._flush_postgres(pending)
            else:
                self._flush_sqlite(pending)
        except (WriteConflict, AssertionError):
            raise
        except Exception as error:
            if getattr(error, "sqlstate", None) in RETRYABLE:
                raise WriteConflict(ConflictKind.STALE_READ) from error
            if isinstance(error, self._operational):
                raise StoreUnavailable(str(error)) from error
            conflict = self._conflict(error)
            if conflict is None:
                raise
            raise WriteConflict(conflict) from error

    def _flush_postgres(self, pending: list[writes.Write]) -> None:
        statements = writes.plan(pending)
        if len(statements) == 1:
            results = [self._execute(statements[0])]
        else:
            with self._raw.pipeline():
                results = [self._execute(statement) for statement in statements]
        for statement, cursor in zip(statements, results, strict=True):
            try:
                if statement.returns_counts:
                    counts = cursor.fetchone()
                    for write, count in zip(statement.writes, counts, strict=True):
                        writes.check(write, count)
                else:
                    writes.check(statement.writes[0], cursor.rowcount)
            finally:
                cursor.close()

    def _execute(self, statement: writes.Statement) -> Any:
        cursor = self._raw.cursor()
        cursor.execute(statement.sql, statement.params)
        return cursor

    def _flush_sqlite(self, pending: list[writes.Write]) -> None:
        cursor = self._reused_cursor()
        for write in pending:
            cursor.execute(write.sql, write.params)
            writes.check(write, cursor.rowcount)

    def _conflict(self, error: Exception) -> ConflictKind | None:
        if isinstance(error, sqlite3.IntegrityError):
            message = str(error)
            return next(
                (kind for cols, kind in _SQLITE_CONFLICTS.items() if message.endswith(cols)), None
            )
        constraint = getattr(getattr(error, "diag", None), "constraint_name", None)
        if getattr(error, "sqlstate", None) != UNIQUE_VIOLATION or not isinstance(constraint, str):
            return None
        return CONFLICTS.get(constraint)


_LOCKING = re.compile(r"\bFOR\s+(NO\s+KEY\s+UPDATE|UPDATE|KEY\s+SHARE|SHARE)\b", re.I)
"""A locking read is not wrapped in another statement (it would lock through a join)."""


@lru_cache(maxsize=64)
def _carrying(read: str, carried: str) -> str | None:
    """`read` with the rows of `carried` as a JSON array in the first column of every row,
    and one row of NULLs after it (second column NULL) when `read` finds nothing; None
    for a locking read. Cached: a unit of work has a handful of shapes."""
    if _LOCKING.search(read):
        return None
    return (
        "SELECT c.carried, o.* FROM (SELECT coalesce(json_agg(s), '[]'::json) AS carried "
        f"FROM ({carried}) AS s) AS c LEFT JOIN LATERAL (SELECT true AS found, r.* "
        f"FROM ({read}) AS r) AS o ON true"
    )


@cache
def _values(table: Table) -> itemgetter[Any]:
    """A row dict's values in the table's column order (every table has two or more)."""
    names = [column.name for column in table.columns]
    assert len(names) > 1, table.name
    return itemgetter(*names)


@cache
def _layout(table: Table) -> tuple[tuple[str, bool], ...]:
    """Each column's name and whether it holds a timestamp, in table order."""
    return tuple((column.name, isinstance(column.type, UtcDateTime)) for column in table.columns)
