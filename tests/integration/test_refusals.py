"""A refused command changes nothing: the whole database is compared before and after.

The one write a refusal makes through the API is its idempotency record (so that a
retry gets the same refusal) — and a refused payment's risk decision, which is logged
like any other; those tables are compared separately.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest

from creditline.adapters.clock import FixedClock
from creditline.domain.account import AccountAction
from creditline.domain.errors import CreditlineError
from creditline.domain.money import Money
from creditline.service import commands
from creditline.service.bus import IdempotencyKey, Outcome
from tests.conftest import World
from tests.integration.dbsnapshot import snapshot

Scenario = Callable[[World, FixedClock], commands.Command]


def _insufficient(world: World, _clock: FixedClock) -> commands.Command:
    account_id = world.open_account(10_000)
    world.authorize(account_id, 6_000)
    return commands.Authorize(
        account_id=account_id, order_id="o", amount=Money(5_000), merchant_id=None
    )


def _expired_capture(world: World, clock: FixedClock) -> commands.Command:
    hold = world.authorize(world.open_account(10_000), 6_000, ttl_s=600)
    clock.advance(timedelta(hours=1))
    return commands.Capture(hold_id=hold.id, amount=Money(1_000))


def _over_capture(world: World, _clock: FixedClock) -> commands.Command:
    hold = world.authorize(world.open_account(10_000), 6_000)
    world.runtime.bus.execute(
        world.merchant, commands.Capture(hold_id=hold.id, amount=Money(1_000))
    )
    return commands.Capture(hold_id=hold.id, amount=Money(5_001))


def _double_release(world: World, _clock: FixedClock) -> commands.Command:
    hold = world.authorize(world.open_account(10_000), 6_000)
    world.runtime.bus.execute(world.merchant, commands.Release(hold_id=hold.id))
    return commands.Release(hold_id=hold.id)


def _overpay(world: World, _clock: FixedClock) -> commands.Command:
    hold = world.authorize(world.open_account(10_000), 6_000)
    world.runtime.bus.execute(
        world.merchant, commands.Capture(hold_id=hold.id, amount=Money(6_000))
    )
    return commands.Refund(hold_id=hold.id, amount=Money(6_001))


def _frozen(world: World, _clock: FixedClock) -> commands.Command:
    account_id = world.open_account(10_000)
    world.runtime.bus.execute(
        world.operator,
        commands.ChangeAccountStatus(
            account_id=account_id, action=AccountAction.SUSPEND, reason="test"
        ),
    )
    return commands.Authorize(account_id=account_id, order_id="o", amount=Money(1))


SCENARIOS: dict[str, Scenario] = {
    "insufficient_credit": _insufficient,
    "hold_expired": _expired_capture,
    "capture_exceeds_hold": _over_capture,
    "hold_already_released": _double_release,
    "refund_exceeds_captured": _overpay,
    "account_not_active": _frozen,
}


RISK_LOG = ("risk_decision", "risk_observation")
"""A refused payment is still a risk decision: it is logged, with its attempt observed."""


@pytest.mark.parametrize("code", sorted(SCENARIOS))
def test_a_refusal_changes_nothing_but_its_idempotency_record(
    world: World, clock: FixedClock, code: str
) -> None:
    command = SCENARIOS[code](world, clock)
    engine = world.runtime.engine
    kept = ("idempotency_record", *RISK_LOG)
    before = snapshot(engine, skip=kept)
    keys_before = snapshot(engine)["idempotency_record"]
    decisions_before = len(snapshot(engine)["risk_decision"])
    payment = isinstance(command, commands.Authorize)

    def render(result: object) -> Outcome:
        raise AssertionError(f"expected a refusal, got {result}")

    def render_error(error: CreditlineError) -> Outcome:
        return Outcome(409, json.dumps({"code": error.code}).encode())

    key = IdempotencyKey(scope="merchant:mer_one", key=f"k-{code}", fingerprint="f")
    outcome = world.runtime.bus.execute_idempotent(
        world.merchant, command, key, render, render_error
    )
    assert json.loads(outcome.body) == {"code": code}
    assert snapshot(engine, skip=kept) == before
    keys_after = snapshot(engine)["idempotency_record"]
    assert len(keys_after) == len(keys_before) + 1
    decisions = snapshot(engine)["risk_decision"]
    assert len(decisions) == decisions_before + (1 if payment else 0)
    with pytest.raises(CreditlineError) as plain:
        world.runtime.bus.execute(world.merchant, command)
    assert plain.value.code == code
    assert snapshot(engine, skip=RISK_LOG) == {**before, "idempotency_record": keys_after}
    assert len(snapshot(engine)["risk_decision"]) == len(decisions) + (1 if payment else 0)
