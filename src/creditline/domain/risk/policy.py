"""The risk policy: thresholds by tier, rule settings, shadow mode — one TOML document.

`parse_policy(text)` validates everything on load and names the bad key
(`tiers.standard.per_transaction_max_fen: expected an integer ≥ 0, got "lots"`); an
unknown key is an error too, so a typo can never silently switch a rule off. The
policy's version is the SHA-256 of its text (first 16 hex digits), stored with every
decision.
"""

from __future__ import annotations

import hashlib
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from creditline.domain.money import Money
from creditline.domain.risk.decision import RiskAction

VERSION_HEX_DIGITS = 16


class PolicyError(ValueError):
    """The policy cannot be used; the message names the key."""


@dataclass(frozen=True, slots=True)
class TierLimits:
    per_transaction_max: Money
    day_amount_max: Money
    day_count_max: int
    month_amount_max: Money
    month_count_max: int
    cash_out_share_max: Fraction
    """Cash-out-prone goods above this share of the credit limit are declined (exact: the
    allowed amount is computed in integers of fen, never in floats)."""


@dataclass(frozen=True, slots=True)
class Policy:
    version: str
    tiers: Mapping[str, TierLimits]
    velocity_window_s: int
    account_attempts_max: int
    device_attempts_max: int
    ip_attempts_max: int
    burst_window_s: int
    burst_attempts_max: int
    """More attempts than this within `burst_window_s` seconds: a script, or a verify."""
    sustained_attempts_max: int | None
    """More attempts than this within `velocity_window_s`, not all of them within
    `burst_window_s` (several checkouts, not one cart paid as several orders): verify.
    None (the key absent): not checked."""
    new_device_attempts_max: int | None
    """From a device the account has never paid with: more attempts than this on the
    device within `velocity_window_s` (one device across many accounts): verify. None
    (the key absent): not checked."""
    travel_speed_kmh_max: float
    anomaly_history_min: int
    anomaly_robust_z_max: Fraction
    cash_out_categories: frozenset[str]
    decline_run_max: int
    new_account_age_days: int
    new_account_restricted_categories: frozenset[str]
    new_account_restricted_above: Money
    """Young accounts may buy restricted goods up to this amount."""
    actions: Mapping[str, RiskAction]
    """Per rule: the action its hits carry (rules not named keep their default)."""
    shadow: frozenset[str]
    """Rules evaluated and logged but never enforced."""


def _int(where: str, value: Any, minimum: int = 0) -> int:
    if type(value) is not int or value < minimum:
        raise PolicyError(f"{where}: expected an integer ≥ {minimum}, got {value!r}")
    return value


def _float(where: str, value: Any, low: float = 0.0, high: float | None = None) -> float:
    number = type(value) in (int, float) and math.isfinite(value)
    if not number or value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"≥ {low}"
        raise PolicyError(f"{where}: expected a number {bound}, got {value!r}")
    return float(value)


def _exact(where: str, value: Any, low: float = 0.0, high: float | None = None) -> Fraction:
    """A decimal setting as the exact number its text says: 0.3 is 3/10, not 0.299…"""
    return Fraction(str(_float(where, value, low, high)))


def _strings(where: str, value: Any) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise PolicyError(f"{where}: expected a list of non-empty strings, got {value!r}")
    return frozenset(value)


def _table(
    where: str, value: Any, keys: set[str], optional: frozenset[str] = frozenset()
) -> Mapping[str, Any]:
    """A table with exactly `keys`, and perhaps some of `optional` (settings added later,
    whose absence keeps the behaviour of the policies written before them)."""
    if not isinstance(value, dict):
        raise PolicyError(f"{where}: expected a table, got {value!r}")
    allowed = keys | optional
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise PolicyError(f"{where}.{unknown[0]}: unknown key (expected one of {sorted(allowed)})")
    missing = sorted(keys - set(value))
    if missing:
        raise PolicyError(f"{where}.{missing[0]}: missing")
    return value


TIER_KEYS = {
    "per_transaction_max_fen",
    "day_amount_max_fen",
    "day_count_max",
    "month_amount_max_fen",
    "month_count_max",
    "cash_out_share_max",
}
VELOCITY_KEYS = {
    "window_s",
    "account_attempts_max",
    "device_attempts_max",
    "ip_attempts_max",
    "burst_window_s",
    "burst_attempts_max",
}
VELOCITY_OPTIONAL = frozenset({"sustained_attempts_max", "new_device_attempts_max"})
SECTIONS = {
    "tiers",
    "velocity",
    "travel",
    "anomaly",
    "cash_out",
    "declines",
    "new_account",
    "actions",
    "shadow",
}


def _tier(where: str, raw: Any) -> TierLimits:
    t = _table(where, raw, TIER_KEYS)
    return TierLimits(
        per_transaction_max=Money(
            _int(f"{where}.per_transaction_max_fen", t["per_transaction_max_fen"])
        ),
        day_amount_max=Money(_int(f"{where}.day_amount_max_fen", t["day_amount_max_fen"])),
        day_count_max=_int(f"{where}.day_count_max", t["day_count_max"]),
        month_amount_max=Money(_int(f"{where}.month_amount_max_fen", t["month_amount_max_fen"])),
        month_count_max=_int(f"{where}.month_count_max", t["month_count_max"]),
        cash_out_share_max=_exact(f"{where}.cash_out_share_max", t["cash_out_share_max"], 0, 1),
    )


