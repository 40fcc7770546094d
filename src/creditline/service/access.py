"""Who may see and do what: the four roles and the visibility rules, in one place.

    platform  its own accounts and every hold on them; opens accounts, places holds for
              its merchants, takes repayments, changes account status (with a reason)
    merchant  only the holds it created: places, captures, releases and refunds them;
              asks whether a payment would pass (the verdict and the consumer's reasons,
              never the account's numbers, places, devices or spending)
    consumer  only its own account: reads it, its holds and journal, repays
    operator  reads everything; forced actions (force capture, release, status change)
              need a reason and are written to the audit log

Seeing an object that belongs to someone else looks exactly like a missing object
(404, not 403), so ids cannot be probed. A role that may never perform an operation
gets `Forbidden`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from creditline.domain.account import Account
from creditline.domain.errors import AccountNotFound, Forbidden, HoldNotFound, ReasonRequired
from creditline.domain.hold import Hold


class Role(StrEnum):
    PLATFORM = "platform"
    MERCHANT = "merchant"
    CONSUMER = "consumer"
    OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class Actor:
    """The authenticated caller: an API key's role and what it is bound to."""

    key_id: str
    role: Role
    platform_id: str | None = None
    merchant_id: str | None = None
    account_id: str | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if self.role is Role.PLATFORM:
            assert self.platform_id is not None, self
        if self.role is Role.MERCHANT:
            assert self.platform_id is not None, self
            assert self.merchant_id is not None, self
        if self.role is Role.CONSUMER:
            assert self.account_id is not None, self

    @property
    def label(self) -> str:
        """How the actor appears in timelines and the audit log."""
        return f"{self.role.value}:{self.name or self.key_id}"


SYSTEM = Actor(key_id="system", role=Role.OPERATOR, name="system")
"""The engine itself (sweeper, demo loader): sees everything."""


def require_role(actor: Actor, *roles: Role) -> None:
    if actor.role not in roles:
        allowed = ", ".join(role.value for role in roles)
        raise Forbidden(
            f"a {actor.role.value} key may not do this; it needs one of: {allowed}",
            role=actor.role.value,
        )


def require_reason(reason: str | None, action: str) -> str:
    if reason is None or not reason.strip():
        raise ReasonRequired(f"{action} needs a reason; it is kept in the audit log")
    return reason.strip()


def can_see_account(actor: Actor, account: Account) -> bool:
    match actor.role:
        case Role.OPERATOR:
            return True
        case Role.PLATFORM:
            return account.platform_id == actor.platform_id
        case Role.CONSUMER:
            return account.id == actor.account_id
        case Role.MERCHANT:
            return False


def sees_risk_detail(actor: Actor) -> bool:
    """Whether the caller may see what risk decisions are made of: the account's
    features (last place and time, devices, cities, recent amounts, period spend), the
    numbers behind each reason and the available credit. The account's platform and
    operators may; a merchant — possibly one that never dealt with this consumer — may
    not."""
    return actor.role in (Role.PLATFORM, Role.OPERATOR)


def can_see_hold(actor: Actor, account: Account, hold: Hold) -> bool:
    if actor.role is Role.MERCHANT:
        return hold.merchant_id == actor.merchant_id
    return can_see_account(actor, account)


def visible_account(actor: Actor, account: Account | None, account_id: str) -> Account:
    if account is None or not can_see_account(actor, account):
        raise AccountNotFound(f"no account {account_id}", account_id=account_id)
    return account


def visible_hold(
    actor: Actor, account: Account | None, hold: Hold | None, hold_id: str
) -> tuple[Account, Hold]:
    if account is None or hold is None or not can_see_hold(actor, account, hold):
        raise HoldNotFound(f"no hold {hold_id}", hold_id=hold_id)
    return account, hold
