"""The event worker against the local NATS JetStream server and a real database.

Each test has its own namespace (stream, subjects, durable consumer), deleted afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace

import pytest
from nats.js import JetStreamContext
from sqlalchemy import func, select

from creditline.adapters import nats_events
from creditline.adapters.db.schema import dead_letter, hold_event, order_event
from creditline.bootstrap import Runtime
from creditline.domain.hold import HoldStatus
from creditline.domain.money import Money
from creditline.entrypoints import event_worker
from creditline.entrypoints.counters import ORDER_EVENTS
from creditline.service.verify import verify
from tests.conftest import World

pytestmark = pytest.mark.broker
WAIT_S = 30.0


@pytest.fixture
def worker_runtime(world: World, nats_url: str, topology: nats_events.Topology) -> Runtime:
    settings = replace(
        world.runtime.settings,
        nats_url=nats_url,
        nats_namespace=topology.namespace,
        reconcile_interval_s=0,
        event_ack_wait_s=1.0,
        event_batch_size=50,
    )
    return replace(world.runtime, settings=settings)


def count(rt: Runtime, table: object) -> int:
    with rt.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def event(event_id: str, kind: str, order: str, amount: int | None = None) -> bytes:
    amount_part = "" if amount is None else f',"amount":{amount}'
    return (
        f'{{"event_id":"{event_id}","type":"{kind}","order_id":"{order}",'
        f'"occurred_at":"2026-11-22T02:00:00Z"{amount_part}}}'
    ).encode()


async def settled(js: JetStreamContext, topo: nats_events.Topology) -> bool:
    """Everything in the stream was delivered and acknowledged."""
    info = await js.consumer_info(topo.stream, topo.durable)
    return bool(info.num_pending == 0 and info.num_ack_pending == 0)


async def run_worker_until(rt: Runtime, done: Callable[[], Awaitable[bool]]) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(event_worker.run(rt, stop=stop))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    try:
        while not await done():
            if task.done():
                task.result()  # the worker died: show why
            assert loop.time() < deadline, "the worker did not finish in time"
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, WAIT_S)


def test_broker_events_apply_once_in_any_order_and_bad_ones_are_dead_lettered(
    world: World, worker_runtime: Runtime, topology: nats_events.Topology
) -> None:
    rt = worker_runtime
    account_id = world.open_account(100_000)
    shipped = world.authorize(account_id, 30_000, order="o-1")
    cancelled = world.authorize(account_id, 20_000, order="o-2")
    bodies = [
        event("e-1", "shipped", "o-1", 10_000),
        event("e-1", "shipped", "o-1", 10_000),  # sent twice by the platform
        event("e-2", "cancelled", "o-2"),
        event("e-3", "delivered", "o-1"),
        b"not json at all",
        event("e-4", "cancelled", "o-404"),
        event("e-2", "cancelled", "o-2"),
        event("e-5", "cancelled", "o-1").replace(b"2026-11-22T02:00:00Z", b"2027-01-01T00:00:00Z"),
        event("e-6", "cancelled", "o-1").replace(b'"2026-11-22T02:00:00Z"', b"1763776800"),
    ]

    async def scenario() -> None:
        client, js = await nats_events.connect(rt.settings.nats_url, topology)
        try:
            await nats_events.publish(js, topology, "plat_test", bodies)
            stranger = event("e-9", "cancelled", "o-1")
            await nats_events.publish(js, topology, "plat_nobody", [stranger])
            await nats_events.publish(js, topology, "p" * 60, [stranger])

            async def done() -> bool:
                applied = await asyncio.to_thread(count, rt, order_event)
                letters = await asyncio.to_thread(count, rt, dead_letter)
                return applied == 4 and letters == 6 and await settled(js, topology)

            await run_worker_until(rt, done)
        finally:
            await nats_events.close(client)

    asyncio.run(scenario())
    with rt.uow_factory(write=False) as uow:
        one, two = uow.holds.get(shipped.id), uow.holds.get(cancelled.id)
        letters = uow.dead_letters.open(kind="order_event", after=None, limit=10).items
    assert one is not None
    assert two is not None
    assert (one.status, one.captured, one.released) == (
        HoldStatus.CAPTURED,
        Money(10_000),
        Money(20_000),
    )
    assert two.status is HoldStatus.RELEASED
    assert sorted(letter.reason for letter in letters) == [
        "invalid_message",
        "invalid_message",
        "invalid_message",
        "invalid_message",
        "invalid_message",
        "unknown_order",
    ]
    future = next(letter for letter in letters if "after now" in letter.detail)
    assert "occurred_at is" in future.detail
    assert {letter.platform_id for letter in letters} == {"plat_test", "plat_nobody", None}
    account = world.account(account_id)
    assert (account.used, account.locked) == (Money(10_000), Money(0))
    assert verify(rt.uow_factory).ok


def test_events_committed_but_not_acknowledged_come_back_as_duplicates(
    world: World, worker_runtime: Runtime, topology: nats_events.Topology
) -> None:
    """A worker that dies after its commit and before its ack: the redelivery is a no-op."""
    rt = worker_runtime
    account_id = world.open_account(100_000)
    hold = world.authorize(account_id, 30_000, order="o-1")
    bodies = [event("e-1", "shipped", "o-1", 5_000), event("e-2", "shipped", "o-1", 5_000)]
    duplicates = ORDER_EVENTS.labels("broker", "duplicate")
    before = duplicates._value.get()

    async def scenario() -> None:
        client, js = await nats_events.connect(rt.settings.nats_url, topology)
        try:
            await nats_events.publish(js, topology, "plat_test", bodies)
            sub = await nats_events.subscribe(js, topology, ack_wait_s=1.0)
            messages = await nats_events.fetch(sub, 10, 5.0)
            assert len(messages) == 2
            now = rt.clock.now()
            parsed = [event_worker.parse(m, now, topology) for m in messages]
            await asyncio.to_thread(event_worker.handle_batch, rt, parsed)
            await sub.unsubscribe()
            # ... and the worker "dies" here: no acknowledgement was sent.
            assert not await settled(js, topology)

            async def redelivered() -> bool:
                # `settled` alone can be true for a moment while the unacknowledged
                # messages wait out their ack_wait, before they are delivered again
                return await settled(js, topology) and duplicates._value.get() - before >= 2

            await run_worker_until(rt, redelivered)
        finally:
            await nats_events.close(client)

    asyncio.run(scenario())
    assert duplicates._value.get() - before == 2
    with rt.engine.connect() as conn:
        captures = conn.execute(
            select(func.count())
            .select_from(hold_event)
            .where(hold_event.c.hold_id == hold.id, hold_event.c.kind == "captured")
        ).scalar_one()
    assert captures == 2
    assert world.account(account_id).used == Money(10_000)
    assert count(rt, dead_letter) == 0
    assert verify(rt.uow_factory).ok