def parse_policy(text: str, rules: frozenset[str]) -> Policy:
    """Parse and validate a policy; `rules` are the registry's names (for actions, shadow)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(f"not valid TOML: {error}") from None
    doc = _table("policy", raw, SECTIONS)
    tiers_raw = doc["tiers"]
    if not isinstance(tiers_raw, dict) or not tiers_raw:
        raise PolicyError("tiers: expected at least one tier table")
    velocity, finer = _velocity(
        _table("velocity", doc["velocity"], VELOCITY_KEYS, VELOCITY_OPTIONAL)
    )
    travel = _table("travel", doc["travel"], {"speed_kmh_max"})
    anomaly = _table("anomaly", doc["anomaly"], {"history_min", "robust_z_max"})
    cash_out = _table("cash_out", doc["cash_out"], {"categories"})
    declines = _table("declines", doc["declines"], {"run_max"})
    new_account = _table(
        "new_account",
        doc["new_account"],
        {"age_days", "restricted_categories", "restricted_above_fen"},
    )
    shadow = _table("shadow", doc["shadow"], {"rules"})
    return Policy(
        version=hashlib.sha256(text.encode()).hexdigest()[:VERSION_HEX_DIGITS],
        tiers={name: _tier(f"tiers.{name}", value) for name, value in tiers_raw.items()},
        velocity_window_s=velocity["window_s"],
        account_attempts_max=velocity["account_attempts_max"],
        device_attempts_max=velocity["device_attempts_max"],
        ip_attempts_max=velocity["ip_attempts_max"],
        burst_window_s=velocity["burst_window_s"],
        burst_attempts_max=velocity["burst_attempts_max"],
        sustained_attempts_max=finer["sustained_attempts_max"],
        new_device_attempts_max=finer["new_device_attempts_max"],
        travel_speed_kmh_max=_float("travel.speed_kmh_max", travel["speed_kmh_max"], 1),
        anomaly_history_min=_int("anomaly.history_min", anomaly["history_min"], 3),
        anomaly_robust_z_max=_exact("anomaly.robust_z_max", anomaly["robust_z_max"], 1),
        cash_out_categories=_strings("cash_out.categories", cash_out["categories"]),
        decline_run_max=_int("declines.run_max", declines["run_max"], 1),
        new_account_age_days=_int("new_account.age_days", new_account["age_days"]),
        new_account_restricted_categories=_strings(
            "new_account.restricted_categories", new_account["restricted_categories"]
        ),
        new_account_restricted_above=Money(
            _int("new_account.restricted_above_fen", new_account["restricted_above_fen"])
        ),
        actions=_actions(doc["actions"], rules),
        shadow=_known_rules("shadow.rules", _strings("shadow.rules", shadow["rules"]), rules),
    )


def _at_most(where: str, value: int, bound_key: str, bound: int) -> int:
    if value > bound:
        raise PolicyError(f"{where}: expected at most velocity.{bound_key} ({bound}), got {value}")
    return value


def _velocity(raw: Mapping[str, Any]) -> tuple[dict[str, int], dict[str, int | None]]:
    """The velocity settings (required, optional), checked one by one and against each
    other: the burst is counted among the window's attempts, and a finer threshold above
    the one that declines would never be reached (the stores read one attempt past the
    largest threshold)."""
    found = {key: _int(f"velocity.{key}", raw[key], 1) for key in sorted(VELOCITY_KEYS)}
    extra = {
        key: _int(f"velocity.{key}", raw[key], 1) if key in raw else None
        for key in sorted(VELOCITY_OPTIONAL)
    }
    _at_most("velocity.burst_window_s", found["burst_window_s"], "window_s", found["window_s"])
    for key, bound in (
        ("sustained_attempts_max", "account_attempts_max"),
        ("new_device_attempts_max", "device_attempts_max"),
    ):
        value = extra[key]
        if value is not None:
            _at_most(f"velocity.{key}", value, bound, found[bound])
    return found, extra


def _actions(raw: Any, rules: frozenset[str]) -> Mapping[str, RiskAction]:
    if not isinstance(raw, dict):
        raise PolicyError(f"actions: expected a table, got {raw!r}")
    actions = {}
    for rule, value in raw.items():
        _known_rules(f"actions.{rule}", frozenset({rule}), rules)
        try:
            actions[rule] = RiskAction(value)
        except ValueError:
            choices = ", ".join(a.value for a in RiskAction)
            raise PolicyError(f"actions.{rule}: expected one of {choices}, got {value!r}") from None
    return actions


def _known_rules(where: str, names: frozenset[str], rules: frozenset[str]) -> frozenset[str]:
    unknown = sorted(names - rules)
    if unknown:
        raise PolicyError(
            f"{where}: no rule named {unknown[0]!r} (rules: {', '.join(sorted(rules))})"
        )
    return names
