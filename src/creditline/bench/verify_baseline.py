"""The verify of before (up to commit e62db05), kept as `creditline bench verify`'s baseline.

Pages of 1,000 accounts and 1,000 holds, each row with correlated subqueries (two over
postings and one over pending holds per account; six over events and entries per hold),
then the unbalanced entries and orphan postings. Same checks and the same snapshot as
`service.verify`; only the way the sums are read differs. Nothing else uses it.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, case, func, literal, select
from sqlalchemy.sql import ColumnElement

from creditline.adapters.db.accounts import account_from_row
from creditline.adapters.db.holds import hold_from_row
from creditline.adapters.db.schema import credit_account, hold, hold_event, journal_entry, posting
from creditline.domain.hold import HoldEventKind, HoldStatus
from creditline.domain.ledger import EntryKind, LedgerAccount
from creditline.domain.money import Money
from creditline.service.ports import AccountTotals, HoldTotals
from creditline.service.verify import VerifyReport, check_account, check_hold

PAGE_SIZE = 1_000
ENTRY_PROBLEMS_MAX = 1_000


def _sum_or_zero(expression: ColumnElement[int]) -> ColumnElement[int]:
    return func.coalesce(func.sum(expression), literal(0))


def _postings(ledger_account: LedgerAccount) -> ColumnElement[int]:
    return (
        select(_sum_or_zero(posting.c.amount))
        .where(
            posting.c.account_id == credit_account.c.id,
            posting.c.ledger_account == ledger_account.value,
        )
        .scalar_subquery()
    )


def _events(*kinds: HoldEventKind) -> ColumnElement[int]:
    return (
        select(_sum_or_zero(hold_event.c.amount))
        .where(
            hold_event.c.hold_id == hold.c.id, hold_event.c.kind.in_([kind.value for kind in kinds])
        )
        .scalar_subquery()
    )


def _entries(*kinds: EntryKind) -> ColumnElement[int]:
    return (
        select(_sum_or_zero(journal_entry.c.amount))
        .where(
            journal_entry.c.hold_id == hold.c.id,
            journal_entry.c.kind.in_([kind.value for kind in kinds]),
        )
        .scalar_subquery()
    )


_OPEN_HOLDS = (
    select(_sum_or_zero(hold.c.amount - hold.c.captured))
    .where(hold.c.account_id == credit_account.c.id, hold.c.status == HoldStatus.PENDING.value)
    .scalar_subquery()
)

_ACCOUNT_TOTALS = (
    select(
        credit_account,
        _postings(LedgerAccount.RECEIVABLE).label("j_receivable"),
        _postings(LedgerAccount.CONSUMER_CREDIT).label("j_consumer_credit"),
        _OPEN_HOLDS.label("open_holds"),
    )
    .where(credit_account.c.id > bindparam("after"))
    .order_by(credit_account.c.id)
    .limit(bindparam("limit"))
)

_HOLD_TOTALS = (
    select(
        hold,
        _events(HoldEventKind.CAPTURED, HoldEventKind.FORCE_CAPTURED).label("e_captured"),
        _events(HoldEventKind.RELEASED, HoldEventKind.EXPIRED).label("e_released"),
        _events(HoldEventKind.REFUNDED).label("e_refunded"),
        _events(HoldEventKind.FORCE_CAPTURED).label("e_forced"),
        _entries(EntryKind.CAPTURE, EntryKind.FORCE_CAPTURE).label("j_captured"),
        _entries(EntryKind.REFUND).label("j_refunded"),
    )
    .where(hold.c.id > bindparam("after"))
    .order_by(hold.c.id)
    .limit(bindparam("limit"))
)

_debits = _sum_or_zero(case((posting.c.amount > 0, posting.c.amount), else_=0))
_ENTRY_PROBLEMS = (
    select(journal_entry.c.id)
    .select_from(journal_entry.outerjoin(posting, posting.c.entry_id == journal_entry.c.id))
    .group_by(journal_entry.c.id, journal_entry.c.amount)
    .having(
        (_sum_or_zero(posting.c.amount) != 0)
        | (_debits != journal_entry.c.amount)
        | (func.count(posting.c.line) < 2)
    )
    .limit(bindparam("limit"))
)
_ORPHAN_POSTINGS = (
    select(posting.c.entry_id)
    .distinct()
    .where(~select(journal_entry.c.id).where(journal_entry.c.id == posting.c.entry_id).exists())
    .limit(bindparam("limit"))
)


def _accounts(conn: Connection, report: VerifyReport) -> None:
    after = ""
    while rows := conn.execute(_ACCOUNT_TOTALS, {"after": after, "limit": PAGE_SIZE}).all():
        for row in rows:
            mapping = row._mapping
            totals = AccountTotals(
                account=account_from_row(mapping),
                journal_receivable=Money(int(mapping["j_receivable"])),
                journal_consumer_credit=Money(-int(mapping["j_consumer_credit"])),
                open_holds=Money(int(mapping["open_holds"])),
            )
            report.accounts += 1
            report.add(check_account(totals))
        after = rows[-1].id


def _holds(conn: Connection, report: VerifyReport) -> None:
    after = ""
    while rows := conn.execute(_HOLD_TOTALS, {"after": after, "limit": PAGE_SIZE}).all():
        for row in rows:
            mapping = row._mapping
            stored = hold_from_row(mapping)
            totals = HoldTotals(
                stored.id,
                stored.captured,
                stored.released,
                stored.refunded,
                stored.forced,
                event_captured=Money(int(mapping["e_captured"])),
                event_released=Money(int(mapping["e_released"])),
                event_refunded=Money(int(mapping["e_refunded"])),
                event_forced=Money(int(mapping["e_forced"])),
                journal_captured=Money(int(mapping["j_captured"])),
                journal_refunded=Money(int(mapping["j_refunded"])),
            )
            report.holds += 1
            report.add(check_hold(totals))
        after = rows[-1].id


def run_baseline(conn: Connection) -> VerifyReport:
    """The old verify on `conn`, which must already be in a snapshot transaction."""
    report = VerifyReport()
    _accounts(conn, report)
    _holds(conn, report)
    report.entries = int(conn.execute(select(func.count()).select_from(journal_entry)).scalar_one())
    limit = {"limit": ENTRY_PROBLEMS_MAX}
    report.problems_found += len(conn.execute(_ENTRY_PROBLEMS, limit).all())
    report.problems_found += len(conn.execute(_ORPHAN_POSTINGS, limit).all())
    return report
