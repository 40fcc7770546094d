"""Credit accounts: available credit, the spending rule and the status transition table."""

from __future__ import annotations

import pytest

from creditline.domain.account import (
    ACCOUNT_TRANSITIONS,
    Account,
    AccountAction,
    AccountStatus,
    apply_status_action,
    check_can_spend,
    open_account,
    with_balances,
)
from creditline.domain.errors import (
    AccountHasBalance,
    AccountNotActive,
    AccountTransitionNotAllowed,
    InsufficientCredit,
)
from creditline.domain.money import Money
from tests.conftest import START


def account(limit: int = 100_000, used: int = 0, locked: int = 0) -> Account:
    base = open_account(
        account_id="acct_1",
        platform_id="plat_1",
        external_ref="u1",
        credit_limit=Money(limit),
        now=START,
    )
    return with_balances(base, now=START, used=Money(used), locked=Money(locked))


def test_available_is_limit_minus_used_minus_locked() -> None:
    a = account(limit=100_000, used=30_000, locked=20_000)
    assert a.available == Money(50_000)
    assert a.headroom == Money(50_000)


def test_available_never_negative_after_forced_capture() -> None:
    a = account(limit=100_000, used=120_000)
    assert a.headroom == Money(-20_000)
    assert a.available == Money(0)


def test_spending_exactly_the_available_credit_is_allowed() -> None:
    check_can_spend(account(limit=10_000, used=4_000), Money(6_000))


def test_insufficient_credit_names_the_numbers() -> None:
    with pytest.raises(InsufficientCredit) as refused:
        check_can_spend(account(limit=10_000, used=4_000, locked=1_000), Money(6_000))
    assert refused.value.params == {
        "amount": 6_000,
        "available": 5_000,
        "credit_limit": 10_000,
        "used": 4_000,
        "locked": 1_000,
    }
    assert "¥60.00" in refused.value.detail
    assert "¥50.00" in refused.value.detail


@pytest.mark.parametrize("action", [AccountAction.FREEZE, AccountAction.SUSPEND])
def test_only_active_accounts_may_spend(action: AccountAction) -> None:
    stopped = apply_status_action(account(), action, now=START)
    with pytest.raises(AccountNotActive) as refused:
        check_can_spend(stopped, Money(1))
    assert refused.value.params["status"] == stopped.status.value


def test_transition_table_is_the_only_way() -> None:
    every_pair = [(s, a) for s in AccountStatus for a in AccountAction]
    for status, action in every_pair:
        current = _with_status(status)
        target = ACCOUNT_TRANSITIONS.get((status, action))
        if target is None:
            with pytest.raises(AccountTransitionNotAllowed):
                apply_status_action(current, action, now=START)
        else:
            moved = apply_status_action(current, action, now=START)
            assert moved.status is target
            assert moved.version == current.version + 1


def test_closed_is_terminal_and_needs_a_zero_balance() -> None:
    with pytest.raises(AccountHasBalance) as refused:
        apply_status_action(account(used=1), AccountAction.CLOSE, now=START)
    assert refused.value.params["used"] == 1
    closed = apply_status_action(account(), AccountAction.CLOSE, now=START)
    assert not [a for (s, a) in ACCOUNT_TRANSITIONS if s is AccountStatus.CLOSED]
    assert closed.status is AccountStatus.CLOSED


def test_negative_balances_are_a_broken_invariant() -> None:
    with pytest.raises(AssertionError):
        account(used=-1)


def _with_status(status: AccountStatus) -> Account:
    paths = {
        AccountStatus.ACTIVE: [],
        AccountStatus.FROZEN: [AccountAction.FREEZE],
        AccountStatus.SUSPENDED: [AccountAction.SUSPEND],
        AccountStatus.CLOSED: [AccountAction.CLOSE],
    }
    current = account()
    for action in paths[status]:
        current = apply_status_action(current, action, now=START)
    return current
