"""Step-up verification: a `challenge` decision asks the consumer to prove it is them.

The refused authorization carries a challenge id; the platform has the consumer verified
(a code by SMS, a face check — the verifier's business) and retries the same payment
with the challenge id and the verifier's token. Only then is the hold placed.

A challenge belongs to one payment (account, merchant, order, amount), lives
`CHALLENGE_TTL_S`, is used once, and fails for good after `CHALLENGE_FAILURES_MAX` wrong
tokens. Its lifecycle is one table, `CHALLENGE_TRANSITIONS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from creditline.domain.errors import ChallengeInvalid
from creditline.domain.money import Money

CHALLENGE_TTL_S = 300
"""Seconds a challenge may be answered."""
CHALLENGE_FAILURES_MAX = 5
"""Wrong tokens before the challenge fails for good (a new payment attempt starts over)."""


class ChallengeStatus(StrEnum):
    PENDING = "pending"
    PASSED = "passed"
    FAILED = "failed"


class ChallengeMove(StrEnum):
    PASS = "pass"  # noqa: S105 (a move, not a secret)
    WRONG_TOKEN = "wrong_token"  # noqa: S105
    LAST_WRONG_TOKEN = "last_wrong_token"  # noqa: S105


CHALLENGE_TRANSITIONS: Mapping[tuple[ChallengeStatus, ChallengeMove], ChallengeStatus] = {
    (ChallengeStatus.PENDING, ChallengeMove.PASS): ChallengeStatus.PASSED,
    (ChallengeStatus.PENDING, ChallengeMove.WRONG_TOKEN): ChallengeStatus.PENDING,
    (ChallengeStatus.PENDING, ChallengeMove.LAST_WRONG_TOKEN): ChallengeStatus.FAILED,
}
"""Every allowed move; a passed or failed challenge takes none."""


@dataclass(frozen=True, slots=True)
class Challenge:
    id: str
    account_id: str
    merchant_id: str
    order_id: str
    amount: Money
    decision_id: str
    status: ChallengeStatus
    failures: int
    created_at: datetime
    expires_at: datetime
    passed_at: datetime | None = None


def open_challenge(
    *,
    challenge_id: str,
    decision_id: str,
    account_id: str,
    merchant_id: str,
    order_id: str,
    amount: Money,
    now: datetime,
) -> Challenge:
    return Challenge(
        id=challenge_id,
        account_id=account_id,
        merchant_id=merchant_id,
        order_id=order_id,
        amount=amount,
        decision_id=decision_id,
        status=ChallengeStatus.PENDING,
        failures=0,
        created_at=now,
        expires_at=now + timedelta(seconds=CHALLENGE_TTL_S),
    )


def check_answerable(
    challenge: Challenge | None,
    *,
    challenge_id: str,
    account_id: str,
    merchant_id: str,
    order_id: str,
    amount: Money,
    now: datetime,
) -> Challenge:
    """The challenge, if it may be answered by this payment now; else `ChallengeInvalid`."""
    if challenge is None or challenge.account_id != account_id:
        raise ChallengeInvalid(
            f"no challenge {challenge_id} on this account",
            reason="unknown",
            challenge_id=challenge_id,
        )
    if challenge.status is not ChallengeStatus.PENDING:
        raise ChallengeInvalid(
            f"challenge {challenge_id} is {challenge.status.value}; a new payment attempt "
            "gets a new one",
            reason=challenge.status.value,
            challenge_id=challenge_id,
        )
    if now >= challenge.expires_at:
        raise ChallengeInvalid(
            f"challenge {challenge_id} expired; a new payment attempt gets a new one",
            reason="expired",
            challenge_id=challenge_id,
        )
    if (challenge.merchant_id, challenge.order_id, challenge.amount) != (
        merchant_id,
        order_id,
        amount,
    ):
        raise ChallengeInvalid(
            f"challenge {challenge_id} was issued for another payment "
            f"(order {challenge.order_id}, {challenge.amount}); retry that payment exactly",
            reason="other_payment",
            challenge_id=challenge_id,
        )
    return challenge


def answer(challenge: Challenge, *, token_valid: bool, now: datetime) -> Challenge:
    """The challenge after one answer: passed, or one more failure (failed at the last)."""
    if token_valid:
        move = ChallengeMove.PASS
    elif challenge.failures + 1 >= CHALLENGE_FAILURES_MAX:
        move = ChallengeMove.LAST_WRONG_TOKEN
    else:
        move = ChallengeMove.WRONG_TOKEN
    target = CHALLENGE_TRANSITIONS.get((challenge.status, move))
    if target is None:
        raise ChallengeInvalid(
            f"challenge {challenge.id} is {challenge.status.value}",
            reason=challenge.status.value,
            challenge_id=challenge.id,
        )
    return replace(
        challenge,
        status=target,
        failures=challenge.failures + (0 if token_valid else 1),
        passed_at=now if token_valid else None,
    )
