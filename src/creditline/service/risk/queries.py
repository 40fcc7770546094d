"""Risk questions that change nothing: would this payment pass (the dry run), the
decision log of an account, and which party a payment names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from creditline.domain.account import Account, AccountStatus
from creditline.domain.errors import (
    AccountNotActive,
    AccountNotFound,
    ChallengeRequired,
    InsufficientCredit,
    MerchantNotFound,
    RiskDeclined,
    UnknownTier,
)
from creditline.domain.money import ZERO, Money
from creditline.domain.parties import Merchant
from creditline.domain.risk.decision import RiskAction
from creditline.domain.risk.policy import Policy
from creditline.service.access import Role, require_role, sees_risk_detail, visible_account
from creditline.service.accounts.queries import view_account
from creditline.service.commands import ExplainPayment
from creditline.service.context import Context
from creditline.service.pages import Page
from creditline.service.ports import UnitOfWork
from creditline.service.risk.engine import Assessment, RiskEngine, assess, payment_request
from creditline.service.risk.ports import DecisionRecord

DECISIONS_PAGE_MAX = 200

AccountReader = Callable[[UnitOfWork, Context, str], Account | None]


def payment_parties(
    uow: UnitOfWork,
    ctx: Context,
    account_id: str,
    merchant_id: str | None,
    read_account: AccountReader,
) -> tuple[Merchant, Account]:
    """The merchant and account a payment names, if the caller may pay with them."""
    actor = ctx.actor
    if actor.role is Role.MERCHANT:
        merchant_id = actor.merchant_id
    merchant = uow.directory.get_merchant(merchant_id) if merchant_id else None
    if merchant is None or (
        actor.role is not Role.OPERATOR and merchant.platform_id != actor.platform_id
    ):
        raise MerchantNotFound(f"no merchant {merchant_id}", merchant_id=merchant_id)
    account = read_account(uow, ctx, account_id)
    if account is None or account.platform_id != merchant.platform_id:
        raise AccountNotFound(f"no account {account_id}", account_id=account_id)
    return merchant, account


def check_tier(policy: Policy, tier: str) -> None:
    if tier not in policy.tiers:
        known = ", ".join(sorted(policy.tiers))
        raise UnknownTier(f"the risk policy has no tier {tier!r} (it has {known})", tier=tier)


@dataclass(frozen=True, slots=True)
class Explanation:
    assessment: Assessment
    available: Money
    """The account's available credit now, expired holds counted as available (as the
    authorization releases them first); a payment above it fails even if approved."""
    active: bool
    detail: bool
    """Whether the caller may see the numbers behind the reasons, the features and the
    available credit (`access.sees_risk_detail`); a merchant gets the verdict only."""

    @property
    def fits(self) -> bool:
        return self.active and self.assessment.request.amount <= self.available

    @property
    def would_pass(self) -> bool:
        return self.assessment.passes and self.fits

    @property
    def outcome(self) -> str:
        """What the authorization would answer now: `approved` or its refusal's code."""
        action = self.assessment.decision.action
        if action is RiskAction.DECLINE:
            return RiskDeclined.code
        if not self.active:
            return AccountNotActive.code
        if not self.fits:
            return InsufficientCredit.code
        if action is RiskAction.CHALLENGE:
            return ChallengeRequired.code
        return "approved"


def explain_payment(
    uow: UnitOfWork, ctx: Context, engine: RiskEngine, cmd: ExplainPayment
) -> Explanation:
    """The risk decision this payment would get now, and nothing written."""
    require_role(ctx.actor, Role.PLATFORM, Role.MERCHANT, Role.OPERATOR)
    merchant, account = payment_parties(
        uow, ctx, cmd.account_id, cmd.merchant_id, lambda u, _c, i: u.accounts.get(i)
    )
    request = payment_request(cmd.amount, merchant.id, cmd.signals, ctx)
    expired = uow.holds.expired_open_totals([account.id], ctx.now).get(account.id, ZERO)
    view = view_account(account, expired)
    return Explanation(
        assess(engine, uow, account, request),
        view.available,
        active=account.status is AccountStatus.ACTIVE,
        detail=sees_risk_detail(ctx.actor),
    )


def account_decisions(
    uow: UnitOfWork, ctx: Context, account_id: str, before: str | None, limit: int
) -> Page[DecisionRecord]:
    """An account's risk decisions, newest first (operators and the account's platform)."""
    require_role(ctx.actor, Role.PLATFORM, Role.OPERATOR)
    visible_account(ctx.actor, uow.accounts.get(account_id), account_id)
    return uow.risk.decisions(account_id, before, min(limit, DECISIONS_PAGE_MAX))
