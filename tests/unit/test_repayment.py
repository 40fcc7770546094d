"""Repayment reduces used, never below zero, in every account status."""

from __future__ import annotations

import pytest

from creditline.domain.account import (
    Account,
    AccountAction,
    apply_status_action,
    open_account,
    with_balances,
)
from creditline.domain.errors import RepaymentExceedsBalance
from creditline.domain.money import Money
from creditline.domain.repayment import repay
from tests.conftest import START


def owing(used: int) -> Account:
    base = open_account(
        account_id="acct_1",
        platform_id="p",
        external_ref="u",
        credit_limit=Money(100_000),
        now=START,
    )
    return with_balances(base, now=START, used=Money(used))


def test_repayment_makes_credit_available_again() -> None:
    account = owing(40_000)
    after, entry = repay(
        account, amount=Money(15_000), now=START, entry_id="je_1", reference="wx-1"
    )
    assert after.used == Money(25_000)
    assert after.available == Money(75_000)
    assert entry.memo == "wx-1"


def test_frozen_accounts_can_still_repay() -> None:
    frozen = apply_status_action(owing(40_000), AccountAction.FREEZE, now=START)
    after, _ = repay(frozen, amount=Money(40_000), now=START, entry_id="je_1")
    assert after.used == Money(0)


def test_overpayment_is_refused_with_the_amount_owed() -> None:
    with pytest.raises(RepaymentExceedsBalance) as refused:
        repay(owing(100), amount=Money(101), now=START, entry_id="je_1")
    assert refused.value.params == {"amount": 101, "used": 100}
