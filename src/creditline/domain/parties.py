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


@dataclass(frozen=True, slots=True)
class Merchant:
    id: str
    platform_id: str
    name: str
    hold_ttl_s: int
    created_at: datetime
