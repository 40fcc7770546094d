"""`creditline bench`: the core engine's throughput beside its ceiling, in one run.

For each client count it runs, in order: the raw-SQL ceiling, the service layer
(authorize, then the authorize → capture/release mix), and HTTP (the same two against a
real `creditline serve`). With PostgreSQL and `pgbench` on the PATH it also runs the
same raw transaction from pgbench's C client, for reference. Every row is printed with
its ratio to the raw ceiling measured at the same client count in the same run.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import text

from creditline.bench import processes
from creditline.bench.runner import PhaseResult, run_phase
from creditline.bench.setup import MERCHANT_ID, prepare
from creditline.bench.workloads import RISK_BENCH_POLICY, BenchSpec
from creditline.bootstrap import Runtime


@dataclass(frozen=True, slots=True)
class CoreOptions:
    clients: tuple[int, ...] = (1, 8, 32)
    seconds: float = 5.0
    accounts: int = 10_000
    http: bool = True
    server_workers: int = field(default_factory=lambda: os.cpu_count() or 2)
    pgbench: bool = True
    rounds: int = 1


SERVER_BACKGROUND_CONNECTIONS = 3
"""Connections a `creditline serve` process holds for its background tasks (sweeper,
pruner, outbox) besides those of requests in flight."""
CONNECTIONS_SPARE = 10
"""Connections the bench leaves free: its own, pgbench's, backends of clients still exiting."""


