"""`verify` recomputes balances from the journal and holds and names every mismatch: all of
them streamed in one snapshot, or one account's; the same findings as the verify of
before; no subquery per row in any plan, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, insert, text, update

from creditline.adapters.db import verification
from creditline.adapters.db.engine import begin_options
from creditline.adapters.db.schema import credit_account, hold, journal_entry, posting
from creditline.bench.verify_baseline import run_baseline
from creditline.domain.errors import AccountNotFound
from creditline.domain.money import Money
from creditline.service import commands
from creditline.service.verify import Problem, VerifyReport, verify
from tests.conftest import START, World


def setup_activity(world: World) -> tuple[str, str]:
    account_id = world.open_account(100_000)
    captured = world.authorize(account_id, 30_000)
    world.runtime.bus.execute(
        world.merchant, commands.Capture(hold_id=captured.id, amount=Money(10_000))
    )
    world.runtime.bus.execute(
        world.platform, commands.Repay(account_id=account_id, amount=Money(4_000))
    )
    return account_id, captured.id


def tamper_account(world: World, account_id: str, *, used: int = 1, locked: int = -2) -> None:
    with world.runtime.engine.begin() as conn:
        conn.execute(
            update(credit_account)
            .where(credit_account.c.id == account_id)
            .values(used=credit_account.c.used + used, locked=credit_account.c.locked + locked)
        )


def tamper_hold(world: World, hold_id: str) -> None:
    with world.runtime.engine.begin() as conn:
        conn.execute(update(hold).where(hold.c.id == hold_id).values(refunded=1))


def found(report: VerifyReport) -> set[tuple[str, str, int | None, int | None]]:
    return {(p.kind, p.object_id, p.expected, p.actual) for p in report.problems}


def test_a_consistent_database_verifies_clean(world: World) -> None:
    setup_activity(world)
    report = verify(world.runtime.uow_factory, batch_rows=1)
    assert report.ok
    assert (report.accounts, report.holds, report.entries) == (1, 1, 2)


def test_tampered_balances_are_reported(world: World) -> None:
    account_id, _ = setup_activity(world)
    tamper_account(world, account_id)
    report = verify(world.runtime.uow_factory)
    assert found(report) == {
        ("used_mismatch", account_id, 6_000, 6_001),
        ("locked_mismatch", account_id, 20_000, 19_998),
    }
    assert report.problems_found == 2


def test_tampered_holds_are_reported(world: World) -> None:
    _, hold_id = setup_activity(world)
    tamper_hold(world, hold_id)
    kinds = {p.kind for p in verify(world.runtime.uow_factory).problems}
    assert kinds == {"hold_refunded_events", "hold_refunded_journal"}


def test_over_limit_without_a_forced_capture_is_reported(world: World) -> None:
    account_id, _ = setup_activity(world)
    with world.runtime.engine.begin() as conn:
        conn.execute(
            update(credit_account).where(credit_account.c.id == account_id).values(credit_limit=1)
        )
    kinds = {p.kind for p in verify(world.runtime.uow_factory).problems}
    assert kinds == {"over_limit_unflagged"}


def test_one_account_is_checked_alone(world: World) -> None:
    mine, my_hold = setup_activity(world)
    theirs, their_hold = setup_activity(world)
    tamper_account(world, mine)
    tamper_hold(world, my_hold)
    uow_factory = world.runtime.uow_factory

    report = verify(uow_factory, account_id=mine, batch_rows=1)
    assert (report.accounts, report.holds, report.entries) == (1, 1, 2)
    assert {p.object_id for p in report.problems} == {mine, my_hold}
    assert report.problems_found == 4

    clean = verify(uow_factory, account_id=theirs)
    assert clean.ok, clean.problems
    assert (clean.accounts, clean.holds, clean.entries) == (1, 1, 2)
    assert {p.object_id for p in verify(uow_factory).problems} == {mine, my_hold}
    assert their_hold != my_hold


def test_an_unknown_account_is_refused(world: World) -> None:
    setup_activity(world)
    with pytest.raises(AccountNotFound):
        verify(world.runtime.uow_factory, account_id="acct_missing")


def test_problems_beyond_the_cap_are_counted_not_kept(world: World) -> None:
    for _ in range(3):
        account_id, _ = setup_activity(world)
        tamper_account(world, account_id)
    report = verify(world.runtime.uow_factory, problems_max=4)
    assert report.problems_found == 6
    assert len(report.problems) == 4
    assert not report.ok


def _plant_broken_journal(world: World, account_id: str) -> None:
    """An entry whose one posting does not balance, and a posting without any entry,
    written past the database's guards (which refuse both)."""
    entry = {"account_id": account_id, "kind": "repayment", "amount": 500, "hold_id": None}
    line = {"account_id": account_id, "ledger_account": "repayment_clearing", "line": 1}
    rows: list[tuple[Any, list[dict[str, Any]]]] = [
        (posting, [{**line, "entry_id": "je_unbalanced", "amount": 500, "counterparty": None}]),
        (journal_entry, [{**entry, "id": "je_unbalanced", "forced": False, "at": START}]),
        (posting, [{**line, "entry_id": "je_orphan", "amount": 1, "counterparty": None}]),
    ]
    engine = world.runtime.engine
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for table, values in rows:
                conn.execute(insert(table), values)
        return
    plain = create_engine(engine.url)  # without the runtime's PRAGMA: foreign keys off
    with plain.begin() as conn:
        conn.execute(text("DROP TRIGGER journal_entry_sealed"))  # from this test's copy
        conn.execute(text("DROP TRIGGER posting_entry_open"))
        for table, values in rows:
            conn.execute(insert(table), values)
    plain.dispose()


