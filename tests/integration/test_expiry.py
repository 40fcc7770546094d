"""Holds never get stuck: reads treat them as released at the deadline, the sweeper
releases them in expiry order, in bounded batches, and never twice."""

from __future__ import annotations

import threading
from datetime import timedelta

from creditline.adapters.clock import FixedClock
from creditline.domain.hold import HoldEventKind, HoldStatus
from creditline.domain.money import Money
from creditline.service.accounts.queries import get_account
from creditline.service.holds.expiry import SweepResult, sweep
from creditline.service.holds.queries import get_hold
from creditline.service.verify import verify
from tests.conftest import World

HOUR = timedelta(hours=1)


def test_reads_release_expired_holds_before_the_sweeper(world: World, clock: FixedClock) -> None:
    account_id = world.open_account(100_000)
    hold = world.authorize(account_id, 40_000, ttl_s=3_600)
    clock.advance(HOUR)
    with world.runtime.uow_factory(write=False) as uow:
        account = get_account(uow, world.platform, account_id, clock.now())
        view = get_hold(uow, world.platform, hold.id, clock.now())
        stored = uow.holds.get(hold.id)
    assert account.available == Money(100_000)
    assert account.locked == Money(0)
    assert view.status is HoldStatus.EXPIRED
    assert view.waiting_for is None
    assert stored is not None
    assert stored.status is HoldStatus.PENDING  # the sweeper has not run yet


def test_the_sweeper_releases_in_expiry_order_in_bounded_batches(
    world: World, clock: FixedClock
) -> None:
    accounts = [world.open_account(100_000) for _ in range(3)]
    # Deadlines 10, 20, ... 90 minutes, created out of order across accounts.
    holds = {}
    for minutes in (50, 10, 90, 30, 70, 20, 60, 40, 80):
        account_id = accounts[minutes // 10 % 3]
        holds[minutes] = world.authorize(account_id, 1_000, ttl_s=minutes * 60)
    live = world.authorize(accounts[0], 1_000, ttl_s=6 * 3_600)
    clock.advance(timedelta(minutes=95))
    uow_factory = world.runtime.uow_factory
    with uow_factory(write=False) as uow:
        due = uow.holds.due(clock.now(), 4)
    assert [hold_id for hold_id, _ in due] == [holds[m].id for m in (10, 20, 30, 40)]
    first = sweep(uow_factory, now=clock.now(), new_id=world.runtime.new_id, batch_size=4)
    assert first.more
    assert first.expired >= 4
    rest = sweep(uow_factory, now=clock.now(), new_id=world.runtime.new_id, batch_size=100)
    assert first.expired + rest.expired == 9
    assert not rest.more
    with uow_factory(write=False) as uow:
        statuses = {m: uow.holds.get(h.id).status for m, h in holds.items()}  # type: ignore[union-attr]
        still = uow.holds.get(live.id)
        events = uow.holds.events([holds[10].id])[holds[10].id]
    assert set(statuses.values()) == {HoldStatus.EXPIRED}
    assert still is not None
    assert still.status is HoldStatus.PENDING
    assert [e.kind for e in events] == [HoldEventKind.EXPIRED]
    assert verify(uow_factory).ok


def test_concurrent_sweepers_never_release_twice(world: World, clock: FixedClock) -> None:
    accounts = [world.open_account(1_000_000) for _ in range(5)]
    for account_id in accounts:
        for _ in range(20):
            world.authorize(account_id, 1_000, ttl_s=600)
    clock.advance(HOUR)
    results: list[SweepResult] = []
    lock = threading.Lock()

    def sweeper() -> None:
        while True:
            result = sweep(
                world.runtime.uow_factory,
                now=clock.now(),
                new_id=world.runtime.new_id,
                batch_size=7,
            )
            with lock:
                results.append(result)
            if result.expired == 0 and not result.more:
                return

    threads = [threading.Thread(target=sweeper) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.expired for r in results) == 100
    with world.runtime.uow_factory(write=False) as uow:
        for account_id in accounts:
            account = uow.accounts.get(account_id)
            assert account is not None
            assert account.locked == Money(0)
    assert verify(world.runtime.uow_factory).ok
