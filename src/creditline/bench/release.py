"""`creditline bench release`: a burst of order events at peak, measured end to end.

1. Set-up (not measured): a fresh platform, accounts, one ¥100.00 hold per planned order,
   and `expiring` holds created 55 s ago with the minimum 60 s lifetime, which nobody
   ships: only the sweeper can release them.
2. Baseline: the in-process handler (`process_events`, batches of the worker's size) on
   its own set of orders: what the engine does with no broker and no HTTP in the way.
3. Peak: half the burst is published to NATS at once and applied by `creditline worker
   events` (a real process); the other half is POSTed to `creditline serve` (a real
   server, which also runs the sweeper) in batches of 100 by several clients — both at
   the same moment.
4. Checks: latency from each event's `occurred_at` (stamped when it was sent) to the
   commit of its effect (`applied_at` in the inbox, written in the same transaction as
   the balance), holds still pending past expiry plus one sweep interval, one inbox row
   per distinct event, every hold in its planned state, and `verify`.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from nats.js.errors import NotFoundError
from sqlalchemy import select

from creditline.adapters import nats_events
from creditline.adapters.clock import FixedClock
from creditline.adapters.db.schema import hold, order_event
from creditline.bench import processes
from creditline.bench.release_plan import (
    HOLD_FEN,
    Expected,
    PathPlan,
    orders_for,
    scenario,
)
from creditline.bench.release_send import Pace, post, publish
from creditline.bootstrap import Runtime, bootstrap
from creditline.domain.hold import HoldStatus
from creditline.domain.limits import CREDIT_LIMIT_MAX, HOLD_TTL_S_MIN
from creditline.domain.money import Money
from creditline.domain.order_events import OrderEvent, OrderEventType
from creditline.service import commands, directory
from creditline.service.access import Actor, Role
from creditline.service.accounts.queries import AccountView
from creditline.service.orders.events import Received, process_events
from creditline.service.verify import verify

ACCOUNTS = 500
EXPIRING_AGE_S = HOLD_TTL_S_MIN - 5
WORKER_START_TIMEOUT_S = 30.0
WAIT_S = 600.0
"""Give up on a path that has not applied everything after this long."""


@dataclass(frozen=True, slots=True)
class ReleaseOptions:
    events: int = 10_000
    expiring: int = 200
    worker_batch: int = 500
    server_workers: int = 2
    sweep_interval_s: float = 5.0
    rate: float | None = None
    """Events per second on each path; None: the whole burst at once."""


@dataclass
class PathResult:
    name: str
    sent: int
    distinct: int
    applied: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


@dataclass
class ReleaseReport:
    paths: list[PathResult]
    expiring: int
    stuck: int
    wrong_holds: int
    verify_ok: bool
    problems: list[str]


@dataclass(frozen=True, slots=True)
class Setup:
    platform: Actor
    platform_key: str
    merchant: Actor
    expected: dict[str, Expected]
    """order id → expected hold state"""

    @property
    def platform_id(self) -> str:
        assert self.platform.platform_id is not None
        return self.platform.platform_id


def run_release(rt: Runtime, options: ReleaseOptions, say: Callable[[str], None]) -> ReleaseReport:
    baseline = orders_for(options.events // 2, "direct", 0)
    broker = orders_for(options.events // 2, "broker", len(baseline.orders))
    http = orders_for(options.events // 2, "http", len(baseline.orders) + len(broker.orders))
    plans = (baseline, broker, http)
    say(f"set-up: {sum(len(p.orders) for p in plans)} holds + {options.expiring} expiring …")
    setup = _prepare(rt, plans, options.expiring)
    topology = nats_events.Topology(f"benchrel{secrets.token_hex(4)}")
    results = [_direct(rt, setup, baseline, options.worker_batch)]
    say(
        f"baseline done; peak burst: {len(broker.events())} via NATS, {len(http.events())} via HTTP"
    )
    with ExitStack() as stack:
        base = stack.enter_context(_server(rt, options))
        stack.enter_context(_worker(rt, topology, options))
        asyncio.run(_worker_ready(rt.settings.nats_url, topology))
        started = time.monotonic()
        with ThreadPoolExecutor(2) as pool:
            pace = Pace(options.rate)
            url = rt.settings.nats_url
            sent_broker = pool.submit(publish, url, topology, setup, broker, pace)
            sent_http = pool.submit(post, base, setup, http, pace)
            sent_broker.result()
            sent_http.result()
        for plan in (broker, http):
            _wait_applied(rt, setup, plan, started)
        ready_at = _latest_expiry(rt, setup) + timedelta(seconds=options.sweep_interval_s + 1)
        while datetime.now(UTC) < ready_at:
            time.sleep(0.2)
        stuck = _stuck(rt, setup, options.sweep_interval_s)
    results += [
        _measure(rt, setup, plan, source) for plan, source in ((broker, "broker"), (http, "http"))
    ]
    asyncio.run(_drop_stream(rt.settings.nats_url, topology))
    wrong, problems = _check_holds(rt, setup)
    report = verify(rt.uow_factory)
    problems += [f"verify: {p.kind} {p.object_id} {p.detail}" for p in report.problems[:10]]
    return ReleaseReport(results, options.expiring, stuck, wrong, report.ok, problems)


def _prepare(rt: Runtime, plans: tuple[PathPlan, ...], expiring: int) -> Setup:
    now = rt.clock.now()
    tag = secrets.token_hex(4)
    platform_id, merchant_id, key = (
        f"plat_rel{tag}",
        f"mer_rel{tag}",
        f"clk_rel{tag}{secrets.token_hex(8)}",
    )
    with rt.uow_factory(write=True) as uow:
        directory.create_platform(uow, name="Release bench", now=now, platform_id=platform_id)
        directory.create_merchant(
            uow, platform_id=platform_id, name="Bench", now=now, merchant_id=merchant_id
        )
        platform = directory.issue_api_key(
            uow,
            binding=Actor(key_id="-", role=Role.PLATFORM, platform_id=platform_id, name="bench"),
            now=now,
            new_id=rt.new_id,
            key=key,
        ).record.actor
        merchant = Actor(
            key_id="bench",
            role=Role.MERCHANT,
            platform_id=platform_id,
            merchant_id=merchant_id,
            name="bench",
        )
        uow.commit()
    accounts = [_open(rt, platform, f"{tag}-{n}") for n in range(ACCOUNTS)]
    expected: dict[str, Expected] = {}
    number = 0
    # The holds are the bench's set-up, not what it measures: placed with risk control
    # off (a few accounts take thousands of holds in seconds).
    plain = replace(rt.settings, risk_enabled=False)
    placing = bootstrap(plain)
    try:
        for plan in plans:
            for order_id, scenario_number in plan.orders:
                _authorize(placing, merchant, accounts[number % ACCOUNTS], order_id)
                expected[order_id] = scenario(order_id, scenario_number)[1]
                number += 1
    finally:
        placing.close()
    past = bootstrap(plain, clock=FixedClock(now - timedelta(seconds=EXPIRING_AGE_S)))
    try:
        for n in range(expiring):
            order_id = f"expiring-{n}"
            _authorize(past, merchant, accounts[n % ACCOUNTS], order_id, HOLD_TTL_S_MIN)
            expected[order_id] = Expected(HoldStatus.EXPIRED, 0, HOLD_FEN)
    finally:
        past.close()
    return Setup(platform, key, merchant, expected)


def _open(rt: Runtime, platform: Actor, ref: str) -> str:
    view = rt.bus.execute(
        platform, commands.OpenAccount(external_ref=ref, credit_limit=CREDIT_LIMIT_MAX)
    )
    assert isinstance(view, AccountView)
    return view.account.id


def _authorize(
    rt: Runtime, merchant: Actor, account_id: str, order_id: str, ttl_s: int | None = None
) -> None:
    rt.bus.execute(
        merchant,
        commands.Authorize(
            account_id=account_id, order_id=order_id, amount=Money(HOLD_FEN), ttl_s=ttl_s
        ),
    )


def _direct(rt: Runtime, setup: Setup, plan: PathPlan, batch: int) -> PathResult:
    """The baseline: the handler itself, in this process, in the worker's batch size."""
    events = plan.events()
    for start in range(0, len(events), batch):
        now = datetime.now(UTC)
        received = [
            Received(
                OrderEvent(
                    platform_id=setup.platform.platform_id or "",
                    event_id=e.event_id,
                    type=OrderEventType(e.type),
                    order_id=e.order_id,
                    occurred_at=now,
                    amount=None if e.amount is None else Money(e.amount),
                ),
                now,
                "direct",
            )
            for e in events[start : start + batch]
        ]
        process_events(
            rt.uow_factory,
            lambda careful: rt.bus.context(setup.platform, careful=careful),
            received,
        )
    return _measure(rt, setup, plan, "direct")


