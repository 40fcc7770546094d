"""How deferred writes are ordered and merged into statements (adapters/db/writes.py)."""

from __future__ import annotations

import pytest

from creditline.adapters.db.writes import Write, check, group, merge, order
from creditline.service.ports import ConflictKind, WriteConflict


def w(sql: str, **flags: bool) -> Write:
    return Write(sql, (1,), rows=1, **flags)


ACCOUNT = w("UPDATE credit_account SET x = %s", leads=True, stale=True)
HOLD = w("UPDATE hold SET y = %s")
EVENT = w("INSERT INTO hold_event VALUES (%s)")
POSTINGS = w("INSERT INTO posting VALUES (%s)")
HEADER = w("INSERT INTO journal_entry VALUES (%s)", barrier=True)
KEY = w("INSERT INTO idempotency_record VALUES (%s)")
NEW_HOLD = w("INSERT INTO hold VALUES (%s)")


def tables(runs: list[list[Write]]) -> list[list[str]]:
    return [[write.table for write in run] for run in runs]


def test_the_account_update_leads_alone_whatever_the_issue_order() -> None:
    runs = group(order([NEW_HOLD, ACCOUNT, KEY]))
    assert tables(runs) == [["credit_account"], ["hold", "idempotency_record"]]


def test_a_capture_is_three_statements_with_the_header_alone() -> None:
    runs = group(order([ACCOUNT, HOLD, EVENT, POSTINGS, HEADER, KEY]))
    assert tables(runs) == [
        ["credit_account"],
        ["hold", "hold_event", "posting"],
        ["journal_entry"],
        ["idempotency_record"],
    ]


def test_a_table_appears_once_per_statement() -> None:
    runs = group(order([HOLD, EVENT, HOLD, EVENT, NEW_HOLD]))
    assert tables(runs) == [["hold", "hold_event"], ["hold", "hold_event"], ["hold"]]


def test_merged_statements_count_each_write() -> None:
    statement = merge([HOLD, EVENT])
    assert statement.sql == (
        "WITH w0 AS (UPDATE hold SET y = %s RETURNING 1), "
        "w1 AS (INSERT INTO hold_event VALUES (%s) RETURNING 1) "
        "SELECT (SELECT count(*) FROM w0), (SELECT count(*) FROM w1)"
    )
    assert statement.params == (1, 1)
    assert merge([HOLD]).sql == HOLD.sql


def test_row_checks_tell_a_lost_race_from_a_bug() -> None:
    check(ACCOUNT, 1)
    with pytest.raises(WriteConflict) as lost:
        check(ACCOUNT, 0)
    assert lost.value.kind is ConflictKind.STALE_READ
    with pytest.raises(AssertionError):
        check(HOLD, 0)
