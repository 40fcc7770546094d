"""What a risk rule says and what the pipeline decides.

Actions are ordered by strictness; the strictest hit that is enforced decides. Every
hit is kept (shadow ones too) so a decision can always say why, with its numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from creditline.domain.money import Money


class RiskAction(StrEnum):
    APPROVE = "approve"
    FLAG = "flag"
    """Approve, but mark the payment for review."""
    CHALLENGE = "challenge"
    """Approve only after step-up verification."""
    DECLINE = "decline"


STRICTNESS: Mapping[RiskAction, int] = {
    RiskAction.APPROVE: 0,
    RiskAction.FLAG: 1,
    RiskAction.CHALLENGE: 2,
    RiskAction.DECLINE: 3,
}

Number = int | float | str | Money
"""A value behind a hit: amounts are Money, so explanations can format them."""


@dataclass(frozen=True, slots=True)
class RuleHit:
    rule: str
    """The rule's name in the registry and the policy."""
    code: str
    """Stable reason code, e.g. `per_transaction_limit`."""
    action: RiskAction
    numbers: Mapping[str, Number] = field(default_factory=dict)
    shadow: bool = False
    """Evaluated and logged, never enforced."""


@dataclass(frozen=True, slots=True)
class RiskDecision:
    action: RiskAction
    hits: Sequence[RuleHit]
    policy_version: str

    @property
    def enforced(self) -> tuple[RuleHit, ...]:
        return tuple(hit for hit in self.hits if not hit.shadow)

    @property
    def deciding(self) -> tuple[RuleHit, ...]:
        """The enforced hits whose action is the decision's (what to explain first)."""
        return tuple(hit for hit in self.enforced if hit.action is self.action)


def strictest(hits: Sequence[RuleHit]) -> RiskAction:
    enforced = [hit.action for hit in hits if not hit.shadow]
    return max(enforced, key=STRICTNESS.__getitem__, default=RiskAction.APPROVE)