def _server(rt: Runtime, options: ReleaseOptions) -> AbstractContextManager[str]:
    settings = {
        "sweep_interval_s": str(options.sweep_interval_s),
        "access_log": "false",
        "log_level": "warning",
    }
    return processes.server(
        rt.settings.database_url, workers=options.server_workers, settings=settings
    )


def _worker(
    rt: Runtime, topology: nats_events.Topology, options: ReleaseOptions
) -> AbstractContextManager[None]:
    settings = {
        "nats_url": rt.settings.nats_url,
        "nats_namespace": topology.namespace,
        "event_batch_size": str(options.worker_batch),
        "reconcile_interval_s": "0",
        "log_level": "warning",
    }
    return processes.event_worker(rt.settings.database_url, settings=settings)


def _applied_rows(rt: Runtime, setup: Setup, source: str) -> list[tuple[datetime, datetime]]:
    query = select(order_event.c.occurred_at, order_event.c.applied_at).where(
        order_event.c.platform_id == setup.platform.platform_id, order_event.c.source == source
    )
    with rt.engine.connect() as conn:
        return [(row.occurred_at, row.applied_at) for row in conn.execute(query)]


def _wait_applied(rt: Runtime, setup: Setup, plan: PathPlan, started: float) -> None:
    source = "broker" if plan.name == "broker" else "http"
    while len(_applied_rows(rt, setup, source)) < plan.distinct():
        if time.monotonic() - started > WAIT_S:
            raise RuntimeError(f"{plan.name}: not every event applied after {WAIT_S:.0f} s")
        time.sleep(0.2)


