"""The dry run agrees with the real decision: for any history of payments, `explain`
before a payment predicts exactly what authorizing it then does — and writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from creditline.adapters.clock import FixedClock
from creditline.bootstrap import Runtime, bootstrap
from creditline.config import Settings
from creditline.domain.errors import ChallengeRequired, RiskDeclined
from creditline.domain.hold import Hold
from creditline.domain.money import Money
from creditline.domain.risk.decision import RiskAction
from creditline.domain.risk.inputs import Location
from creditline.service import commands
from creditline.service.accounts.queries import AccountView
from creditline.service.risk.queries import explain_payment
from tests.conftest import START, World, make_world
from tests.integration.dbsnapshot import snapshot

CITIES = [
    Location(31.2304, 121.4737, "Shanghai"),
    Location(39.9042, 116.4074, "Beijing"),
    Location(40.7128, -74.0060, "New York"),
]
step = st.tuples(
    st.sampled_from([0, 2, 5, 30, 90, 3_600, 86_400]),  # seconds since the last payment
    st.sampled_from([500, 9_900, 10_000, 45_000, 120_000, 480_000, 520_000]),
    st.sampled_from(["dev-1", "dev-2", "dev-3"]),
    st.sampled_from(["10.0.0.1", "10.0.0.2"]),
    st.sampled_from(CITIES),
    st.sampled_from([(), ("books",), ("gift_card",), ("gold", "books")]),
)


@pytest.fixture
def shared(sqlite_url: str) -> Iterator[tuple[World, FixedClock]]:
    clock = FixedClock(START)
    rt: Runtime = bootstrap(Settings(database_url=sqlite_url, sweep_interval_s=0), clock=clock)
    yield make_world(rt), clock
    rt.close()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=8), tier=st.sampled_from(["new", "standard"]))
def test_explain_predicts_the_decision_and_writes_nothing(
    shared: tuple[World, FixedClock], steps: list[tuple[object, ...]], tier: str
) -> None:
    world, clock = shared
    rt = world.runtime
    view = rt.bus.execute(
        world.platform,
        commands.OpenAccount(
            external_ref=rt.new_id("user"), credit_limit=Money(10_000_000), tier=tier
        ),
    )
    assert isinstance(view, AccountView)
    account = view.account.id
    assert rt.risk is not None
    for seconds, fen, device, ip, where, items in steps:
        clock.advance(timedelta(seconds=float(seconds)))  # type: ignore[arg-type]
        signals = commands.Signals(
            item_categories=items,  # type: ignore[arg-type]
            device_id=str(device),
            ip=str(ip),
            location=where,  # type: ignore[arg-type]
        )
        amount = Money(int(fen))  # type: ignore[call-overload]
        before = snapshot(rt.engine)
        with rt.uow_factory(write=False) as uow:
            dry = explain_payment(
                uow,
                rt.bus.context(world.merchant),
                rt.risk,
                commands.ExplainPayment(account, amount, signals=signals),
            ).assessment.decision
        assert snapshot(rt.engine) == before, "the dry run wrote something"
        command = commands.Authorize(
            account_id=account, order_id=rt.new_id("order"), amount=amount, signals=signals
        )
        try:
            result = rt.bus.execute(world.merchant, command)
            assert isinstance(result, Hold)
            real = RiskAction.APPROVE
        except RiskDeclined as declined:
            real, decision = RiskAction.DECLINE, declined.decision
            assert decision.hits == dry.hits
        except ChallengeRequired as challenged:
            real, decision = RiskAction.CHALLENGE, challenged.decision
            assert decision.hits == dry.hits
        event(dry.action.value)
        expected = RiskAction.APPROVE if dry.action is RiskAction.FLAG else dry.action
        assert real is expected, (dry, real)
        with rt.uow_factory(write=False) as uow:
            logged = uow.risk.decisions(account, None, 1).items[0]
        assert logged.action is dry.action
        assert tuple(logged.codes) == tuple(hit.code for hit in dry.hits)
