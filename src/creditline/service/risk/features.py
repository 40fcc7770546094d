"""From observations to a payment's risk features, and back (one module for both ways).

Keys: `acct:<id>:attempt` (every attempt), `acct:<id>:purchase` (approved payments: the
amount, and where: the tag, a JSON array `[device, city, latitude, longitude]`),
`acct:<id>:decline` (declines; the run is the declines since the last purchase), and the
shared ones, scoped by platform — `plat:<platform>:device:<id>:attempt`,
`plat:<platform>:ip:<ip>:attempt` — so one platform's traffic on a device or an address
can never count against another platform's customers (an account belongs to one
platform, so its own keys are scoped by construction). Day and month sums come from the
account's own counters (`domain/spend.py`: enforced atomically with the hold), not from
here. One round trip reads up to five keys; the write after the decision is three to
five observations (a challenge records only its attempt: the purchase is recorded once
verified and placed).

Client strings are stored structurally — a key ends with a fixed suffix, a tag is JSON —
so no device id, city or address a client sends can change how a stored value reads
back. A tag that cannot be read (the `device|city|lat,lon` text of earlier versions, for
their 40 days of retention) counts as a purchase seen nowhere, never as an error.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from creditline.domain.money import Money
from creditline.domain.risk.decision import RiskAction
from creditline.domain.risk.inputs import Features, Location, PaymentRequest, Seen
from creditline.domain.risk.policy import Policy
from creditline.domain.spend import PeriodSpend
from creditline.service.risk.feature_store import (
    RECENT_MAX,
    WINDOW_MAX,
    FeatureStore,
    Observation,
    Query,
)

RECENT_AMOUNTS = 20
"""Purchases behind the amount-anomaly rule's median and MAD."""
DECLINE_RUN_MAX = 20
"""Declines read back; a run longer than this counts as this long."""


@dataclass(frozen=True, slots=True)
class Keys:
    platform_id: str
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
        if self.device_id is None:
            return None
        return f"plat:{self.platform_id}:device:{self.device_id}:attempt"

    @property
    def ip_attempts(self) -> str | None:
        return None if self.ip is None else f"plat:{self.platform_id}:ip:{self.ip}:attempt"


def _tag(request: PaymentRequest) -> str:
    where = request.location
    place: list[Any] = (
        [None, None, None]
        if where is None
        else [
            where.city,
            where.latitude,
            where.longitude,
        ]
    )
    return json.dumps([request.device_id, *place], ensure_ascii=False, separators=(",", ":"))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _parsed(tags: Sequence[str | None]) -> list[Any]:
    """Each tag as the JSON array it was written as, or None for one that is not (an
    earlier version's `device|city|lat,lon`): one parse for the whole list — a decision
    reads up to 100 purchases, and one call per tag cost five times as much."""
    texts = [tag if tag and tag[0] == "[" else "null" for tag in tags]
    try:
        found = json.loads(f"[{','.join(texts)}]")
    except ValueError:
        found = None
    if not isinstance(found, list) or len(found) != len(texts):
        # a text of an earlier version that happens to start with "[": one by one
        found = [_loads_or_none(text) for text in texts]
    return [item if isinstance(item, list) and len(item) == 4 else None for item in found]


def _loads_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _location(item: Any) -> Location | None:
    """Where a purchase tag says the purchase was, or None."""
    if item is None:
        return None
    _device, city, lat, lon = item
    numbers = all(isinstance(c, int | float) and not isinstance(c, bool) for c in (lat, lon))
    if numbers and -90 <= lat <= 90 and -180 <= lon <= 180:
        return Location(float(lat), float(lon), _text(city))
    return None


def feature_queries(keys: Keys, now: datetime, policy: Policy) -> tuple[Query, ...]:
    """What a decision reads: up to five keys, one round trip.

    A window's attempts are read only up to one past the largest threshold that counts
    them: that is all a rule can use, and a key under attack (an IP with thousands of
    attempts a minute) then costs a payment a few rows, not `WINDOW_MAX` of them. The
    counts in a decision's features are exact up to there."""
    window = now - timedelta(seconds=policy.velocity_window_s)
    account = _cap(policy.account_attempts_max, policy.burst_attempts_max)
    queries = [
        Query(keys.attempts, since=window, limit=account),
        Query(keys.purchases, limit=RECENT_MAX),
        Query(keys.declines, limit=DECLINE_RUN_MAX),
    ]
    for key, cap in (
        (keys.device_attempts, _cap(policy.device_attempts_max)),
        (keys.ip_attempts, _cap(policy.ip_attempts_max)),
    ):
        if key is not None:
            queries.append(Query(key, since=window, limit=cap))
    return tuple(queries)


def _cap(*thresholds: int) -> int:
    return min(max(thresholds) + 1, WINDOW_MAX)


def load_features(
    store: FeatureStore, keys: Keys, now: datetime, policy: Policy, spend: PeriodSpend
) -> Features:
    """A payment's features: one round trip to the store; the period sums from `spend`."""
    attempts, recent, declines, *others = store.read(feature_queries(keys, now, policy))
    device = others.pop(0) if keys.device_attempts is not None else []
    ip = others.pop(0) if keys.ip_attempts is not None else []
    burst_start = now - timedelta(seconds=policy.burst_window_s)
    last_purchase = recent[0].at if recent else None
    places = _parsed([o.tag for o in recent])
    last_place = _location(places[0]) if places else None
    period = spend.as_of(now)
    return Features(
        day_amount=period.day_amount,
        day_count=period.day_count,
        month_amount=period.month_amount,
        month_count=period.month_count,
        account_attempts=len(attempts),
        account_burst_attempts=sum(1 for o in attempts if o.at >= burst_start),
        device_attempts=len(device),
        ip_attempts=len(ip),
        recent_declines=sum(1 for o in declines if last_purchase is None or o.at > last_purchase),
        last_seen=None
        if last_place is None or last_purchase is None
        else Seen(last_purchase, last_place),
        known_devices=frozenset(d for item in places if item and (d := _text(item[0]))),
        known_cities=frozenset(c for item in places if item and (c := _text(item[1]))),
        recent_amounts=tuple(Money(o.amount) for o in recent[:RECENT_AMOUNTS]),
    )


def decision_observations(
    keys: Keys, request: PaymentRequest, action: RiskAction, *, placed: bool
) -> list[tuple[str, Observation]]:
    """What the next decisions need to know about this one: the attempt (account, device,
    IP), a decline, or — when the hold was placed — the purchase with its device and place."""
    attempt = Observation(request.at)
    items = [(key, attempt) for key in (keys.attempts, keys.device_attempts, keys.ip_attempts)]
    found = [(key, o) for key, o in items if key is not None]
    if action is RiskAction.DECLINE:
        found.append((keys.declines, attempt))
    elif placed:
        found.append((keys.purchases, Observation(request.at, request.amount.fen, _tag(request))))
    return found
