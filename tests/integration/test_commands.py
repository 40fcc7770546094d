"""Commands against a real database (SQLite and PostgreSQL): flows, access and audit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from creditline.adapters.clock import FixedClock
from creditline.domain.account import AccountAction, AccountStatus
from creditline.domain.errors import (
    AccountExists,
    AccountNotActive,
    AccountNotFound,
    Forbidden,
    HoldAlreadyReleased,
    HoldExpired,
    HoldNotFound,
    InsufficientCredit,
    MerchantNotFound,
    OrderHasOpenHold,
    ReasonRequired,
)
from creditline.domain.hold import HoldEventKind, HoldStatus
from creditline.domain.money import Money
from creditline.service import commands
from creditline.service.accounts.handlers import Repayment
from creditline.service.accounts.queries import get_account
from creditline.service.holds.queries import get_hold, list_holds
from creditline.service.verify import verify
from tests.conftest import World

DAY = timedelta(days=1)


def balances(world: World, account_id: str) -> tuple[int, int, int]:
    with world.runtime.uow_factory(write=False) as uow:
        view = get_account(uow, world.operator, account_id, world.runtime.clock.now())
    return view.account.used.fen, view.locked.fen, view.available.fen


def test_pay_capture_repay_makes_credit_available_again(world: World) -> None:
    bus = world.runtime.bus
    account_id = world.open_account(100_000)
    hold = world.authorize(account_id, 60_000)
    assert balances(world, account_id) == (0, 60_000, 40_000)
    bus.execute(world.merchant, commands.Capture(hold_id=hold.id, amount=Money(20_000)))
    assert balances(world, account_id) == (20_000, 40_000, 40_000)
    bus.execute(world.merchant, commands.Capture(hold_id=hold.id, amount=Money(30_000), final=True))
    assert balances(world, account_id) == (50_000, 0, 50_000)
    repaid = bus.execute(
        world.consumer(account_id), commands.Repay(account_id=account_id, amount=Money(50_000))
    )
    assert isinstance(repaid, Repayment)
    assert balances(world, account_id) == (0, 0, 100_000)
    with world.runtime.uow_factory(write=False) as uow:
        view = get_hold(uow, world.merchant, hold.id, world.runtime.clock.now())
    kinds = [e.kind for e in view.events]
    assert kinds == [HoldEventKind.CAPTURED, HoldEventKind.CAPTURED, HoldEventKind.RELEASED]
    assert view.status is HoldStatus.CAPTURED
    assert verify(world.runtime.uow_factory).ok


def test_an_order_has_one_pending_hold_until_it_expires(world: World, clock: FixedClock) -> None:
    account_id = world.open_account(100_000)
    first = world.authorize(account_id, 10_000, order="order-1", ttl_s=3_600)
    with pytest.raises(OrderHasOpenHold) as refused:
        world.authorize(account_id, 10_000, order="order-1")
    assert refused.value.params["hold_id"] == first.id
    clock.advance(timedelta(hours=2))
    second = world.authorize(account_id, 10_000, order="order-1")
    assert second.id != first.id
    assert balances(world, account_id) == (0, 10_000, 90_000)
    with world.runtime.uow_factory(write=False) as uow:
        assert uow.holds.get(first.id) is not None
        old = uow.holds.get(first.id)
    assert old is not None
    assert old.status is HoldStatus.EXPIRED
    assert verify(world.runtime.uow_factory).ok


def test_a_decline_releases_expired_holds_first(world: World, clock: FixedClock) -> None:
    account_id = world.open_account(100_000)
    world.authorize(account_id, 90_000, ttl_s=3_600)
    with pytest.raises(InsufficientCredit):
        world.authorize(account_id, 20_000)
    clock.advance(timedelta(hours=1))
    # The sweeper has not run; the authorization itself gives the expired credit back.
    world.authorize(account_id, 20_000)
    assert balances(world, account_id) == (0, 20_000, 80_000)
    assert verify(world.runtime.uow_factory).ok


def test_refund_after_repayment_is_owed_back_to_the_consumer(world: World) -> None:
    bus = world.runtime.bus
    account_id = world.open_account(100_000)
    hold = world.authorize(account_id, 30_000)
    bus.execute(world.merchant, commands.Capture(hold_id=hold.id, amount=Money(30_000)))
    bus.execute(world.platform, commands.Repay(account_id=account_id, amount=Money(20_000)))
    bus.execute(world.merchant, commands.Refund(hold_id=hold.id, amount=Money(25_000)))
    account = world.account(account_id)
    assert account.used == Money(0)
    assert account.credit_balance == Money(15_000)
    assert verify(world.runtime.uow_factory).ok


def test_roles_see_and_do_only_their_part(world: World) -> None:
    bus = world.runtime.bus
    account_id = world.open_account(100_000)
    other_account = world.open_account(100_000)
    hold = world.authorize(account_id, 10_000)
    with pytest.raises(HoldNotFound):
        bus.execute(world.other_merchant, commands.Release(hold_id=hold.id))
    with pytest.raises(Forbidden):
        bus.execute(world.consumer(account_id), commands.Release(hold_id=hold.id))
    with pytest.raises(Forbidden):
        bus.execute(
            world.consumer(account_id),
            commands.Authorize(account_id=account_id, order_id="o", amount=Money(1)),
        )
    with pytest.raises(AccountNotFound):
        bus.execute(
            world.consumer(other_account),
            commands.Repay(account_id=account_id, amount=Money(1)),
        )
    with pytest.raises(MerchantNotFound):
        bus.execute(
            world.platform,
            commands.Authorize(account_id=account_id, order_id="o", amount=Money(1)),
        )
    with pytest.raises(ReasonRequired):
        bus.execute(world.operator, commands.Release(hold_id=hold.id))
    world.open_account(100_000, ref="dup")
    with pytest.raises(AccountExists):
        world.open_account(100_000, ref="dup")
    with world.runtime.uow_factory(write=False) as uow:
        now = world.runtime.clock.now()
        with pytest.raises(AccountNotFound):
            get_account(uow, world.merchant, account_id, now)
        with pytest.raises(HoldNotFound):
            get_hold(uow, world.other_merchant, hold.id, now)
        page = list_holds(
            uow, world.other_merchant, account_id, status=None, after=None, limit=10, now=now
        )
        assert page.items == []


def test_operator_actions_need_a_reason_and_are_audited(world: World, clock: FixedClock) -> None:
    bus = world.runtime.bus
    account_id = world.open_account(100_000)
    stuck = world.authorize(account_id, 10_000)
    bus.execute(world.operator, commands.Release(hold_id=stuck.id, reason="customer called"))
    late = world.authorize(account_id, 10_000, ttl_s=3_600)
    clock.advance(timedelta(hours=2))
    with pytest.raises(HoldExpired):
        bus.execute(world.merchant, commands.Capture(hold_id=late.id, amount=Money(10_000)))
    with pytest.raises(ReasonRequired):
        bus.execute(
            world.merchant, commands.Capture(hold_id=late.id, amount=Money(10_000), force=True)
        )
    bus.execute(
        world.merchant,
        commands.Capture(hold_id=late.id, amount=Money(10_000), force=True, reason="shipped late"),
    )
    with world.runtime.uow_factory(write=False) as uow:
        released = uow.audit.list_for_target(stuck.id)
        forced = uow.audit.list_for_target(late.id)
        account = uow.accounts.get(account_id)
    assert [(r.action, r.reason, r.actor_role) for r in released] == [
        ("hold.release", "customer called", "operator")
    ]
    assert [(r.action, r.reason) for r in forced] == [("hold.force_capture", "shipped late")]
    assert account is not None
    assert account.last_forced_capture_at == clock.now()
    assert verify(world.runtime.uow_factory).ok


def test_frozen_accounts_cannot_spend_but_can_repay(world: World) -> None:
    bus = world.runtime.bus
    account_id = world.open_account(100_000)
    hold = world.authorize(account_id, 10_000)
    bus.execute(world.merchant, commands.Capture(hold_id=hold.id, amount=Money(10_000)))
    bus.execute(
        world.platform,
        commands.ChangeAccountStatus(
            account_id=account_id, action=AccountAction.FREEZE, reason="overdue"
        ),
    )
    with pytest.raises(AccountNotActive) as refused:
        world.authorize(account_id, 1)
    assert refused.value.params["status"] == AccountStatus.FROZEN.value
    bus.execute(world.platform, commands.Repay(account_id=account_id, amount=Money(10_000)))
    assert balances(world, account_id) == (0, 0, 100_000)


def test_release_of_released_hold_is_named(world: World) -> None:
    bus = world.runtime.bus
    account_id = world.open_account(100_000)
    hold = world.authorize(account_id, 10_000)
    bus.execute(world.merchant, commands.Release(hold_id=hold.id))
    with pytest.raises(HoldAlreadyReleased):
        bus.execute(world.merchant, commands.Release(hold_id=hold.id))


def test_listing_filters_by_effective_status_and_pages(world: World, clock: FixedClock) -> None:
    account_id = world.open_account(1_000_000)
    short = [world.authorize(account_id, 100, ttl_s=600) for _ in range(3)]
    long = [world.authorize(account_id, 100) for _ in range(4)]
    clock.advance(timedelta(minutes=20))
    with world.runtime.uow_factory(write=False) as uow:
        now = clock.now()

        def ids(status: HoldStatus | None, limit: int = 50, after: str | None = None) -> list[str]:
            page = list_holds(
                uow, world.platform, account_id, status=status, after=after, limit=limit, now=now
            )
            return [v.hold.id for v in page.items]

        assert set(ids(HoldStatus.EXPIRED)) == {h.id for h in short}
        assert set(ids(HoldStatus.PENDING)) == {h.id for h in long}
        first = ids(None, limit=4)
        rest = ids(None, limit=4, after=first[-1])
        assert first + rest == sorted({h.id for h in short + long}, reverse=True)
