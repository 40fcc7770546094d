"""Refunds of captured amounts: the merchant gives money back for returned goods.

Before capture a refund is simply a release (see `hold.release`). After capture the
refund reduces what the consumer owes (`used`); whatever exceeds it — because the
consumer already repaid — is owed back to the consumer (`credit_balance`), to be paid to
the original payment method. The hold's status does not change; `refunded` grows up to
`captured`. (Installment orders, refunded from the last period backwards, come with
billing.)
"""

from __future__ import annotations

from dataclasses import replace

from creditline.domain.account import Account, with_balances
from creditline.domain.errors import RefundExceedsCaptured
from creditline.domain.hold import (
    Hold,
    HoldChange,
    HoldEvent,
    HoldEventKind,
    Stamp,
    check_amount,
    check_same_account,
)
from creditline.domain.ledger import EntryKind, build_entry, refund_postings
from creditline.domain.money import Money, min_money


def refund(
    account: Account,
    hold: Hold,
    *,
    amount: Money,
    stamp: Stamp,
    event_id: str,
    entry_id: str,
) -> HoldChange:
    """Give back a captured amount: it reduces `used`; any excess is owed to the consumer."""
    check_same_account(account, hold)
    check_amount(amount)
    refundable = hold.captured - hold.refunded
    if amount > refundable:
        raise RefundExceedsCaptured(
            f"refund of {amount} is more than the {refundable} captured and not yet refunded",
            amount=amount,
            refundable=refundable,
        )
    principal_part = min_money(amount, account.used)
    credit_part = amount - principal_part
    entry = build_entry(
        entry_id=entry_id,
        account_id=account.id,
        kind=EntryKind.REFUND,
        postings=refund_postings(principal_part, credit_part, hold.merchant_id),
        at=stamp.at,
        hold_id=hold.id,
        memo=stamp.reason,
    )
    new_account = with_balances(
        account,
        now=stamp.at,
        used=account.used - principal_part,
        credit_balance=account.credit_balance + credit_part,
    )
    new_hold = replace(hold, refunded=hold.refunded + amount)
    event = HoldEvent.of(event_id, hold, HoldEventKind.REFUNDED, amount, stamp, entry.id)
    return HoldChange(new_account, new_hold, (event,), entry)
