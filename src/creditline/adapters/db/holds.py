"""Hold rows and their immutable events.

A new hold is a plain INSERT: if the account already has a pending hold for the same
order, the partial unique index refuses it and the flush raises
`WriteConflict(ORDER_HAS_PENDING_HOLD)`. Due holds are found through the partial index on
`expires_at` of pending holds, earliest first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from creditline.adapters.db.accounts import account_from_row
from creditline.adapters.db.driver import Driver, Sql, columns
from creditline.adapters.db.schema import credit_account, hold, hold_event
from creditline.domain.account import Account
from creditline.domain.hold import Hold, HoldEvent, HoldEventKind, HoldStatus
from creditline.domain.money import Money
from creditline.service.pages import Page
from creditline.service.ports import OrderContext

PENDING = HoldStatus.PENDING.value
_COLUMNS = columns(hold)
_EVENT_COLUMNS = columns(hold_event)

_GET = Sql(f"SELECT {_COLUMNS} FROM hold WHERE id = {{p}}")
_SAVE = Sql(
    "UPDATE hold SET captured = {p}, released = {p}, refunded = {p}, forced = {p}, "
    "status = {p}, resolved_at = {p} WHERE id = {p}"
)
_PENDING_FOR_ORDER = Sql(
    f"SELECT {_COLUMNS} FROM hold WHERE account_id = {{p}} AND order_id = {{p}} "
    "AND status = 'pending'"
)
_WITH_ACCOUNT = Sql(
    f"SELECT {', '.join('h.' + c.name for c in hold.columns)}, "
    f"{', '.join('a.' + c.name for c in credit_account.columns)} "
    "FROM hold h JOIN credit_account a ON a.id = h.account_id WHERE h.id = {p}"
)
_FOR_ORDER = Sql(
    # The order's holds first (a handful), then their accounts: planned this way whatever
    # the statistics say (unanalysed, PostgreSQL walked every account of the platform).
    "WITH h AS {pg}(SELECT * FROM hold WHERE order_id = {p}) "
    f"SELECT {', '.join('h.' + c.name for c in hold.columns)}, "
    f"{', '.join('a.' + c.name for c in credit_account.columns)} "
    "FROM h JOIN credit_account a ON a.id = h.account_id WHERE a.platform_id = {p} "
    "ORDER BY CASE WHEN h.status = 'pending' THEN 0 ELSE 1 END, h.id DESC LIMIT 1",
    postgres_only="MATERIALIZED ",
)
_PENDING_BEFORE = Sql(
    f"SELECT {', '.join('h.' + c.name for c in hold.columns)}, a.platform_id "
    "FROM hold h JOIN credit_account a ON a.id = h.account_id "
    "WHERE h.status = 'pending' AND h.created_at <= {p} ORDER BY h.created_at, h.id LIMIT {p}"
)
_PAST_DEADLINE = Sql(
    f"SELECT {_COLUMNS} FROM hold WHERE account_id = {{p}} AND status = 'pending' "
    "AND expires_at <= {p} ORDER BY expires_at, id"
)
_DUE = Sql(
    "SELECT id, account_id FROM hold WHERE status = 'pending' AND expires_at <= {p} "
    "ORDER BY expires_at, id LIMIT {p}"
)


def hold_from_row(row: Mapping[Any, Any]) -> Hold:
    return Hold(
        id=row["id"],
        account_id=row["account_id"],
        merchant_id=row["merchant_id"],
        order_id=row["order_id"],
        amount=Money(row["amount"]),
        captured=Money(row["captured"]),
        released=Money(row["released"]),
        refunded=Money(row["refunded"]),
        forced=Money(row["forced"]),
        status=HoldStatus(row["status"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        resolved_at=row["resolved_at"],
        description=row["description"],
    )


def hold_to_row(value: Hold) -> dict[str, Any]:
    return {
        "id": value.id,
        "account_id": value.account_id,
        "merchant_id": value.merchant_id,
        "order_id": value.order_id,
        "amount": value.amount.fen,
        "captured": value.captured.fen,
        "released": value.released.fen,
        "refunded": value.refunded.fen,
        "forced": value.forced.fen,
        "status": value.status.value,
        "description": value.description,
        "created_at": value.created_at,
        "expires_at": value.expires_at,
        "resolved_at": value.resolved_at,
    }


def event_from_row(row: Mapping[Any, Any]) -> HoldEvent:
    return HoldEvent(
        id=row["id"],
        hold_id=row["hold_id"],
        account_id=row["account_id"],
        kind=HoldEventKind(row["kind"]),
        amount=Money(row["amount"]),
        at=row["at"],
        entry_id=row["entry_id"],
        actor=row["actor"],
        reason=row["reason"],
    )


def event_to_row(event: HoldEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "hold_id": event.hold_id,
        "account_id": event.account_id,
        "kind": event.kind.value,
        "amount": event.amount.fen,
        "at": event.at,
        "entry_id": event.entry_id,
        "actor": event.actor,
        "reason": event.reason,
    }


class SqlHoldStore:
    def __init__(self, connection: Connection, driver: Driver) -> None:
        self._conn = connection
        self._db = driver

    def _holds(self, rows: Sequence[Sequence[Any]]) -> list[Hold]:
        return [hold_from_row(self._db.decode(hold, row)) for row in rows]

    def add(self, value: Hold) -> None:
        assert value.status is HoldStatus.PENDING, value
        self._db.defer_insert(hold, [hold_to_row(value)])

    def get(self, hold_id: str) -> Hold | None:
        row = self._db.one(_GET, (hold_id,))
        return None if row is None else self._holds([row])[0]

    def get_with_account(self, hold_id: str) -> tuple[Hold, Account] | None:
        row = self._db.one(_WITH_ACCOUNT, (hold_id,))
        return None if row is None else self._split(row)

    def for_order(self, platform_id: str, order_id: str) -> tuple[Hold, Account] | None:
        row = self._db.one(_FOR_ORDER, (order_id, platform_id))
        return None if row is None else self._split(row)

    def _split(self, row: Sequence[Any]) -> tuple[Hold, Account]:
        width = len(hold.columns)
        found = hold_from_row(self._db.decode(hold, row[:width]))
        return found, account_from_row(self._db.decode(credit_account, row[width:]))

    def order_context(self, platform_id: str, order_ids: Sequence[str]) -> dict[str, OrderContext]:
        if not order_ids:
            return {}
        sql = (
            "SELECT h.order_id, h.account_id, h.amount - h.captured, m.trusted FROM hold h "
            "JOIN merchant m ON m.id = h.merchant_id "
            f"WHERE h.status = 'pending' AND m.platform_id = {self._db.in_list(1)} "
            f"AND h.order_id IN ({self._db.in_list(len(order_ids))})"
        )
        rows = self._db.all(sql, [platform_id, *order_ids])
        return {row[0]: OrderContext(row[1], Money(int(row[2])), bool(row[3])) for row in rows}

    def pending_created_before(self, cutoff: datetime, limit: int) -> list[tuple[Hold, str]]:
        rows = self._db.all(_PENDING_BEFORE, (self._db.to_db(cutoff), limit))
        width = len(hold.columns)
        return [(hold_from_row(self._db.decode(hold, row[:width])), row[width]) for row in rows]

    def save(self, value: Hold) -> None:
        self._db.defer(
            _SAVE,
            (
                value.captured.fen,
                value.released.fen,
                value.refunded.fen,
                value.forced.fen,
                value.status.value,
                self._db.to_db(value.resolved_at),
                value.id,
            ),
            rows=1,
        )

    def add_events(self, events: Sequence[HoldEvent]) -> None:
        self._db.defer_insert(hold_event, [event_to_row(e) for e in events])

    def events(self, hold_ids: Sequence[str]) -> dict[str, tuple[HoldEvent, ...]]:
        if not hold_ids:
            return {}
        sql = (
            f"SELECT {_EVENT_COLUMNS} FROM hold_event "
            f"WHERE hold_id IN ({self._db.in_list(len(hold_ids))}) ORDER BY at, id"
        )
        grouped: dict[str, list[HoldEvent]] = defaultdict(list)
        for row in self._db.all(sql, list(hold_ids)):
            event = event_from_row(self._db.decode(hold_event, row))
            grouped[event.hold_id].append(event)
        return {hold_id: tuple(events) for hold_id, events in grouped.items()}

    def pending_for_order(self, account_id: str, order_id: str) -> Hold | None:
        row = self._db.one(_PENDING_FOR_ORDER, (account_id, order_id))
        return None if row is None else self._holds([row])[0]

    def past_deadline(self, account_id: str, now: datetime) -> list[Hold]:
        return self._holds(self._db.all(_PAST_DEADLINE, (account_id, self._db.to_db(now))))

    def due(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        return [(row[0], row[1]) for row in self._db.all(_DUE, (self._db.to_db(now), limit))]

    def expired_open_totals(self, account_ids: Sequence[str], now: datetime) -> dict[str, Money]:
        if not account_ids:
            return {}
        sql = (
            "SELECT account_id, SUM(amount - captured) FROM hold "
            f"WHERE account_id IN ({self._db.in_list(len(account_ids))}) "
            f"AND status = 'pending' AND expires_at <= {self._db.in_list(1)} "
            "GROUP BY account_id"
        )
        rows = self._db.all(sql, [*account_ids, self._db.to_db(now)])
        return {row[0]: Money(int(row[1])) for row in rows}

    def list_for_account(
        self,
        account_id: str,
        *,
        status: HoldStatus | None,
        merchant_id: str | None,
        after: str | None,
        limit: int,
        now: datetime,
    ) -> Page[Hold]:
        self._db.flush()
        query = select(hold).where(hold.c.account_id == account_id)
        if status is HoldStatus.PENDING:
            query = query.where(hold.c.status == PENDING, hold.c.expires_at > now)
        elif status is HoldStatus.EXPIRED:
            query = query.where(
                or_(
                    hold.c.status == HoldStatus.EXPIRED.value,
                    and_(hold.c.status == PENDING, hold.c.expires_at <= now),
                )
            )
        elif status is not None:
            query = query.where(hold.c.status == status.value)
        if merchant_id is not None:
            query = query.where(hold.c.merchant_id == merchant_id)
        if after is not None:
            query = query.where(hold.c.id < after)
        rows = self._conn.execute(query.order_by(hold.c.id.desc()).limit(limit + 1)).mappings()
        items = [hold_from_row(row) for row in rows.all()]
        more = len(items) > limit
        items = items[:limit]
        return Page(items=items, next_cursor=items[-1].id if more else None)
