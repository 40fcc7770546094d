"""The `creditline` command: its groups, and the commands of a running deployment
(serve, migrate, demo, verify, sweep).

Every command reads its settings from CREDITLINE_* variables (see `config.py`); the
database defaults to ./creditline.db. A refusal or bad input prints one line to stderr
and exits 2; `verify` exits 1 when it finds a mismatch.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from creditline.adapters.db import migrate
from creditline.entrypoints import logs
from creditline.entrypoints.cli import ops, risk
from creditline.entrypoints.cli.admin import admin_app
from creditline.entrypoints.cli.bench import bench_app
from creditline.entrypoints.cli.clock import clock_app
from creditline.entrypoints.cli.common import (
    err,
    fail,
    load_settings,
    out,
    redacted,
    runtime,
    show_rows,
    tidy_help,
    unstorable_argument,
)
from creditline.service.holds.expiry import SWEEP_BATCH_SIZE_MAX

app = typer.Typer(
    help="creditline: a consumer credit-line payment engine. Settings come from CREDITLINE_* "
    "environment variables; the database defaults to ./creditline.db.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
holds_app = typer.Typer(help="Hold maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(holds_app, name="holds")
app.add_typer(admin_app, name="admin")
app.add_typer(bench_app, name="bench")
app.add_typer(ops.worker_app, name="worker")
app.add_typer(ops.events_app, name="events")
app.add_typer(risk.risk_app, name="risk")
app.add_typer(clock_app, name="clock")
app.command("simulate")(risk.simulate_command)
app.command("explain")(risk.explain_command)
holds_app.command("reconcile")(ops.holds_reconcile)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Server processes")] = 1,
) -> None:
    """Run the HTTP API (OpenAPI docs at /docs) with the expiry sweeper in the background."""
    import uvicorn  # noqa: PLC0415 - only `serve` needs the server

    from creditline.entrypoints.startup import refusal, startup_problems  # noqa: PLC0415

    settings = load_settings()
    with runtime() as rt:
        problems = startup_problems(rt)
    if problems:
        raise fail(refusal(problems))
    bind_host = host or settings.host
    bind_port = port or settings.port
    base = f"http://{bind_host}:{bind_port}"
    out.print(
        f"creditline API on [bold]{base}[/bold]  ·  docs {base}/docs  ·  "
        f"metrics {base}/metrics  ·  database {redacted(settings.database_url)}  ·  "
        f"{settings.mode} mode"
    )
    logs.configure(settings.log_level)
    uvicorn.run(
        "creditline.entrypoints.api.main:app_factory",
        factory=True,
        host=bind_host,
        port=bind_port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the latest revision (safe to run again)."""
    with runtime(require_schema=False) as rt:
        migrate.upgrade(rt.engine)
        out.print(f"database at schema revision {migrate.current_revision(rt.engine)}")


@app.command()
def demo() -> None:
    """Load demo data (a platform, a merchant, consumers, holds in every state) and print keys."""
    from creditline.entrypoints.demo import load_demo  # noqa: PLC0415

    if not load_settings().development:
        raise fail(
            "the demo's API keys are published in the README: load it only in development "
            "mode (CREDITLINE_MODE=development, as `make run` sets)"
        )
    with runtime() as rt:
        data = load_demo(rt)
    out.print("demo data " + ("loaded" if data.created else "already present"))
    show_rows(("role", "API key (demo only)"), list(data.keys.items()), title="Demo API keys")
    for name, account_id in data.accounts.items():
        out.print(f"  account {name}: {account_id}")


@app.command()
def verify(
    account: Annotated[str | None, typer.Option(help="Check only this account (acct_…)")] = None,
) -> None:
    """Recompute balances from the journal and holds (streamed, or one account's); exit 1
    with a report on any mismatch."""
    from creditline.service.verify import verify as run_verify  # noqa: PLC0415

    with runtime() as rt:
        report = run_verify(rt.uow_factory, account_id=account)
    out.print(
        f"checked {report.accounts} accounts, {report.holds} holds, "
        f"{report.entries} journal entries"
    )
    if report.ok:
        out.print("[green]ok[/green]: every balance agrees with the journal and the holds")
        return
    title = f"{report.problems_found} problems (the first {len(report.problems)} shown)"
    rows = [
        (p.kind, p.object_id, str(p.expected), str(p.actual), p.detail) for p in report.problems
    ]
    show_rows(("problem", "object", "expected", "actual", "detail"), rows, title=title)
    raise typer.Exit(1)


@holds_app.command("sweep")
def holds_sweep(
    batch_size: Annotated[
        int, typer.Option(min=1, max=SWEEP_BATCH_SIZE_MAX, help="Holds per batch")
    ] = 500,
) -> None:
    """Release every hold past its deadline now, earliest first, in bounded batches."""
    from creditline.entrypoints.background import sweep_until_done  # noqa: PLC0415

    with runtime() as rt:
        total = 0
        while True:
            result = sweep_until_done(rt, batch_size=batch_size)
            total += result.expired
            if not result.more:
                break
    out.print(f"released {total} expired holds")


tidy_help(app)


def main() -> None:
    refused = unstorable_argument(sys.argv[1:])
    if refused is not None:
        err.print(f"[red]error:[/red] {refused}", highlight=False)
        sys.exit(2)
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
