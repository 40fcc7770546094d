"""Ports of notifications: the outbox and the platform's webhook endpoint.

The outbox is reached through the unit of work (`ports.UnitOfWork`); the webhook sender
is handed to the dispatcher directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from creditline.service.pages import Page


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
class Delivery:
    ok: bool
    detail: str


class WebhookSender(Protocol):
    def send(self, url: str, headers: dict[str, str], body: bytes) -> Delivery: ...
