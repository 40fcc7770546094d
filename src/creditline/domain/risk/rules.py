"""The risk rules: small pure functions in one registry.

A rule reads the context (request, account, features, policy) and returns its hits,
each with a stable code, the numbers behind it and an action (the rule's default, or
the policy's `actions.<rule>`). A new rule is one function here, one entry in `RULES`,
one message in `explain.py` and one test.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction

from creditline.domain.account import AccountStatus
from creditline.domain.money import Money
from creditline.domain.risk.decision import Number, RiskAction, RuleHit
from creditline.domain.risk.inputs import AccountFacts, Features, Location, PaymentRequest
from creditline.domain.risk.policy import Policy, TierLimits

EARTH_RADIUS_KM = 6_371.0
MAD_TO_SIGMA = Fraction("1.4826")
"""Scales the median absolute deviation to a standard deviation (normal data)."""
SPREAD_SHARE_MIN = Fraction(1, 10)
"""The spread is at least a tenth of the typical amount (a very regular buyer)."""
Z_SHOWN_MAX = Fraction(10**12)
"""A score is shown as a number up to this (the decision compares it exactly)."""
TRAVEL_TIME_MIN_S = 60.0
"""Below this, two locations are compared as if a minute apart (no division by ~0)."""


@dataclass(frozen=True, slots=True)
class RiskContext:
    request: PaymentRequest
    account: AccountFacts
    features: Features
    policy: Policy

    @property
    def limits(self) -> TierLimits | None:
        """The account's tier's thresholds; None when the policy in force has no such tier
        (a reload dropped it): `account_status` then declines, the limit rules skip."""
        return self.policy.tiers.get(self.account.tier)


Rule = Callable[[RiskContext], list[RuleHit]]


def _hit(ctx: RiskContext, rule: str, code: str, default: RiskAction, **numbers: Number) -> RuleHit:
    action = ctx.policy.actions.get(rule, default)
    return RuleHit(rule, code, action, numbers, shadow=rule in ctx.policy.shadow)


def real_name(ctx: RiskContext) -> list[RuleHit]:
    if ctx.account.real_name_verified:
        return []
    return [_hit(ctx, "real_name", "real_name_required", RiskAction.DECLINE)]


def account_status(ctx: RiskContext) -> list[RuleHit]:
    status = ctx.account.status
    if status is not AccountStatus.ACTIVE:
        return [_hit(ctx, "account_status", f"account_{status.value}", RiskAction.DECLINE)]
    if ctx.limits is None:
        tier = ctx.account.tier
        return [_hit(ctx, "account_status", "account_tier_unknown", RiskAction.DECLINE, tier=tier)]
    return []


def per_transaction_limit(ctx: RiskContext) -> list[RuleHit]:
    if ctx.limits is None:
        return []
    limit = ctx.limits.per_transaction_max
    amount = ctx.request.amount
    if amount <= limit:
        return []
    return [
        _hit(
            ctx,
            "per_transaction_limit",
            "per_transaction_limit",
            RiskAction.DECLINE,
            amount=amount,
            limit=limit,
            tier=ctx.account.tier,
        )
    ]


def period_limits(ctx: RiskContext) -> list[RuleHit]:
    """Daily and monthly amount and count limits (checked again atomically with the hold)."""
    f, limits, amount = ctx.features, ctx.limits, ctx.request.amount
    if limits is None:
        return []
    checks: list[tuple[str, Money | int, Money | int, Money | int]] = [
        ("daily_amount_limit", f.day_amount, amount, limits.day_amount_max),
        ("daily_count_limit", f.day_count, 1, limits.day_count_max),
        ("monthly_amount_limit", f.month_amount, amount, limits.month_amount_max),
        ("monthly_count_limit", f.month_count, 1, limits.month_count_max),
    ]
    hits = []
    for code, so_far, this, limit in checks:
        if so_far + this > limit:  # type: ignore[operator]
            hits.append(
                _hit(
                    ctx,
                    "period_limits",
                    code,
                    RiskAction.DECLINE,
                    so_far=so_far,
                    this=this,
                    limit=limit,
                )
            )
    return hits


def velocity(ctx: RiskContext) -> list[RuleHit]:
    """Attempts per account, device and IP within the velocity window: more than people
    make (a household on one network, a family tablet) are declined. A device the
    account has never paid with, busy with other attempts — one device across many
    accounts, as card testing goes — is asked to verify well before that."""
    p, f, r = ctx.policy, ctx.features, ctx.request
    checks = [
        ("velocity_account", f.account_attempts, p.account_attempts_max, True),
        ("velocity_device", f.device_attempts, p.device_attempts_max, r.device_id),
        ("velocity_ip", f.ip_attempts, p.ip_attempts_max, r.ip),
    ]
    hits = [
        _hit(
            ctx,
            "velocity",
            code,
            RiskAction.DECLINE,
            attempts=seen + 1,
            limit=limit,
            window_s=p.velocity_window_s,
        )
        for code, seen, limit, keyed in checks
        if keyed and seen + 1 > limit
    ]
    new_device = r.device_id is not None and r.device_id not in f.known_devices
    limit = p.new_device_attempts_max
    if limit is not None and new_device and limit < f.device_attempts + 1 <= p.device_attempts_max:
        hits.append(
            _hit(
                ctx,
                "velocity",
                "velocity_new_device",
                RiskAction.CHALLENGE,
                attempts=f.device_attempts + 1,
                limit=limit,
                window_s=p.velocity_window_s,
            )
        )
    return hits


def burst(ctx: RiskContext) -> list[RuleHit]:
    """Attempts seconds apart on one account. One checkout may be several orders in a row
    (a cart split into one order per shop): up to `burst_attempts_max` within
    `burst_window_s` pass. More than that, or attempts that keep coming — more than
    `sustained_attempts_max` within the velocity window, not all of them one burst —
    is a script, or a person to verify."""
    p, f = ctx.policy, ctx.features
    hits = []
    if f.account_burst_attempts + 1 > p.burst_attempts_max:
        hits.append(
            _hit(
                ctx,
                "burst",
                "velocity_burst",
                RiskAction.CHALLENGE,
                attempts=f.account_burst_attempts + 1,
                limit=p.burst_attempts_max,
                window_s=p.burst_window_s,
            )
        )
    limit = p.sustained_attempts_max
    spread = f.account_attempts > f.account_burst_attempts  # some before the burst window
    if limit is not None and spread and f.account_attempts + 1 > limit:
        hits.append(
            _hit(
                ctx,
                "burst",
                "velocity_sustained",
                RiskAction.CHALLENGE,
                attempts=f.account_attempts + 1,
                limit=limit,
                window_s=p.velocity_window_s,
            )
        )
    return hits


def distance_km(a: Location, b: Location) -> float:
    """Great-circle distance (haversine)."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat, dlon = lat2 - lat1, math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def impossible_travel(ctx: RiskContext) -> list[RuleHit]:
    here, last = ctx.request.location, ctx.features.last_seen
    if here is None or last is None:
        return []
    km = distance_km(last.location, here)
    seconds = max(TRAVEL_TIME_MIN_S, (ctx.request.at - last.at) / timedelta(seconds=1))
    speed = km / (seconds / 3_600)
    if speed <= ctx.policy.travel_speed_kmh_max:
        return []
    return [
        _hit(
            ctx,
            "impossible_travel",
            "impossible_travel",
            RiskAction.CHALLENGE,
            distance_km=round(km, 1),
            minutes=round(seconds / 60, 1),
            speed_kmh=round(speed),
            limit_kmh=round(ctx.policy.travel_speed_kmh_max),
            city=here.city or "",
            last_city=last.location.city or "",
        )
    ]


