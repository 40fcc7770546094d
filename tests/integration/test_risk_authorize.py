"""Risk control in authorization, end to end through the command bus, on SQLite,
PostgreSQL and (for features) Redis: refusals with reasons, the decision log, period
limits enforced atomically with the hold, challenges, and the dry run's agreement."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from creditline.adapters.clock import FixedClock
from creditline.adapters.risk_policy import default_policy_text
from creditline.bootstrap import bootstrap
from creditline.config import Settings
from creditline.domain.errors import (
    ChallengeInvalid,
    ChallengeRequired,
    CreditlineError,
    RiskDeclined,
    UnknownTier,
)
from creditline.domain.hold import Hold
from creditline.domain.money import Money
from creditline.domain.risk.decision import RiskAction
from creditline.domain.risk.inputs import Location
from creditline.service import commands
from creditline.service.access import Actor, Role
from creditline.service.accounts.queries import AccountView
from creditline.service.risk.queries import account_decisions
from tests.conftest import FEATURE_STORES, World, features_in, make_world

SHANGHAI = Location(31.2304, 121.4737, "Shanghai")
SIGNALS = commands.Signals(device_id="dev-1", ip="10.0.0.1", location=SHANGHAI)


@pytest.fixture(params=FEATURE_STORES)
def risk_settings(request: pytest.FixtureRequest) -> dict[str, str]:
    """The packaged policy, with features in the database or in Redis."""
    return features_in(request, "")


def pay(
    world: World,
    account_id: str,
    fen: int,
    *,
    order: str | None = None,
    signals: commands.Signals = SIGNALS,
    challenge_id: str | None = None,
    token: str | None = None,
    actor: Actor | None = None,
) -> Hold:
    hold = world.runtime.bus.execute(
        actor or world.merchant,
        commands.Authorize(
            account_id=account_id,
            order_id=order or world.runtime.new_id("order"),
            amount=Money(fen),
            signals=signals,
            challenge_id=challenge_id,
            verification_token=token,
        ),
    )
    assert isinstance(hold, Hold)
    return hold


def open_account(world: World, limit: int = 2_000_000, **profile: object) -> str:
    view = world.runtime.bus.execute(
        world.platform,
        commands.OpenAccount(
            external_ref=world.runtime.new_id("user"),
            credit_limit=Money(limit),
            **profile,  # type: ignore[arg-type]
        ),
    )
    assert isinstance(view, AccountView)
    return view.account.id


def decisions(world: World, account_id: str) -> list[tuple[RiskAction, tuple[str, ...]]]:
    with world.runtime.uow_factory(write=False) as uow:
        page = account_decisions(
            uow, world.runtime.bus.context(world.operator), account_id, None, 50
        )
    return [(d.action, tuple(d.codes)) for d in reversed(page.items)]


def test_over_the_per_payment_limit_is_declined_with_numbers_and_logged(
    world: World, clock: FixedClock
) -> None:
    account = open_account(world)
    with pytest.raises(RiskDeclined) as refused:
        pay(world, account, 620_000)
    error = refused.value
    assert [h.code for h in error.decision.deciding] == ["per_transaction_limit"]
    hit = error.decision.deciding[0]
    assert (hit.numbers["amount"], hit.numbers["limit"]) == (Money(620_000), Money(500_000))
    assert error.params["codes"] == "per_transaction_limit"
    assert world.account(account).locked == Money(0)
    assert decisions(world, account) == [(RiskAction.DECLINE, ("per_transaction_limit",))]
    clock.advance(timedelta(minutes=2))
    pay(world, account, 300_000)  # a smaller payment passes; the log keeps both
    assert [a for a, _ in decisions(world, account)] == [RiskAction.DECLINE, RiskAction.APPROVE]


def test_a_payment_leaves_no_garbage_cycles(world: World, clock: FixedClock) -> None:
    """The closures a payment queues (`Context.keep`, `after_commit`) refer back to its
    context; left behind, they made a reference cycle per payment and a garbage
    collection every ~20 payments under load."""
    account = open_account(world)
    pay(world, account, 10_000)  # warm: imports, caches, prepared statements
    gc.collect()
    gc.disable()
    try:
        for _ in range(3):
            clock.advance(timedelta(minutes=2))
            pay(world, account, 10_000)
        unreachable = gc.collect()
    finally:
        gc.enable()
    assert unreachable == 0


def test_a_burst_beyond_one_cart_is_challenged_then_verified(
    world: World, clock: FixedClock
) -> None:
    """A cart of 8 orders at once passes; a 9th payment seconds later asks to verify."""
    account = open_account(world)
    for n in range(8):
        pay(world, account, 10_000, order=f"cart-{n}")
    clock.advance(timedelta(seconds=3))
    with pytest.raises(ChallengeRequired) as asked:
        pay(world, account, 12_000, order="o-2")
    challenge_id = asked.value.challenge_id
    assert challenge_id is not None
    assert [h.code for h in asked.value.decision.deciding] == ["velocity_burst"]
    code = world.runtime.verifier.token_for(challenge_id)
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(ChallengeInvalid):
        pay(world, account, 12_000, order="o-2", challenge_id=challenge_id, token=wrong)
    with pytest.raises(ChallengeInvalid) as other:
        pay(world, account, 15_000, order="o-2", challenge_id=challenge_id, token=code)
    assert other.value.params["reason"] == "other_payment"
    assert world.account(account).locked == Money(80_000)
    hold = pay(world, account, 12_000, order="o-2", challenge_id=challenge_id, token=code)
    assert world.account(account).locked == Money(92_000)
    with world.runtime.uow_factory(write=False) as uow:
        last = uow.risk.decisions(account, None, 1).items[0]
        challenge = uow.risk.get_challenge(challenge_id)
    assert (last.hold_id, last.challenge_id) == (hold.id, challenge_id)
    assert challenge is not None
    assert challenge.status.value == "passed"
    assert challenge.failures == 1
    with pytest.raises(ChallengeInvalid) as reused:
        pay(world, account, 20_000, order="o-3", challenge_id=challenge_id, token=code)
    assert reused.value.params["reason"] == "passed"


def test_real_name_and_tier_come_from_the_account(world: World, clock: FixedClock) -> None:
    unverified = open_account(world, real_name_verified=False)
    with pytest.raises(RiskDeclined) as refused:
        pay(world, unverified, 10_000)
    assert refused.value.params["codes"] == "real_name_required"
    world.runtime.bus.execute(
        world.platform, commands.SetRiskProfile(unverified, real_name_verified=True)
    )
    clock.advance(timedelta(minutes=2))
    pay(world, unverified, 10_000)
    premium = open_account(world, tier="premium")
    clock.advance(timedelta(minutes=2))
    pay(world, premium, 1_500_000)  # over standard's ¥5,000 per payment, within premium's
    with pytest.raises(UnknownTier):
        open_account(world, tier="platinum")


def test_daily_amount_limit_holds_across_payments_and_days(world: World, clock: FixedClock) -> None:
    account = open_account(world, limit=5_000_000)
    for _ in range(2):
        pay(world, account, 450_000)
        clock.advance(timedelta(minutes=2))
    with pytest.raises(RiskDeclined) as refused:
        pay(world, account, 450_000)
    assert refused.value.params["codes"] == "daily_amount_limit"
    clock.advance(timedelta(days=1))
    pay(world, account, 450_000)  # a new business day


@pytest.fixture
def racing_world(database_url: str, clock: FixedClock, tmp_path: Path) -> Iterator[World]:
    """The packaged policy with the velocity rules in shadow, so racing payments meet
    only the period limits."""
    text = default_policy_text().replace("rules = []", 'rules = ["velocity", "burst"]')
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    rt = bootstrap(
        Settings(database_url=database_url, sweep_interval_s=0, risk_policy=str(path)),
        clock=clock,
    )
    yield make_world(rt)
    rt.close()


def test_racing_payments_cannot_pass_the_daily_limit_together(
    racing_world: World, clock: FixedClock
) -> None:
    world = racing_world
    account = open_account(world, limit=5_000_000)
    pay(world, account, 300_000)
    placed: list[Hold] = []
    refused: list[str] = []
    barrier = threading.Barrier(6)

    def one(n: int) -> None:
        barrier.wait()
        try:
            placed.append(pay(world, account, 450_000, order=f"race-{n}"))
        except CreditlineError as error:
            refused.append(error.code)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(placed) == 1, refused  # 300k + 450k fits ¥10,000.00 a day; a second does not
    assert refused == ["risk_declined"] * 5
    row = world.account(account)
    assert row.spend.day_amount == Money(750_000)
    assert row.spend.day_count == 2
    assert row.locked == Money(750_000)


def test_an_unreachable_redis_refuses_with_503_and_changes_nothing(
    sqlite_url: str, clock: FixedClock
) -> None:
    """Features in a Redis that is down: the payment cannot be decided — StoreUnavailable
    (HTTP 503, retry) — and nothing is written."""
    from creditline.service.ports import StoreUnavailable  # noqa: PLC0415
    from tests.integration.dbsnapshot import snapshot  # noqa: PLC0415

    settings = Settings(
        database_url=sqlite_url,
        sweep_interval_s=0,
        risk_features="redis",
        redis_url="redis://127.0.0.1:1/0",  # nothing listens on port 1
    )
    rt = bootstrap(settings, clock=clock)
    try:
        world = make_world(rt)
        account = open_account(world)
        before = snapshot(rt.engine)
        with pytest.raises(StoreUnavailable):
            pay(world, account, 10_000)
        assert snapshot(rt.engine) == before
    finally:
        rt.close()


def _policy_world(database_url: str, clock: FixedClock, tmp_path: Path, text: str) -> World:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    rt = bootstrap(
        Settings(database_url=database_url, sweep_interval_s=0, risk_policy=str(path)),
        clock=clock,
    )
    return make_world(rt)


def test_a_payment_that_cannot_fit_is_refused_for_credit_not_challenged(
    database_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    """Asking the consumer to verify a payment that would then fail for lack of credit
    wastes their time: the refusal is the credit's, and no challenge is opened."""
    from creditline.domain.errors import InsufficientCredit  # noqa: PLC0415

    text = default_policy_text().replace("burst_attempts_max = ", "burst_attempts_max = 1 #", 1)
    world = _policy_world(database_url, clock, tmp_path, text)
    try:
        account = open_account(world, limit=100_000)
        pay(world, account, 90_000)
        clock.advance(timedelta(seconds=2))
        with pytest.raises(ChallengeRequired):
            pay(world, account, 5_000)  # fits: the burst asks to verify
        clock.advance(timedelta(seconds=2))
        with pytest.raises(InsufficientCredit) as short:
            pay(world, account, 20_000)  # would be challenged, but cannot fit
        assert short.value.params["available"] == 10_000
        log = decisions(world, account)
        assert [a for a, _ in log] == [
            RiskAction.APPROVE,
            RiskAction.CHALLENGE,
            RiskAction.CHALLENGE,
        ]
        with world.runtime.uow_factory(write=False) as uow:
            last = uow.risk.decisions(account, None, 1).items[0]
        assert last.challenge_id is None  # logged, but no challenge was opened for it
    finally:
        world.runtime.close()


