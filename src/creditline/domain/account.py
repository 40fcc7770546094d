"""Credit accounts: balances, the status lifecycle and the rule for new spending.

An account has a credit limit and three balances, all `Money`:

    used            captured purchases (later fees and interest) not yet repaid
    locked          sum of open holds: credit reserved, not yet captured
    credit_balance  money owed back to the consumer (a refund larger than `used`)

    available = limit − used − locked, and new spending needs amount ≤ available.

Only a forced capture (a capture after a hold's expiry) may push used + locked over the
limit; the account then records when that happened so operators can see it.

The status lifecycle is one table, `ACCOUNT_TRANSITIONS`; `apply_status_action` is the
only function that changes a status. New spending needs `active`; repayment is always
allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from creditline.domain.errors import (
    AccountHasBalance,
    AccountNotActive,
    AccountTransitionNotAllowed,
    InsufficientCredit,
)
from creditline.domain.money import ZERO, Money
from creditline.domain.spend import PeriodSpend

DEFAULT_TIER = "standard"
NO_SPEND = PeriodSpend()


class AccountStatus(StrEnum):
    ACTIVE = "active"
    FROZEN = "frozen"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class AccountAction(StrEnum):
    FREEZE = "freeze"
    UNFREEZE = "unfreeze"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    CLOSE = "close"


ACCOUNT_TRANSITIONS: Mapping[tuple[AccountStatus, AccountAction], AccountStatus] = {
    (AccountStatus.ACTIVE, AccountAction.FREEZE): AccountStatus.FROZEN,
    (AccountStatus.ACTIVE, AccountAction.SUSPEND): AccountStatus.SUSPENDED,
    (AccountStatus.ACTIVE, AccountAction.CLOSE): AccountStatus.CLOSED,
    (AccountStatus.FROZEN, AccountAction.UNFREEZE): AccountStatus.ACTIVE,
    (AccountStatus.FROZEN, AccountAction.SUSPEND): AccountStatus.SUSPENDED,
    (AccountStatus.FROZEN, AccountAction.CLOSE): AccountStatus.CLOSED,
    (AccountStatus.SUSPENDED, AccountAction.REINSTATE): AccountStatus.ACTIVE,
    (AccountStatus.SUSPENDED, AccountAction.CLOSE): AccountStatus.CLOSED,
}
"""Every allowed status change; anything not listed is refused with a named error."""

STATUS_MEANING = {
    AccountStatus.ACTIVE: "the account may spend",
    AccountStatus.FROZEN: "new spending is blocked until the account is unfrozen; repayment works",
    AccountStatus.SUSPENDED: "the account is suspended; repayment works",
    AccountStatus.CLOSED: "the account is closed",
}


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    platform_id: str
    external_ref: str
    credit_limit: Money
    used: Money
    locked: Money
    credit_balance: Money
    status: AccountStatus
    version: int
    created_at: datetime
    updated_at: datetime
    last_forced_capture_at: datetime | None = None
    tier: str = DEFAULT_TIER
    """The risk policy's tier whose thresholds apply (`new`, `standard`, `premium`)."""
    real_name_verified: bool = True
    spend: PeriodSpend = NO_SPEND
    """Approved spending today and this month (for the period limits)."""

    def __post_init__(self) -> None:
        assert self.credit_limit.fen >= 0, self
        assert self.used.fen >= 0, self
        assert self.locked.fen >= 0, self
        assert self.credit_balance.fen >= 0, self

    @property
    def headroom(self) -> Money:
        """limit − used − locked; negative only after a forced capture."""
        return self.credit_limit - self.used - self.locked

    @property
    def available(self) -> Money:
        """What new spending may use: the headroom, never below zero."""
        headroom = self.headroom
        return headroom if headroom.fen > 0 else ZERO


def open_account(
    *,
    account_id: str,
    platform_id: str,
    external_ref: str,
    credit_limit: Money,
    now: datetime,
    tier: str = DEFAULT_TIER,
    real_name_verified: bool = True,
) -> Account:
    return Account(
        id=account_id,
        platform_id=platform_id,
        external_ref=external_ref,
        credit_limit=credit_limit,
        used=ZERO,
        locked=ZERO,
        credit_balance=ZERO,
        status=AccountStatus.ACTIVE,
        version=1,
        created_at=now,
        updated_at=now,
        tier=tier,
        real_name_verified=real_name_verified,
    )


def check_can_spend(account: Account, amount: Money) -> None:
    """Refuse new spending that the status or the available credit does not allow."""
    if account.status is not AccountStatus.ACTIVE:
        raise AccountNotActive(
            f"account {account.id} is {account.status.value}: {STATUS_MEANING[account.status]}",
            status=account.status.value,
        )
    if amount > account.available:
        raise InsufficientCredit(
            f"payment of {amount} is more than the available credit of {account.available} "
            f"(limit {account.credit_limit}, used {account.used}, locked {account.locked})",
            amount=amount,
            available=account.available,
            credit_limit=account.credit_limit,
            used=account.used,
            locked=account.locked,
        )


def apply_status_action(account: Account, action: AccountAction, *, now: datetime) -> Account:
    """The only way a status changes: look the move up in ACCOUNT_TRANSITIONS."""
    target = ACCOUNT_TRANSITIONS.get((account.status, action))
    if target is None:
        raise AccountTransitionNotAllowed(
            f"cannot {action.value} an account that is {account.status.value}",
            status=account.status.value,
            action=action.value,
        )
    if target is AccountStatus.CLOSED:
        owed = account.used + account.locked + account.credit_balance
        if not owed.is_zero():
            raise AccountHasBalance(
                f"account {account.id} still has used {account.used}, locked {account.locked} "
                f"and credit balance {account.credit_balance}; settle them before closing",
                used=account.used,
                locked=account.locked,
                credit_balance=account.credit_balance,
            )
    return replace(account, status=target, version=account.version + 1, updated_at=now)


def with_balances(
    account: Account,
    *,
    now: datetime,
    used: Money | None = None,
    locked: Money | None = None,
    credit_balance: Money | None = None,
    forced: bool = False,
) -> Account:
    """A new version of the account with changed balances; every money change goes here."""
    return replace(
        account,
        used=account.used if used is None else used,
        locked=account.locked if locked is None else locked,
        credit_balance=account.credit_balance if credit_balance is None else credit_balance,
        last_forced_capture_at=now if forced else account.last_forced_capture_at,
        version=account.version + 1,
        updated_at=now,
    )
