"""Aggregates for `creditline verify`, computed in SQL one page at a time.

Correlated subqueries per account and per hold use the same indexes as the hot path
(postings by account and ledger account, pending holds by account, events and entries by
hold), so a page costs the same whether the database holds a thousand accounts or
millions. The unit of work reads in one snapshot, so a live system verifies cleanly.
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
from creditline.service.ports import AccountTotals, EntryProblem, HoldTotals


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
    select(
        journal_entry.c.id,
        journal_entry.c.amount,
        _sum_or_zero(posting.c.amount).label("total"),
        _debits.label("debits"),
        func.count(posting.c.line).label("lines"),
    )
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


class SqlVerificationStore:
    def __init__(self, connection: Connection) -> None:
        self._conn = connection

    def account_totals(self, after: str | None, limit: int) -> list[AccountTotals]:
        rows = self._conn.execute(_ACCOUNT_TOTALS, {"after": after or "", "limit": limit})
        return [
            AccountTotals(
                account=account_from_row(row),
                journal_receivable=Money(int(row["j_receivable"])),
                journal_consumer_credit=Money(-int(row["j_consumer_credit"])),
                open_holds=Money(int(row["open_holds"])),
            )
            for row in rows.mappings()
        ]

    def hold_totals(self, after: str | None, limit: int) -> list[HoldTotals]:
        rows = self._conn.execute(_HOLD_TOTALS, {"after": after or "", "limit": limit})
        return [
            HoldTotals(
                hold=hold_from_row(row),
                event_captured=Money(int(row["e_captured"])),
                event_released=Money(int(row["e_released"])),
                event_refunded=Money(int(row["e_refunded"])),
                event_forced=Money(int(row["e_forced"])),
                journal_captured=Money(int(row["j_captured"])),
                journal_refunded=Money(int(row["j_refunded"])),
            )
            for row in rows.mappings()
        ]

    def entry_problems(self, limit: int) -> list[EntryProblem]:
        problems = [
            EntryProblem(
                row["id"],
                f"postings sum to {row['total']}, debits {row['debits']} "
                f"vs amount {row['amount']}, {row['lines']} lines",
            )
            for row in self._conn.execute(_ENTRY_PROBLEMS, {"limit": limit}).mappings()
        ]
        problems += [
            EntryProblem(row[0], "postings without a sealed entry header")
            for row in self._conn.execute(_ORPHAN_POSTINGS, {"limit": limit})
        ]
        return problems

    def entry_count(self) -> int:
        return int(self._conn.execute(select(func.count()).select_from(journal_entry)).scalar_one())
