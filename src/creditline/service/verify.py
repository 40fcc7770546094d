"""Verify: recompute every balance from the journal and the holds and compare.

The account row is a cache of two truths: the journal (for `used` and
`credit_balance`) and the holds (for `locked`). `verify` reads all three in one
snapshot, streamed in id order in batches (memory stays constant however big the
database), and reports every disagreement:

    used ≠ Σ receivable postings            credit_balance ≠ −Σ consumer_credit postings
    locked ≠ Σ open amounts of pending holds
    over the limit without a forced capture on record
    a hold's captured/released/refunded/forced ≠ the sum of its events
    a hold's captured/refunded ≠ the sum of its journal entries
    an entry whose postings do not sum to zero, or whose size is not its debits
    postings without a sealed entry header

Every problem is counted (`problems_found`); the first `problems_max` of them, in the
order found, are kept for the report. A clean result is `problems_found == 0`; the CLI
exits 1 otherwise. `account_id` checks one account, its holds and its entries only
(AccountNotFound if there is no such account).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from creditline.domain.errors import AccountNotFound
from creditline.domain.money import Money
from creditline.service.ports import AccountTotals, HoldTotals, UnitOfWorkFactory

VERIFY_BATCH_ROWS = 1_000
"""Rows fetched per round trip; the client holds about this many at a time."""
PROBLEMS_KEPT_MAX = 1_000
"""Problems kept for the report; beyond this they are only counted."""


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
    """The first `problems_max` problems found."""
    problems_found: int = 0
    problems_max: int = PROBLEMS_KEPT_MAX

    @property
    def ok(self) -> bool:
        return self.problems_found == 0

    def add(self, problems: list[Problem]) -> None:
        if not problems:
            return
        self.problems_found += len(problems)
        room = self.problems_max - len(self.problems)
        if room > 0:
            self.problems.extend(problems[:room])


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
    hold_id = totals.hold_id
    return [
        *_compare(
            "hold_captured_events",
            hold_id,
            totals.event_captured,
            totals.captured,
            "captured vs capture events",
        ),
        *_compare(
            "hold_released_events",
            hold_id,
            totals.event_released,
            totals.released,
            "released vs release and expiry events",
        ),
        *_compare(
            "hold_refunded_events",
            hold_id,
            totals.event_refunded,
            totals.refunded,
            "refunded vs refund events",
        ),
        *_compare(
            "hold_forced_events",
            hold_id,
            totals.event_forced,
            totals.forced,
            "forced vs forced-capture events",
        ),
        *_compare(
            "hold_captured_journal",
            hold_id,
            totals.journal_captured,
            totals.captured,
            "captured vs journal",
        ),
        *_compare(
            "hold_refunded_journal",
            hold_id,
            totals.journal_refunded,
            totals.refunded,
            "refunded vs journal",
        ),
    ]


def verify(
    uow_factory: UnitOfWorkFactory,
    *,
    account_id: str | None = None,
    batch_rows: int = VERIFY_BATCH_ROWS,
    problems_max: int = PROBLEMS_KEPT_MAX,
) -> VerifyReport:
    """Check everything, or with `account_id` that account, its holds and its entries."""
    report = VerifyReport(problems_max=problems_max)
    with uow_factory(write=False, snapshot=True) as uow:
        store = uow.verification
        for totals in store.account_totals(account_id, batch_rows):
            report.accounts += 1
            report.add(check_account(totals))
        if account_id is not None and report.accounts == 0:
            raise AccountNotFound(f"no account {account_id}", account_id=account_id)
        for hold_totals in store.hold_totals(account_id, batch_rows):
            report.holds += 1
            report.add(check_hold(hold_totals))
        for entry in store.entry_problems(account_id, batch_rows):
            report.add([Problem("entry_unbalanced", entry.entry_id, None, None, entry.detail)])
        report.entries = store.entry_count(account_id)
    return report
