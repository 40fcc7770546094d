"""Commands on accounts: open one, change its status, set its risk profile, repay.

Each runs inside one unit of work opened by `CommandBus`; it reads its account without a
lock and the write-back checks the version, or locks first on the careful attempt.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from creditline.domain.account import Account, apply_status_action, open_account
from creditline.domain.errors import (
    AccountExists,
    InvalidAmount,
    PlatformNotFound,
)
from creditline.domain.ledger import JournalEntry
from creditline.domain.limits import CREDIT_LIMIT_MAX
from creditline.domain.money import ZERO
from creditline.domain.repayment import repay as repay_account
from creditline.service import commands
from creditline.service.access import (
    Role,
    require_reason,
    require_role,
    visible_account,
)
from creditline.service.accounts.queries import AccountView, view_account
from creditline.service.audit import audit
from creditline.service.context import Context
from creditline.service.ports import UnitOfWork
from creditline.service.risk.queries import check_tier


@dataclass(frozen=True, slots=True)
class Repayment:
    account: AccountView
    entry: JournalEntry


def open_credit_account(uow: UnitOfWork, ctx: Context, cmd: commands.OpenAccount) -> AccountView:
    require_role(ctx.actor, Role.PLATFORM, Role.OPERATOR)
    platform_id = ctx.actor.platform_id if ctx.actor.role is Role.PLATFORM else cmd.platform_id
    if platform_id is None or uow.directory.get_platform(platform_id) is None:
        raise PlatformNotFound(f"no platform {platform_id}", platform_id=platform_id)
    if not 0 <= cmd.credit_limit.fen <= CREDIT_LIMIT_MAX.fen:
        raise InvalidAmount(
            f"credit limit must be between ¥0.00 and {CREDIT_LIMIT_MAX}",
            amount=cmd.credit_limit,
            amount_max=CREDIT_LIMIT_MAX,
        )
    existing = uow.accounts.find_by_external_ref(platform_id, cmd.external_ref)
    if existing is not None:
        raise AccountExists(
            f"platform {platform_id} already has account {existing.id} for {cmd.external_ref}",
            account_id=existing.id,
        )
    if ctx.risk is not None:
        check_tier(ctx.risk.policy(), cmd.tier)
    account = open_account(
        account_id=ctx.new_id("acct"),
        platform_id=platform_id,
        external_ref=cmd.external_ref,
        credit_limit=cmd.credit_limit,
        now=ctx.now,
        tier=cmd.tier,
        real_name_verified=cmd.real_name_verified,
    )
    uow.accounts.add(account)
    return view_account(account, ZERO)


def change_account_status(
    uow: UnitOfWork, ctx: Context, cmd: commands.ChangeAccountStatus
) -> AccountView:
    require_role(ctx.actor, Role.PLATFORM, Role.OPERATOR)
    reason = require_reason(cmd.reason, f"{cmd.action.value} of an account")
    account = visible_account(
        ctx.actor, account_to_change(uow, ctx, cmd.account_id), cmd.account_id
    )
    changed = apply_status_action(account, cmd.action, now=ctx.now)
    uow.accounts.save(account, changed)
    audit(uow, ctx, f"account.{cmd.action.value}", account.id, reason)
    return _view(uow, ctx, changed)


def set_risk_profile(uow: UnitOfWork, ctx: Context, cmd: commands.SetRiskProfile) -> AccountView:
    require_role(ctx.actor, Role.PLATFORM, Role.OPERATOR)
    account = visible_account(
        ctx.actor, account_to_change(uow, ctx, cmd.account_id), cmd.account_id
    )
    if cmd.tier is not None and ctx.risk is not None:
        check_tier(ctx.risk.policy(), cmd.tier)
    changed = replace(
        account,
        tier=account.tier if cmd.tier is None else cmd.tier,
        real_name_verified=account.real_name_verified
        if cmd.real_name_verified is None
        else cmd.real_name_verified,
        version=account.version + 1,
        updated_at=ctx.now,
    )
    uow.accounts.save(account, changed)
    audit(
        uow,
        ctx,
        "account.risk_profile",
        account.id,
        "risk profile set",
        f"tier={changed.tier} real_name_verified={changed.real_name_verified}",
    )
    return _view(uow, ctx, changed)


def repay(uow: UnitOfWork, ctx: Context, cmd: commands.Repay) -> Repayment:
    require_role(ctx.actor, Role.PLATFORM, Role.CONSUMER)
    account = visible_account(
        ctx.actor, account_to_change(uow, ctx, cmd.account_id), cmd.account_id
    )
    after, entry = repay_account(
        account, amount=cmd.amount, now=ctx.now, entry_id=ctx.new_id("je"), reference=cmd.reference
    )
    uow.accounts.save(account, after)
    uow.journal.append(entry)
    return Repayment(_view(uow, ctx, after), entry)


def _view(uow: UnitOfWork, ctx: Context, account: Account) -> AccountView:
    expired = uow.holds.expired_open_totals([account.id], ctx.now)
    return view_account(account, expired.get(account.id, ZERO))


def account_to_change(uow: UnitOfWork, ctx: Context, account_id: str) -> Account | None:
    """The account to change: read freely, or locked on the careful attempt."""
    return uow.accounts.lock(account_id) if ctx.careful else uow.accounts.get(account_id)
