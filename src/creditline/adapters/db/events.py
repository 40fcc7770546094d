"""The order-event inbox, dead letters and the notification outbox, as rows.

Inbox and outbox inserts are deferred writes on the hot path (they join the command's
other writes); the inbox's primary key (platform, event id) turns a second delivery of
an event into `WriteConflict(EVENT_SEEN)`. Outbox messages are claimed for delivery by
pushing `next_attempt_at` into the future (a lease) in a short transaction — with
SKIP LOCKED on PostgreSQL — so several dispatchers never send one message at once and
no row lock is held during the HTTP call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from creditline.adapters.db.driver import Driver, Sql, columns
from creditline.adapters.db.schema import dead_letter, order_event, outbox
from creditline.domain.money import Money
from creditline.service.event_ports import (
    DeadLetter,
    InboxRecord,
    OutboxMessage,
    OutboxStatus,
)
from creditline.service.pages import Page

_INBOX_GET = Sql(
    f"SELECT {columns(order_event)} FROM order_event WHERE platform_id = {{p}} AND event_id = {{p}}"
)
_CLAIM_IDS = Sql(
    "SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= {p} "
    "ORDER BY next_attempt_at LIMIT {p}{pg}",
    postgres_only=" FOR UPDATE SKIP LOCKED",
)


def _inbox_row(record: InboxRecord) -> dict[str, Any]:
    return {
        "platform_id": record.platform_id,
        "event_id": record.event_id,
        "type": record.type,
        "order_id": record.order_id,
        "amount": None if record.amount is None else record.amount.fen,
        "occurred_at": record.occurred_at,
        "received_at": record.received_at,
        "applied_at": record.applied_at,
        "source": record.source,
        "outcome": record.outcome,
        "hold_id": record.hold_id,
        "account_id": record.account_id,
        "detail": record.detail,
    }


def _inbox_record(row: Mapping[Any, Any]) -> InboxRecord:
    return InboxRecord(
        platform_id=row["platform_id"],
        event_id=row["event_id"],
        type=row["type"],
        order_id=row["order_id"],
        amount=None if row["amount"] is None else Money(row["amount"]),
        occurred_at=row["occurred_at"],
        received_at=row["received_at"],
        applied_at=row["applied_at"],
        source=row["source"],
        outcome=row["outcome"],
        detail=row["detail"],
        hold_id=row["hold_id"],
        account_id=row["account_id"],
    )


class SqlInboxStore:
    def __init__(self, connection: Connection, driver: Driver) -> None:
        self._conn = connection
        self._db = driver

    def add(self, record: InboxRecord) -> None:
        self._db.defer_insert(order_event, [_inbox_row(record)])

    def seen(self, platform_id: str, event_ids: Sequence[str]) -> set[str]:
        if not event_ids:
            return set()
        sql = (
            f"SELECT event_id FROM order_event WHERE platform_id = {self._db.in_list(1)} "
            f"AND event_id IN ({self._db.in_list(len(event_ids))})"
        )
        return {row[0] for row in self._db.all(sql, [platform_id, *event_ids])}

    def get(self, platform_id: str, event_id: str) -> InboxRecord | None:
        row = self._db.one(_INBOX_GET, (platform_id, event_id))
        return None if row is None else _inbox_record(self._db.decode(order_event, row))

    def record_replay(self, record: InboxRecord) -> None:
        self._db.flush()
        values = _inbox_row(record)
        del values["platform_id"], values["event_id"]
        self._conn.execute(
            update(order_event)
            .where(
                order_event.c.platform_id == record.platform_id,
                order_event.c.event_id == record.event_id,
            )
            .values(**values)
        )

    def since(self, applied_after: datetime, limit: int) -> list[InboxRecord]:
        self._db.flush()
        query = (
            select(order_event)
            .where(order_event.c.applied_at > applied_after)
            .order_by(order_event.c.applied_at)
            .limit(limit)
        )
        return [_inbox_record(row) for row in self._conn.execute(query).mappings()]


def _letter(row: Mapping[Any, Any]) -> DeadLetter:
    return DeadLetter(
        id=row["id"],
        kind=row["kind"],
        platform_id=row["platform_id"],
        ref=row["ref"],
        reason=row["reason"],
        detail=row["detail"],
        payload=row["payload"],
        created_at=row["created_at"],
        attempts=row["attempts"],
        resolved_at=row["resolved_at"],
        resolution=row["resolution"],
    )


class SqlDeadLetterStore:
    def __init__(self, connection: Connection, driver: Driver) -> None:
        self._conn = connection
        self._db = driver

    def _execute(self, statement: Any) -> Any:
        self._db.flush()
        return self._conn.execute(statement)

    def add(self, letter: DeadLetter) -> None:
        self._db.defer_insert(
            dead_letter,
            [
                {
                    "id": letter.id,
                    "kind": letter.kind,
                    "platform_id": letter.platform_id,
                    "ref": letter.ref,
                    "reason": letter.reason,
                    "detail": letter.detail,
                    "payload": letter.payload,
                    "created_at": letter.created_at,
                    "attempts": letter.attempts,
                    "resolved_at": letter.resolved_at,
                    "resolution": letter.resolution,
                }
            ],
        )

    def get(self, letter_id: str) -> DeadLetter | None:
        row = self._execute(select(dead_letter).where(dead_letter.c.id == letter_id))
        found = row.mappings().first()
        return None if found is None else _letter(found)

    def open(
        self,
        *,
        kind: str | None,
        after: str | None,
        limit: int,
        platform_id: str | None = None,
    ) -> Page[DeadLetter]:
        query = select(dead_letter).where(dead_letter.c.resolved_at.is_(None))
        if platform_id is not None:
            query = query.where(dead_letter.c.platform_id == platform_id)
        if kind is not None:
            query = query.where(dead_letter.c.kind == kind)
        if after is not None:
            query = query.where(dead_letter.c.id > after)
        rows = self._execute(query.order_by(dead_letter.c.id).limit(limit + 1)).mappings().all()
        items = [_letter(row) for row in rows[:limit]]
        return Page(items=items, next_cursor=items[-1].id if len(rows) > limit else None)

    def attempted(self, letter_id: str, *, detail: str) -> None:
        self._execute(
            update(dead_letter)
            .where(dead_letter.c.id == letter_id)
            .values(attempts=dead_letter.c.attempts + 1, detail=detail)
        )

    def resolve(self, letter_id: str, *, at: datetime, resolution: str) -> None:
        self._execute(
            update(dead_letter)
            .where(dead_letter.c.id == letter_id)
            .values(resolved_at=at, resolution=resolution)
        )


def _message(row: Mapping[Any, Any]) -> OutboxMessage:
    return OutboxMessage(
        id=row["id"],
        platform_id=row["platform_id"],
        account_id=row["account_id"],
        hold_id=row["hold_id"],
        type=row["type"],
        payload=row["payload"],
        created_at=row["created_at"],
        status=OutboxStatus(row["status"]),
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        delivered_at=row["delivered_at"],
        last_error=row["last_error"],
    )


class SqlOutboxStore:
    def __init__(self, connection: Connection, driver: Driver) -> None:
        self._conn = connection
        self._db = driver

    def _execute(self, statement: Any) -> Any:
        self._db.flush()
        return self._conn.execute(statement)

    def add(self, message: OutboxMessage) -> None:
        self._db.defer_insert(
            outbox,
            [
                {
                    "id": message.id,
                    "platform_id": message.platform_id,
                    "account_id": message.account_id,
                    "hold_id": message.hold_id,
                    "type": message.type,
                    "payload": message.payload,
                    "created_at": message.created_at,
                    "status": message.status.value,
                    "attempts": message.attempts,
                    "next_attempt_at": message.next_attempt_at or message.created_at,
                    "delivered_at": message.delivered_at,
                    "last_error": message.last_error,
                }
            ],
        )

    def claim(self, now: datetime, lease_until: datetime, limit: int) -> list[OutboxMessage]:
        ids = [row[0] for row in self._db.all(_CLAIM_IDS, (self._db.to_db(now), limit))]
        if not ids:
            return []
        self._execute(
            update(outbox)
            .where(outbox.c.id.in_(ids))
            .values(next_attempt_at=lease_until, attempts=outbox.c.attempts + 1)
        )
        rows = self._execute(
            select(outbox).where(outbox.c.id.in_(ids)).order_by(outbox.c.id)
        ).mappings()
        return [_message(row) for row in rows]

    def delivered(self, message_id: str, at: datetime) -> None:
        self._execute(
            update(outbox)
            .where(outbox.c.id == message_id)
            .values(status=OutboxStatus.DELIVERED.value, delivered_at=at, last_error=None)
        )

    def failed(self, message_id: str, *, error: str, retry_at: datetime | None) -> None:
        values: dict[str, Any] = {"last_error": error[:1000]}
        if retry_at is None:
            values["status"] = OutboxStatus.DEAD.value
        else:
            values["next_attempt_at"] = retry_at
        self._execute(update(outbox).where(outbox.c.id == message_id).values(**values))

    def for_account(self, account_id: str, after: str | None, limit: int) -> Page[OutboxMessage]:
        query = select(outbox).where(outbox.c.account_id == account_id)
        if after is not None:
            query = query.where(outbox.c.id < after)
        rows = self._execute(query.order_by(outbox.c.id.desc()).limit(limit + 1)).mappings().all()
        items = [_message(row) for row in rows[:limit]]
        return Page(items=items, next_cursor=items[-1].id if len(rows) > limit else None)
