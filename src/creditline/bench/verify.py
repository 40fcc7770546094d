"""`creditline bench verify`: `verify` on N holds, beside the verify of before, same data.

The configured database (a scratch one) is filled once with N holds on N/10 accounts
(`verify_data.fill`, in SQL; a second run on the same database reuses them). Then every
row runs in a fresh process (multiprocessing "spawn"), so its peak RSS is its own:

    verify                         `service.verify` over everything: one cursor per pass
    verify --account               one account, its holds and its entries
    verify of before (baseline)    `verify_baseline`: correlated subqueries, page by page
    hold pass, one cursor          the hold query's rows alone, through one cursor …
    hold pass, keyset pages        … and in keyset pages of 10,000 (the rejected design)

Each row prints its wall time, the client's CPU time, its peak RSS and its RSS before the
run (imports and a wired runtime), as medians over `--rounds` interleaved rounds.
`--no-analyse` loads without VACUUM ANALYZE: the planner then has no statistics, as on a
server whose autovacuum has not reached the new rows (or is off, as on this machine).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import statistics
import time
from dataclasses import dataclass
from enum import StrEnum
from multiprocessing.queues import Queue
from typing import Annotated

import typer

from creditline.adapters.db.engine import begin_options
from creditline.adapters.db.verification import hold_totals_query
from creditline.bench.verify_baseline import run_baseline
from creditline.bench.verify_data import account_id, accounts_for, fill, loaded_holds
from creditline.bootstrap import Runtime, bootstrap
from creditline.config import Settings
from creditline.entrypoints.cli.common import fail, out, redacted, runtime
from creditline.service.verify import VerifyReport, verify

HOLDS_DEFAULT = 1_000_000
KEYSET_PAGE_ROWS = 10_000
_KB_PER_MB = 1024
_BYTES_PER_MB = 1024 * 1024
_POLL_S = 1.0
"""How often a waiting bench checks that its child process is still alive."""


class Job(StrEnum):
    VERIFY = "verify"
    ACCOUNT = "verify --account"
    BASELINE = "verify of before (baseline)"
    CURSOR = "hold pass, one cursor"
    KEYSET = f"hold pass, keyset pages of {KEYSET_PAGE_ROWS:,}"


@dataclass(frozen=True, slots=True)
class Measured:
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    start_rss_mb: float
    result: str
    ok: bool


def _peak_rss_mb() -> float:
    import resource  # noqa: PLC0415 - POSIX only; the bench runs on Linux

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / _KB_PER_MB


def _rss_mb() -> float:
    """The resident set now (Linux /proc), so a run's growth shows against its start."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / _BYTES_PER_MB


def _summary(report: VerifyReport) -> tuple[str, bool]:
    counts = f"{report.accounts:,} accounts, {report.holds:,} holds, {report.entries:,} entries"
    verdict = "ok" if report.ok else f"{report.problems_found:,} problems"
    return f"{verdict}: {counts}", report.ok


def _baseline(rt: Runtime) -> tuple[str, bool]:
    with rt.engine.connect() as conn:
        options = begin_options(rt.engine, write=False, snapshot=True)
        if options:
            conn.execution_options(**options)
        with conn.begin():
            return _summary(run_baseline(conn))


def _hold_pass(rt: Runtime, *, keyset: bool) -> tuple[str, bool]:
    rows = 0
    with rt.engine.connect() as conn:
        if keyset:
            query = hold_totals_query(None, after="").limit(KEYSET_PAGE_ROWS)
            while page := conn.execute(query).all():
                rows += len(page)
                query = hold_totals_query(None, after=page[-1][0]).limit(KEYSET_PAGE_ROWS)
        else:
            options = {"stream_results": True, "yield_per": KEYSET_PAGE_ROWS}
            result = conn.execute(hold_totals_query(None), execution_options=options)
            for partition in result.partitions():
                rows += len(partition)
    return f"{rows:,} hold rows read", True


