"""Ports of risk control: the decision log and challenges (reached through the unit of
work) and the step-up verifier (an outside system, handed to the risk engine)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from creditline.domain.money import Money
from creditline.domain.risk.challenge import Challenge
from creditline.domain.risk.decision import RiskAction
from creditline.service.pages import Page


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """One stored risk decision, for operators (`GET /v1/accounts/{id}/decisions`)."""

    id: str
    account_id: str
    at: datetime
    action: RiskAction
    codes: Sequence[str]
    """Reason codes of every hit (shadow ones included), in rule order."""
    amount: Money
    merchant_id: str
    order_id: str
    policy_version: str
    latency_us: int
    """Feature reads and the pipeline, measured in process."""
    hold_id: str | None
    challenge_id: str | None
    detail: Mapping[str, Any]
    """The inputs, the features and every hit with its numbers (JSON)."""


class RiskStore(Protocol):
    def add_decision(self, record: DecisionRecord) -> None: ...

    def decisions(self, account_id: str, before: str | None, limit: int) -> Page[DecisionRecord]:
        """The account's decisions, newest first; `before` is the previous page's cursor."""
        ...

    def add_challenge(self, challenge: Challenge) -> None: ...

    def get_challenge(self, challenge_id: str) -> Challenge | None: ...

    def save_challenge(self, before: Challenge, after: Challenge) -> None:
        """Write `after` if the row is still `before` (else `WriteConflict(STALE_READ)`)."""
        ...


class Verifier(Protocol):
    """Step-up verification of the consumer (SMS code, face check…), outside creditline."""

    def start(self, challenge: Challenge) -> None:
        """Ask the consumer to verify (e.g. send the code); called once the challenge is
        stored."""
        ...

    def check(self, challenge: Challenge, token: str) -> bool:
        """Whether `token` proves the consumer passed this challenge."""
        ...
