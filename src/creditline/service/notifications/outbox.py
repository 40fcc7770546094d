"""Notifications: one outbox message per change to a hold, in the same transaction.

Types: `hold.created`, `hold.captured` (with `forced` for a capture after expiry),
`hold.released`, `hold.expired`, `hold.refunded`. A message's `id` is its event id:
delivery is at-least-once, so receivers de-duplicate on it. Messages of a platform
without a webhook URL are kept (consumers list them through the API) but never sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from creditline.domain.hold import Hold, HoldEvent, HoldEventKind
from creditline.service.notifications.ports import OutboxMessage, OutboxStatus
from creditline.service.ports import IdGenerator, UnitOfWork


class NotificationType(StrEnum):
    HOLD_CREATED = "hold.created"
    HOLD_CAPTURED = "hold.captured"
    HOLD_RELEASED = "hold.released"
    HOLD_EXPIRED = "hold.expired"
    HOLD_REFUNDED = "hold.refunded"


TYPE_OF_EVENT: Mapping[HoldEventKind, NotificationType] = {
    HoldEventKind.CAPTURED: NotificationType.HOLD_CAPTURED,
    HoldEventKind.FORCE_CAPTURED: NotificationType.HOLD_CAPTURED,
    HoldEventKind.RELEASED: NotificationType.HOLD_RELEASED,
    HoldEventKind.EXPIRED: NotificationType.HOLD_EXPIRED,
    HoldEventKind.REFUNDED: NotificationType.HOLD_REFUNDED,
}


def hold_created(
    uow: UnitOfWork, hold: Hold, *, platform_id: str, now: datetime, new_id: IdGenerator
) -> None:
    _add(uow, platform_id, hold, NotificationType.HOLD_CREATED, hold.amount.fen, False, now, new_id)


def hold_changed(
    uow: UnitOfWork,
    hold: Hold,
    events: tuple[HoldEvent, ...],
    *,
    platform_id: str,
    now: datetime,
    new_id: IdGenerator,
) -> None:
    """One message per event of a hold change (a final capture is captured + released)."""
    for event in events:
        forced = event.kind is HoldEventKind.FORCE_CAPTURED
        _add(
            uow, platform_id, hold, TYPE_OF_EVENT[event.kind], event.amount.fen, forced, now, new_id
        )


def _add(
    uow: UnitOfWork,
    platform_id: str,
    hold: Hold,
    kind: NotificationType,
    amount_fen: int,
    forced: bool,
    now: datetime,
    new_id: IdGenerator,
) -> None:
    platform = uow.directory.get_platform(platform_id)
    deliver = platform is not None and platform.webhook_url is not None
    message_id = new_id("evt")
    data: dict[str, Any] = {
        "hold_id": hold.id,
        "account_id": hold.account_id,
        "merchant_id": hold.merchant_id,
        "order_id": hold.order_id,
        "amount": amount_fen,
        "forced": forced,
        "hold": {
            "status": hold.status.value,
            "amount": hold.amount.fen,
            "captured": hold.captured.fen,
            "released": hold.released.fen,
            "refunded": hold.refunded.fen,
            "open_amount": hold.open_amount.fen,
            "expires_at": hold.expires_at.isoformat(),
        },
    }
    payload = {"id": message_id, "type": kind.value, "created_at": now.isoformat(), "data": data}
    uow.outbox.add(
        OutboxMessage(
            id=message_id,
            platform_id=platform_id,
            account_id=hold.account_id,
            hold_id=hold.id,
            type=kind.value,
            payload=json.dumps(payload, separators=(",", ":")),
            created_at=now,
            status=OutboxStatus.PENDING if deliver else OutboxStatus.NO_WEBHOOK,
            next_attempt_at=now,
        )
    )
