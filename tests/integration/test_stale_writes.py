"""Optimistic writes on PostgreSQL: a write-back based on a stale read is refused by the
database itself, and none of the writes queued behind it lands."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from creditline.adapters.clock import FixedClock
from creditline.bootstrap import bootstrap
from creditline.config import Settings
from creditline.domain.account import with_balances
from creditline.domain.hold import HoldEvent, HoldEventKind, Stamp
from creditline.domain.money import Money
from creditline.service.ports import ConflictKind, WriteConflict
from tests.conftest import World, make_world, truncate_all
from tests.integration.dbsnapshot import snapshot


@pytest.fixture
def pg_world(postgres_url: str, clock: FixedClock) -> Iterator[World]:
    """SQLite has one writer (BEGIN IMMEDIATE), so its reads cannot go stale: PostgreSQL only."""
    truncate_all(postgres_url)
    runtime = bootstrap(
        Settings(database_url=postgres_url, sweep_interval_s=0, risk_policy="observe"), clock=clock
    )
    yield make_world(runtime)
    runtime.close()


@pytest.mark.postgres
def test_a_stale_write_back_aborts_everything_queued_behind_it(pg_world: World) -> None:
    world = pg_world
    rt = world.runtime
    account_id = world.open_account(10_000)
    hold = world.authorize(account_id, 1_000)
    with rt.uow_factory(write=True) as stale:
        found = stale.holds.get_with_account(hold.id)
        assert found is not None
        read_hold, read_account = found
        # Meanwhile another transaction changes the account and commits.
        world.authorize(account_id, 2_000)
        before = snapshot(rt.engine)
        stale.accounts.save(
            read_account, with_balances(read_account, now=rt.clock.now(), locked=Money(0))
        )
        stale.holds.add_events(
            [
                HoldEvent.of(
                    "hev_stale",
                    read_hold,
                    HoldEventKind.RELEASED,
                    Money(1_000),
                    Stamp(rt.clock.now()),
                )
            ]
        )
        with pytest.raises(WriteConflict) as lost:
            stale.commit()
    assert lost.value.kind is ConflictKind.STALE_READ
    assert snapshot(rt.engine) == before
