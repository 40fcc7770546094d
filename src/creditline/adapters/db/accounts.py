"""Credit account rows: read, lock, write back under a version check.

`get` reads without a lock; `save` then updates only if the row still has the version
that was read, and a row that moved on is `WriteConflict(STALE_READ)` (optimistic
concurrency: no row lock on the common path). `lock` is SELECT … FOR NO KEY UPDATE on
PostgreSQL, for the careful retry and the sweeper: the same lock an UPDATE takes, which
— unlike FOR UPDATE — lets other transactions' foreign-key checks (KEY SHARE) through.
On SQLite the clause is dropped: the unit of work began with BEGIN IMMEDIATE, so it
already holds the only write lock and no read is ever stale.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import Connection, select

from creditline.adapters.db.driver import Driver, Sql, columns
from creditline.adapters.db.schema import credit_account
from creditline.domain.account import Account, AccountStatus
from creditline.domain.money import Money
from creditline.domain.spend import PeriodSpend
from creditline.service.pages import Page

_COLUMNS = columns(credit_account)
_BY_ID = f"SELECT {_COLUMNS} FROM credit_account WHERE id = {{p}}"
_GET = Sql(_BY_ID)
_LOCK = Sql(_BY_ID + "{pg}", postgres_only=" FOR NO KEY UPDATE")
_LOCK_SKIP = Sql(_BY_ID + "{pg}", postgres_only=" FOR NO KEY UPDATE SKIP LOCKED")
_LOCK_HOLDING = Sql(
    f"SELECT {_COLUMNS} FROM credit_account "
    "WHERE id = (SELECT account_id FROM hold WHERE id = {p}){pg}",
    postgres_only=" FOR NO KEY UPDATE",
)
_BY_REF = Sql(
    f"SELECT {_COLUMNS} FROM credit_account WHERE platform_id = {{p}} AND external_ref = {{p}}"
)
_SAVE = Sql(
    "UPDATE credit_account SET credit_limit = {p}, used = {p}, locked = {p}, "
    "credit_balance = {p}, status = {p}, version = {p}, last_forced_capture_at = {p}, "
    "updated_at = {p}, tier = {p}, real_name_verified = {p}, spend_day = {p}, "
    "spend_day_amount = {p}, spend_day_count = {p}, spend_month = {p}, "
    "spend_month_amount = {p}, spend_month_count = {p} WHERE id = {p} AND version = {p}"
)


def _day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _text(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _spend_columns(spend: PeriodSpend) -> tuple[Any, ...]:
    return (
        _text(spend.day),
        spend.day_amount.fen,
        spend.day_count,
        _text(spend.month),
        spend.month_amount.fen,
        spend.month_count,
    )


def account_from_row(row: Mapping[Any, Any]) -> Account:
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
        tier=row["tier"],
        real_name_verified=bool(row["real_name_verified"]),
        spend=PeriodSpend(
            day=_day(row["spend_day"]),
            day_amount=Money(row["spend_day_amount"]),
            day_count=row["spend_day_count"],
            month=_day(row["spend_month"]),
            month_amount=Money(row["spend_month_amount"]),
            month_count=row["spend_month_count"],
        ),
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
        "tier": account.tier,
        "real_name_verified": account.real_name_verified,
        **dict(zip(_SPEND_NAMES, _spend_columns(account.spend), strict=True)),
    }


_SPEND_NAMES = (
    "spend_day",
    "spend_day_amount",
    "spend_day_count",
    "spend_month",
    "spend_month_amount",
    "spend_month_count",
)


class SqlAccountStore:
    def __init__(self, connection: Connection, driver: Driver) -> None:
        self._conn = connection
        self._db = driver

    def _one(self, sql: Sql, *params: Any) -> Account | None:
        row = self._db.one(sql, params)
        return None if row is None else account_from_row(self._db.decode(credit_account, row))

    def add(self, account: Account) -> None:
        self._db.defer_insert(credit_account, [account_to_row(account)])

    def get(self, account_id: str) -> Account | None:
        return self._one(_GET, account_id)

    def lock(self, account_id: str, *, skip_locked: bool = False) -> Account | None:
        return self._one(_LOCK_SKIP if skip_locked else _LOCK, account_id)

    def lock_holding(self, hold_id: str) -> Account | None:
        return self._one(_LOCK_HOLDING, hold_id)

    def save(self, before: Account, after: Account) -> None:
        assert before.id == after.id, (before.id, after.id)
        assert after.version > before.version, (before.version, after.version)
        db = self._db
        db.defer(
            _SAVE,
            (
                after.credit_limit.fen,
                after.used.fen,
                after.locked.fen,
                after.credit_balance.fen,
                after.status.value,
                after.version,
                db.to_db(after.last_forced_capture_at),
                db.to_db(after.updated_at),
                after.tier,
                after.real_name_verified,
                *_spend_columns(after.spend),
                before.id,
                before.version,
            ),
            rows=1,
            stale=True,
            leads=True,
        )

    def find_by_external_ref(self, platform_id: str, external_ref: str) -> Account | None:
        return self._one(_BY_REF, platform_id, external_ref)

    def list(self, platform_id: str | None, after: str | None, limit: int) -> Page[Account]:
        self._db.flush()
        query = select(credit_account).order_by(credit_account.c.id).limit(limit + 1)
        if platform_id is not None:
            query = query.where(credit_account.c.platform_id == platform_id)
        if after is not None:
            query = query.where(credit_account.c.id > after)
        rows = self._conn.execute(query).mappings().all()
        items = [account_from_row(row) for row in rows[:limit]]
        return Page(items=items, next_cursor=items[-1].id if len(rows) > limit else None)
