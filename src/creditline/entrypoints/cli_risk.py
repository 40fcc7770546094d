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