def _run(job: Job, rt: Runtime, account: str) -> tuple[str, bool]:
    if job is Job.VERIFY:
        return _summary(verify(rt.uow_factory))
    if job is Job.ACCOUNT:
        return _summary(verify(rt.uow_factory, account_id=account))
    if job is Job.BASELINE:
        return _baseline(rt)
    return _hold_pass(rt, keyset=job is Job.KEYSET)


def _child(job: Job, account: str, results: Queue[Measured]) -> None:
    rt = bootstrap(Settings.from_env())
    start_rss = _rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    result, ok = _run(job, rt, account)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    rt.close()
    results.put(Measured(wall, cpu, _peak_rss_mb(), start_rss, result, ok))


def _measure(job: Job, account: str) -> Measured:
    """Run `job` in a fresh interpreter and return what it measured about itself."""
    context = multiprocessing.get_context("spawn")
    results: Queue[Measured] = context.Queue()
    process = context.Process(target=_child, args=(job, account, results))
    process.start()
    while True:
        try:
            measured = results.get(timeout=_POLL_S)
        except queue.Empty:
            if not process.is_alive():
                raise RuntimeError(f"{job.value} failed (exit code {process.exitcode})") from None
            continue
        process.join()
        return measured


def _row(name: str, rounds: list[Measured], baseline_s: float | None) -> str:
    wall = statistics.median(m.wall_s for m in rounds)
    cpu = statistics.median(m.cpu_s for m in rounds)
    peak = max(m.peak_rss_mb for m in rounds)
    start = min(m.start_rss_mb for m in rounds)
    versus = f"{wall / baseline_s:5.2f}× before" if baseline_s else " " * 13
    return (
        f"{name:<44} {wall:7.2f} s  CPU {cpu:6.2f} s  peak RSS {peak:6.1f} MB "
        f"(RSS at start {start:5.1f})  {versus}  {rounds[-1].result}"
    )


def bench_verify(
    holds: Annotated[int, typer.Option(min=10, help="Holds to fill the database with")] = (
        HOLDS_DEFAULT
    ),
    rounds: Annotated[int, typer.Option(min=1, max=9, help="Rounds; medians are shown")] = 1,
    baseline: Annotated[bool, typer.Option(help="Also time the verify of before")] = True,
    analyse: Annotated[
        bool, typer.Option(help="VACUUM ANALYZE after loading (off: no planner statistics)")
    ] = True,
) -> None:
    """Time `creditline verify` (all, and one account) on N holds on N/10 accounts, beside
    the verify of before on the same data, with each one's peak RSS (docs/PERFORMANCE.md)."""
    with runtime() as rt:
        have = loaded_holds(rt.engine)
        if have not in (0, holds):
            raise fail(f"bench verify: this database holds {have:,} bench holds, not {holds:,}")
        loaded = "loaded earlier"
        if have == 0:
            started = time.perf_counter()
            fill(
                rt.engine,
                holds,
                lambda line: out.print(f"  {line}", highlight=False),
                analyse=analyse,
            )
            loaded = f"loaded in {time.perf_counter() - started:.0f} s"
            loaded += "" if analyse else ", not analysed"
        out.print(
            f"database {redacted(rt.settings.database_url)} · {os.cpu_count()} CPUs · "
            f"{holds:,} holds on {accounts_for(holds):,} accounts ({loaded}) · "
            f"{rounds} round{'s' if rounds > 1 else ''}, each row in a fresh process",
            highlight=False,
        )
    account = account_id(accounts_for(holds) // 2)
    jobs = [job for job in Job if baseline or job is not Job.BASELINE]
    measured: dict[Job, list[Measured]] = {job: [] for job in jobs}
    for _ in range(rounds):
        for job in jobs:
            try:
                measured[job].append(_measure(job, account))
            except RuntimeError as error:
                raise fail(f"bench verify: {error}") from None
    before = measured.get(Job.BASELINE)
    before_s = statistics.median(m.wall_s for m in before) if before else None
    for job, rows in measured.items():
        name = f"{job.value} {account}" if job is Job.ACCOUNT else job.value
        out.print(_row(name, rows, before_s if job is Job.VERIFY else None), highlight=False)
    if not all(m.ok for rows in measured.values() for m in rows):
        raise typer.Exit(1)
