"""The order-event inbox, dead letters and the notification outbox, as rows.

Inbox and outbox inserts are deferred writes on the hot path (they join the command's
other writes); the inbox's primary key (platform, event id) turns a second delivery of
an event into `WriteConflict(EVENT_SEEN)`. Outbox messages are claimed for delivery by
pushing `next_attempt_at` into the future (a lease) in a short transaction — with
SKIP LOCKED on PostgreSQL — so several dispatchers never send one message at once and
no row lock is held during the HTTP call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from enum import Enum
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, select, update

from creditline.adapters.db.driver import Driver, Sql, columns
from creditline.adapters.db.schema import dead_letter, order_event, outbox
from creditline.domain.money import Money
from creditline.service.notifications.ports import OutboxMessage, OutboxStatus
from creditline.service.orders.ports import DeadLetter, InboxRecord
from creditline.service.pages import Page


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=_HasId)

_INBOX_GET = Sql(
    f"SELECT {columns(order_event)} FROM order_event WHERE platform_id = {{p}} AND event_id = {{p}}"
)
_CLAIM_IDS = Sql(
    "SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= {p} "
    "ORDER BY next_attempt_at LIMIT {p}{pg}",
    postgres_only=" FOR UPDATE SKIP LOCKED",
)


def _row(value: Any) -> dict[str, Any]:
    """A frozen dataclass as a row: Money as fen, enums as their value."""
    row = {}
    for spec in fields(value):
        item = getattr(value, spec.name)
        row[spec.name] = item.fen if isinstance(item, Money) else _plain(item)
    return row


def _plain(item: object) -> object:
    return item.value if isinstance(item, Enum) else item


def _inbox_record(row: Mapping[Any, Any]) -> InboxRecord:
    values = {spec.name: row[spec.name] for spec in fields(InboxRecord)}
    values["amount"] = None if row["amount"] is None else Money(row["amount"])
    return InboxRecord(**values)


def _letter(row: Mapping[Any, Any]) -> DeadLetter:
    return DeadLetter(**{spec.name: row[spec.name] for spec in fields(DeadLetter)})


def _message(row: Mapping[Any, Any]) -> OutboxMessage:
    values = {spec.name: row[spec.name] for spec in fields(OutboxMessage)}
    values["status"] = OutboxStatus(row["status"])
    return OutboxMessage(**values)


def _page(rows: Sequence[Any], limit: int, convert: Callable[[Any], T]) -> Page[T]:
    """`limit + 1` rows read: the extra one only says there is a next page."""
    items = [convert(row) for row in rows[:limit]]
    return Page(items=items, next_cursor=items[-1].id if len(rows) > limit else None)


class _Store:
    def __init__(self, connection: Connection, driver: Driver) -> None:
        self._conn = connection
        self._db = driver

    def _execute(self, statement: Any) -> Any:
        self._db.flush()
        return self._conn.execute(statement)


class SqlInboxStore(_Store):
    def add(self, record: InboxRecord) -> None:
        self._db.defer_insert(order_event, [_row(record)])

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
        values = _row(record)
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


class SqlDeadLetterStore(_Store):
    def add(self, letter: DeadLetter) -> None:
        self._db.defer_insert(dead_letter, [_row(letter)])

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
        return _page(rows, limit, _letter)

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


class SqlOutboxStore(_Store):
    def add(self, message: OutboxMessage) -> None:
        row = _row(message)
        row["next_attempt_at"] = message.next_attempt_at or message.created_at
        self._db.defer_insert(outbox, [row])

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
        return _page(rows, limit, _message)
