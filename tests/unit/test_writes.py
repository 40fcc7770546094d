"""How deferred writes become statements on PostgreSQL (adapters/db/writes.py)."""

from __future__ import annotations

import pytest

from creditline.adapters.db.writes import (
    PARAMS_PER_STATEMENT_MAX,
    SQL_PER_STATEMENT_MAX,
    Statement,
    Target,
    Write,
    check,
    plan,
)
from creditline.service.ports import ConflictKind, WriteConflict


def w(sql: str, *, leads: bool = False, stale: bool = False) -> Write:
    return Write(sql, Target.of(sql), (1,), rows=1, stale=stale, leads=leads)


ACCOUNT = w("UPDATE credit_account SET x = %s", leads=True, stale=True)
HOLD = w("UPDATE hold SET y = %s")
NEW_HOLD = w("INSERT INTO hold VALUES (%s)")
EVENT = w("INSERT INTO hold_event VALUES (%s)")
POSTINGS = w("INSERT INTO posting VALUES (%s)")
HEADER = w("INSERT INTO journal_entry VALUES (%s)")
KEY = w("INSERT INTO idempotency_record VALUES (%s)")


def tables(statements: list[Statement]) -> list[list[str]]:
    return [[write.table for write in statement.writes] for statement in statements]


def test_an_authorization_is_one_guarded_statement_whatever_the_issue_order() -> None:
    statements = plan([NEW_HOLD, ACCOUNT, KEY])
    assert tables(statements) == [["credit_account", "hold", "idempotency_record"]]
    assert statements[0].sql == (
        "WITH w0 AS (UPDATE credit_account SET x = %s RETURNING 1), "
        "w1 AS (INSERT INTO hold VALUES (%s) RETURNING 1), "
        "w2 AS (INSERT INTO idempotency_record VALUES (%s) RETURNING 1) "
        "SELECT creditline_expect_rows((SELECT count(*) FROM w0), 1), "
        "(SELECT count(*) FROM w1), (SELECT count(*) FROM w2)"
    )
    assert statements[0].params == (1, 1, 1)


def test_updates_of_existing_holds_wait_for_the_lead_to_hold_the_lock() -> None:
    statements = plan([ACCOUNT, HOLD, EVENT, POSTINGS, HEADER, KEY])
    assert tables(statements) == [
        ["credit_account"],
        ["hold", "hold_event", "posting", "journal_entry", "idempotency_record"],
    ]
    assert "creditline_expect_rows" in statements[0].sql


def test_a_repayment_is_one_statement() -> None:
    statements = plan([ACCOUNT, POSTINGS, HEADER, KEY])
    assert tables(statements) == [
        ["credit_account", "posting", "journal_entry", "idempotency_record"],
    ]


def test_two_leads_run_in_order_and_each_is_guarded() -> None:
    """Lazy expiry before an authorization: expire holds, then place a new one. The new
    hold's INSERT must follow the old hold's UPDATE (one pending hold per order)."""
    second = w("UPDATE credit_account SET x = %s", leads=True, stale=True)
    statements = plan([ACCOUNT, HOLD, EVENT, second, NEW_HOLD, KEY])
    assert tables(statements) == [
        ["credit_account"],
        ["credit_account"],
        ["hold", "hold_event"],
        ["hold", "idempotency_record"],
    ]
    assert all("creditline_expect_rows" in s.sql for s in statements[:2])


def test_a_table_appears_once_per_statement_and_lone_writes_stay_plain() -> None:
    statements = plan([HOLD, EVENT, HOLD, EVENT, NEW_HOLD])
    assert tables(statements) == [["hold", "hold_event"], ["hold", "hold_event"], ["hold"]]
    assert statements[2].sql == NEW_HOLD.sql
    assert not statements[2].returns_counts


def test_statements_stay_within_what_psycopg_keeps_parsed() -> None:
    """Writes past the parameter limit start the next statement, and driver.py has raised
    psycopg's parse cache (names private to the pinned version) to cover every statement
    the planner can make: past it, psycopg re-parses the text on every execution."""
    from psycopg import _queries  # noqa: PLC0415

    import creditline.adapters.db.driver  # noqa: F401, PLC0415 (raises the caps)

    many = [
        Write(
            f"INSERT INTO t{n} VALUES (%s)",
            Target.of(f"INSERT INTO t{n} VALUES (%s)"),
            (1,) * 40,
            rows=1,
        )
        for n in range(5)
    ]
    statements = plan([ACCOUNT, *many])
    assert tables(statements) == [["credit_account", "t0", "t1", "t2"], ["t3", "t4"]]
    assert [len(s.params) for s in statements] == [121, 80]
    assert _queries.MAX_CACHED_STATEMENT_PARAMS >= PARAMS_PER_STATEMENT_MAX
    assert _queries.MAX_CACHED_STATEMENT_LENGTH >= 2 * SQL_PER_STATEMENT_MAX


def test_row_checks_tell_a_lost_race_from_a_bug() -> None:
    check(ACCOUNT, 1)
    with pytest.raises(WriteConflict) as lost:
        check(ACCOUNT, 0)
    assert lost.value.kind is ConflictKind.STALE_READ
    with pytest.raises(AssertionError):
        check(HOLD, 0)