def new_device_or_city(ctx: RiskContext) -> list[RuleHit]:
    f, r = ctx.features, ctx.request
    hits = []
    if r.device_id and f.known_devices and r.device_id not in f.known_devices:
        hits.append(_hit(ctx, "new_device_or_city", "new_device", RiskAction.FLAG))
    city = r.location.city if r.location else None
    if city and f.known_cities and city not in f.known_cities:
        hits.append(_hit(ctx, "new_device_or_city", "new_city", RiskAction.FLAG, city=city))
    return hits


def _twice_median(ordered: Sequence[int]) -> int:
    """Twice the median of sorted integers: an integer, so the median stays exact."""
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return 2 * ordered[middle]
    return ordered[middle - 1] + ordered[middle]


def amount_anomaly(ctx: RiskContext) -> list[RuleHit]:
    """Robust z-score of this amount against the account's own last purchases, computed
    exactly: medians in integers (doubled), the rest in a handful of fractions — no
    amount, however large, can overflow or round it, and a payment costs ~10 fraction
    operations, not one per purchase."""
    amounts = sorted(m.fen for m in ctx.features.recent_amounts)
    if len(amounts) < ctx.policy.anomaly_history_min:
        return []
    twice = _twice_median(amounts)  # 2·median
    deviations = sorted(abs(2 * x - twice) for x in amounts)  # 2·|x − median|
    median = Fraction(twice, 2)
    mad = Fraction(_twice_median(deviations), 4)
    spread = max(MAD_TO_SIGMA * mad, SPREAD_SHARE_MIN * median, Fraction(1))
    z = (ctx.request.amount.fen - median) / spread
    if z <= ctx.policy.anomaly_robust_z_max:
        return []
    return [
        _hit(
            ctx,
            "amount_anomaly",
            "amount_anomaly",
            RiskAction.CHALLENGE,
            amount=ctx.request.amount,
            typical=Money(round(median)),
            robust_z=round(float(min(z, Z_SHOWN_MAX)), 1),
            limit=float(ctx.policy.anomaly_robust_z_max),
        )
    ]


