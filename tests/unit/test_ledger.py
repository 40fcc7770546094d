"""The journal's double-entry rule, asserted when an entry is built."""

from __future__ import annotations

import pytest

from creditline.domain.ledger import (
    EntryKind,
    LedgerAccount,
    Posting,
    build_entry,
    capture_postings,
    refund_postings,
    repayment_postings,
    sum_postings,
)
from creditline.domain.money import Money
from tests.conftest import START


@pytest.mark.parametrize(
    "postings",
    [
        capture_postings(Money(100), "mer_1"),
        refund_postings(Money(60), Money(40), "mer_1"),
        refund_postings(Money(0), Money(40), "mer_1"),
        repayment_postings(Money(100)),
    ],
)
def test_every_builder_balances(postings: tuple[Posting, ...]) -> None:
    assert sum_postings(postings).is_zero()
    entry = build_entry(
        entry_id="je_1", account_id="acct_1", kind=EntryKind.CAPTURE, postings=postings, at=START
    )
    assert entry.amount == sum_postings(p for p in postings if p.amount.is_positive())


def test_unbalanced_or_degenerate_entries_crash() -> None:
    lopsided = (
        Posting(LedgerAccount.RECEIVABLE, Money(100)),
        Posting(LedgerAccount.MERCHANT_PAYABLE, Money(-99)),
    )
    with pytest.raises(AssertionError):
        build_entry(
            entry_id="je", account_id="a", kind=EntryKind.CAPTURE, postings=lopsided, at=START
        )
    with pytest.raises(AssertionError):
        build_entry(
            entry_id="je",
            account_id="a",
            kind=EntryKind.CAPTURE,
            postings=(
                Posting(LedgerAccount.RECEIVABLE, Money(0)),
                Posting(LedgerAccount.MERCHANT_PAYABLE, Money(0)),
            ),
            at=START,
        )
    with pytest.raises(AssertionError):
        build_entry(
            entry_id="je",
            account_id="a",
            kind=EntryKind.CAPTURE,
            postings=(Posting(LedgerAccount.RECEIVABLE, Money(0)),),
            at=START,
        )