def test_unbalanced_entries_and_orphan_postings_are_reported(world: World) -> None:
    mine, _ = setup_activity(world)
    theirs, _ = setup_activity(world)
    _plant_broken_journal(world, mine)
    expected = {("entry_unbalanced", "je_unbalanced"), ("entry_unbalanced", "je_orphan")}
    for account_id in (None, mine):
        report = verify(world.runtime.uow_factory, account_id=account_id, batch_rows=1)
        assert {(p.kind, p.object_id) for p in report.problems} == expected
    assert verify(world.runtime.uow_factory, account_id=theirs).ok


def _baseline(engine: Engine) -> VerifyReport:
    with engine.connect() as conn:
        options = begin_options(engine, write=False, snapshot=True)
        if options:
            conn.execution_options(**options)
        with conn.begin():
            return run_baseline(conn)


def test_the_same_findings_as_the_verify_of_before(world: World) -> None:
    """The streamed passes and the old correlated subqueries agree, problem for problem."""
    for n in range(4):
        account_id, hold_id = setup_activity(world)
        if n % 2:
            tamper_account(world, account_id, used=n, locked=-n)
        if n > 1:
            tamper_hold(world, hold_id)
    _plant_broken_journal(world, account_id)
    new = verify(world.runtime.uow_factory, batch_rows=2)
    old = _baseline(world.runtime.engine)
    assert (new.accounts, new.holds, new.entries) == (old.accounts, old.holds, old.entries)
    assert new.problems_found == old.problems_found == 10
    not_entries: list[Problem] = [p for p in new.problems if p.kind != "entry_unbalanced"]
    assert set(not_entries) == set(old.problems)


def _plan(engine: Engine, query: Any) -> str:
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    explain = "EXPLAIN " if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    with engine.connect() as conn:
        return "\n".join(str(row[-1]) for row in conn.execute(text(explain + sql)))


@pytest.mark.parametrize("account_id", [None, "acct_one"])
def test_no_plan_runs_a_subquery_per_row(world: World, account_id: str | None) -> None:
    """Each aggregate is grouped once and joined by id (PostgreSQL: no SubPlan; SQLite: no
    correlated subquery), for the whole database and for one account."""
    setup_activity(world)
    engine = world.runtime.engine
    per_row = "SubPlan" if engine.dialect.name == "postgresql" else "CORRELATED"
    for build in (
        verification.account_totals_query,
        verification.hold_totals_query,
        verification.entry_problems_query,
        verification.orphan_postings_query,
    ):
        plan = _plan(engine, build(account_id))
        assert per_row not in plan, f"{build.__name__}:\n{plan}"


def test_the_holds_stream_through_a_server_side_cursor(world: World) -> None:
    """On PostgreSQL the rows come batch by batch from a named cursor (constant memory);
    SQLite steps through its rows as they are read anyway."""
    for _ in range(3):
        setup_activity(world)
    engine = world.runtime.engine
    with engine.connect() as conn, conn.begin():
        rows = verification.SqlVerificationStore(conn).hold_totals(None, 1)
        first = next(rows)
        if engine.dialect.name == "postgresql":
            cursors = conn.execute(text("SELECT count(*) FROM pg_cursors")).scalar_one()
            assert cursors == 1
        rest = list(rows)
    assert [first.hold_id, *(r.hold_id for r in rest)] == sorted(
        [first.hold_id, *(r.hold_id for r in rest)]
    )