def _cash_out_items(ctx: RiskContext, categories: frozenset[str]) -> list[str]:
    r = ctx.request
    found = {c for c in r.item_categories if c in categories}
    if r.merchant_category in categories:
        found.add(r.merchant_category)
    return sorted(found)


def cash_out(ctx: RiskContext) -> list[RuleHit]:
    items = _cash_out_items(ctx, ctx.policy.cash_out_categories)
    if not items or ctx.limits is None:
        return []
    share = ctx.limits.cash_out_share_max
    allowed = Money(ctx.account.credit_limit.fen * share.numerator // share.denominator)
    if ctx.request.amount <= allowed:
        return []
    return [
        _hit(
            ctx,
            "cash_out",
            "cash_out_goods",
            RiskAction.DECLINE,
            amount=ctx.request.amount,
            allowed=allowed,
            categories=", ".join(items),
        )
    ]


def decline_run(ctx: RiskContext) -> list[RuleHit]:
    run = ctx.features.recent_declines
    if run < ctx.policy.decline_run_max:
        return []
    return [_hit(ctx, "decline_run", "decline_run", RiskAction.CHALLENGE, declines=run)]


def new_account(ctx: RiskContext) -> list[RuleHit]:
    age_days = (ctx.request.at - ctx.account.opened_at) / timedelta(days=1)
    if age_days >= ctx.policy.new_account_age_days:
        return []
    if ctx.request.amount <= ctx.policy.new_account_restricted_above:
        return []
    items = _cash_out_items(ctx, ctx.policy.new_account_restricted_categories)
    if not items:
        return []
    return [
        _hit(
            ctx,
            "new_account",
            "new_account_restricted",
            RiskAction.DECLINE,
            days=ctx.policy.new_account_age_days,
            categories=", ".join(items),
            allowed=ctx.policy.new_account_restricted_above,
        )
    ]


RULES: Mapping[str, Rule] = {
    "real_name": real_name,
    "account_status": account_status,
    "per_transaction_limit": per_transaction_limit,
    "period_limits": period_limits,
    "velocity": velocity,
    "burst": burst,
    "impossible_travel": impossible_travel,
    "new_device_or_city": new_device_or_city,
    "amount_anomaly": amount_anomaly,
    "cash_out": cash_out,
    "decline_run": decline_run,
    "new_account": new_account,
}
"""Every rule, in evaluation order. Names are what the policy's `actions` and `shadow` use."""

RULE_NAMES = frozenset(RULES)

VELOCITY_CODES = frozenset(
    {
        "velocity_account",
        "velocity_device",
        "velocity_ip",
        "velocity_new_device",
        "velocity_burst",
        "velocity_sustained",
    }
)
"""The reason codes of the `velocity` and `burst` rules: how often and how fast."""
