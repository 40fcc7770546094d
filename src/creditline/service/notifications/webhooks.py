"""Delivering notifications to the platform's webhook: signed, retried, then dead-lettered.

A dispatcher claims due messages from the outbox (a lease, so several dispatchers never
send one message at once and no lock is held during the HTTP call), POSTs each to its
platform's URL, and records the result:

- 2xx: delivered;
- anything else: tried again after an exponential backoff with jitter
  (`backoff_s`: base · 2^(attempt−1), capped, half of it random), up to `attempts_max`;
  then the message is dead and a dead letter says why.

Delivery is at-least-once: a crash after the POST and before the record sends it again.
Receivers de-duplicate on the `Creditline-Event-Id` header (also `id` in the body).

Signature (as Stripe does it): `Creditline-Signature: t=<unix seconds>,v1=<hex>` where
hex = HMAC-SHA256(platform secret, "<t>.<raw body>"). `verify_signature` is what a
receiver runs; it refuses bodies older than `SIGNATURE_TOLERANCE_S`.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from creditline.service.notifications.ports import OutboxMessage, WebhookSender
from creditline.service.orders.ports import DeadLetter
from creditline.service.ports import IdGenerator, UnitOfWorkFactory

SIGNATURE_HEADER = "Creditline-Signature"
EVENT_ID_HEADER = "Creditline-Event-Id"
EVENT_TYPE_HEADER = "Creditline-Event-Type"
TIMESTAMP_HEADER = "Creditline-Timestamp"
SIGNATURE_TOLERANCE_S = 300
CLAIM_BATCH_MAX = 100


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts_max: int = 10
    base_s: float = 5.0
    cap_s: float = 3_600.0
    lease_s: float = 60.0
    """A claimed message is not claimed again for this long (covers a slow POST)."""


@dataclass(frozen=True, slots=True)
class DispatchResult:
    delivered: int
    retried: int
    dead: int

    @property
    def claimed(self) -> int:
        return self.delivered + self.retried + self.dead


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_signature(secret: str, header: str, body: bytes, now: datetime) -> bool:
    """What a receiver runs: a valid signature, made less than 5 minutes ago."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    if "t" not in parts or "v1" not in parts or not parts["t"].isdigit():
        return False
    timestamp = int(parts["t"])
    if abs(now.timestamp() - timestamp) > SIGNATURE_TOLERANCE_S:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), f"t={timestamp},v1={parts['v1']}")


def backoff_s(attempt: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Wait before the next attempt after `attempt` failed ones: exponential, half jitter."""
    delay = min(policy.cap_s, policy.base_s * float(2 ** (attempt - 1)))
    return delay / 2 + rng.uniform(0, delay / 2)


def dispatch(
    uow_factory: UnitOfWorkFactory,
    sender: WebhookSender,
    *,
    now: datetime,
    new_id: IdGenerator,
    policy: RetryPolicy,
    rng: random.Random,
    limit: int = CLAIM_BATCH_MAX,
) -> DispatchResult:
    """Claim up to `limit` due notifications and try to deliver each once."""
    with uow_factory(write=True) as uow:
        claimed = uow.outbox.claim(now, now + timedelta(seconds=policy.lease_s), limit)
        uow.commit()
    delivered = retried = dead = 0
    for message in claimed:
        outcome = _deliver(
            uow_factory, sender, message, now=now, new_id=new_id, policy=policy, rng=rng
        )
        delivered += outcome == "delivered"
        retried += outcome == "retried"
        dead += outcome == "dead"
    return DispatchResult(delivered, retried, dead)


def _deliver(
    uow_factory: UnitOfWorkFactory,
    sender: WebhookSender,
    message: OutboxMessage,
    *,
    now: datetime,
    new_id: IdGenerator,
    policy: RetryPolicy,
    rng: random.Random,
) -> str:
    with uow_factory(write=False) as uow:
        platform = uow.directory.get_platform(message.platform_id)
    url = None if platform is None else platform.webhook_url
    secret = None if platform is None else platform.webhook_secret
    if url is None or secret is None:
        detail, ok = "the platform has no webhook URL and secret any more", False
    else:
        body = message.payload.encode()
        timestamp = int(now.timestamp())
        headers = {
            "Content-Type": "application/json",
            EVENT_ID_HEADER: message.id,
            EVENT_TYPE_HEADER: message.type,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(secret, timestamp, body),
        }
        delivery = sender.send(url, headers, body)
        detail, ok = delivery.detail, delivery.ok
    with uow_factory(write=True) as uow:
        if ok:
            uow.outbox.delivered(message.id, now)
            outcome = "delivered"
        elif message.attempts >= policy.attempts_max or url is None:
            uow.outbox.failed(message.id, error=detail, retry_at=None)
            uow.dead_letters.add(
                DeadLetter(
                    id=new_id("dlq"),
                    kind="webhook",
                    platform_id=message.platform_id,
                    ref=message.id,
                    reason="webhook_undeliverable",
                    detail=f"{message.attempts} attempts; last: {detail}",
                    payload=message.payload,
                    created_at=now,
                    attempts=message.attempts,
                )
            )
            outcome = "dead"
        else:
            retry_at = now + timedelta(seconds=backoff_s(message.attempts, policy, rng))
            uow.outbox.failed(message.id, error=detail, retry_at=retry_at)
            outcome = "retried"
        uow.commit()
    return outcome
