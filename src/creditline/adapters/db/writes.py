"""Deferred writes, and how a batch of them becomes as few statements as possible.

A unit of work queues its writes (`Write`) and sends them together. On PostgreSQL
consecutive writes are merged into one statement of data-modifying CTEs:

    WITH w0 AS (INSERT INTO hold … RETURNING 1),
         w1 AS (UPDATE credit_account … WHERE id = … AND version = … RETURNING 1),
         w2 AS (INSERT INTO idempotency_record … RETURNING 1)
    SELECT (SELECT count(*) FROM w0), (SELECT count(*) FROM w1), (SELECT count(*) FROM w2)

so a command's writes cost few statements, and the counts still tell whether each write
changed the rows it had to. Sibling CTEs share one snapshot and run in no defined order,
so a write starts a new statement when (a) its table already appears in the current
one, (b) it is a barrier — a write whose triggers must see the writes before it (a
journal entry's header, which checks its postings) — or follows one, or (c) it leads:
the account update, which takes the account's row lock, always runs first and alone, and
is checked before anything else is sent — so a transaction touches an account's holds
only while it holds the account's lock (without this rule concurrent captures of one
hold deadlocked: a pipelined hold update ran behind an account update that had lost its
race and locked nothing).
Foreign keys are checked at the end of each statement, so parents and children may share
one. The statements of one flush travel in one pipelined round trip.

On SQLite (in-process, no data-modifying CTEs, one writer at a time) the writes simply
run one by one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from creditline.service.ports import ConflictKind, WriteConflict

_TARGET = re.compile(r"^\s*(?:INSERT\s+INTO|UPDATE)\s+(\w+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Write:
    sql: str
    """The statement in the dialect's placeholder style, without RETURNING."""
    params: Sequence[Any]
    rows: int | None
    """How many rows the statement must change (None: do not check)."""
    stale: bool = False
    """Changing fewer rows means a concurrent writer won (WriteConflict), not a bug."""
    barrier: bool = False
    """Its triggers must see every earlier write: it gets a statement of its own."""
    leads: bool = False
    """It takes the account's row lock: it runs first, alone, before any other write."""

    @property
    def table(self) -> str:
        match = _TARGET.match(self.sql)
        assert match is not None, self.sql
        return match.group(1)


@dataclass(frozen=True, slots=True)
class Statement:
    sql: str
    params: tuple[Any, ...]
    writes: tuple[Write, ...]
    """The writes it carries, in order; more than one means a CTE returning counts."""


def order(writes: Sequence[Write]) -> list[Write]:
    """Leading writes (the account row) first, everything else after, each in issue order.

    Every writer must lock an account's row before its holds — or two transactions can
    deadlock — and the sub-statements of one merged statement run in no defined order.
    So the account update goes first, in a statement of its own.
    """
    return [w for w in writes if w.leads] + [w for w in writes if not w.leads]


def group(writes: Sequence[Write]) -> list[list[Write]]:
    """Split ordered writes into runs that may share one statement (see the docstring)."""
    groups: list[list[Write]] = []
    tables: set[str] = set()
    for write in writes:
        current = groups[-1] if groups else None
        fits = (
            current is not None
            and not write.barrier
            and not write.leads
            and not current[-1].barrier
            and not current[-1].leads
            and write.table not in tables
        )
        if not fits:
            groups.append([])
            tables = set()
        groups[-1].append(write)
        tables.add(write.table)
    return groups


def merge(writes: Sequence[Write]) -> Statement:
    if len(writes) == 1:
        only = writes[0]
        return Statement(only.sql, tuple(only.params), (only,))
    parts = ", ".join(f"w{i} AS ({w.sql} RETURNING 1)" for i, w in enumerate(writes))
    counts = ", ".join(f"(SELECT count(*) FROM w{i})" for i in range(len(writes)))
    params = tuple(value for write in writes for value in write.params)
    return Statement(f"WITH {parts} SELECT {counts}", params, tuple(writes))


def check(write: Write, changed: int) -> None:
    if write.rows is None or changed == write.rows:
        return
    if write.stale:
        raise WriteConflict(ConflictKind.STALE_READ)
    raise AssertionError(f"expected {write.rows} rows, changed {changed}: {write.sql}")
