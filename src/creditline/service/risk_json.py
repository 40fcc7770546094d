"""A risk decision as plain JSON values: what the decision log stores and `explain` shows.

Amounts are integer fen, times ISO 8601, sets sorted lists — so a stored decision reads
the same on SQLite and PostgreSQL and can be diffed by an operator.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from creditline.domain.money import Money
from creditline.domain.risk.decision import RiskDecision, RuleHit
from creditline.domain.risk.inputs import AccountFacts, Features, PaymentRequest


def plain(value: Any) -> Any:  # noqa: PLR0911 (one case per kind of value)
    """Money → fen, datetime → ISO text, enum → value, dataclass → dict, sets sorted."""
    if isinstance(value, Money):
        return value.fen
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, frozenset | set):
        return sorted(plain(v) for v in value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    raise AssertionError(f"no JSON form for {type(value).__name__}")


def hit_json(hit: RuleHit) -> dict[str, Any]:
    return {
        "rule": hit.rule,
        "code": hit.code,
        "action": hit.action.value,
        "shadow": hit.shadow,
        "numbers": plain(dict(hit.numbers)),
    }


def decision_detail(
    request: PaymentRequest, account: AccountFacts, features: Features, decision: RiskDecision
) -> dict[str, Any]:
    return {
        "request": plain(request),
        "account": plain(account),
        "features": plain(features),
        "hits": [hit_json(hit) for hit in decision.hits],
    }
