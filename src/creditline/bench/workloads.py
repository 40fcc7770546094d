"""The operations the benchmark times, one factory per workload.

Each factory runs inside a worker process and returns a zero-argument callable that
performs one operation (and how many operations it counts as). All workloads place holds
on randomly chosen bench accounts, so they contend as little as pgbench's random
accounts do.

- raw: the ceiling. The minimal authorize with the bare driver (psycopg / sqlite3), no
  SQLAlchemy, no idempotency: BEGIN; conditional UPDATE … RETURNING; INSERT hold; COMMIT.
- service: `CommandBus.execute_idempotent` exactly as the API calls it (idempotency
  record and rendered JSON included), without HTTP, risk control off: the core engine.
- service_risk: the same with the risk pipeline on (observe mode: all of its work, no
  refusals) and each payment's device, IP and place — within 20% of `service` is the
  target.
- http, http_mix: the same through a running server (driven by http_load.py).
- *_mix: authorize, then capture it whole or release it (alternately): two operations.
"""

from __future__ import annotations

import os
import random
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from creditline.domain.hold import Hold
from creditline.domain.money import Money
from creditline.domain.risk.inputs import Location
from creditline.service.commands import Signals

Operation = Callable[[], int]
"""Performs one unit of work; returns how many operations it counted."""

HOLD_AMOUNT_FEN = 100


@dataclass(frozen=True, slots=True)
class BenchSpec:
    database_url: str
    accounts: int
    merchant_id: str
    platform_id: str
    merchant_key: str
    http_base: str | None = None


def account_id(number: int) -> str:
    return f"acct_bench{number:08d}"


def _random_account(spec: BenchSpec) -> str:
    return account_id(random.randint(1, spec.accounts))


def raw_operation(spec: BenchSpec) -> Operation:
    if spec.database_url.startswith("sqlite"):
        return _raw_sqlite(spec)
    return _raw_postgres(spec)


_RAW_UPDATE = (
    "UPDATE credit_account SET locked = locked + {p} "
    "WHERE id = {p} AND credit_limit - used - locked >= {p} RETURNING id"
)
_RAW_INSERT = (
    "INSERT INTO hold (id, account_id, merchant_id, order_id, amount, captured, released, "
    "refunded, forced, status, created_at, expires_at) "
    "VALUES ({p}, {p}, {p}, {p}, {p}, 0, 0, 0, 0, 'pending', {p}, {p})"
)


def _raw_postgres(spec: BenchSpec) -> Operation:
    import psycopg  # noqa: PLC0415 - only the PostgreSQL ceiling needs the bare driver

    from creditline.adapters.db.engine import make_engine  # noqa: PLC0415
    from creditline.config import Settings  # noqa: PLC0415

    url = make_engine(Settings(database_url=spec.database_url)).url
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = psycopg.connect(conninfo)
    update_sql = _RAW_UPDATE.format(p="%s")
    insert_sql = _RAW_INSERT.format(p="%s")

    def authorize() -> int:
        target = _random_account(spec)
        now = datetime.now(UTC)
        with connection.transaction(), connection.cursor() as cursor:
            cursor.execute(update_sql, (HOLD_AMOUNT_FEN, target, HOLD_AMOUNT_FEN))
            assert cursor.fetchone() is not None
            cursor.execute(
                insert_sql,
                (
                    f"hold_raw{uuid.uuid4().hex}",
                    target,
                    spec.merchant_id,
                    uuid.uuid4().hex,
                    HOLD_AMOUNT_FEN,
                    now,
                    now + timedelta(days=7),
                ),
            )
        return 1

    return authorize


