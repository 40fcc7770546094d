"""Bodies of the order-event, dead-letter and notification endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, Field, field_validator, model_validator

from creditline.domain.order_events import AMOUNT_REQUIRED, OrderEventType
from creditline.entrypoints.api.body import Fen, In, Out, Text
from creditline.service.orders.events import EVENTS_PER_BATCH_MAX

ISO_8601_NEEDED = "must be ISO 8601 text with a time zone, e.g. 2026-11-22T10:00:00+08:00"


class OrderEventIn(In):
    event_id: Annotated[
        str,
        Field(min_length=1, max_length=128, description="The platform's unique id for this event"),
    ]
    type: OrderEventType
    order_id: Text
    amount: Fen | None = Field(
        None,
        description="shipped: this shipment (absent: all still held); delivered: the "
        "order's delivered total; returned: the refund (absent: all refundable)",
    )
    occurred_at: AwareDatetime = Field(
        description="When it happened: ISO 8601 text with a time zone "
        "(e.g. 2026-11-22T10:00:00+08:00), within the server's plausible window",
        json_schema_extra={"type": "string", "format": "date-time"},
    )

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _iso_8601_text(cls, value: object) -> object:
        """Text only: pydantic would read 1700000000 (or "1700000000") as seconds."""
        if not isinstance(value, str) or _numeric(value):
            raise ValueError(
                "must be ISO 8601 text with a time zone, e.g. 2026-11-22T10:00:00+08:00"
            )
        return value

    @model_validator(mode="after")
    def _amount_when_required(self) -> OrderEventIn:
        if self.type in AMOUNT_REQUIRED and self.amount is None:
            raise ValueError(f"{self.type.value} needs an amount")
        return self


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class OrderEventBatchIn(In):
    events: list[OrderEventIn] = Field(min_length=1, max_length=EVENTS_PER_BATCH_MAX)


class EventResultOut(Out):
    event_id: str
    status: str = Field(description="applied, ignored, dead_lettered or duplicate")
    outcome: str = Field(description="What it did, or why not (docs/ORDER_EVENTS.md)")
    detail: str
    hold_id: str | None


class OrderEventBatchOut(Out):
    results: list[EventResultOut]


class DeadLetterOut(Out):
    id: str
    kind: str
    platform_id: str | None
    ref: str
    reason: str
    detail: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int
    resolved_at: datetime | None
    resolution: str | None


class DeadLetterPage(Out):
    items: list[DeadLetterOut]
    next_cursor: str | None


class ReplayOut(Out):
    resolved: bool
    result: EventResultOut


class NotificationOut(Out):
    id: str
    type: str
    created_at: datetime
    delivery: str = Field(description="pending, delivered, dead or no_webhook")
    attempts: int
    payload: dict[str, Any]


class NotificationPage(Out):
    items: list[NotificationOut]
    next_cursor: str | None
