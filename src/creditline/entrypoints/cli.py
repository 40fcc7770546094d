"""The `creditline` command line (Typer).

Every command reads its settings from CREDITLINE_* variables (see `config.py`); the
database defaults to ./creditline.db. A refusal or bad input prints one line to stderr
and exits 2; `verify` exits 1 when it finds a mismatch.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from creditline.adapters.db import migrate
from creditline.bench.verify import bench_verify
from creditline.domain.limits import HOLD_TTL_S_DEFAULT
from creditline.entrypoints import cli_ops, cli_risk, logs
from creditline.entrypoints.cli_common import (
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
from creditline.service import directory
from creditline.service.access import Actor, Role
from creditline.service.expiry import SWEEP_BATCH_SIZE_MAX

app = typer.Typer(
    help="creditline: a consumer credit-line payment engine. Settings come from CREDITLINE_* "
    "environment variables; the database defaults to ./creditline.db.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
holds_app = typer.Typer(help="Hold maintenance.", no_args_is_help=True)
admin_app = typer.Typer(help="Platforms, merchants and API keys.", no_args_is_help=True)
bench_app = typer.Typer(
    help="Benchmarks against the configured database (point CREDITLINE_DATABASE_URL at a "
    "scratch database: the bench adds its own platform, accounts and holds).",
    invoke_without_command=True,
)
app.add_typer(db_app, name="db")
app.add_typer(holds_app, name="holds")
app.add_typer(admin_app, name="admin")
app.add_typer(bench_app, name="bench")
app.add_typer(cli_ops.worker_app, name="worker")
app.add_typer(cli_ops.events_app, name="events")
app.add_typer(cli_risk.risk_app, name="risk")
bench_app.command("lockstep")(cli_risk.bench_lockstep)
bench_app.command("verify")(bench_verify)
app.command("simulate")(cli_risk.simulate_command)
app.command("explain")(cli_risk.explain_command)
holds_app.command("reconcile")(cli_ops.holds_reconcile)
admin_app.command("set-platform")(cli_ops.set_platform)
admin_app.command("set-merchant-trusted")(cli_ops.set_merchant_trusted)


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


@admin_app.command("create-platform")
def create_platform(name: str) -> None:
    """Create a platform and print its id and a platform API key (shown once)."""
    with runtime() as rt, rt.uow_factory(write=True) as uow:
        now = rt.clock.now()
        platform = directory.create_platform(uow, name=name, now=now, platform_id=rt.new_id("plat"))
        issued = directory.issue_api_key(
            uow,
            binding=Actor(key_id="-", role=Role.PLATFORM, platform_id=platform.id, name=name),
            now=now,
            new_id=rt.new_id,
        )
        uow.commit()
    out.print(f"platform {platform.id}\nplatform key {issued.key}  (shown once; store it now)")


@admin_app.command("create-merchant")
def create_merchant(
    platform_id: str,
    name: str,
    hold_ttl_s: Annotated[int, typer.Option(help="Default hold lifetime, seconds")] = (
        HOLD_TTL_S_DEFAULT
    ),
) -> None:
    """Create a merchant on a platform and print its id and a merchant API key."""
    with runtime() as rt, rt.uow_factory(write=True) as uow:
        now = rt.clock.now()
        merchant = directory.create_merchant(
            uow,
            platform_id=platform_id,
            name=name,
            now=now,
            merchant_id=rt.new_id("mer"),
            hold_ttl_s=hold_ttl_s,
        )
        issued = directory.issue_api_key(
            uow,
            binding=Actor(
                key_id="-",
                role=Role.MERCHANT,
                platform_id=platform_id,
                merchant_id=merchant.id,
                name=name,
            ),
            now=now,
            new_id=rt.new_id,
        )
        uow.commit()
    out.print(f"merchant {merchant.id}\nmerchant key {issued.key}  (shown once; store it now)")


@admin_app.command("create-key")
def create_key(
    role: Role,
    name: str,
    platform_id: Annotated[str | None, typer.Option(help="For platform keys")] = None,
    account_id: Annotated[str | None, typer.Option(help="For consumer keys")] = None,
) -> None:
    """Issue an API key for a platform, a consumer's account or an operator."""
    if role is Role.MERCHANT:
        raise fail("merchant keys come with `creditline admin create-merchant`")
    if role is Role.PLATFORM and platform_id is None:
        raise fail("a platform key needs --platform-id")
    if role is Role.CONSUMER and account_id is None:
        raise fail("a consumer key needs --account-id")
    binding = Actor(
        key_id="-",
        role=role,
        name=name,
        platform_id=platform_id if role is Role.PLATFORM else None,
        account_id=account_id if role is Role.CONSUMER else None,
    )
    with runtime() as rt, rt.uow_factory(write=True) as uow:
        issued = directory.issue_api_key(uow, binding=binding, now=rt.clock.now(), new_id=rt.new_id)
        uow.commit()
    out.print(f"{role.value} key {issued.key}  (id {issued.record.id}; shown once)")


@admin_app.command("revoke-key")
def revoke_key(key_id: str) -> None:
    """Revoke an API key by its id (key_…); running servers stop accepting it within
    CREDITLINE_API_KEY_CACHE_TTL_S seconds."""
    with runtime() as rt, rt.uow_factory(write=True) as uow:
        revoked = uow.directory.revoke_api_key(key_id, rt.clock.now())
        uow.commit()
    if not revoked:
        raise fail(f"no active API key {key_id}")
    out.print(f"revoked {key_id}")


