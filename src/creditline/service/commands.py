"""Commands: what a caller asks the engine to do, named in the imperative.

Each command has exactly one handler (`handlers.py`). Commands carry validated values
only; the entry point that built them has already parsed text and numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from creditline.domain.account import AccountAction
from creditline.domain.money import Money


@dataclass(frozen=True, slots=True)
class OpenAccount:
    external_ref: str
    credit_limit: Money
    platform_id: str | None = None
    """Operators name the platform; a platform key opens accounts on its own platform."""


@dataclass(frozen=True, slots=True)
class ChangeAccountStatus:
    account_id: str
    action: AccountAction
    reason: str | None


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


Command = OpenAccount | ChangeAccountStatus | Authorize | Capture | Release | Refund | Repay
