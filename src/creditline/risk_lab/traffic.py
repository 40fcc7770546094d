"""What simulated traffic is made of: labelled payments, the users who make them, and the
world they live in (cities, categories, tiers), shared by the simulator's patterns.

A payment is one JSON line of `creditline simulate`'s file; `label` is the truth
(legit or fraud) and `pattern` what produced it, so a backtest can score each pattern.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta, timezone

CITIES = {
    "Beijing": (39.9042, 116.4074),
    "Shanghai": (31.2304, 121.4737),
    "Guangzhou": (23.1291, 113.2644),
    "Shenzhen": (22.5431, 114.0579),
    "Chengdu": (30.5728, 104.0668),
    "Hangzhou": (30.2741, 120.1551),
    "Wuhan": (30.5928, 114.3055),
    "Xi'an": (34.3416, 108.9398),
    "Nanjing": (32.0603, 118.7969),
    "Harbin": (45.8038, 126.5350),
}
EVERYDAY = ("apparel", "groceries", "electronics", "books", "home", "beauty", "food_delivery")
CASH_OUT = ("gift_card", "gold", "top_up")
TIERS = (("new", 0.25), ("standard", 0.6), ("premium", 0.15))
LIMIT_BY_TIER = {"new": 300_000, "standard": 1_000_000, "premium": 3_000_000}
MEDIAN_BY_TIER = {"new": 6_000, "standard": 15_000, "premium": 30_000}
"""Typical purchase (fen) by tier; each user's own median scatters around it."""
PER_PAYMENT_BY_TIER = {"new": 100_000, "standard": 500_000, "premium": 2_000_000}
"""The packaged policy's per-payment limits (fen): what a customer splitting an order
meets (a test checks they agree with `default_policy.toml`)."""
START = datetime(2026, 11, 5, tzinfo=UTC)
"""The default 30 days run from 5 November to 4 December: Singles' Day is the 7th day."""
SHANGHAI = timezone(timedelta(hours=8))
FESTIVALS = ((11, 11), (12, 12), (6, 18))
"""Shopping festivals (month, day): Singles' Day, Double Twelve, 618."""
LEGIT_PATTERNS = ("none", "basket", "household", "new_phone", "over_limit", "split_order")
"""`none` is everyday shopping; `over_limit` is the first, too large payment of a split
order (declined by the per-payment limit, as it should be), `split_order` the parts."""
FRAUD_PATTERNS = ("cash_out", "takeover", "velocity", "card_testing")


@dataclass(frozen=True, slots=True)
class Payment:
    at: str
    account: str
    tier: str
    real_name: bool
    opened_at: str
    limit: int
    amount: int
    merchant_category: str
    items: list[str]
    device: str
    ip: str
    lat: float
    lon: float
    city: str
    label: str
    """legit or fraud"""
    pattern: str
    """One of LEGIT_PATTERNS or FRAUD_PATTERNS."""
    merchant: str = "mer_sim"
    """The shop (files written before merchants were simulated read as one shop)."""


@dataclass
class User:
    id: str
    tier: str
    opened_at: datetime
    city: str
    devices: list[str]
    ip: str
    median: int
    shared_devices: list[str] = field(default_factory=list)
    """A household's shared tablet or computer, if this user uses one."""
    itinerary: list[str] = field(default_factory=list)
    """Where the user is on each day of the scenario (written by the everyday traffic)."""

    def city_at(self, at: datetime) -> str:
        """The city the user is in at `at` (home outside the itinerary's days)."""
        day = (at - START) // timedelta(days=1)
        return self.itinerary[day] if 0 <= day < len(self.itinerary) else self.city

    def at_home(self, at: datetime) -> bool:
        return self.city_at(at) == self.city

    def payment(self, at: datetime, amount: int, category: str, **extra: object) -> Payment:
        """A payment on this account; `extra` overrides any field (device, city, label…)."""
        fields: dict[str, object] = {
            "at": at.isoformat(),
            "account": self.id,
            "tier": self.tier,
            "real_name": True,
            "opened_at": self.opened_at.isoformat(),
            "limit": LIMIT_BY_TIER[self.tier],
            "amount": max(100, amount),
            "merchant_category": category,
            "items": [category],
            "device": self.devices[0],
            "ip": self.ip,
            "city": self.city,
            "label": "legit",
            "pattern": "none",
            **extra,
        }
        fields["lat"], fields["lon"] = CITIES[str(fields["city"])]
        return Payment(**fields)  # type: ignore[arg-type]


def festival_midnights(start: datetime, days: int) -> list[datetime]:
    """Midnight in Shanghai of each festival the days from `start` cover (the rush), in
    UTC like every time in the file (whose lines are sorted by their time's text)."""
    found = []
    first = start.astimezone(SHANGHAI).date()
    for n in range(days + 1):
        day = first + timedelta(days=n)
        midnight = datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)
        if (day.month, day.day) in FESTIVALS and start <= midnight < start + timedelta(days=days):
            found.append(midnight.astimezone(UTC))
    return found


def to_jsonl(traffic: list[Payment]) -> str:
    return "".join(json.dumps(asdict(p), ensure_ascii=False) + "\n" for p in traffic)


def from_jsonl(text: str) -> list[Payment]:
    return [Payment(**json.loads(line)) for line in text.splitlines() if line.strip()]
