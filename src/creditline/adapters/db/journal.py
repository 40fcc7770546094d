"""Journal entries and their postings.

An entry is written as its postings first and its header last. The header is what the
database checks (trigger `journal_entry_sealed`: immediate on SQLite, deferred to commit
on PostgreSQL): the postings must sum to zero and their debits must equal the entry's
amount; afterwards no posting can join the entry and nothing can be updated or deleted.
The domain asserted the same rule when it built the entry, so a violation here means a
bug, and the transaction fails.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection, bindparam, select

from creditline.adapters.db.driver import Driver
from creditline.adapters.db.schema import journal_entry, posting
from creditline.domain.ledger import EntryKind, JournalEntry, LedgerAccount, Posting
from creditline.domain.money import Money
from creditline.service.pages import Page

_POSTINGS = (
    select(posting)
    .where(posting.c.entry_id.in_(bindparam("entry_ids", expanding=True)))
    .order_by(posting.c.entry_id, posting.c.line)
)


class SqlJournalStore:
    def __init__(self, connection: Connection, driver: Driver) -> None:
        self._conn = connection
        self._db = driver

    def append(self, entry: JournalEntry) -> None:
        postings = [
            {
                "entry_id": entry.id,
                "line": line,
                "account_id": entry.account_id,
                "ledger_account": p.ledger_account.value,
                "counterparty": p.counterparty,
                "amount": p.amount.fen,
            }
            for line, p in enumerate(entry.postings, start=1)
        ]
        header = {
            "id": entry.id,
            "account_id": entry.account_id,
            "kind": entry.kind.value,
            "amount": entry.amount.fen,
            "hold_id": entry.hold_id,
            "forced": entry.forced,
            "memo": entry.memo,
            "at": entry.at,
        }
        # Postings first, then the header that seals them (checked by the database).
        self._db.defer_insert(posting, postings)
        self._db.defer_insert(journal_entry, [header])

    def list_for_account(
        self, account_id: str, after: str | None, limit: int
    ) -> Page[JournalEntry]:
        self._db.flush()
        query = select(journal_entry).where(journal_entry.c.account_id == account_id)
        if after is not None:
            query = query.where(journal_entry.c.id < after)
        query = query.order_by(journal_entry.c.id.desc()).limit(limit + 1)
        rows = self._conn.execute(query).mappings().all()
        headers = rows[:limit]
        lines: dict[str, list[Posting]] = defaultdict(list)
        if headers:
            ids = [row["id"] for row in headers]
            for p in self._conn.execute(_POSTINGS, {"entry_ids": ids}).mappings():
                lines[p["entry_id"]].append(
                    Posting(
                        ledger_account=LedgerAccount(p["ledger_account"]),
                        amount=Money(p["amount"]),
                        counterparty=p["counterparty"],
                    )
                )
        items = [
            JournalEntry(
                id=row["id"],
                account_id=row["account_id"],
                kind=EntryKind(row["kind"]),
                amount=Money(row["amount"]),
                postings=tuple(lines[row["id"]]),
                at=row["at"],
                hold_id=row["hold_id"],
                forced=row["forced"],
                memo=row["memo"],
            )
            for row in headers
        ]
        return Page(items=items, next_cursor=items[-1].id if len(rows) > limit else None)
