"""Commands: what a caller asks the engine to do, named in the imperative.

Each command has exactly one handler (`handlers.py`). Commands carry validated values
only; the entry point that built them has already parsed text and numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from creditline.domain.account import DEFAULT_TIER, AccountAction
from creditline.domain.money import Money
from creditline.domain.risk.inputs import Location


@dataclass(frozen=True, slots=True)
class OpenAccount:
    external_ref: str
    credit_limit: Money
    platform_id: str | None = None
    """Operators name the platform; a platform key opens accounts on its own platform."""
    tier: str = DEFAULT_TIER
    """The risk policy's tier: `new`, `standard` or `premium` in the default policy."""
    real_name_verified: bool = True


@dataclass(frozen=True, slots=True)
class ChangeAccountStatus:
    account_id: str
    action: AccountAction
    reason: str | None


@dataclass(frozen=True, slots=True)
class Signals:
    """What the platform knows about a payment besides its amount, for the risk rules."""

    merchant_category: str | None = None
    item_categories: tuple[str, ...] = ()
    channel: str | None = None
    device_id: str | None = None
    ip: str | None = None
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class Authorize:
    account_id: str
    order_id: str
    amount: Money
    merchant_id: str | None = None
    """Required from a platform key; a merchant key places holds as itself."""
    ttl_s: int | None = None
    """Defaults to the merchant's hold lifetime."""
    description: str | None = None
    signals: Signals = Signals()
    challenge_id: str | None = None
    """The retry of a payment that was challenged: the challenge it answers…"""
    verification_token: str | None = None
    """…and the verifier's token proving the consumer passed it."""


@dataclass(frozen=True, slots=True)
class ExplainPayment:
    """Would this payment pass? The risk pipeline as a dry run: nothing is written."""

    account_id: str
    amount: Money
    merchant_id: str | None = None
    signals: Signals = Signals()


@dataclass(frozen=True, slots=True)
class SetRiskProfile:
    """Set an account's tier and real-name status (what the platform learned of the user)."""

    account_id: str
    tier: str | None = None
    real_name_verified: bool | None = None


@dataclass(frozen=True, slots=True)
class Capture:
    hold_id: str
    amount: Money
    final: bool = False
    force: bool = False
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Release:
    hold_id: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Refund:
    hold_id: str
    amount: Money
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Repay:
    account_id: str
    amount: Money
    reference: str | None = None


Command = (
    OpenAccount
    | ChangeAccountStatus
    | SetRiskProfile
    | Authorize
    | Capture
    | Release
    | Refund
    | Repay
)
