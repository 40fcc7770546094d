"""`creditline risk …`: the risk policy from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from creditline.adapters.risk_policy import load_policy
from creditline.domain.risk.policy import PolicyError
from creditline.entrypoints.cli_common import fail, out

risk_app = typer.Typer(help="Risk control: the policy and its rules.", no_args_is_help=True)


@risk_app.command("policy")
def policy(
    file: Annotated[
        Path | None,
        typer.Argument(dir_okay=False, help="A policy file (default: the packaged one)"),
    ] = None,
) -> None:
    """Validate a policy file and show its version, thresholds by tier and shadow rules."""
    try:
        loaded = load_policy(file)
    except PolicyError as error:
        raise fail(f"invalid policy: {error}") from None
    out.print(f"policy {file or 'default'} ok · version {loaded.version}", highlight=False)
    table = Table("tier", "per payment", "per day", "payments/day", "per month", "payments/month")
    for name, limits in loaded.tiers.items():
        table.add_row(
            name,
            limits.per_transaction_max.format(),
            limits.day_amount_max.format(),
            str(limits.day_count_max),
            limits.month_amount_max.format(),
            str(limits.month_count_max),
        )
    out.print(table)
    shadow = ", ".join(sorted(loaded.shadow)) or "none"
    out.print(f"shadow rules: {shadow}", highlight=False)


@risk_app.command("backtest")
def backtest_command(
    traffic: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="From `simulate`")],
    policy_file: Annotated[
        Path | None, typer.Option("--policy", help="Policy to test (default: packaged)")
    ] = None,
    compare: Annotated[
        Path | None, typer.Option(help="A second policy, shown beside the first")
    ] = None,
) -> None:
    """Replay labelled traffic through one or two policies: fraud stopped, false declines,
    challenges, per pattern and per rule (precision and recall)."""
    from creditline.risk_lab.backtest import backtest  # noqa: PLC0415
    from creditline.risk_lab.report import report  # noqa: PLC0415
    from creditline.risk_lab.simulate import from_jsonl  # noqa: PLC0415

    try:
        policies = [load_policy(policy_file)] + ([load_policy(compare)] if compare else [])
    except PolicyError as error:
        raise fail(f"invalid policy: {error}") from None
    try:
        payments = from_jsonl(traffic.read_text(encoding="utf-8"))
    except (ValueError, TypeError) as error:
        raise fail(f"{traffic}: not a traffic file from `creditline simulate` ({error})") from None
    results = [backtest(policy, payments) for policy in policies]
    for line in report(results):
        out.print(line, highlight=False)


def simulate_command(
    out_file: Annotated[Path, typer.Option("--out", dir_okay=False, help="JSON lines to write")],
    seed: Annotated[int, typer.Option(help="Same seed, same file")] = 7,
    users: Annotated[int, typer.Option(min=10, help="Legitimate users")] = 1_500,
    days: Annotated[int, typer.Option(min=3, max=365)] = 30,
) -> None:
    """Generate labelled payment traffic: legitimate users plus injected fraud (cash-out,
    account takeover with a location jump, scripted velocity, card testing)."""
    from creditline.risk_lab.simulate import Scenario, simulate, to_jsonl  # noqa: PLC0415

    scenario = Scenario().scaled(seed=seed, users=users, days=days)
    traffic = simulate(scenario)
    out_file.write_text(to_jsonl(traffic), encoding="utf-8")
    fraud = sum(p.label == "fraud" for p in traffic)
    out.print(f"wrote {len(traffic):,} payments ({fraud:,} fraud) to {out_file}", highlight=False)
