"""A risk decision as plain JSON values: what the decision log stores and `explain` shows.

Amounts are integer fen, times ISO 8601, sets sorted lists — so a stored decision reads
the same on SQLite and PostgreSQL and can be diffed by an operator.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from creditline.domain.money import Money
from creditline.domain.risk.decision import Number, RiskDecision, RuleHit
from creditline.domain.risk.inputs import AccountFacts, Features, Location, PaymentRequest


def numbers_json(numbers: Mapping[str, Number]) -> dict[str, int | float | str]:
    """The numbers behind a hit, amounts in fen."""
    return {name: v.fen if isinstance(v, Money) else v for name, v in numbers.items()}


def hit_json(hit: RuleHit) -> dict[str, Any]:
    return {
        "rule": hit.rule,
        "code": hit.code,
        "action": hit.action.value,
        "shadow": hit.shadow,
        "numbers": numbers_json(hit.numbers),
    }


def _place(where: Location | None) -> dict[str, Any] | None:
    if where is None:
        return None
    return {"latitude": where.latitude, "longitude": where.longitude, "city": where.city}


def features_json(f: Features) -> dict[str, Any]:
    """Written out rather than reflected: it runs on every payment (5× faster)."""
    seen = f.last_seen
    return {
        "day_amount": f.day_amount.fen,
        "day_count": f.day_count,
        "month_amount": f.month_amount.fen,
        "month_count": f.month_count,
        "account_attempts": f.account_attempts,
        "device_attempts": f.device_attempts,
        "ip_attempts": f.ip_attempts,
        "account_burst_attempts": f.account_burst_attempts,
        "recent_declines": f.recent_declines,
        "last_seen": None
        if seen is None
        else {"at": seen.at.isoformat(), "location": _place(seen.location)},
        "known_devices": sorted(f.known_devices),
        "known_cities": sorted(f.known_cities),
        "recent_amounts": [amount.fen for amount in f.recent_amounts],
    }


def decision_detail(
    request: PaymentRequest, account: AccountFacts, features: Features, decision: RiskDecision
) -> dict[str, Any]:
    r, a = request, account
    return {
        "request": {
            "amount": r.amount.fen,
            "merchant_id": r.merchant_id,
            "at": r.at.isoformat(),
            "merchant_category": r.merchant_category,
            "item_categories": list(r.item_categories),
            "channel": r.channel,
            "device_id": r.device_id,
            "ip": r.ip,
            "location": _place(r.location),
        },
        "account": {
            "status": a.status.value,
            "tier": a.tier,
            "real_name_verified": a.real_name_verified,
            "opened_at": a.opened_at.isoformat(),
            "credit_limit": a.credit_limit.fen,
            "used": a.used.fen,
            "locked": a.locked.fen,
        },
        "features": features_json(features),
        "hits": [hit_json(hit) for hit in decision.hits],
    }
