"""The command line reads well in an 80-column terminal: no help summary breaks
mid-sentence, no line of help runs past 80 columns, and tables never cut a header or an
id — a table that does not fit becomes one block per row."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
import typer
from rich.cells import cell_len
from typer.testing import CliRunner

from creditline.bootstrap import bootstrap
from creditline.config import Settings
from creditline.domain.errors import CreditlineError
from creditline.domain.money import Money
from creditline.entrypoints.cli import app
from creditline.entrypoints.cli import common as cli_common
from creditline.entrypoints.demo import MERCHANT_ID, PLATFORM_ID
from creditline.service import commands
from creditline.service.access import Actor, Role
from tests.e2e.test_cli import invoke

WIDTH = 80


@pytest.fixture(autouse=True)
def eighty_columns() -> Iterator[None]:
    before = cli_common.out.width
    cli_common.out.width = WIDTH
    yield
    cli_common.out.width = before


def _commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command's path (Typer's own groups are not click's, so: duck typing)."""
    for name, command in getattr(group, "commands", {}).items():
        yield (*path, name)
        yield from _commands(command, (*path, name))


def test_every_summary_is_one_whole_sentence() -> None:
    root = typer.main.get_command(app)
    paths = list(_commands(root))
    assert len(paths) > 30
    for path in paths:
        command: Any = root
        for name in path:
            command = command.commands[name]
        summary = command.short_help or command.help or ""
        assert "\n" not in summary.strip(), path
        assert summary.strip().endswith((".", "?", ")")), (path, summary)


def test_no_help_line_runs_past_80_columns() -> None:
    root = typer.main.get_command(app)
    runner = CliRunner()
    for path in [(), *_commands(root)]:
        result = runner.invoke(app, [*path, "--help"], terminal_width=WIDTH, env={"COLUMNS": "80"})
        assert result.exit_code == 0, path
        wide = [line for line in result.output.splitlines() if cell_len(line) > WIDTH]
        assert wide == [], (path, wide[:2])


def test_tables_keep_headers_and_ids_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITLINE_DATABASE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    monkeypatch.setenv("CREDITLINE_MODE", "development")
    runner = CliRunner()
    assert invoke(runner, "db", "upgrade")[0] == 0
    code, demo = invoke(runner, "demo")
    assert code == 0
    assert "clk_demo_consumer_alice" in demo
    rt = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'w.db'}"))
    try:
        merchant = Actor(
            key_id="-", role=Role.MERCHANT, platform_id=PLATFORM_ID, merchant_id=MERCHANT_ID
        )
        for order, fen in (("w-1", 9_900), ("w-2", 900_000)):
            with suppress(CreditlineError):  # a decline is logged too
                rt.bus.execute(
                    merchant,
                    commands.Authorize(
                        account_id="acct_demobob", order_id=order, amount=Money(fen)
                    ),
                )
    finally:
        rt.close()
    outputs = [
        demo,
        invoke(runner, "events", "dead-letters")[1],
        invoke(runner, "risk", "policy")[1],
        invoke(runner, "risk", "decisions", "acct_demobob")[1],
    ]
    assert "per_transaction_limit" in outputs[-1]
    for output in outputs:
        assert "…" not in output, output
        assert all(cell_len(line) <= WIDTH for line in output.splitlines()), output


def test_a_wide_table_becomes_blocks(capsys: pytest.CaptureFixture[str]) -> None:
    ids = ["dlq_01M8Y3QDM7EZ8M4HRH8TX1Q11B", "dlq_01M8Y3QDM7EZ8M4HRH8TX1Q11C"]
    detail = "the platform has no webhook URL and secret any more: nothing to deliver to"
    cli_common.show_rows(
        ("id", "kind", "platform", "ref", "reason", "detail"),
        [(i, "webhook", "plat_demo", "ntf_1", "no_webhook", detail) for i in ids],
    )
    printed = capsys.readouterr().out
    assert all(i in printed for i in ids)
    assert "  detail: the platform has no webhook URL" in printed
    assert "…" not in printed
