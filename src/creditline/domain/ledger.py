"""The double-entry journal: every money movement is one entry whose postings sum to zero.

Sign convention: a posting's amount is positive for a debit and negative for a credit.
The chart of ledger accounts is small and fixed:

    receivable          debit-normal   what the consumer owes; its balance is `used`
    consumer_credit     credit-normal  owed back to the consumer; its balance is `credit_balance`
    merchant_payable    credit-normal  owed to a merchant for captured purchases (per merchant)
    repayment_clearing  debit-normal   repayments received, awaiting settlement

    capture / force capture   Dr receivable          Cr merchant_payable
    refund                    Dr merchant_payable    Cr receivable (up to used),
                                                     Cr consumer_credit (the rest)
    repayment                 Dr repayment_clearing  Cr receivable

Each entry belongs to exactly one credit account (`account_id`), so the journal shards
by account with everything else. "Sums to zero" is asserted here, when the entry is
built, and again by the database when the entry is written (see DESIGN.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from creditline.domain.money import ZERO, Money


class EntryKind(StrEnum):
    CAPTURE = "capture"
    FORCE_CAPTURE = "force_capture"
    REFUND = "refund"
    REPAYMENT = "repayment"


class LedgerAccount(StrEnum):
    RECEIVABLE = "receivable"
    CONSUMER_CREDIT = "consumer_credit"
    MERCHANT_PAYABLE = "merchant_payable"
    REPAYMENT_CLEARING = "repayment_clearing"


@dataclass(frozen=True, slots=True)
class Posting:
    ledger_account: LedgerAccount
    amount: Money
    """Positive: debit. Negative: credit. Never zero."""
    counterparty: str | None = None
    """The merchant for merchant_payable postings."""


@dataclass(frozen=True, slots=True)
class JournalEntry:
    id: str
    account_id: str
    kind: EntryKind
    amount: Money
    """The entry's size: the sum of its debits."""
    postings: tuple[Posting, ...]
    at: datetime
    hold_id: str | None = None
    forced: bool = False
    memo: str | None = None


def sum_postings(postings: Iterable[Posting]) -> Money:
    total = ZERO
    for posting in postings:
        total = total + posting.amount
    return total


def build_entry(
    *,
    entry_id: str,
    account_id: str,
    kind: EntryKind,
    postings: tuple[Posting, ...],
    at: datetime,
    hold_id: str | None = None,
    forced: bool = False,
    memo: str | None = None,
) -> JournalEntry:
    """The only constructor of entries; asserts the double-entry rule."""
    assert len(postings) >= 2, postings
    assert all(not posting.amount.is_zero() for posting in postings), postings
    assert sum_postings(postings).is_zero(), postings
    debits = sum_postings(p for p in postings if p.amount.is_positive())
    assert debits.is_positive(), postings
    return JournalEntry(
        id=entry_id,
        account_id=account_id,
        kind=kind,
        amount=debits,
        postings=postings,
        at=at,
        hold_id=hold_id,
        forced=forced,
        memo=memo,
    )


def capture_postings(amount: Money, merchant_id: str) -> tuple[Posting, ...]:
    assert amount.is_positive(), amount
    return (
        Posting(LedgerAccount.RECEIVABLE, amount),
        Posting(LedgerAccount.MERCHANT_PAYABLE, -amount, counterparty=merchant_id),
    )


def refund_postings(
    principal_part: Money, credit_part: Money, merchant_id: str
) -> tuple[Posting, ...]:
    """A refund reduces what is owed first; what exceeds it is owed back to the consumer."""
    assert principal_part.fen >= 0, principal_part
    assert credit_part.fen >= 0, credit_part
    total = principal_part + credit_part
    assert total.is_positive(), total
    credits = []
    if principal_part.is_positive():
        credits.append(Posting(LedgerAccount.RECEIVABLE, -principal_part))
    if credit_part.is_positive():
        credits.append(Posting(LedgerAccount.CONSUMER_CREDIT, -credit_part))
    return (Posting(LedgerAccount.MERCHANT_PAYABLE, total, counterparty=merchant_id), *credits)


def repayment_postings(amount: Money) -> tuple[Posting, ...]:
    assert amount.is_positive(), amount
    return (
        Posting(LedgerAccount.REPAYMENT_CLEARING, amount),
        Posting(LedgerAccount.RECEIVABLE, -amount),
    )
