"""No client string can break an account: arbitrary Unicode (anything the API accepts)
through every signal field of a payment, then the same account pays and is explained
again — on SQLite and PostgreSQL, with features in the database and in Redis.

(A `|` in a device id was once stored unescaped in the purchase history, and from then on
every payment and dry run of the account answered 500 until the history was pruned.)
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from creditline.adapters.clock import FixedClock
from creditline.domain.errors import CreditlineError
from creditline.domain.hold import Hold
from creditline.domain.money import Money
from creditline.domain.risk.inputs import Location
from creditline.entrypoints.text import unstorable
from creditline.service import commands
from creditline.service.risk.queries import explain_payment
from tests.conftest import FEATURE_STORES, World, features_in

# What the API lets through: any character but NUL and lone surrogates (entrypoints/text.py).
storable = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
label = st.text(storable, min_size=1, max_size=64)
signals = st.builds(
    commands.Signals,
    merchant_category=st.none() | label,
    item_categories=st.lists(label, max_size=20).map(tuple),
    channel=st.none() | label,
    device_id=st.none() | label,
    ip=st.none() | st.text(storable, min_size=2, max_size=45),
    location=st.none()
    | st.builds(
        Location,
        st.floats(-90, 90, allow_nan=False),
        st.floats(-180, 180, allow_nan=False),
        st.none() | label,
    ),
)
PLAIN = commands.Signals(device_id="phone-1", ip="10.0.0.1", location=Location(31.2, 121.5, "上海"))


@pytest.fixture(params=FEATURE_STORES)
def risk_settings(request: pytest.FixtureRequest) -> dict[str, str]:
    """Every rule in shadow (payments are placed, so their places are stored)."""
    return features_in(request, "observe")


def _pay(world: World, account: str, fen: int, sent: commands.Signals) -> Hold | CreditlineError:
    try:
        hold = world.runtime.bus.execute(
            world.merchant,
            commands.Authorize(
                account_id=account,
                order_id=world.runtime.new_id("order"),
                amount=Money(fen),
                signals=sent,
            ),
        )
    except CreditlineError as refusal:  # a refusal is an answer; anything else fails
        return refusal
    assert isinstance(hold, Hold)
    return hold


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sent=signals)
@example(
    sent=commands.Signals(
        device_id="android|SM-G9910|14", location=Location(22.5, 114.1, "深圳|南山,1")
    )
)
def test_any_signal_text_leaves_the_account_payable_and_explainable(
    world: World, clock: FixedClock, sent: commands.Signals
) -> None:
    for text in (sent.device_id, sent.ip, sent.channel, *sent.item_categories):
        assert text is None or unstorable(text) is None
    rt = world.runtime
    with rt.uow_factory(write=False) as uow:  # one account for every example: its history grows
        found_account = uow.accounts.find_by_external_ref("plat_test", "unicode")
    account = found_account.id if found_account else world.open_account(100_000_000, "unicode")
    clock.advance(timedelta(minutes=2))
    first = _pay(world, account, 1_000, sent)
    assert isinstance(first, Hold), first
    clock.advance(timedelta(minutes=2))
    again = _pay(world, account, 1_000, PLAIN)
    assert isinstance(again, Hold), again
    assert rt.risk is not None
    for signal in (sent, PLAIN):
        with rt.uow_factory(write=False) as uow:
            found = explain_payment(
                uow,
                rt.bus.context(world.platform),
                rt.risk,
                commands.ExplainPayment(account, Money(1_000), "mer_one", signal),
            )
        assert found.would_pass
        assert found.assessment.features.recent_amounts[0] == Money(1_000)
