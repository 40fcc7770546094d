"""Credit account rows: read, lock, write back under a version check.

`lock` is SELECT … FOR UPDATE on PostgreSQL. On SQLite the clause is dropped: the unit
of work began with BEGIN IMMEDIATE, so it already holds the only write lock. `save`
updates only if the row still has the version that was read — with the lock held that
is always true, and the assertion proves it (TigerStyle: pair the check on both paths).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, insert, select, update

from creditline.adapters.db.schema import credit_account, hold
from creditline.domain.account import Account, AccountStatus
from creditline.domain.money import Money
from creditline.service.ports import Page

_BY_ID = select(credit_account).where(credit_account.c.id == bindparam("account_id"))
_LOCK = _BY_ID.with_for_update()
_LOCK_SKIP = _BY_ID.with_for_update(skip_locked=True)
_LOCK_HOLDING = (
    select(credit_account)
    .where(
        credit_account.c.id
        == select(hold.c.account_id).where(hold.c.id == bindparam("hold_id")).scalar_subquery()
    )
    .with_for_update(of=credit_account)
)
_BY_REF = select(credit_account).where(
    credit_account.c.platform_id == bindparam("platform_id"),
    credit_account.c.external_ref == bindparam("external_ref"),
)
_SAVE = (
    update(credit_account)
    .where(
        credit_account.c.id == bindparam("b_id"),
        credit_account.c.version == bindparam("b_version"),
    )
    .values(
        credit_limit=bindparam("v_credit_limit"),
        used=bindparam("v_used"),
        locked=bindparam("v_locked"),
        credit_balance=bindparam("v_credit_balance"),
        status=bindparam("v_status"),
        version=bindparam("v_version"),
        last_forced_capture_at=bindparam("v_last_forced_capture_at"),
        updated_at=bindparam("v_updated_at"),
    )
)
_INSERT = insert(credit_account)


def account_from_row(row: RowMapping) -> Account:
    return Account(
        id=row["id"],
        platform_id=row["platform_id"],
        external_ref=row["external_ref"],
        credit_limit=Money(row["credit_limit"]),
        used=Money(row["used"]),
        locked=Money(row["locked"]),
        credit_balance=Money(row["credit_balance"]),
        status=AccountStatus(row["status"]),
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        last_forced_capture_at=row["last_forced_capture_at"],
    )


def account_to_row(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "platform_id": account.platform_id,
        "external_ref": account.external_ref,
        "credit_limit": account.credit_limit.fen,
        "used": account.used.fen,
        "locked": account.locked.fen,
        "credit_balance": account.credit_balance.fen,
        "status": account.status.value,
        "version": account.version,
        "last_forced_capture_at": account.last_forced_capture_at,
        "created_at": account.created_at,
        "updated_at": account.updated_at,
    }


class SqlAccountStore:
    def __init__(self, connection: Connection) -> None:
        self._conn = connection

    def _one(self, statement: Any, **params: Any) -> Account | None:
        row = self._conn.execute(statement, params).mappings().first()
        return None if row is None else account_from_row(row)

    def add(self, account: Account) -> None:
        self._conn.execute(_INSERT, account_to_row(account))

    def get(self, account_id: str) -> Account | None:
        return self._one(_BY_ID, account_id=account_id)

    def lock(self, account_id: str, *, skip_locked: bool = False) -> Account | None:
        return self._one(_LOCK_SKIP if skip_locked else _LOCK, account_id=account_id)

    def lock_holding(self, hold_id: str) -> Account | None:
        return self._one(_LOCK_HOLDING, hold_id=hold_id)

    def save(self, before: Account, after: Account) -> None:
        assert before.id == after.id, (before.id, after.id)
        assert after.version > before.version, (before.version, after.version)
        result = self._conn.execute(
            _SAVE,
            {
                "b_id": before.id,
                "b_version": before.version,
                "v_credit_limit": after.credit_limit.fen,
                "v_used": after.used.fen,
                "v_locked": after.locked.fen,
                "v_credit_balance": after.credit_balance.fen,
                "v_status": after.status.value,
                "v_version": after.version,
                "v_last_forced_capture_at": after.last_forced_capture_at,
                "v_updated_at": after.updated_at,
            },
        )
        assert result.rowcount == 1, f"account {before.id} changed under its lock"

    def find_by_external_ref(self, platform_id: str, external_ref: str) -> Account | None:
        return self._one(_BY_REF, platform_id=platform_id, external_ref=external_ref)

    def list(self, platform_id: str | None, after: str | None, limit: int) -> Page[Account]:
        query = select(credit_account).order_by(credit_account.c.id).limit(limit + 1)
        if platform_id is not None:
            query = query.where(credit_account.c.platform_id == platform_id)
        if after is not None:
            query = query.where(credit_account.c.id > after)
        rows = self._conn.execute(query).mappings().all()
        items = [account_from_row(row) for row in rows[:limit]]
        return Page(items=items, next_cursor=items[-1].id if len(rows) > limit else None)