def server_pool_size(clients: int, workers: int) -> int:
    """Each bench server process's pool: with its overflow (as much again) room for its
    share of the clients and its background tasks, and no more. Both servers keep their
    pools' idle connections between phases, so a bigger pool takes connections the next
    phase's direct clients need (PostgreSQL's default max_connections is 100)."""
    share = -(-clients // workers) + SERVER_BACKGROUND_CONNECTIONS
    return max(4, -(-share // 2))


def connections_needed(options: CoreOptions) -> int:
    """The most database connections a run holds at once: the largest client count of
    direct clients while both HTTP servers keep full idle pools."""
    clients = max(options.clients)
    servers = 0
    if options.http:
        servers = 2 * options.server_workers * server_pool_size(clients, options.server_workers)
    return clients + servers + CONNECTIONS_SPARE


def check_connections(runtime: Runtime, options: CoreOptions) -> None:
    """Refuse (ValueError) a run PostgreSQL would refuse connections to halfway through."""
    if runtime.settings.is_sqlite:
        return
    with runtime.engine.connect() as conn:
        allowed = int(conn.execute(text("SHOW max_connections")).scalar_one())
        reserved = int(conn.execute(text("SHOW superuser_reserved_connections")).scalar_one())
        in_use = int(conn.execute(text("SELECT count(*) FROM pg_stat_activity")).scalar_one())
    free = allowed - reserved - in_use
    needed = connections_needed(options)
    if needed > free:
        raise ValueError(
            f"{max(options.clients)} clients"
            + (
                f" and two HTTP servers of {options.server_workers} processes"
                if options.http
                else ""
            )
            + f" need up to {needed} database connections; PostgreSQL has {free} free "
            f"(max_connections {allowed}, {reserved} reserved, {in_use} in use): use fewer "
            "--clients or --server-workers, or --no-http"
        )


@dataclass(frozen=True, slots=True)
class Row:
    """One workload at one client count: the median over rounds of each figure, and the
    median of its per-round ratios to that round's own raw ceiling."""

    workload: str
    clients: int
    rounds: tuple[PhaseResult, ...]
    ratios: tuple[float, ...]

    @property
    def ops_per_s(self) -> float:
        return statistics.median(r.ops_per_s for r in self.rounds)

    @property
    def p50_ms(self) -> float:
        return statistics.median(r.p50_ms for r in self.rounds)

    @property
    def p99_ms(self) -> float:
        return statistics.median(r.p99_ms for r in self.rounds)

    @property
    def max_ms(self) -> float:
        return max(r.max_ms for r in self.rounds)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.rounds)

    @property
    def ratio(self) -> float | None:
        return statistics.median(self.ratios) if self.ratios else None


def durability(runtime: Runtime) -> str:
    with runtime.engine.connect() as conn:
        if runtime.settings.is_sqlite:
            mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar_one()
            sync = conn.exec_driver_sql("PRAGMA synchronous").scalar_one()
            return f"SQLite journal_mode={mode} synchronous={sync} (2 = FULL)"
        value = conn.execute(text("SHOW synchronous_commit")).scalar_one()
        return f"PostgreSQL synchronous_commit={value}"


def run_core(runtime: Runtime, options: CoreOptions, emit: Callable[[Row], None]) -> list[Row]:
    """Every workload at every client count, `options.rounds` times interleaved, so that a
    machine whose speed drifts (shared hosts do) affects the ceiling and the engine alike.
    The caller runs `check_connections` first (the CLI does): this does not check."""
    spec = prepare(runtime, accounts=options.accounts)
    pgbench = options.pgbench and not runtime.settings.is_sqlite and shutil.which("pgbench")
    rows: list[Row] = []
    with _server(spec, options) as http_spec, _server(spec, options, risk=False) as core_http:
        for clients in options.clients:
            results: dict[str, list[PhaseResult]] = defaultdict(list)
            ratios: dict[str, list[float]] = defaultdict(list)
            for _ in range(options.rounds):
                ceiling = run_phase("raw", spec, clients=clients, seconds=options.seconds)
                results["raw"].append(ceiling)
                measured: list[PhaseResult] = []
                if pgbench:
                    measured.append(run_pgbench(runtime, spec, clients, options.seconds))
                for workload in ("service", "service_risk", "service_mix"):
                    measured.append(
                        run_phase(workload, spec, clients=clients, seconds=options.seconds)
                    )
                if http_spec is not None and core_http is not None:
                    for workload, target in (
                        ("http", http_spec),
                        ("http_core", core_http),
                        ("http_mix", http_spec),
                    ):
                        measured.append(
                            run_phase(workload, target, clients=clients, seconds=options.seconds)
                        )
                for result in measured:
                    results[result.workload].append(result)
                    if ceiling.ops_per_s > 0:
                        ratios[result.workload].append(result.ops_per_s / ceiling.ops_per_s)
            for workload, rounds in results.items():
                row = Row(workload, clients, tuple(rounds), tuple(ratios[workload]))
                rows.append(row)
                emit(row)
    return rows


@contextmanager
def _server(
    spec: BenchSpec, options: CoreOptions, *, risk: bool = True
) -> Iterator[BenchSpec | None]:
    if not options.http:
        yield None
        return
    # HTTP rows include the risk pipeline (observe mode), but for one: the core engine's.
    settings = {
        "risk_policy": RISK_BENCH_POLICY,
        "risk_enabled": str(risk).lower(),
        "db_pool_size": str(server_pool_size(max(options.clients), options.server_workers)),
    }
    with processes.server(
        spec.database_url, workers=options.server_workers, settings=settings
    ) as base:
        yield replace(spec, http_base=base)


PGBENCH_SCRIPT = """\\set n random(1, {accounts})
BEGIN;
UPDATE credit_account SET locked = locked + 100
 WHERE id = 'acct_bench' || lpad(:n::text, 8, '0') AND credit_limit - used - locked >= 100
 RETURNING id;
INSERT INTO hold (id, account_id, merchant_id, order_id, amount, captured, released, refunded,
                  forced, status, created_at, expires_at)
 VALUES ('hold_pgb' || replace(gen_random_uuid()::text, '-', ''),
         'acct_bench' || lpad(:n::text, 8, '0'), '{merchant}', gen_random_uuid()::text, 100,
         0, 0, 0, 0, 'pending', now(), now() + interval '7 days');
COMMIT;
"""


def run_pgbench(runtime: Runtime, spec: BenchSpec, clients: int, seconds: float) -> PhaseResult:
    """The same raw authorize from pgbench's C client: the ceiling without Python."""
    url = runtime.engine.url
    with tempfile.TemporaryDirectory() as work:
        script = Path(work) / "authorize.sql"
        script.write_text(PGBENCH_SCRIPT.format(accounts=spec.accounts, merchant=MERCHANT_ID))
        command = [
            "pgbench",
            "-n",
            "-f",
            str(script),
            "-c",
            str(clients),
            "-j",
            str(min(clients, os.cpu_count() or 2)),
            "-T",
            str(max(1, round(seconds))),
            "-h",
            url.host or "127.0.0.1",
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "postgres",
            "-l",
            "--log-prefix",
            f"{work}/log",
            url.database or "postgres",
        ]
        env = {**os.environ, "PGPASSWORD": url.password or ""} if url.password else None
        done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
        latencies = sorted(
            int(line.split()[2]) / 1_000_000
            for log in Path(work).glob("log*")
            for line in log.read_text().splitlines()
        )
    failed = sum("failed" in line and "0 (0.000%)" not in line for line in done.stdout.splitlines())
    duration = float(max(1, round(seconds)))

    def pct(fraction: float) -> float:
        return latencies[min(len(latencies) - 1, int(fraction * len(latencies)))] * 1000

    return PhaseResult(
        workload="pgbench",
        clients=clients,
        operations=len(latencies),
        seconds=duration,
        p50_ms=pct(0.5),
        p99_ms=pct(0.99),
        max_ms=latencies[-1] * 1000,
        errors=failed,
    )
