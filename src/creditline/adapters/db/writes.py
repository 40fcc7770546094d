"""Deferred writes, and how a batch of them becomes as few safe statements as possible.

A unit of work queues its writes (`Write`) and sends them together (`plan`). On
PostgreSQL writes are merged into statements of data-modifying CTEs whose final SELECT
returns each write's row count:

    WITH w0 AS (UPDATE credit_account … WHERE id = … AND version = … RETURNING 1),
         w1 AS (INSERT INTO hold … RETURNING 1),
         w2 AS (INSERT INTO idempotency_record … RETURNING 1)
    SELECT creditline_expect_rows((SELECT count(*) FROM w0), 1),
           (SELECT count(*) FROM w1), (SELECT count(*) FROM w2)

The rules, all about locks (sibling CTEs run in no defined order, and a pipeline sends
every statement before reading any result):

1. **The account update leads and is guarded.** It is the write that takes the
   account's row lock (optimistic concurrency: the first lock a command takes), so it
   goes first, and `creditline_expect_rows` (migration 0002) makes the database fail the
   statement if it changed no row — a concurrent writer won — which aborts the
   transaction, so nothing queued behind it runs.
2. **Only INSERTs of new rows may share the lead's statement.** If the lead fails, the
   whole statement rolls back; new rows lock nothing that others wait for (their foreign
   key checks take KEY SHARE on the account, which the careful path's FOR NO KEY UPDATE
   does not conflict with). An UPDATE of an existing row (a hold) must run in a later
   statement, only after the lead holds the lock — without this rule two concurrent
   captures of one hold deadlocked.
3. **A table appears once per statement.**
4. **A statement stays small enough for psycopg to cache its parsed form** (128
   parameters, 8,000 characters: see `PARAMS_PER_STATEMENT_MAX`); the next write starts
   the next statement.

Foreign keys are checked at the end of each statement and the journal's seal at commit
(migration 0002), so parents and children, and an entry's postings and header, may share
one. All statements of a flush travel in one pipelined round trip.

On SQLite (in-process, no data-modifying CTEs, one writer at a time) the writes simply
run one by one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import Any

from creditline.service.ports import ConflictKind, WriteConflict

_TARGET = re.compile(r"^\s*(INSERT\s+INTO|UPDATE)\s+(\w+)", re.IGNORECASE)

STALE_SQLSTATE = "CLSTL"
"""Raised by creditline_expect_rows (migration 0002) when a guarded write lost its race."""


@dataclass(frozen=True, slots=True)
class Target:
    """What a write statement changes, parsed once per statement text."""

    table: str
    inserts: bool

    @classmethod
    def of(cls, sql: str) -> Target:
        match = _TARGET.match(sql)
        assert match is not None, sql
        return cls(table=match.group(2), inserts=match.group(1).upper().startswith("INSERT"))


@dataclass(frozen=True, slots=True)
class Write:
    sql: str
    """The statement in the dialect's placeholder style, without RETURNING."""
    target: Target
    params: Sequence[Any]
    rows: int | None
    """How many rows the statement must change (None: do not check)."""
    stale: bool = False
    """Changing fewer rows means a concurrent writer won (WriteConflict), not a bug."""
    conflict: ConflictKind = ConflictKind.STALE_READ
    """The conflict a stale write is (a guarded update of an idempotency answer that
    someone replaced first is IDEMPOTENCY_KEY_TAKEN: their answer is replayed)."""
    leads: bool = False
    """It takes the account's row lock: it runs first, guarded by the database."""

    @property
    def table(self) -> str:
        return self.target.table

    @property
    def inserts(self) -> bool:
        return self.target.inserts


@dataclass(frozen=True, slots=True)
class Statement:
    sql: str
    params: tuple[Any, ...]
    writes: tuple[Write, ...]
    """The writes it carries, in order. A CTE statement returns one count per write."""

    @property
    def returns_counts(self) -> bool:
        return self.sql.startswith("WITH ")


def plan(pending: Sequence[Write]) -> list[Statement]:
    """The statements that carry `pending`, in the order they must run."""
    leads = [write for write in pending if write.leads]
    rest = [write for write in pending if not write.leads]
    statements: list[Statement] = []
    for index, lead in enumerate(leads):
        joining: list[Write] = []
        if index == len(leads) - 1:
            while rest and rest[0].inserts and _fits(rest[0], [lead, *joining]):
                joining.append(rest.pop(0))
        statements.append(_statement([lead, *joining], guarded=True))
    statements.extend(_statement(run, guarded=False) for run in _runs(rest))
    return statements


PARAMS_PER_STATEMENT_MAX = 128
SQL_PER_STATEMENT_MAX = 8_000
"""psycopg caches a statement's parsed form only up to `MAX_CACHED_STATEMENT_PARAMS`
parameters and `MAX_CACHED_STATEMENT_LENGTH` characters (50 and 4,096 by default, against
ORM-generated statements with ever-changing lengths); past that it re-parses the text on
every execution. A payment with its risk decision and observations is one statement of
about 90 parameters with a handful of shapes, so driver.py raises psycopg's caps to these
limits; writes that would go past them start the next statement (same round trip)."""


def _fits(write: Write, run: Sequence[Write]) -> bool:
    if write.table in {other.table for other in run}:
        return False
    if not run:
        return True
    params = len(write.params) + sum(len(other.params) for other in run)
    size = len(write.sql) + sum(len(other.sql) + 40 for other in run)
    return params <= PARAMS_PER_STATEMENT_MAX and size <= SQL_PER_STATEMENT_MAX


def _runs(writes: Sequence[Write]) -> list[list[Write]]:
    runs: list[list[Write]] = []
    for write in writes:
        if runs and _fits(write, runs[-1]):
            runs[-1].append(write)
        else:
            runs.append([write])
    return runs


def _statement(writes: Sequence[Write], *, guarded: bool) -> Statement:
    params = tuple(chain.from_iterable(write.params for write in writes))
    if len(writes) == 1 and not guarded:
        return Statement(writes[0].sql, params, tuple(writes))
    lead_rows = writes[0].rows if guarded else None
    return Statement(_merged_sql(tuple(w.sql for w in writes), lead_rows), params, tuple(writes))


@lru_cache(maxsize=256)
def _merged_sql(texts: tuple[str, ...], lead_rows: int | None) -> str:
    """The CTE text for these statements; a command has a handful of shapes, so cached."""
    parts = ", ".join(f"w{i} AS ({text} RETURNING 1)" for i, text in enumerate(texts))
    counts = [f"(SELECT count(*) FROM w{i})" for i in range(len(texts))]
    if lead_rows is not None:
        counts[0] = f"creditline_expect_rows({counts[0]}, {lead_rows})"
    return f"WITH {parts} SELECT {', '.join(counts)}"


def check(write: Write, changed: int) -> None:
    if write.rows is None or changed == write.rows:
        return
    if write.stale:
        raise WriteConflict(write.conflict)
    raise AssertionError(f"expected {write.rows} rows, changed {changed}: {write.sql}")
