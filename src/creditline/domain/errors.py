"""Expected refusals: one tree of typed errors, each with a stable code and its numbers.

A refusal is a normal outcome (a payment that does not fit the limit, a capture of a
released hold), so it is a typed error the caller can branch on, never a bare
ValueError. Broken invariants are not in this tree: they are assertions and crash.

    CreditlineError                       code                         what the caller did
    ├── NotFound                                                       object unknown or not theirs
    │   ├── AccountNotFound               account_not_found
    │   ├── HoldNotFound                  hold_not_found
    │   ├── MerchantNotFound              merchant_not_found
    │   ├── PlatformNotFound              platform_not_found
    │   └── DeadLetterNotFound            dead_letter_not_found
    ├── Forbidden                         forbidden                    role may not do this at all
    ├── InvalidRequest                                                 well-formed but unusable
    │   ├── InvalidAmount                 invalid_amount
    │   ├── InvalidHoldTtl                invalid_hold_ttl
    │   ├── ReasonRequired                reason_required
    │   ├── InvalidUrl                    invalid_url
    │   ├── ChallengeInvalid              challenge_invalid
    │   ├── UnknownTier                   unknown_tier
    │   └── ClockMoveInvalid              clock_move_invalid
    ├── Declined                                                       a new spending refused
    │   ├── InsufficientCredit            insufficient_credit
    │   ├── AccountNotActive              account_not_active
    │   └── RiskRefusal                                                the risk rules said no
    │       ├── RiskDeclined              risk_declined
    │       └── ChallengeRequired         challenge_required
    ├── Conflict                                                       state does not allow it
    │   ├── HoldNotPending
    │   │   ├── HoldAlreadyCaptured       hold_already_captured
    │   │   ├── HoldAlreadyReleased       hold_already_released
    │   │   └── HoldAlreadyExpired        hold_already_expired
    │   ├── HoldExpired                   hold_expired
    │   ├── OrderHasOpenHold              order_has_open_hold
    │   ├── AccountTransitionNotAllowed   account_transition_not_allowed
    │   ├── AccountHasBalance             account_has_balance
    │   ├── AccountExists                 account_exists
    │   ├── DeadLetterNotReplayable       dead_letter_not_replayable
    │   └── IdempotencyKeyReused          idempotency_key_reused
    └── AmountExceeded                                                 amount larger than allowed
        ├── CaptureExceedsHold            capture_exceeds_hold
        ├── RefundExceedsCaptured         refund_exceeds_captured
        └── RepaymentExceedsBalance       repayment_exceeds_balance

Every error carries `params`: the numbers behind the refusal (amounts in fen), so an
API or a person can say exactly why, and `detail`: one English sentence with them.
"""

from __future__ import annotations

from collections.abc import Mapping

from creditline.domain.money import Money
from creditline.domain.risk.decision import RiskDecision

ParamValue = int | str | bool | None


class CreditlineError(Exception):
    """Root of all expected refusals."""

    code = "creditline_error"
    decided_on_state = False
    """True for refusals that a concurrent change can make untrue (not enough credit, a
    hold's state, an amount above what is left): the command bus decides them again on
    current, locked state before answering one (see service/bus.py)."""

    def __init__(self, detail: str, **params: ParamValue | Money) -> None:
        super().__init__(detail)
        self.detail = detail
        self.params: Mapping[str, ParamValue] = {
            name: value.fen if isinstance(value, Money) else value for name, value in params.items()
        }


class NotFound(CreditlineError):
    """The object does not exist, or the caller may not see it (the two look the same)."""


class AccountNotFound(NotFound):
    code = "account_not_found"


class HoldNotFound(NotFound):
    code = "hold_not_found"


class MerchantNotFound(NotFound):
    code = "merchant_not_found"


class PlatformNotFound(NotFound):
    code = "platform_not_found"


class DeadLetterNotFound(NotFound):
    code = "dead_letter_not_found"


class Forbidden(CreditlineError):
    """The caller's role may not perform this operation on any object."""

    code = "forbidden"


class InvalidRequest(CreditlineError):
    """The request is well-formed but cannot be used as it is."""


class InvalidAmount(InvalidRequest):
    code = "invalid_amount"


class InvalidHoldTtl(InvalidRequest):
    code = "invalid_hold_ttl"


class ReasonRequired(InvalidRequest):
    code = "reason_required"


class InvalidUrl(InvalidRequest):
    code = "invalid_url"


class Declined(CreditlineError):
    """New spending is refused; the account and its holds are unchanged."""

    decided_on_state = True


class InsufficientCredit(Declined):
    code = "insufficient_credit"


class AccountNotActive(Declined):
    code = "account_not_active"


class RiskRefusal(Declined):
    """Refused by the risk rules: `decision` has every hit with its reason code and numbers."""

    def __init__(
        self,
        detail: str,
        decision: RiskDecision,
        *,
        decision_id: str,
        challenge_id: str | None,
        brief: str | None = None,
    ) -> None:
        super().__init__(
            detail,
            codes=",".join(hit.code for hit in decision.deciding),
            decision_id=decision_id,
            challenge_id=challenge_id,
            policy_version=decision.policy_version,
        )
        self.decision = decision
        self.decision_id = decision_id
        self.challenge_id = challenge_id
        self.brief = brief or detail
        """The detail without the numbers behind the rules, for callers that may not see
        them (a merchant: `service/access.py`)."""


class RiskDeclined(RiskRefusal):
    """The risk rules decline this payment; `reasons` say why and what to do instead."""

    code = "risk_declined"


class ChallengeRequired(RiskRefusal):
    """Step-up verification first: retry with `challenge_id` and the verifier's token."""

    code = "challenge_required"


class ChallengeInvalid(InvalidRequest):
    """The challenge is unknown, used, expired, for another payment, or the token is wrong."""

    code = "challenge_invalid"


class UnknownTier(InvalidRequest):
    """The risk policy has no such tier."""

    code = "unknown_tier"


class ClockMoveInvalid(InvalidRequest):
    """The development clock moves only forward."""

    code = "clock_move_invalid"


class Conflict(CreditlineError):
    """The current state of the object does not allow the operation."""

    decided_on_state = True


class HoldNotPending(Conflict):
    """The hold is already resolved; resolving it again is refused."""


class HoldAlreadyCaptured(HoldNotPending):
    code = "hold_already_captured"


class HoldAlreadyReleased(HoldNotPending):
    code = "hold_already_released"


class HoldAlreadyExpired(HoldNotPending):
    code = "hold_already_expired"


class HoldExpired(Conflict):
    """A capture arrived after the hold's deadline without the force flag."""

    code = "hold_expired"


class OrderHasOpenHold(Conflict):
    code = "order_has_open_hold"


class AccountTransitionNotAllowed(Conflict):
    code = "account_transition_not_allowed"


class AccountHasBalance(Conflict):
    code = "account_has_balance"


class AccountExists(Conflict):
    code = "account_exists"


class DeadLetterNotReplayable(Conflict):
    """A malformed message: nothing to apply until its sender fixes and resends it."""

    code = "dead_letter_not_replayable"


class IdempotencyKeyReused(Conflict):
    """The idempotency key was first used with another request."""

    code = "idempotency_key_reused"


class AmountExceeded(CreditlineError):
    """The amount is larger than what the object allows."""

    decided_on_state = True


class CaptureExceedsHold(AmountExceeded):
    code = "capture_exceeds_hold"


class RefundExceedsCaptured(AmountExceeded):
    code = "refund_exceeds_captured"


class RepaymentExceedsBalance(AmountExceeded):
    code = "repayment_exceeds_balance"
