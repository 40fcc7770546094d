"""Crash test: `creditline worker events` is SIGKILLed in the middle of a burst, restarted,
and afterwards every event has been applied exactly once.

The burst mixes shipments (full and partial), deliveries, cancellations and duplicates
over a few hundred holds. The worker runs as a real process against the
local NATS server; the kill lands while events are still being applied (checked).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from creditline.adapters import nats_events
from creditline.adapters.db.schema import hold_event, order_event
from creditline.bootstrap import Runtime, bootstrap
from creditline.config import Settings
from creditline.domain.hold import HoldStatus
from creditline.domain.money import Money
from creditline.service.verify import verify
from tests.conftest import make_world

pytestmark = pytest.mark.broker

ACCOUNTS = 20
HOLDS_PER_ACCOUNT = 20
HOLD_FEN = 10_000
KILL_AFTER_APPLIED = 150
WAIT_S = 120.0


@dataclass(frozen=True)
class Expected:
    status: HoldStatus
    captured: int
    released: int


def plan(order: str, i: int) -> tuple[list[bytes], Expected]:
    """The events for one order (in the order sent) and the hold's state afterwards."""

    def ev(n: int, kind: str, amount: int | None = None) -> bytes:
        extra = "" if amount is None else f',"amount":{amount}'
        return (
            f'{{"event_id":"{order}-{n}","type":"{kind}","order_id":"{order}",'
            f'"occurred_at":"2026-11-22T02:00:00Z"{extra}}}'
        ).encode()

    # JetStream redelivers unacknowledged messages after newer ones, so a crash reorders
    # events; each order's events here commute, so the end state does not depend on it.
    # (What each out-of-order combination does is tested in test_order_events.py.)
    match i % 4:
        case 0:
            return [ev(0, "cancelled")], Expected(HoldStatus.RELEASED, 0, HOLD_FEN)
        case 1:
            return [ev(0, "shipped")], Expected(HoldStatus.CAPTURED, HOLD_FEN, 0)
        case 2:
            events = [ev(0, "shipped", 1_000), ev(1, "shipped", 2_000)]
            return events, Expected(HoldStatus.PENDING, 3_000, 0)
        case _:
            return [ev(0, "delivered")], Expected(HoldStatus.CAPTURED, HOLD_FEN, 0)


def applied(rt: Runtime) -> int:
    with rt.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(order_event)).scalar_one())


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "creditline.entrypoints.cli", "worker", "events"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )


def wait_for(
    condition: Callable[[], bool], what: str, worker: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if worker.poll() is not None:
            pytest.fail(f"the worker exited ({worker.returncode}): {log.read_text()}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {log.read_text()}"
        time.sleep(0.01)


def test_a_killed_worker_applies_every_event_exactly_once_after_restart(
    database_url: str, nats_url: str, topology: nats_events.Topology, tmp_path: Path
) -> None:
    rt = bootstrap(Settings(database_url=database_url, sweep_interval_s=0, risk_policy="observe"))
    try:
        world = make_world(rt)
        expected: dict[str, Expected] = {}
        bodies: list[bytes] = []
        accounts: list[str] = []
        for a in range(ACCOUNTS):
            account_id = world.open_account(HOLD_FEN * HOLDS_PER_ACCOUNT)
            accounts.append(account_id)
            for h in range(HOLDS_PER_ACCOUNT):
                i = a * HOLDS_PER_ACCOUNT + h
                hold = world.authorize(account_id, HOLD_FEN, order=f"order-{i}")
                events, expected[hold.id] = plan(f"order-{i}", i)
                bodies += events
                if i % 5 == 0:
                    bodies += events  # the platform sent this order's events twice
        distinct = len(set(bodies))

        async def publish() -> None:
            client, js = await nats_events.connect(nats_url, topology)
            await nats_events.publish(js, topology, "plat_test", bodies)
            await nats_events.close(client)

        asyncio.run(publish())
        env = {
            **os.environ,
            "CREDITLINE_DATABASE_URL": database_url,
            "CREDITLINE_NATS_URL": nats_url,
            "CREDITLINE_NATS_NAMESPACE": topology.namespace,
            "CREDITLINE_EVENT_BATCH_SIZE": "10",
            "CREDITLINE_EVENT_ACK_WAIT_S": "2",
            "CREDITLINE_RECONCILE_INTERVAL_S": "0",
            "CREDITLINE_LOG_LEVEL": "warning",
        }
        log = tmp_path / "worker.log"
        first = start_worker(env, log)
        try:
            wait_for(lambda: applied(rt) >= KILL_AFTER_APPLIED, "the burst to start", first, log)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        at_kill = applied(rt)
        assert at_kill < distinct, "the worker finished before the kill: make the burst bigger"

        second = start_worker(env, log)
        try:
            wait_for(lambda: applied(rt) == distinct, "every event to be applied", second, log)
            time.sleep(3)  # longer than ack_wait: anything redelivered would show now
            assert applied(rt) == distinct
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(30) == 0

        with rt.uow_factory(write=False) as uow:
            for hold_id, want in expected.items():
                stored = uow.holds.get(hold_id)
                assert stored is not None
                got = Expected(stored.status, stored.captured.fen, stored.released.fen)
                assert got == want, hold_id
        with rt.engine.connect() as conn:
            captures = conn.execute(
                select(func.count()).select_from(hold_event).where(hold_event.c.kind == "captured")
            ).scalar_one()
        # One capture per shipment or delivery, never two for one event.
        per_kind = {0: 0, 1: 1, 2: 2, 3: 1}
        assert captures == sum(per_kind[i % 4] for i in range(ACCOUNTS * HOLDS_PER_ACCOUNT))
        total_captured = sum(w.captured for w in expected.values())
        assert sum((world.account(a).used for a in accounts), Money(0)) == Money(total_captured)
        report = verify(rt.uow_factory)
        assert report.ok, report.problems
    finally:
        rt.close()
