"""From observations to a payment's risk features, and back (one module for both ways).

Keys: `acct:<id>:attempt`, `device:<id>:attempt`, `ip:<ip>:attempt` (every attempt),
`acct:<id>:purchase` (approved payments: amount, and the tag `device|city|lat,lon`),
`acct:<id>:decline` (declines; the run is the declines since the last purchase). Day and
month windows are Asia/Shanghai business days. Six reads per decision; the write after
the decision is three to five observations (a challenge records only its attempt: the
purchase is recorded once verified).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from creditline.domain.money import Money
from creditline.domain.risk.decision import RiskAction, RiskDecision
from creditline.domain.risk.inputs import Features, Location, PaymentRequest, Seen
from creditline.domain.risk.policy import Policy
from creditline.service.features import RECENT_MAX, FeatureStore, Observation

BUSINESS_TZ = timezone(timedelta(hours=8))
"""Asia/Shanghai (no daylight saving)."""
RECENT_AMOUNTS = 20


@dataclass(frozen=True, slots=True)
class Keys:
    account_id: str
    device_id: str | None
    ip: str | None

    @property
    def attempts(self) -> str:
        return f"acct:{self.account_id}:attempt"

    @property
    def purchases(self) -> str:
        return f"acct:{self.account_id}:purchase"

    @property
    def declines(self) -> str:
        return f"acct:{self.account_id}:decline"

    @property
    def device_attempts(self) -> str | None:
        return None if self.device_id is None else f"device:{self.device_id}:attempt"

    @property
    def ip_attempts(self) -> str | None:
        return None if self.ip is None else f"ip:{self.ip}:attempt"


def _tag(request: PaymentRequest) -> str:
    where = request.location
    place = "" if where is None else f"{where.city or ''}|{where.latitude},{where.longitude}"
    return f"{request.device_id or ''}|{place}"


def _place(tag: str | None) -> tuple[str | None, str | None, Location | None]:
    device, _, rest = (tag or "").partition("|")
    city, _, coords = rest.partition("|")
    location = None
    if coords:
        lat, _, lon = coords.partition(",")
        location = Location(float(lat), float(lon), city or None)
    return device or None, city or None, location


def business_day_start(now: datetime) -> datetime:
    """Midnight in Asia/Shanghai of the business day `now` falls in."""
    return now.astimezone(BUSINESS_TZ).replace(hour=0, minute=0, second=0, microsecond=0)


def load_features(store: FeatureStore, keys: Keys, now: datetime, policy: Policy) -> Features:
    window = now - timedelta(seconds=policy.velocity_window_s)
    attempts = store.since(keys.attempts, window)
    burst_start = now - timedelta(seconds=policy.burst_window_s)
    device = store.since(keys.device_attempts, window) if keys.device_attempts else []
    ip = store.since(keys.ip_attempts, window) if keys.ip_attempts else []
    day_start = business_day_start(now)
    month = store.since(keys.purchases, day_start.replace(day=1))
    today = [o for o in month if o.at >= day_start]
    recent = store.latest(keys.purchases, RECENT_MAX)
    last_purchase = recent[0].at if recent else None
    declines = store.latest(keys.declines, RECENT_MAX)
    places = [_place(o.tag) for o in recent]
    last_place = places[0][2] if places else None
    return Features(
        day_amount=Money(sum(o.amount for o in today)),
        day_count=len(today),
        month_amount=Money(sum(o.amount for o in month)),
        month_count=len(month),
        account_attempts=len(attempts),
        account_burst_attempts=sum(1 for o in attempts if o.at >= burst_start),
        device_attempts=len(device),
        ip_attempts=len(ip),
        recent_declines=sum(1 for o in declines if last_purchase is None or o.at > last_purchase),
        last_seen=None
        if last_place is None or last_purchase is None
        else Seen(last_purchase, last_place),
        known_devices=frozenset(d for d, _, _ in places if d),
        known_cities=frozenset(c for _, c, _ in places if c),
        recent_amounts=tuple(Money(o.amount) for o in recent[:RECENT_AMOUNTS]),
    )


def record_decision(
    store: FeatureStore, keys: Keys, request: PaymentRequest, decision: RiskDecision
) -> None:
    """What the next decisions need to know about this one."""
    attempt = Observation(request.at)
    for key in (keys.attempts, keys.device_attempts, keys.ip_attempts):
        if key is not None:
            store.record(key, attempt)
    if decision.action is RiskAction.DECLINE:
        store.record(keys.declines, attempt)
    elif decision.action in (RiskAction.APPROVE, RiskAction.FLAG):
        store.record(keys.purchases, Observation(request.at, request.amount.fen, _tag(request)))
