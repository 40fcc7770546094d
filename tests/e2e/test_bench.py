"""`creditline bench` works end to end (a functional test, not a timed one): every
workload runs, prints its figures beside the ceiling, and the books balance afterwards."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from creditline.bench.core import CoreOptions, connections_needed, server_pool_size
from tests.conftest import truncate_all

CLI = [sys.executable, "-m", "creditline.entrypoints.cli"]
WORKLOADS = (
    "raw SQL authorize",
    "service authorize ",
    "service authorize + risk pipeline",
    "service authorize→capture/release",
    "HTTP authorize ",
    "HTTP authorize, risk control off",
    "HTTP authorize→capture/release",
)


def creditline(
    url: str, *args: str, migrate: bool = True, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """`creditline <args>` against `url` (migrated first)."""
    env = {**os.environ, "CREDITLINE_DATABASE_URL": url}
    if migrate:
        upgrade = [*CLI, "db", "upgrade"]
        subprocess.run(upgrade, env=env, check=True, capture_output=True, timeout=60)
    return subprocess.run(
        [*CLI, *args], check=False, env=env, capture_output=True, text=True, timeout=timeout
    )


def run_bench(url: str) -> str:
    done = creditline(url, "bench", "--clients", "2", "--seconds", "0.5", "--accounts", "50")
    assert done.returncode == 0, done.stderr
    verified = creditline(url, "verify", migrate=False, timeout=60)
    assert verified.returncode == 0, verified.stdout
    return done.stdout


def check_rows(output: str) -> None:
    for workload in WORKLOADS:
        line = next((row for row in output.splitlines() if row.startswith(workload)), None)
        assert line is not None, f"{workload!r} missing from:\n{output}"
        ops = re.search(r"([\d,]+) ops/s", line)
        assert ops is not None
        assert int(ops.group(1).replace(",", "")) > 0, line
        assert "errors" not in line, line
        if not workload.startswith("raw"):
            assert re.search(r"\d+\.\d\d× ceiling", line), line


def check_risk_rows_send_signals(url: str) -> None:
    """Every decision (service and HTTP rows) had a device: both read all five keys."""
    from sqlalchemy import create_engine, text  # noqa: PLC0415

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            decisions, without = conn.execute(
                text(
                    "SELECT count(*), count(*) FILTER (WHERE detail NOT LIKE "
                    '\'%"device_id":"dev-%\') FROM risk_decision'
                )
            ).one()
    finally:
        engine.dispose()
    assert decisions > 0
    assert without == 0


def test_bench_on_sqlite(tmp_path: Path) -> None:
    output = run_bench(f"sqlite:///{tmp_path / 'bench.db'}")
    check_rows(output)
    check_risk_rows_send_signals(f"sqlite:///{tmp_path / 'bench.db'}")
    assert "synchronous=2" in output


@pytest.mark.postgres
def test_bench_on_postgres(postgres_url: str) -> None:
    truncate_all(postgres_url)
    output = run_bench(postgres_url)
    check_rows(output)
    check_risk_rows_send_signals(postgres_url)
    assert "synchronous_commit=on" in output
    if shutil.which("pgbench"):
        assert "pgbench, same SQL" in output


def test_the_default_bench_fits_postgresqls_default_connections() -> None:
    """Both HTTP servers keep their pools' idle connections between phases; sized by the
    clients, the default run (1, 8, 32 clients, 2 server processes) stays within
    PostgreSQL's default max_connections of 100, less 3 reserved."""
    assert server_pool_size(32, 2) == 10  # room for 16 requests and 3 background tasks
    assert connections_needed(CoreOptions(server_workers=2)) == 32 + 2 * 2 * 10 + 10 <= 97
    assert connections_needed(CoreOptions(clients=(200,), http=False)) == 210


