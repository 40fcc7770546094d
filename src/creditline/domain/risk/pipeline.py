"""The decision pipeline: every rule runs, every hit is kept, the strictest enforced wins.

Pure: the same context gives the same decision, so `explain` (a dry run) and the real
authorization agree by construction.
"""

from __future__ import annotations

from collections.abc import Mapping

from creditline.domain.risk.decision import RiskDecision, RuleHit, strictest
from creditline.domain.risk.rules import RULES, RiskContext, Rule


def evaluate(ctx: RiskContext, rules: Mapping[str, Rule] = RULES) -> RiskDecision:
    hits: list[RuleHit] = []
    for rule in rules.values():
        hits.extend(rule(ctx))
    return RiskDecision(strictest(hits), tuple(hits), ctx.policy.version)
