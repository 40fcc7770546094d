"""`creditline verify [--account …]` and `creditline bench verify` end to end, on SQLite
and PostgreSQL: exit codes, the problem table, the one-line refusal, the bench's rows."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from creditline.adapters.db.schema import credit_account
from creditline.entrypoints.cli import app
from tests.conftest import World


@pytest.fixture
def runner(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CREDITLINE_DATABASE_URL", database_url)
    return CliRunner()


def invoke(runner: CliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_one_account_is_verified_alone(world: World, runner: CliRunner) -> None:
    mine, theirs = world.open_account(), world.open_account()
    for account_id in (mine, theirs):
        world.authorize(account_id, 5_000)
    with world.runtime.engine.begin() as conn:
        conn.execute(update(credit_account).where(credit_account.c.id == mine).values(locked=4_999))

    code, output = invoke(runner, "verify", "--account", mine)
    assert code == 1, output
    assert "checked 1 accounts, 1 holds, 0 journal entries" in output
    assert "1 problems (the first 1 shown)" in output
    # 80 columns: the problem is a block of lines, not a table that would cut its detail
    found = re.search(
        r"locked_mismatch\s+object: (acct_\w+)\s+expected: 5000\s+actual: 4999", output
    )
    assert found is not None, output
    assert found.group(1) == mine

    code, output = invoke(runner, "verify", "--account", theirs)
    assert code == 0, output
    assert "ok" in output

    code, output = invoke(runner, "verify")
    assert code == 1, output
    assert "checked 2 accounts, 2 holds" in output


def test_an_unknown_account_is_refused_in_one_line(world: World, runner: CliRunner) -> None:
    world.open_account()
    code, output = invoke(runner, "verify", "--account", "acct_nobody")
    assert code == 2
    assert "account_not_found" in output
    assert "acct_nobody" in output
    assert len(output.strip().splitlines()) == 1


def test_bench_verify_prints_each_row_beside_the_baseline(
    database_url: str, runner: CliRunner
) -> None:
    """A tiny run (each row in its own process): the load, then every row, all clean."""
    code, output = invoke(runner, "bench", "verify", "--holds", "200")
    assert code == 0, output
    assert "200 holds on 20 accounts (loaded in" in output
    rows = {
        "verify ": r"× before  ok: [\d,]+ accounts, [\d,]+ holds, [\d,]+ entries",
        "verify --account acct_vb": r"ok: 1 accounts, 10 holds, 1\d entries",
        "verify of before (baseline)": r"ok: [\d,]+ accounts, [\d,]+ holds",
        "hold pass, one cursor": r"200 hold rows read",
        "hold pass, keyset pages": r"200 hold rows read",
    }
    for start, pattern in rows.items():
        line = next((row for row in output.splitlines() if row.startswith(start)), None)
        assert line is not None, f"{start!r} missing from:\n{output}"
        assert re.search(r"[\d.]+ s  CPU +[\d.]+ s  peak RSS +[\d.]+ MB", line), line
        assert re.search(pattern, line), line
    code, output = invoke(runner, "bench", "verify", "--holds", "300")
    assert code == 2
    assert "holds 200 bench holds, not 300" in output