@pytest.mark.postgres
def test_bench_refuses_more_clients_than_postgresql_has_connections_for(
    postgres_url: str,
) -> None:
    truncate_all(postgres_url)
    done = creditline(postgres_url, "bench", "--clients", "1,200", "--no-http", "--seconds", "1")
    assert done.returncode == 2
    assert "200 clients need up to 210 database connections" in done.stderr, done.stderr
    assert "max_connections" in done.stderr
    from sqlalchemy import create_engine, text  # noqa: PLC0415

    engine = create_engine(postgres_url)
    try:
        with engine.connect() as conn:  # refused before the bench set anything up
            assert conn.execute(text("SELECT count(*) FROM credit_account")).scalar_one() == 0
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_bench_lockstep_drives_each_workload_in_turn_and_shares_against_the_first(
    postgres_url: str,
) -> None:
    """Three clients (the core engine twice: the noise check), a few rounds: each line has
    its figures, the first is the baseline, and the risk workload really decided (its
    decisions are in the log: warm-up plus every round's operations)."""
    from sqlalchemy import create_engine, text  # noqa: PLC0415

    truncate_all(postgres_url)
    args = ["--workloads", "service,service_risk,service", "--rounds", "3", "--ops", "5"]
    done = creditline(postgres_url, "bench", "lockstep", *args, "--accounts", "50")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if "ms/op" in line]
    assert [line.split("  ")[0].strip() for line in lines] == [
        "service authorize",
        "service authorize + risk pipeline",
        "service authorize",
    ]
    shares = [float(re.search(r"share\s+([\d.]+)", line).group(1)) for line in lines]  # type: ignore[union-attr]
    assert shares[0] == 1.0
    assert all(0 < share < 10 for share in shares)
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            decided = conn.execute(text("SELECT count(*) FROM risk_decision")).scalar_one()
    finally:
        engine.dispose()
    assert decided == 5 + 3 * 5


def test_bench_lockstep_refuses_a_single_or_unknown_workload(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    for workloads in ("service", "service,nonsense"):
        done = creditline(url, "bench", "lockstep", "--workloads", workloads, "--accounts", "5")
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1
        assert "bench lockstep: two or more of" in done.stderr
    with sqlite3.connect(tmp_path / "l.db") as db:  # refused before any setup
        assert db.execute("SELECT count(*) FROM platform").fetchone() == (0,)


@pytest.mark.broker
def test_bench_release_applies_the_burst_once_and_leaves_nothing_stuck(
    tmp_path: Path, nats_url: str
) -> None:
    env = {
        **os.environ,
        "CREDITLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'release.db'}",
        "CREDITLINE_NATS_URL": nats_url,
    }
    subprocess.run([*CLI, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=60)
    done = subprocess.run(
        [
            *CLI,
            "bench",
            "release",
            "--events",
            "300",
            "--expiring",
            "5",
            "--sweep-interval-s",
            "1",
            "--server-workers",
            "1",
        ],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for label in ("in-process handler", "NATS → worker events", "HTTP POST"):
        line = next((r for r in done.stdout.splitlines() if r.startswith(label)), None)
        assert line is not None, f"{label!r} missing from:\n{done.stdout}"
        sent, distinct, applied, rate = (int(n.replace(",", "")) for n in line.split()[-7:-3])
        assert sent > distinct == applied > 0, line  # duplicates were sent, none applied
        assert rate > 0, line
    assert "stuck holds (pending past expiry + one sweep interval): 0 of 5" in done.stdout
    assert "exactly once: yes" in done.stdout
    assert "holds not in their planned state: 0" in done.stdout
    assert "creditline verify: ok" in done.stdout


@pytest.mark.redis
def test_bench_risk_prints_every_row(tmp_path: Path, redis_url: str) -> None:
    env = {
        **os.environ,
        "CREDITLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'risk.db'}",
        "CREDITLINE_REDIS_URL": redis_url,
    }
    subprocess.run([*CLI, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=60)
    args = ["bench", "risk", "--accounts", "20", "--history", "3", "--decisions", "100"]
    done = subprocess.run(
        [*CLI, *args], check=False, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line for line in done.stdout.splitlines() if " p99 " in line]
    assert [line.split("  p50")[0].strip() for line in rows] == [
        "pipeline alone (features in memory)",
        "database store: decision (1 read + pipeline)",
        "database store: writes (own commit)",
        "Redis store: decision (1 read + pipeline)",
        "Redis store: writes (after commit)",
    ]
    for line in rows:
        p50, p99 = (int(n) for n in re.findall(r"p(?:50|99)\s+(\d+) µs", line))
        assert 0 < p50 <= p99, line
