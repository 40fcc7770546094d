"""Who is on the other side of an account: the platform that runs it and its merchants.

A platform (a shop, a marketplace) owns credit accounts; its merchants place holds on
them. A merchant's `hold_ttl_s` is how long its holds lock credit by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Platform:
    id: str
    name: str
    created_at: datetime
    webhook_url: str | None = None
    """Where notifications are POSTed; none: they are only listed through the API."""
    webhook_secret: str | None = None
    """Signs every notification (HMAC-SHA256); shown once when set."""
    order_status_url: str | None = None
    """The platform's order system, asked by reconciliation about old pending holds."""


@dataclass(frozen=True, slots=True)
class Merchant:
    id: str
    platform_id: str
    name: str
    hold_ttl_s: int
    created_at: datetime
    trusted: bool = False
    """Trusted merchants' releases go first when the event queue is long."""
