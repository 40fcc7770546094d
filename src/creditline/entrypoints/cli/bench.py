"""`creditline bench …`: throughput and latency against the configured database, each
figure printed beside its baseline from the same run (docs/PERFORMANCE.md)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from creditline.bench.verify import bench_verify
from creditline.entrypoints.cli.common import fail, out, redacted, runtime

bench_app = typer.Typer(
    help="Benchmarks against the configured database (point CREDITLINE_DATABASE_URL at a "
    "scratch database: the bench adds its own platform, accounts and holds).",
    invoke_without_command=True,
)
bench_app.command("verify")(bench_verify)


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


@bench_app.command("lockstep")
def bench_lockstep(
    workloads: Annotated[
        str, typer.Option(help="Comma-separated workloads; shares are against the first")
    ] = "service,service_risk",
    rounds: Annotated[int, typer.Option(min=2, help="Rounds; medians are shown")] = 40,
    ops: Annotated[int, typer.Option(min=1, help="Operations per workload per round")] = 100,
    accounts: Annotated[int, typer.Option(min=1, help="Bench accounts to spread load on")] = (
        10_000
    ),
) -> None:
    """The risk pipeline's cost in lockstep: one client per workload, driven in turn in
    random order each round, so the machine's drift hits all alike (`creditline bench
    lockstep`; see docs/PERFORMANCE.md)."""
    from creditline.bench.lockstep import check, run_lockstep  # noqa: PLC0415
    from creditline.bench.report import LABELS  # noqa: PLC0415
    from creditline.bench.setup import prepare  # noqa: PLC0415

    names = [name.strip() for name in workloads.split(",") if name.strip()]
    try:
        check(names, rounds)
    except ValueError as error:
        raise fail(f"bench lockstep: {error}") from None
    with runtime() as rt:
        out.print(
            f"database {redacted(rt.settings.database_url)} · {rounds} rounds × {ops} "
            f"operations per workload, one client each, in turn",
            highlight=False,
        )
        spec = prepare(rt, accounts=accounts)
        try:
            rows = run_lockstep(spec, names, rounds=rounds, ops=ops)
        except RuntimeError as error:
            raise fail(f"bench lockstep: {error}") from None
    for row in rows:
        q1, q3 = row.quartiles
        out.print(
            f"{LABELS.get(row.workload, row.workload):<36} {row.ms_per_op:7.3f} ms/op  "
            f"client CPU {row.cpu_ms_per_op:7.3f} ms/op  share {row.share:5.2f} "
            f"(quartiles {q1:.2f}–{q3:.2f})",
            highlight=False,
        )