def _second_platform(world: World) -> Actor:
    from creditline.service import directory  # noqa: PLC0415

    rt = world.runtime
    binding = Actor(
        key_id="-", role=Role.MERCHANT, platform_id="plat_b", merchant_id="mer_b", name="b"
    )
    with rt.uow_factory(write=True) as uow:
        now = rt.clock.now()
        directory.create_platform(uow, name="B", now=now, platform_id="plat_b")
        directory.create_merchant(uow, platform_id="plat_b", name="B", now=now, merchant_id="mer_b")
        issued = directory.issue_api_key(uow, binding=binding, now=now, new_id=rt.new_id)
        uow.commit()
    return issued.record.actor


def test_two_platforms_cannot_influence_each_others_decisions(
    world: World, clock: FixedClock
) -> None:
    """A device and an address hammered on one platform are fresh on another: features
    of device and IP are kept per platform."""
    from creditline.domain.errors import Declined  # noqa: PLC0415

    shared = commands.Signals(device_id="shared-phone", ip="10.7.7.7", location=SHANGHAI)
    theirs = [open_account(world) for _ in range(3)]
    refused = 0
    for n in range(40):
        clock.advance(timedelta(milliseconds=500))
        try:
            pay(world, theirs[n % 3], 1_000, signals=shared)
        except Declined:
            refused += 1
    assert refused > 0, "the device's own platform saw a burst"
    merchant_b = _second_platform(world)
    platform_b = Actor(key_id="-", role=Role.PLATFORM, platform_id="plat_b", name="b")
    view = world.runtime.bus.execute(
        platform_b, commands.OpenAccount(external_ref="u-b", credit_limit=Money(2_000_000))
    )
    assert isinstance(view, AccountView)
    hold = pay(world, view.account.id, 1_000, signals=shared, actor=merchant_b)
    assert hold.status.value == "pending"
    assert decisions(world, view.account.id) == [(RiskAction.APPROVE, ())]
