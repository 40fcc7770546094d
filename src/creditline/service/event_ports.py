"""Ports of the order lifecycle: the event inbox, dead letters, the notification outbox,
and two outside systems — the platform's order system and its webhook endpoint.

Stores are reached through the unit of work (`ports.UnitOfWork`); the order system and
the webhook sender are handed to the reconciler and the dispatcher directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from creditline.domain.money import Money
from creditline.domain.parties import Platform
from creditline.service.pages import Page


@dataclass(frozen=True, slots=True)
class InboxRecord:
    """One order event as received, and what it did (the inbox)."""

    platform_id: str
    event_id: str
    type: str
    order_id: str
    amount: Money | None
    occurred_at: datetime
    received_at: datetime
    applied_at: datetime
    source: str
    outcome: str
    detail: str
    hold_id: str | None = None
    account_id: str | None = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: str
    kind: str
    """order_event or webhook."""
    platform_id: str | None
    ref: str
    """The event id, or the notification id."""
    reason: str
    detail: str
    payload: str
    """JSON: enough to replay it."""
    created_at: datetime
    attempts: int = 1
    resolved_at: datetime | None = None
    resolution: str | None = None


class OutboxStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"
    NO_WEBHOOK = "no_webhook"


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A notification, written in the same transaction as the change it announces."""

    id: str
    platform_id: str
    account_id: str
    hold_id: str | None
    type: str
    payload: str
    created_at: datetime
    status: OutboxStatus
    attempts: int = 0
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    last_error: str | None = None


class InboxStore(Protocol):
    def add(self, record: InboxRecord) -> None:
        """WriteConflict(EVENT_SEEN) at flush if the platform already sent this event id."""
        ...

    def seen(self, platform_id: str, event_ids: Sequence[str]) -> set[str]: ...
    def get(self, platform_id: str, event_id: str) -> InboxRecord | None: ...
    def record_replay(self, record: InboxRecord) -> None:
        """Overwrite the outcome of an event that was dead-lettered and is replayed."""
        ...

    def since(self, applied_after: datetime, limit: int) -> list[InboxRecord]: ...


class DeadLetterStore(Protocol):
    def add(self, letter: DeadLetter) -> None: ...
    def get(self, letter_id: str) -> DeadLetter | None: ...
    def open(
        self,
        *,
        kind: str | None,
        after: str | None,
        limit: int,
        platform_id: str | None = None,
    ) -> Page[DeadLetter]:
        """Unresolved letters, oldest first; only one platform's when `platform_id` is set."""
        ...

    def attempted(self, letter_id: str, *, detail: str) -> None: ...
    def resolve(self, letter_id: str, *, at: datetime, resolution: str) -> None: ...


class OutboxStore(Protocol):
    def add(self, message: OutboxMessage) -> None: ...
    def claim(self, now: datetime, lease_until: datetime, limit: int) -> list[OutboxMessage]:
        """Due pending messages, leased to this caller until `lease_until`."""
        ...

    def delivered(self, message_id: str, at: datetime) -> None: ...
    def failed(self, message_id: str, *, error: str, retry_at: datetime | None) -> None:
        """Schedule another attempt, or (retry_at None) give up: status dead."""
        ...

    def for_account(
        self, account_id: str, after: str | None, limit: int
    ) -> Page[OutboxMessage]: ...


@dataclass(frozen=True, slots=True)
class OrderStatus:
    """What the platform's order system says about one order."""

    state: str
    """open, shipped, delivered, cancelled or unknown."""
    shipped_amount: Money | None = None


class OrderSystem(Protocol):
    """The platform's order system, asked about orders whose holds are still pending."""

    def statuses(self, platform: Platform, order_ids: Sequence[str]) -> dict[str, OrderStatus]:
        """Orders it does not know are left out; a failure raises OrderSystemUnavailable."""
        ...


class OrderSystemUnavailable(Exception):
    """The order system could not be asked (network, timeout, bad answer)."""


@dataclass(frozen=True, slots=True)
class Delivery:
    ok: bool
    detail: str


class WebhookSender(Protocol):
    def send(self, url: str, headers: dict[str, str], body: bytes) -> Delivery: ...
