"""Hold rows and their immutable events.

Inserting a hold uses ON CONFLICT DO NOTHING against the partial unique index
"one pending hold per (account, order)", so a second checkout of the same order is
detected without aborting the transaction (PostgreSQL would otherwise have to roll back
to a savepoint). Due holds are found through the partial index on `expires_at` of
pending holds, earliest first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    RowMapping,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from creditline.adapters.db.schema import hold, hold_event
from creditline.domain.hold import Hold, HoldEvent, HoldEventKind, HoldStatus
from creditline.domain.money import Money
from creditline.service.ports import Page

PENDING = HoldStatus.PENDING.value
_PENDING_WHERE = text("status = 'pending'")

_BY_ID = select(hold).where(hold.c.id == bindparam("hold_id"))
_SAVE = (
    update(hold)
    .where(hold.c.id == bindparam("b_id"))
    .values(
        captured=bindparam("v_captured"),
        released=bindparam("v_released"),
        refunded=bindparam("v_refunded"),
        forced=bindparam("v_forced"),
        status=bindparam("v_status"),
        resolved_at=bindparam("v_resolved_at"),
    )
)
_PENDING_FOR_ORDER = select(hold).where(
    hold.c.account_id == bindparam("account_id"),
    hold.c.order_id == bindparam("order_id"),
    hold.c.status == PENDING,
)
_PAST_DEADLINE = (
    select(hold)
    .where(
        hold.c.account_id == bindparam("account_id"),
        hold.c.status == PENDING,
        hold.c.expires_at <= bindparam("now"),
    )
    .order_by(hold.c.expires_at, hold.c.id)
)
_DUE = (
    select(hold.c.id, hold.c.account_id)
    .where(hold.c.status == PENDING, hold.c.expires_at <= bindparam("now"))
    .order_by(hold.c.expires_at, hold.c.id)
    .limit(bindparam("limit"))
)
_EXPIRED_OPEN = (
    select(hold.c.account_id, func.sum(hold.c.amount - hold.c.captured))
    .where(
        hold.c.account_id.in_(bindparam("account_ids", expanding=True)),
        hold.c.status == PENDING,
        hold.c.expires_at <= bindparam("now"),
    )
    .group_by(hold.c.account_id)
)
_EVENTS = (
    select(hold_event)
    .where(hold_event.c.hold_id.in_(bindparam("hold_ids", expanding=True)))
    .order_by(hold_event.c.at, hold_event.c.id)
)
_INSERT_EVENT = insert(hold_event)


def hold_from_row(row: RowMapping) -> Hold:
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


def event_from_row(row: RowMapping) -> HoldEvent:
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


def _insert_unless_order_pending(dialect_name: str) -> Any:
    module: Any = postgresql if dialect_name == "postgresql" else sqlite
    # RETURNING tells whether the row went in; rowcount is not reliable for INSERT.
    return (
        module.insert(hold)
        .on_conflict_do_nothing(
            index_elements=["account_id", "order_id"], index_where=_PENDING_WHERE
        )
        .returning(hold.c.id)
    )


class SqlHoldStore:
    def __init__(self, connection: Connection) -> None:
        self._conn = connection
        self._insert = _INSERTS[connection.dialect.name]

    def add(self, value: Hold) -> bool:
        assert value.status is HoldStatus.PENDING, value
        return self._conn.execute(self._insert, hold_to_row(value)).first() is not None

    def get(self, hold_id: str) -> Hold | None:
        row = self._conn.execute(_BY_ID, {"hold_id": hold_id}).mappings().first()
        return None if row is None else hold_from_row(row)

    def save(self, value: Hold) -> None:
        result = self._conn.execute(
            _SAVE,
            {
                "b_id": value.id,
                "v_captured": value.captured.fen,
                "v_released": value.released.fen,
                "v_refunded": value.refunded.fen,
                "v_forced": value.forced.fen,
                "v_status": value.status.value,
                "v_resolved_at": value.resolved_at,
            },
        )
        assert result.rowcount == 1, value.id

    def add_events(self, events: Sequence[HoldEvent]) -> None:
        if not events:
            return
        self._conn.execute(
            _INSERT_EVENT,
            [
                {
                    "id": e.id,
                    "hold_id": e.hold_id,
                    "account_id": e.account_id,
                    "kind": e.kind.value,
                    "amount": e.amount.fen,
                    "at": e.at,
                    "entry_id": e.entry_id,
                    "actor": e.actor,
                    "reason": e.reason,
                }
                for e in events
            ],
        )

    def events(self, hold_ids: Sequence[str]) -> dict[str, tuple[HoldEvent, ...]]:
        if not hold_ids:
            return {}
        grouped: dict[str, list[HoldEvent]] = defaultdict(list)
        for row in self._conn.execute(_EVENTS, {"hold_ids": list(hold_ids)}).mappings():
            grouped[row["hold_id"]].append(event_from_row(row))
        return {hold_id: tuple(events) for hold_id, events in grouped.items()}

    def pending_for_order(self, account_id: str, order_id: str) -> Hold | None:
        params = {"account_id": account_id, "order_id": order_id}
        row = self._conn.execute(_PENDING_FOR_ORDER, params).mappings().first()
        return None if row is None else hold_from_row(row)

    def past_deadline(self, account_id: str, now: datetime) -> list[Hold]:
        rows = self._conn.execute(_PAST_DEADLINE, {"account_id": account_id, "now": now})
        return [hold_from_row(row) for row in rows.mappings()]

    def due(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        rows = self._conn.execute(_DUE, {"now": now, "limit": limit})
        return [(row[0], row[1]) for row in rows]

    def expired_open_totals(self, account_ids: Sequence[str], now: datetime) -> dict[str, Money]:
        if not account_ids:
            return {}
        rows = self._conn.execute(_EXPIRED_OPEN, {"account_ids": list(account_ids), "now": now})
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


_INSERTS = {name: _insert_unless_order_pending(name) for name in ("postgresql", "sqlite")}