def _measure(rt: Runtime, setup: Setup, plan: PathPlan, source: str) -> PathResult:
    rows = _applied_rows(rt, setup, source)
    latencies = [(applied - occurred).total_seconds() * 1000 for occurred, applied in rows]
    first = min((o for o, _ in rows), default=None)
    last = max((a for _, a in rows), default=None)
    seconds = (last - first).total_seconds() if first and last else 0.0
    return PathResult(plan.name, len(plan.events()), plan.distinct(), len(rows), seconds, latencies)


def _latest_expiry(rt: Runtime, setup: Setup) -> datetime:
    query = (
        select(hold.c.expires_at)
        .where(hold.c.merchant_id == setup.merchant.merchant_id)
        .order_by(hold.c.expires_at.desc())
        .limit(1)
    )
    with rt.engine.connect() as conn:
        latest: datetime = conn.execute(
            query.where(hold.c.order_id.like("expiring-%"))
        ).scalar_one()
    return latest


def _stuck(rt: Runtime, setup: Setup, sweep_interval_s: float) -> int:
    """Holds still pending (as stored) past their expiry plus one sweep interval."""
    cutoff = datetime.now(UTC) - timedelta(seconds=sweep_interval_s)
    query = select(hold.c.id).where(
        hold.c.merchant_id == setup.merchant.merchant_id,
        hold.c.status == HoldStatus.PENDING.value,
        hold.c.expires_at < cutoff,
    )
    with rt.engine.connect() as conn:
        return len(conn.execute(query).all())


def _check_holds(rt: Runtime, setup: Setup) -> tuple[int, list[str]]:
    query = select(hold.c.order_id, hold.c.status, hold.c.captured, hold.c.released).where(
        hold.c.merchant_id == setup.merchant.merchant_id
    )
    problems = []
    with rt.engine.connect() as conn:
        for row in conn.execute(query):
            got = Expected(HoldStatus(row.status), row.captured, row.released)
            want = setup.expected[row.order_id]
            if got != want:
                problems.append(f"order {row.order_id}: {got} instead of {want}")
    return len(problems), problems[:10]


async def _worker_ready(url: str, topology: nats_events.Topology) -> None:
    """Wait until the worker has bound its durable consumer (it is then fetching)."""
    client, js = await nats_events.connect(url, topology)
    try:
        deadline = time.monotonic() + WORKER_START_TIMEOUT_S
        while True:
            try:
                await js.consumer_info(topology.stream, topology.durable)
                return
            except NotFoundError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the event worker did not start in time") from None
                await asyncio.sleep(0.1)
    finally:
        await nats_events.close(client)


async def _drop_stream(url: str, topology: nats_events.Topology) -> None:
    client, js = await nats_events.connect(url, topology)
    try:
        await nats_events.delete_stream(js, topology)
    finally:
        await nats_events.close(client)
