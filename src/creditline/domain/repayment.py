"""Repayment: the consumer pays back what they owe, making the credit available again.

This is the simple form: a repayment reduces `used` and may not exceed it. The full
waterfall (past-due first; penalty → fee → interest → principal) arrives with billing and
will replace `repay`'s body, not its callers. Repayment works in every account status:
a frozen or suspended account must still be able to pay its debt.
"""

from __future__ import annotations

from datetime import datetime

from creditline.domain.account import Account, with_balances
from creditline.domain.errors import RepaymentExceedsBalance
from creditline.domain.hold import check_amount
from creditline.domain.ledger import EntryKind, JournalEntry, build_entry, repayment_postings
from creditline.domain.money import Money


def repay(
    account: Account,
    *,
    amount: Money,
    now: datetime,
    entry_id: str,
    reference: str | None = None,
) -> tuple[Account, JournalEntry]:
    check_amount(amount)
    if amount > account.used:
        raise RepaymentExceedsBalance(
            f"repayment of {amount} is more than the {account.used} owed",
            amount=amount,
            used=account.used,
        )
    entry = build_entry(
        entry_id=entry_id,
        account_id=account.id,
        kind=EntryKind.REPAYMENT,
        postings=repayment_postings(amount),
        at=now,
        memo=reference,
    )
    return with_balances(account, now=now, used=account.used - amount), entry
