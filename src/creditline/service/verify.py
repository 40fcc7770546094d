"""Verify: recompute every balance from the journal and the holds and compare.

The account row is a cache of two truths: the journal (for `used` and
`credit_balance`) and the holds (for `locked`). `verify` reads all three in one
snapshot, page by page, and reports every disagreement:

    used ≠ Σ receivable postings            credit_balance ≠ −Σ consumer_credit postings
    locked ≠ Σ open amounts of pending holds
    over the limit without a forced capture on record
    a hold's captured/released/refunded/forced ≠ the sum of its events
    a hold's captured/refunded ≠ the sum of its journal entries
    an entry whose postings do not sum to zero, or whose size is not its debits

An empty `problems` list is the only clean result; the CLI exits 1 otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from creditline.domain.money import Money
from creditline.service.ports import AccountTotals, HoldTotals, UnitOfWorkFactory

VERIFY_PAGE_SIZE = 1_000
ENTRY_PROBLEMS_MAX = 1_000


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str
    object_id: str
    expected: int | None
    actual: int | None
    detail: str


@dataclass(slots=True)
class VerifyReport:
    accounts: int = 0
    holds: int = 0
    entries: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _compare(kind: str, object_id: str, expected: Money, actual: Money, what: str) -> list[Problem]:
    if expected == actual:
        return []
    return [
        Problem(
            kind,
            object_id,
            expected.fen,
            actual.fen,
            f"{what}: row says {actual}, recomputed {expected}",
        )
    ]


def check_account(totals: AccountTotals) -> list[Problem]:
    account = totals.account
    problems = [
        *_compare(
            "used_mismatch", account.id, totals.journal_receivable, account.used, "used vs journal"
        ),
        *_compare(
            "credit_balance_mismatch",
            account.id,
            totals.journal_consumer_credit,
            account.credit_balance,
            "credit balance vs journal",
        ),
        *_compare(
            "locked_mismatch", account.id, totals.open_holds, account.locked, "locked vs open holds"
        ),
    ]
    if account.headroom.is_negative() and account.last_forced_capture_at is None:
        problems.append(
            Problem(
                "over_limit_unflagged",
                account.id,
                account.credit_limit.fen,
                (account.used + account.locked).fen,
                "used + locked exceed the limit without a forced capture",
            )
        )
    return problems


def check_hold(totals: HoldTotals) -> list[Problem]:
    hold = totals.hold
    return [
        *_compare(
            "hold_captured_events",
            hold.id,
            totals.event_captured,
            hold.captured,
            "captured vs capture events",
        ),
        *_compare(
            "hold_released_events",
            hold.id,
            totals.event_released,
            hold.released,
            "released vs release and expiry events",
        ),
        *_compare(
            "hold_refunded_events",
            hold.id,
            totals.event_refunded,
            hold.refunded,
            "refunded vs refund events",
        ),
        *_compare(
            "hold_forced_events",
            hold.id,
            totals.event_forced,
            hold.forced,
            "forced vs forced-capture events",
        ),
        *_compare(
            "hold_captured_journal",
            hold.id,
            totals.journal_captured,
            hold.captured,
            "captured vs journal",
        ),
        *_compare(
            "hold_refunded_journal",
            hold.id,
            totals.journal_refunded,
            hold.refunded,
            "refunded vs journal",
        ),
    ]


def verify(uow_factory: UnitOfWorkFactory, *, page_size: int = VERIFY_PAGE_SIZE) -> VerifyReport:
    report = VerifyReport()
    with uow_factory(write=False, snapshot=True) as uow:
        store = uow.verification
        after: str | None = None
        while page := store.account_totals(after, page_size):
            report.accounts += len(page)
            for totals in page:
                report.problems.extend(check_account(totals))
            after = page[-1].account.id
        after = None
        while holds := store.hold_totals(after, page_size):
            report.holds += len(holds)
            for hold_totals in holds:
                report.problems.extend(check_hold(hold_totals))
            after = holds[-1].hold.id
        report.entries = store.entry_count()
        for entry in store.entry_problems(ENTRY_PROBLEMS_MAX):
            report.problems.append(
                Problem("entry_unbalanced", entry.entry_id, None, None, entry.detail)
            )
    return report