def _raw_sqlite(spec: BenchSpec) -> Operation:
    path = spec.database_url.removeprefix("sqlite:///")
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    update_sql = _RAW_UPDATE.format(p="?")
    insert_sql = _RAW_INSERT.format(p="?")

    def authorize() -> int:
        target = _random_account(spec)
        now = datetime.now(UTC).replace(tzinfo=None)
        connection.execute("BEGIN IMMEDIATE")
        try:
            row = connection.execute(
                update_sql, (HOLD_AMOUNT_FEN, target, HOLD_AMOUNT_FEN)
            ).fetchone()
            assert row is not None
            connection.execute(
                insert_sql,
                (
                    f"hold_raw{uuid.uuid4().hex}",
                    target,
                    spec.merchant_id,
                    uuid.uuid4().hex,
                    HOLD_AMOUNT_FEN,
                    str(now),
                    str(now + timedelta(days=7)),
                ),
            )
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        return 1

    return authorize


def service_operation(spec: BenchSpec, *, mix: bool, risk: bool = False) -> Operation:
    from creditline.bootstrap import bootstrap  # noqa: PLC0415
    from creditline.config import Settings  # noqa: PLC0415
    from creditline.entrypoints.api.respond import render_error, renderer  # noqa: PLC0415
    from creditline.entrypoints.api.schemas import HoldOut  # noqa: PLC0415
    from creditline.service import commands  # noqa: PLC0415
    from creditline.service.access import Actor, Role  # noqa: PLC0415
    from creditline.service.bus import IdempotencyKey  # noqa: PLC0415
    from creditline.service.holds.queries import hold_view  # noqa: PLC0415

    # The core engine alone, or with the risk pipeline doing all of its work: features
    # read and written, every rule evaluated, the decision logged — in observe mode (every
    # rule in shadow), so no bench payment is refused and the two rows do the same holds.
    settings = Settings(
        database_url=spec.database_url, risk_enabled=risk, risk_policy=RISK_BENCH_POLICY
    )
    runtime = bootstrap(settings, pool_size=1)
    actor = Actor(
        key_id="key_bench",
        role=Role.MERCHANT,
        platform_id=spec.platform_id,
        merchant_id=spec.merchant_id,
        name="bench",
    )
    last: dict[str, str] = {}

    def to_model(hold: Hold) -> HoldOut:
        last["hold"] = hold.id
        return HoldOut.of(hold_view(hold, (), runtime.clock.now()))

    render = renderer(201, to_model)

    def run(command: commands.Command) -> None:
        key = uuid.uuid4().hex
        outcome = runtime.bus.execute_idempotent(
            actor, command, IdempotencyKey("merchant:bench", key, key), render, render_error
        )
        assert outcome.status < 300, outcome.body

    def authorize() -> int:
        run(
            commands.Authorize(
                account_id=_random_account(spec),
                order_id=uuid.uuid4().hex,
                amount=Money(HOLD_AMOUNT_FEN),
                signals=payment_signals() if risk else commands.Signals(),
            )
        )
        if not mix:
            return 1
        hold_id = last["hold"]
        if random.random() < 0.5:
            run(commands.Capture(hold_id=hold_id, amount=Money(HOLD_AMOUNT_FEN)))
        else:
            run(commands.Release(hold_id=hold_id))
        return 2

    return authorize


WORKLOADS: dict[str, Callable[[BenchSpec], Operation]] = {
    "raw": raw_operation,
    "service": lambda spec: service_operation(spec, mix=False),
    "service_mix": lambda spec: service_operation(spec, mix=True),
    "service_risk": lambda spec: service_operation(spec, mix=False, risk=True),
}
RISK_BENCH_POLICY = "observe"


def payment_signals() -> Signals:
    """A payment's device, IP and place, as the risk rows (service and HTTP) send them."""
    n = random.randrange(5_000)
    return Signals(
        item_categories=("books",),
        device_id=f"dev-{n}",
        ip=f"10.{n % 250}.{n // 250}.1",
        location=Location(31.2304, 121.4737, "Shanghai"),
    )


def worker_seed() -> int:
    return int.from_bytes(os.urandom(8), "big")
