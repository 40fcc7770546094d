"""Everything a risk decision looks at: the request, the account, windowed features.

All plain values: the pipeline is a pure function of these and the policy, so the dry
run (`explain`) and the real decision agree by construction, and backtests replay them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from creditline.domain.account import AccountStatus
from creditline.domain.money import ZERO, Money


@dataclass(frozen=True, slots=True)
class Location:
    latitude: float
    longitude: float
    city: str | None = None

    def __post_init__(self) -> None:
        assert -90.0 <= self.latitude <= 90.0, self
        assert -180.0 <= self.longitude <= 180.0, self


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    amount: Money
    merchant_id: str
    at: datetime
    merchant_category: str | None = None
    item_categories: tuple[str, ...] = ()
    channel: str | None = None
    device_id: str | None = None
    ip: str | None = None
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class AccountFacts:
    status: AccountStatus
    tier: str
    real_name_verified: bool
    opened_at: datetime
    credit_limit: Money
    used: Money
    locked: Money

    @property
    def available(self) -> Money:
        return self.credit_limit - self.used - self.locked


@dataclass(frozen=True, slots=True)
class Seen:
    """The last time and place the account was seen (for impossible travel)."""

    at: datetime
    location: Location


@dataclass(frozen=True, slots=True)
class Features:
    """Keyed windowed features, read from a feature store before the decision."""

    day_amount: Money = ZERO
    day_count: int = 0
    month_amount: Money = ZERO
    month_count: int = 0
    account_attempts: int = 0
    device_attempts: int = 0
    ip_attempts: int = 0
    """Attempts within the policy's velocity window, this one not included."""
    account_burst_attempts: int = 0
    """The account's attempts within the (short) burst window, this one not included."""
    recent_declines: int = 0
    """Declines in a row, most recent first, until the last approval."""
    last_seen: Seen | None = None
    known_devices: frozenset[str] = frozenset()
    known_cities: frozenset[str] = frozenset()
    recent_amounts: Sequence[Money] = field(default_factory=tuple)
    """The account's last purchases (newest first), for its own normal pattern."""