@bench_app.callback()
def bench(
    ctx: typer.Context,
    clients: Annotated[str, typer.Option(help="Comma-separated client counts")] = "1,8,32",
    seconds: Annotated[float, typer.Option(min=0.5, help="Measured seconds per phase")] = 5.0,
    accounts: Annotated[int, typer.Option(min=1, help="Bench accounts to spread load on")] = (
        10_000
    ),
    http: Annotated[bool, typer.Option(help="Also measure through a real HTTP server")] = True,
    server_workers: Annotated[int, typer.Option(min=1, help="HTTP server processes")] = 2,
    pgbench: Annotated[bool, typer.Option(help="Also run pgbench (PostgreSQL)")] = True,
    rounds: Annotated[
        int, typer.Option(min=1, max=20, help="Interleaved repetitions; medians are shown")
    ] = 1,
) -> None:
    """Authorize → capture/release throughput (ops/s, p50, p99) at 1, 8 and 32 clients,
    through the service layer and HTTP, each beside the raw-SQL ceiling of the same run."""
    if ctx.invoked_subcommand is not None:
        return
    from creditline.bench.core import (  # noqa: PLC0415
        CoreOptions,
        check_connections,
        durability,
        run_core,
    )
    from creditline.bench.report import HEADER, core_row, risk_cost  # noqa: PLC0415

    try:
        counts = tuple(int(part) for part in clients.split(",") if part.strip())
    except ValueError:
        raise fail(f"--clients takes numbers like 1,8,32, not {clients!r}") from None
    if not counts or min(counts) < 1:
        raise fail("--clients needs at least one count of 1 or more")
    options = CoreOptions(
        clients=counts,
        seconds=seconds,
        accounts=accounts,
        http=http,
        server_workers=server_workers,
        pgbench=pgbench,
        rounds=rounds,
    )
    with runtime() as rt:
        try:
            check_connections(rt, options)
        except ValueError as error:
            raise fail(f"bench: {error}") from None
        out.print(
            f"database {redacted(rt.settings.database_url)} · {durability(rt)} · "
            f"{os.cpu_count()} CPUs · {seconds:g} s per phase × {rounds} rounds · "
            f"{accounts} accounts · {server_workers} HTTP server processes"
        )
        out.print(HEADER)
        rows = run_core(rt, options, lambda row: out.print(core_row(row), highlight=False))
    for line in risk_cost(rows):
        out.print(line, highlight=False)


@bench_app.command("release")
def bench_release(
    events: Annotated[int, typer.Option(min=100, help="Burst size, half NATS, half HTTP")] = (
        10_000
    ),
    expiring: Annotated[int, typer.Option(min=0, help="Holds left for the sweeper")] = 200,
    sweep_interval_s: Annotated[float, typer.Option(min=0.5, help="The server's sweeper")] = 5.0,
    server_workers: Annotated[int, typer.Option(min=1, help="HTTP server processes")] = 2,
    rate: Annotated[
        float | None,
        typer.Option(min=1, help="Events/s on each path instead of one burst (sustained load)"),
    ] = None,
) -> None:
    """A burst of order events through NATS and HTTP at once: event→balance latency
    (p50/p99/max) beside the in-process handler, stuck holds, exactly-once, verify."""
    from creditline.bench.release import ReleaseOptions, run_release  # noqa: PLC0415
    from creditline.bench.report import (  # noqa: PLC0415
        RELEASE_HEADER,
        release_row,
        release_summary,
    )

    options = ReleaseOptions(
        events=events,
        expiring=expiring,
        sweep_interval_s=sweep_interval_s,
        server_workers=server_workers,
        rate=rate,
    )
    shape = "one burst" if rate is None else f"{rate:g} events/s on each path"
    with runtime() as rt:
        out.print(
            f"database {redacted(rt.settings.database_url)} · NATS {rt.settings.nats_url} · "
            f"{os.cpu_count()} CPUs · {events} events, {shape} · "
            f"{server_workers} HTTP server processes"
        )
        try:
            report = run_release(rt, options, lambda line: out.print(line, highlight=False))
        except (OSError, RuntimeError) as error:
            raise fail(f"bench release: {error}") from None
    out.print(RELEASE_HEADER, highlight=False)
    for path in report.paths:
        out.print(release_row(path), highlight=False)
    for line in release_summary(report):
        out.print(line, highlight=False)
    if report.stuck or report.wrong_holds or not report.verify_ok:
        raise typer.Exit(1)


@bench_app.command("risk")
def bench_risk(
    accounts: Annotated[int, typer.Option(min=1, help="Accounts with history")] = 1_000,
    history: Annotated[int, typer.Option(min=1, help="Purchases per account")] = 30,
    decisions: Annotated[int, typer.Option(min=100, help="Decisions measured per row")] = 5_000,
    redis: Annotated[bool, typer.Option(help="Also measure the Redis store")] = True,
) -> None:
    """One risk decision's latency (p50/p99/max) with each feature store, beside the
    pipeline alone."""
    from creditline.bench.risk import run_risk  # noqa: PLC0415

    with runtime() as rt:
        out.print(
            f"database {redacted(rt.settings.database_url)} · Redis {rt.settings.redis_url} · "
            f"{accounts} accounts × {history} purchases · {decisions} decisions per row"
        )
        rows = run_risk(rt, accounts=accounts, history=history, decisions=decisions, redis=redis)
    for row in rows:
        out.print(
            f"{row.name:<46} p50 {row.p50_us:8.0f} µs  p99 {row.p99_us:8.0f} µs  "
            f"max {row.max_us:8.0f} µs  p99 {row.ratio:5.1f}× the pipeline alone",
            highlight=False,
        )


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
