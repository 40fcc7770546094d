"""Ports of the order lifecycle: the event inbox, dead letters (of order events and of
webhook notifications) and the platform's order system.

Stores are reached through the unit of work (`ports.UnitOfWork`); the order system is
handed to the reconciler directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
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
